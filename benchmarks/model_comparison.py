#!/usr/bin/env python3
"""Which learned model should ship beside the phrase lexicons? Compare candidates on the corpus's dev split.

Usage: python benchmarks/model_comparison.py [--out results.json] [--check] [--only a,b,c,d] [--pack DIR]

Protocol (per language; agent signals on agent turns, customer signals on customer turns):
every candidate is trained on the TRAIN split (the turns corpus/build_models.py trains the
shipped models on: corpus train split plus the synthetic training sets), its threshold picked
out of fold on train exactly as servicecheck.train.train_signal does (5 folds by conversation,
F1 of "pattern OR model >= threshold", the model switched off unless it beats the patterns by
MIN_GAIN, fewer than MIN_POSITIVES positives: no model). The final model (fit on all of train)
is then scored on the DEV split: F1 of "pattern OR model >= threshold", for every signal with at
least 10 positive dev turns, plus the patterns alone (a SignalMatcher built with models stripped).
The test split is never read.

Candidates:
  a  the shipped linear model: word uni+bigrams + context features (servicecheck.train.train_signal)
  b  a + character 4-grams within words (features "c:...")
  c  fastText supervised (wordNgrams=2), one binary classifier per signal/language, on the
     normalised text + context tokens (epoch 25, lr 0.5, dim 50, 100k buckets); column "c-q" is
     the same model quantized (.ftz, cutoff 12000, retrained) at the same threshold
  d  wordllama static embeddings (the l2_supercat 256-d table its wheel ships) averaged per turn
     + context features, standardised, under the same L2 logistic regression (a dense variant of
     servicecheck.detect.linear.train: balanced weights, Adam, l2=1, 300 epochs)

Costs: training time (all signals of the language, out-of-fold fits + final fits), size on disk
of the models that would ship (model switched on), and inference cost per turn: featurise a
normalised turn and score every shipped model of its speaker, on 2,000 turns, median of 3 runs.

Needs: numpy and servicecheck importable (run it from the project's checkout: src/ is put on
sys.path); optional, each candidate is skipped with a note when missing:
  fasttext-wheel (or fasttext)  for c  (its predict() breaks on numpy 2; the C binding is used)
  wordllama                     for d  (loaded from the files inside its wheel, never downloaded)
  FASTTEXT_PREDICT_PYTHON=/path/to/python of a venv with `fasttext-predict` installed: also
  times the shipped .ftz/.bin files under the predict-only package (it installs a module of the
  same name "fasttext", hence a separate interpreter).
Setup used for docs/model-comparison.md:
  python3 -m venv /tmp/mcenv && /tmp/mcenv/bin/pip install numpy PyYAML click jsonschema \
      google-re2 Jinja2 durable-rules==2.0.28 fasttext-wheel wordllama
  python3 -m venv /tmp/mcpred && /tmp/mcpred/bin/pip install fasttext-predict
  FASTTEXT_PREDICT_PYTHON=/tmp/mcpred/bin/python /tmp/mcenv/bin/python benchmarks/model_comparison.py
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "corpus"))
sys.path.insert(0, str(ROOT / "src"))

import numpy as np
from build_models import PACK, train_examples
from split import LANGS, pairs

from servicecheck import train as T
from servicecheck.detect import linear
from servicecheck.evaluate import TAG_SPEAKER, tag_of
from servicecheck.policy.loader import load_policies
from servicecheck.signals import SignalMatcher

MIN_DEV_POSITIVES = 10
TIMING_TURNS = 2000
TIMING_RUNS = 3


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Ex:
    """One turn, ready for every candidate."""

    conversation: str
    language: str
    speaker: str
    raw: str
    norm: str
    context: tuple[str, ...]
    tags: tuple[str, ...]


def dev_examples() -> list[T.TurnExample]:
    """The dev-split turns, built as corpus/build_models.py builds the train ones."""
    out = []
    for lang in LANGS:
        for conv, lab in pairs(lang):
            if conv.get("metadata", {}).get("split", "train") != "dev":
                continue
            turns = conv["turns"]
            contexts = linear.turn_contexts([t["speaker"] for t in turns], [t["text"] for t in turns])
            for turn, tags, ctx in zip(turns, lab["turns"], contexts):
                if turn["speaker"] in ("agent", "customer"):
                    kept = tuple(t for t in tags if TAG_SPEAKER[t] == turn["speaker"])
                    out.append(T.TurnExample(conv["id"], conv.get("language", lang), turn["speaker"], turn["text"],
                                             kept, conv.get("source", ""), ctx))
    return out


def prepare(examples: Sequence[T.TurnExample], matcher: SignalMatcher, names: dict[str, list[str]]):
    """``[Ex]`` and the patterns-only hits (set of signal names) of each turn."""
    exs, hits = [], []
    for ex in examples:
        found = matcher.match(ex.text, ex.speaker, ex.language, "transcript", only=names[ex.speaker],
                              context=ex.context)
        hits.append(set(found))
        exs.append(Ex(ex.conversation, ex.language, ex.speaker, ex.text,
                      matcher.normalized(ex.text, ex.language).text, tuple(ex.context), tuple(ex.tags)))
    return exs, hits


# ----------------------------------------------------------------------------- the protocol


def select(cand: Candidate, reps: Sequence[Any], exs: Sequence[Ex], gold: Sequence[bool],
           pattern_hits: Sequence[bool], signal: str, lang: str):
    """train_signal's protocol for any candidate: (threshold or None, out-of-fold F1, final model or None)."""
    base = T._f1(*T._confusion(gold, pattern_hits))
    if sum(gold) < T.MIN_POSITIVES:
        return None, base, None
    probs = [0.0] * len(exs)
    folds = [T._fold_of(ex.conversation) for ex in exs]
    for k in range(T.FOLDS):
        train_idx = [i for i, f in enumerate(folds) if f != k]
        test_idx = [i for i, f in enumerate(folds) if f == k]
        if not test_idx or not any(gold[i] for i in train_idx):
            continue
        model = cand.fit([reps[i] for i in train_idx], [gold[i] for i in train_idx], signal, lang)
        for i, p in zip(test_idx, cand.score(model, [reps[i] for i in test_idx])):
            probs[i] = p
    scores = {t: T._f1(*T._confusion(gold, [p or q >= t for p, q in zip(pattern_hits, probs)])) for t in T.THRESHOLDS}
    top = max(scores.values())
    best_t, best = None, base
    if top >= base + T.MIN_GAIN:
        best_t = max(t for t, f in scores.items() if f >= top - T.TOLERANCE)
        best = scores[best_t]
    final = cand.fit(reps, gold, signal, lang) if best_t is not None else None
    return best_t, best, final


# ----------------------------------------------------------------------------- candidates


class Candidate:
    key = ""
    label = ""

    def reps(self, exs: Sequence[Ex]) -> list[Any]:
        raise NotImplementedError

    def fit(self, reps, gold, signal, lang):
        raise NotImplementedError

    def score(self, model, reps) -> list[float]:
        raise NotImplementedError

    def size(self, models: dict[str, Any], folder: Path) -> tuple[int, str]:
        """Bytes on disk of the shipped models, and a note."""
        raise NotImplementedError

    def scorer(self, models_by_speaker: dict[str, dict[str, Any]]) -> Callable[[Ex], Any]:
        """A function scoring every shipped model of a turn's speaker (for the timing)."""
        raise NotImplementedError


def char4(norm: str) -> list[str]:
    """Character 4-grams within each word, with word-boundary marks (``<`` ``>``), prefix ``c:``."""
    out: dict[str, None] = {}
    for tok in norm.split():
        if tok.isdigit():
            continue
        w = f"<{tok}>"
        if len(w) <= 4:
            out["c:" + w] = None
        else:
            for i in range(len(w) - 3):
                out["c:" + w[i:i + 4]] = None
    return list(out)


class LinearCandidate(Candidate):
    def __init__(self, key: str, label: str, chars: bool) -> None:
        self.key, self.label, self.chars = key, label, chars

    def featurize(self, norm: str, context: Sequence[str]) -> list[str]:
        feats = linear.features(norm) + list(context)
        return feats + char4(norm) if self.chars else feats

    def reps(self, exs):
        return [self.featurize(ex.norm, ex.context) for ex in exs]

    def fit(self, reps, gold, signal, lang):
        return linear.train(reps, gold, signal, lang)

    def score(self, model, reps):
        return [model.probability(r) for r in reps]

    def size(self, models, folder):
        total = 0
        for name, m in models.items():
            path = folder / f"{name}.json"
            m.save(path)
            total += path.stat().st_size
        return total, "JSON model files"

    def scorer(self, models_by_speaker):
        banks = {sp: linear.ModelBank(ms) for sp, ms in models_by_speaker.items() if ms}

        def run(ex: Ex):
            bank = banks.get(ex.speaker)
            if bank is not None:
                return bank.probabilities(self.featurize(ex.norm, ex.context))
            return None
        return run


class FastTextCandidate(Candidate):
    key, label = "c", "fastText"
    PARAMS: ClassVar[dict[str, Any]] = {"wordNgrams": 2, "epoch": 25, "lr": 0.5, "dim": 50, "bucket": 100000,
                                        "minCount": 1, "loss": "softmax", "thread": 1, "seed": 0, "verbose": 0}
    # Chosen by out-of-fold macro-F1 on TRAIN (never dev) among 4 settings: epoch 25 lr 0.5 with and without
    # positives repeated to balance the classes, epoch 5 lr 0.1 with, epoch 10 lr 0.2 without. All were
    # within 0.01; epoch 25 lr 0.5 without repetition was best in en and tied in fr.
    OVERSAMPLE = False

    def __init__(self, workdir: Path) -> None:
        import fasttext

        self.fasttext = fasttext
        self.workdir = workdir
        self.counter = 0

    @staticmethod
    def text(ex: Ex) -> str:
        return " ".join([ex.norm, *(c.replace(":", "_") for c in ex.context)]).replace("\n", " ")

    def reps(self, exs):
        return [self.text(ex) for ex in exs]

    def fit(self, reps, gold, signal, lang):
        pos = sum(gold)
        repeat = max(1, round((len(gold) - pos) / pos)) if pos and self.OVERSAMPLE else 1
        self.counter += 1
        path = self.workdir / f"train-{self.counter}.txt"
        with open(path, "w", encoding="utf-8") as fh:
            for text, g in zip(reps, gold):
                line = f"__label__{'pos' if g else 'neg'} {text}\n"
                fh.write(line * (repeat if g else 1))
        model = self.fasttext.train_supervised(input=str(path), **self.PARAMS)
        model.train_path = path  # kept for quantize()
        return model

    @staticmethod
    def prob(model, text: str) -> float:
        # the C binding directly: fasttext-wheel's predict() breaks on numpy 2 (np.array(copy=False))
        for p, label in model.f.predict(text, 2, 0.0, "strict"):
            if label == "__label__pos":
                return min(1.0, float(p))
        return 0.0

    def score(self, model, reps):
        return [self.prob(model, r) for r in reps]

    def quantize(self, model):
        model.quantize(input=str(model.train_path), qnorm=True, retrain=True, cutoff=12000, thread=1, verbose=0)
        return model

    def size(self, models, folder):
        total = 0
        for name, m in models.items():
            path = folder / f"{name}.bin"
            m.save_model(str(path))
            total += path.stat().st_size
        return total, ".bin files"

    def scorer(self, models_by_speaker):
        prob = self.prob

        def run(ex: Ex):
            ms = models_by_speaker.get(ex.speaker) or {}
            text = self.text(ex)
            return {n: prob(m, text) for n, m in ms.items()}
        return run


class EmbeddingCandidate(Candidate):
    key, label = "d", "wordllama+LR"
    L2, EPOCHS, LR = 1.0, 300, 0.05

    def __init__(self) -> None:
        import wordllama
        from wordllama import WordLlama

        folder = Path(wordllama.__file__).parent
        # WordLlama.load() looks for the shipped tokenizer in wordllama/tokenizer/ (singular) and so tries
        # to download it; the wheel ships it in wordllama/tokenizers/: point the "cache" at the package.
        t0 = time.perf_counter()
        self.wl = WordLlama.load(cache_dir=folder, disable_download=True)
        self.load_seconds = time.perf_counter() - t0
        self.table_bytes = sum(p.stat().st_size for p in (folder / "weights").glob("l2_supercat_256*")) + \
            sum(p.stat().st_size for p in (folder / "tokenizers").glob("l2_supercat*"))

    CTX = ("ctx:first", "ctx:same-speaker", "ctx:after-question")

    def vector(self, texts: list[str], contexts: Sequence[Sequence[str]]) -> np.ndarray:
        emb = np.asarray(self.wl.embed(texts), dtype=np.float64)
        ctx = np.array([[1.0 if c in cs else 0.0 for c in self.CTX] for cs in contexts], dtype=np.float64)
        return np.hstack([emb, ctx])

    def reps(self, exs):
        # the raw turn: its tokenizer (Llama 2's) was trained on cased, accented text
        mat = self.vector([ex.raw for ex in exs], [ex.context for ex in exs])
        return list(mat)

    def fit(self, reps, gold, signal, lang):
        X = np.vstack(reps)
        mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-6
        Z = (X - mu) / sd
        y = np.asarray(gold, dtype=np.float64)
        # the shipped models' own solver (Adam, balanced classes), on the dense design matrix
        w, b = linear.fit_logistic(lambda w: Z @ w, lambda g: Z.T @ g, Z.shape[1], y,
                                   linear.TrainParams(l2=self.L2, epochs=self.EPOCHS, learning_rate=self.LR))
        # fold the standardisation into the weights: logit = x @ (w / sd) + (b - mu @ (w / sd))
        ws = w / sd
        return (ws, b - float(mu @ ws))

    def score(self, model, reps):
        ws, b = model
        z = np.vstack(reps) @ ws + b
        return (1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))).tolist()

    def size(self, models, folder):
        total = 0
        for name, (ws, b) in models.items():
            path = folder / f"{name}.json"
            path.write_text(json.dumps({"bias": round(b, 6), "weights": [round(float(x), 6) for x in ws]}))
            total += path.stat().st_size
        return total, f"heads only; + {self.table_bytes / 1e6:.1f} MB embedding table and tokenizer in the wheel"

    def scorer(self, models_by_speaker):
        stacked = {}
        for sp, ms in models_by_speaker.items():
            if ms:
                stacked[sp] = (list(ms), np.vstack([m[0] for m in ms.values()]).T, np.array([m[1] for m in ms.values()]))

        def run(ex: Ex):
            if ex.speaker not in stacked:
                return None
            names, W, bias = stacked[ex.speaker]
            x = self.vector([ex.raw], [ex.context])[0]
            z = x @ W + bias
            return dict(zip(names, (1.0 / (1.0 + np.exp(-z))).tolist()))
        return run


# ----------------------------------------------------------------------------- timing


def time_per_turn(fns: dict[str, Callable[[Ex], Any]], exs: Sequence[Ex]) -> dict[str, float]:
    """µs per turn of each scorer, median of TIMING_RUNS passes over ``exs``.

    The passes are interleaved (round 1 times every scorer, then round 2...), after a warm-up
    pass and a garbage collection, so that drift on a shared machine hits every scorer alike.
    """
    runs: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        for ex in exs[:200]:  # warm
            fn(ex)
    for _ in range(TIMING_RUNS):
        for key, fn in fns.items():
            gc.collect()
            t0 = time.perf_counter()
            for ex in exs:
                fn(ex)
            runs[key].append((time.perf_counter() - t0) / len(exs) * 1e6)
    return {k: statistics.median(v) for k, v in runs.items()}


PREDICT_SCRIPT = r"""
import json, statistics, sys, time
import fasttext
job = json.load(open(sys.argv[1]))
out = {}
for kind, files in job["models"].items():
    models = {sp: [fasttext.load_model(f) for f in fs] for sp, fs in files.items()}
    runs = []
    for _ in range(job["runs"]):
        t0 = time.perf_counter()
        for sp, text in job["turns"]:
            for m in models.get(sp, ()):
                m.predict(text, k=2)
        runs.append((time.perf_counter() - t0) / len(job["turns"]) * 1e6)
    out[kind] = statistics.median(runs)
print(json.dumps(out))
"""


def time_fasttext_predict(python: str, files: dict[str, dict[str, list[str]]], turns: list[tuple[str, str]],
                          folder: Path) -> dict[str, float] | str:
    job = folder / "predict-job.json"
    job.write_text(json.dumps({"models": files, "turns": turns, "runs": TIMING_RUNS}), encoding="utf-8")
    script = folder / "predict_timing.py"
    script.write_text(PREDICT_SCRIPT, encoding="utf-8")
    res = subprocess.run([python, str(script), str(job)], capture_output=True, text=True, cwd=str(folder),
                         check=False)
    if res.returncode != 0:
        return f"fasttext-predict failed: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.returncode}"
    return json.loads(res.stdout)


# ----------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="also write the results as JSON here")
    ap.add_argument("--only", default="a,b,c,d", help="candidates to run (default: a,b,c,d)")
    ap.add_argument("--pack", default=str(PACK),
                    help="the pack whose patterns are the baseline (default: the checkout's service-standards)")
    ap.add_argument("--check", action="store_true",
                    help="also check that the generic protocol reproduces train_signal for candidate a")
    args = ap.parse_args()
    wanted = set(args.only.split(","))

    policyset = load_policies([args.pack], include_default=False)
    plain = {name: replace(sig, models={}) for name, sig in policyset.signals.items()}
    matcher = SignalMatcher(plain, policyset.spellings, policyset.negators)
    all_names = [n for n, s in sorted(policyset.signals.items())
                 if s.speaker in ("agent", "customer") and tag_of(n) in TAG_SPEAKER]
    names = {sp: [n for n in all_names if policyset.signals[n].speaker == sp] for sp in ("agent", "customer")}

    t0 = time.perf_counter()
    train_all, train_hits_all = prepare(train_examples(), matcher, names)
    dev_all, dev_hits_all = prepare(dev_examples(), matcher, names)
    print(f"prepared {len(train_all)} train / {len(dev_all)} dev turns in {time.perf_counter() - t0:.1f}s",
          file=sys.stderr)

    work = Path(tempfile.mkdtemp(prefix="model-comparison-"))
    cands: list[Candidate] = []
    notes: dict[str, str] = {}
    if "a" in wanted:
        cands.append(LinearCandidate("a", "linear (shipped)", chars=False))
    if "b" in wanted:
        cands.append(LinearCandidate("b", "linear + char 4-grams", chars=True))
    if "c" in wanted:
        try:
            cands.append(FastTextCandidate(work / "ft"))
            (work / "ft").mkdir()
        except ImportError as exc:
            notes["c"] = f"skipped: {exc}"
    if "d" in wanted:
        try:
            cands.append(EmbeddingCandidate())
        except Exception as exc:  # noqa: BLE001  (ImportError, or a download attempt refused)
            notes["d"] = f"skipped: {type(exc).__name__}: {exc}"
    for k, v in notes.items():
        print(f"candidate {k}: {v}", file=sys.stderr)

    results: dict[str, Any] = {"notes": notes, "languages": {}}
    for lang in LANGS:
        idx_tr = [i for i, ex in enumerate(train_all) if ex.language == lang]
        idx_dv = [i for i, ex in enumerate(dev_all) if ex.language == lang]
        tr = [train_all[i] for i in idx_tr]
        dv = [dev_all[i] for i in idx_dv]
        tr_hits = [train_hits_all[i] for i in idx_tr]
        dv_hits = [dev_hits_all[i] for i in idx_dv]
        timing_turns = (tr + dv)[:TIMING_TURNS]
        lang_res: dict[str, Any] = {"train_turns": len(tr), "dev_turns": len(dv),
                                    "train_conversations": len({e.conversation for e in tr}),
                                    "dev_conversations": len({e.conversation for e in dv}),
                                    "signals": {}, "candidates": {}}
        # the signals evaluated on dev
        for sp in ("agent", "customer"):
            for name in names[sp]:
                tag = tag_of(name)
                dsub = [j for j, e in enumerate(dv) if e.speaker == sp]
                tsub = [j for j, e in enumerate(tr) if e.speaker == sp]
                dgold = [tag in dv[j].tags for j in dsub]
                dhits = [name in dv_hits[j] for j in dsub]
                tgold = [tag in tr[j].tags for j in tsub]
                thits = [name in tr_hits[j] for j in tsub]
                lang_res["signals"][name] = {
                    "train_patterns": T._f1(*T._confusion(tgold, thits)),
                    "speaker": sp, "dev_positives": sum(dgold),
                    "train_positives": sum(tag in tr[j].tags for j in tsub),
                    "evaluated": sum(dgold) >= MIN_DEV_POSITIVES,
                    "patterns": T._f1(*T._confusion(dgold, dhits)),
                    "dev_gold": dgold, "dev_conversations": [dv[j].conversation for j in dsub],
                    "dev_patterns": dhits,
                }
        # the patterns alone: cost per turn (normalise + match every signal of the speaker)
        pat_matcher = SignalMatcher(plain, policyset.spellings, policyset.negators)

        def pattern_run(ex: Ex, m: SignalMatcher = pat_matcher, lang: str = lang) -> Any:
            m.__dict__.pop("_memo", None)
            return m.match(ex.raw, ex.speaker, lang, "transcript", only=names[ex.speaker], context=ex.context)
        scorers: dict[str, Callable[[Ex], Any]] = {"patterns": pattern_run}

        for cand in cands:
            t_start = time.perf_counter()
            by_sp: dict[str, dict[str, Any]] = {"agent": {}, "customer": {}}
            cres: dict[str, Any] = {"signals": {}}
            quantized: dict[str, Any] = {}
            for sp in ("agent", "customer"):
                tsub = [j for j, e in enumerate(tr) if e.speaker == sp]
                dsub = [j for j, e in enumerate(dv) if e.speaker == sp]
                if not tsub:
                    continue
                t_exs = [tr[j] for j in tsub]
                d_exs = [dv[j] for j in dsub]
                t_reps = cand.reps(t_exs)
                d_reps = cand.reps(d_exs) if d_exs else []
                for name in names[sp]:
                    tag = tag_of(name)
                    gold = [tag in e.tags for e in t_exs]
                    phits = [name in tr_hits[j] for j in tsub]
                    if cand.key == "a":
                        normed = [T.TurnExample(e.conversation, lang, sp, e.norm, e.tags, "", e.context)
                                  for e in t_exs]
                        rep = T.train_signal(name, lang, normed, phits)
                        thr, oof, final = rep.threshold, rep.f1_combined, rep.model
                        if args.check:
                            c_thr, c_oof, _ = select(cand, t_reps, t_exs, gold, phits, name, lang)
                            assert (c_thr, round(c_oof, 9)) == (thr, round(oof, 9)), (name, lang, thr, c_thr)
                    else:
                        thr, oof, final = select(cand, t_reps, t_exs, gold, phits, name, lang)
                    dgold = [tag in e.tags for e in d_exs]
                    dhits = [name in dv_hits[j] for j in dsub]
                    t_q = time.perf_counter()
                    if final is not None and d_reps:
                        probs = cand.score(final, d_reps)
                        pred = [h or p >= thr for h, p in zip(dhits, probs)]
                    else:
                        pred = dhits
                    entry = {"threshold": thr, "oof_f1": oof, "dev_f1": T._f1(*T._confusion(dgold, pred)),
                             "dev_pred": pred}
                    if final is not None:
                        by_sp[sp][name] = final
                    if isinstance(cand, FastTextCandidate) and final is not None:
                        t_q = time.perf_counter()
                        # the quantized copy: reload the saved full model, quantize, score at the same threshold
                        full_path = work / "ft" / f"{lang}.{name}.full.bin"
                        final.save_model(str(full_path))
                        q = cand.fasttext.load_model(str(full_path))
                        q.train_path = final.train_path
                        cand.quantize(q)
                        quantized[name] = (sp, q)
                        qprobs = cand.score(q, d_reps) if d_reps else []
                        qpred = [h or p >= thr for h, p in zip(dhits, qprobs)] if d_reps else dhits
                        entry["dev_f1_quantized"] = T._f1(*T._confusion(dgold, qpred))
                        entry["dev_pred_quantized"] = qpred
                        entry["quantize_seconds"] = time.perf_counter() - t_q
                    elif isinstance(cand, FastTextCandidate):
                        entry["dev_f1_quantized"] = entry["dev_f1"]
                        entry["dev_pred_quantized"] = pred
                    cres["signals"][name] = entry
            cres["train_seconds"] = time.perf_counter() - t_start - sum(
                e.get("quantize_seconds", 0.0) for e in cres["signals"].values())
            shipped = {n: m for sp in by_sp.values() for n, m in sp.items()}
            cres["models_on"] = sorted(shipped)
            folder = work / f"{cand.key}-{lang}"
            folder.mkdir()
            cres["size_bytes"], cres["size_note"] = cand.size(shipped, folder)
            scorers[cand.key] = cand.scorer(by_sp)
            if isinstance(cand, FastTextCandidate):
                qfolder = work / f"c-{lang}-q"
                qfolder.mkdir()
                qsize = 0
                qfiles: dict[str, list[str]] = {"agent": [], "customer": []}
                bfiles: dict[str, list[str]] = {"agent": [], "customer": []}
                for n, (sp, q) in quantized.items():
                    p = qfolder / f"{n}.ftz"
                    q.save_model(str(p))
                    qsize += p.stat().st_size
                    qfiles[sp].append(str(p))
                    bfiles[sp].append(str(folder / f"{n}.bin"))
                cres["quantized_size_bytes"] = qsize
                qby = {"agent": {}, "customer": {}}
                for n, (sp, q) in quantized.items():
                    qby[sp][n] = q
                scorers["cq"] = cand.scorer(qby)
                py = os.environ.get("FASTTEXT_PREDICT_PYTHON")
                if py:
                    turns = [(ex.speaker, cand.text(ex)) for ex in timing_turns]
                    cres["fasttext_predict_us_per_turn"] = time_fasttext_predict(
                        py, {"ftz": qfiles, "bin": bfiles}, turns, work)
            if isinstance(cand, EmbeddingCandidate):
                cres["load_seconds"] = cand.load_seconds
            lang_res["candidates"][cand.key] = cres
            print(f"{lang} {cand.key}: {cres['train_seconds']:.1f}s train, {len(shipped)} models on, "
                  f"{cres['size_bytes'] / 1e3:.0f} kB", file=sys.stderr)
        timed = time_per_turn(scorers, timing_turns)
        lang_res["patterns_us_per_turn"] = timed.pop("patterns")
        for key, us in timed.items():
            if key == "cq":
                lang_res["candidates"]["c"]["quantized_us_per_turn"] = us
            else:
                lang_res["candidates"][key]["us_per_turn"] = us
        results["languages"][lang] = lang_res

    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    print(render(results, [c.key for c in cands]))


def bootstrap_delta(lr: dict[str, Any], evaluated: list[str], pred_of: Callable[[str], list[bool]],
                    ref_of: Callable[[str], list[bool]], rounds: int = 2000) -> tuple[float, float]:
    """95% interval of macro-F1(pred) - macro-F1(ref) on dev, resampling dev conversations (paired)."""
    convs = sorted({c for n in evaluated for c in lr["signals"][n]["dev_conversations"]})
    at = {c: i for i, c in enumerate(convs)}
    rng = np.random.default_rng(0)
    mult = rng.multinomial(len(convs), [1.0 / len(convs)] * len(convs), size=rounds).astype(np.float64)
    deltas = np.zeros(rounds)
    for n in evaluated:
        s = lr["signals"][n]
        for sign, pred in ((1.0, pred_of(n)), (-1.0, ref_of(n))):
            tp, fp, fn = (np.zeros(len(convs)) for _ in range(3))
            for c, g, p in zip(s["dev_conversations"], s["dev_gold"], pred):
                i = at[c]
                tp[i] += g and p
                fp[i] += p and not g
                fn[i] += g and not p
            TP, FP, FN = mult @ tp, mult @ fp, mult @ fn
            f1 = np.where(TP > 0, 2 * TP / np.maximum(2 * TP + FP + FN, 1e-9), 0.0)
            deltas += sign * f1 / len(evaluated)
    lo, hi = np.percentile(deltas, [2.5, 97.5])
    return float(lo), float(hi)


def render(results: dict[str, Any], keys: list[str]) -> str:
    """The markdown tables of docs/model-comparison.md."""
    heads = {"a": "a linear", "b": "b +char4", "c": "c fastText", "cq": "c-q fastText.ftz", "d": "d wordllama"}
    cols = []
    for k in keys:
        cols.append(k)
        if k == "c":
            cols.append("cq")
    out = []
    for lang, lr in results["languages"].items():
        out.append(f"### {lang} (train {lr['train_turns']} turns / {lr['train_conversations']} conversations, "
                   f"dev {lr['dev_turns']} turns / {lr['dev_conversations']} conversations)\n")
        out.append("| signal (dev pos / train pos) | patterns | " + " | ".join(heads[c] for c in cols) + " |")
        out.append("|---|---:|" + "---:|" * len(cols))
        evaluated = [n for n, s in lr["signals"].items() if s["evaluated"]]
        macro = {c: [] for c in ["patterns", *cols]}
        for n in evaluated:
            s = lr["signals"][n]
            row = [f"{n} ({s['dev_positives']} / {s['train_positives']})", f"{s['patterns']:.3f}"]
            macro["patterns"].append(s["patterns"])
            for c in cols:
                cr = lr["candidates"][c[0]]["signals"][n]
                v = cr["dev_f1_quantized"] if c == "cq" else cr["dev_f1"]
                macro[c].append(v)
                mark = "" if cr["threshold"] is not None or c == "cq" else " (off)"
                t = f" @{cr['threshold']:.2f}" if cr["threshold"] is not None and c != "cq" else ""
                row.append(f"{v:.3f}{t}{mark}")
            out.append("| " + " | ".join(row) + " |")
        out.append("| **macro** | " + " | ".join(f"**{statistics.mean(macro[c]):.3f}**" if macro[c] else "-"
                                               for c in ["patterns", *cols]) + " |")

        def cell(c: str, what: str, lr: dict[str, Any] = lr) -> str:
            cr = lr["candidates"][c[0]]
            if what == "train":
                return "0" if c == "patterns" else ("(+quantize)" if c == "cq" else f"{cr['train_seconds']:.1f} s")
            if what == "size":
                if c == "cq":
                    return f"{cr['quantized_size_bytes'] / 1e3:.0f} kB"
                return f"{cr['size_bytes'] / 1e3:.0f} kB"
            if what == "us":
                v = cr["quantized_us_per_turn"] if c == "cq" else cr["us_per_turn"]
                return f"+{v:.0f}"
            if what == "on":
                return str(len(cr["models_on"]))
            return ""
        def pred_fn(c: str, lr: dict[str, Any] = lr) -> Callable[[str], list[bool]]:
            if c == "patterns":
                return lambda name: lr["signals"][name]["dev_patterns"]
            field = "dev_pred_quantized" if c == "cq" else "dev_pred"
            return lambda name: lr["candidates"][c[0]]["signals"][name][field]
        if evaluated and "a" in cols:
            cis = []
            for c in ["patterns", *cols]:
                if c == "a":
                    cis.append("0")
                    continue
                d = statistics.mean(macro[c]) - statistics.mean(macro["a"])
                lo, hi = bootstrap_delta(lr, evaluated, pred_fn(c), pred_fn("a"))
                cis.append(f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
            out.append("| macro − a (95% CI, dev conversations resampled) | " + " | ".join(cis) + " |")
        oof = ["patterns", *cols]
        oof_cells = []
        for c in oof:
            if c == "cq":
                oof_cells.append("-")
            elif c == "patterns":
                oof_cells.append(f"{statistics.mean(lr['signals'][n]['train_patterns'] for n in evaluated):.3f}")
            else:
                oof_cells.append(f"{statistics.mean(lr['candidates'][c]['signals'][n]['oof_f1'] for n in evaluated):.3f}")
        out.append("| macro out of fold on train | " + " | ".join(oof_cells) + " |")
        out.append("| models switched on | - | " + " | ".join(cell(c, "on") for c in cols) + " |")
        out.append("| train time (all signals) | - | " + " | ".join(cell(c, "train") for c in cols) + " |")
        out.append("| size on disk | - | " + " | ".join(cell(c, "size") for c in cols) + " |")
        out.append(f"| µs/turn (patterns: {lr['patterns_us_per_turn']:.0f}) | - | "
                   + " | ".join(cell(c, "us") for c in cols) + " |")
        out.append("")
        for c in cols:
            cr = lr["candidates"][c[0]]
            if c == "c" and "fasttext_predict_us_per_turn" in cr:
                fp = cr["fasttext_predict_us_per_turn"]
                text = (", ".join(f"{k} +{v:.0f} µs/turn" for k, v in fp.items()) if isinstance(fp, dict) else fp)
                out.append(f"- {lang}: fastText scored by the predict-only package (fasttext-predict): {text}")
            if c == "d":
                out.append(f"- {lang}: wordllama size is {cr['size_note']}; "
                           f"loading the table takes {cr.get('load_seconds', 0):.2f} s")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    main()
