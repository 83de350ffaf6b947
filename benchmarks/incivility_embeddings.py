#!/usr/bin/env python3
"""Does a static-embedding model help English INCIVILITY (sarcasm) beside the shipped n-gram model?

Usage: python benchmarks/incivility_embeddings.py

English customer incivility is the weakest signal on real tweets (docs/accuracy.md), mostly
sarcasm and mock praise, which human labellers agree on (corpus/README.md, "How stable are the
labels?"). docs/model-comparison.md had no English incivility column (too few dev positives then),
so this script asks the question on its own, with text no model was fitted on:

- training turns: exactly those corpus/build_models.py fits the shipped English models on
  (train and dev splits, less the held-out sets), customer turns only;
- judged on the two held-out sets of English customer text: the 500 airline tweets of
  corpus/held_out_ids.txt and the written threads of build_models.HELD_OUT;
- every detector is "the incivility patterns OR score >= threshold", the threshold chosen on
  5-fold out-of-fold scores of the training turns (folds by conversation), never on held-out text:
  - lin: the shipped linear model (out of fold: refitted per fold by servicecheck.detect.linear.train;
    held-out: the pack's own model file);
  - emb: wordllama's l2_supercat 256-d embedding of the raw turn plus the three context features,
    standardised, under the same L2 logistic regression (servicecheck.detect.linear.fit_logistic);
  - avg: the mean of the two probabilities;
  - stack: a logistic regression on the two logits (fitted out of fold on train).
  The pattern hits come from the pack's SignalMatcher with its models stripped (as
  servicecheck.train builds it). The test split is never read.

Needs servicecheck's dependencies and wordllama (loaded from the files in its wheel, never
downloaded); run from the project's checkout (src/ is put on sys.path):
  python3 -m venv /tmp/embenv && /tmp/embenv/bin/pip install numpy PyYAML click jsonschema \\
      google-re2 Jinja2 durable-rules==2.0.28 wordllama
  /tmp/embenv/bin/python benchmarks/incivility_embeddings.py
Results: docs/model-comparison.md, "English incivility and static embeddings".
"""
from __future__ import annotations

import random
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "corpus"))

import build_models as bm
import numpy as np

from servicecheck.detect import linear
from servicecheck.detect.linear import TrainParams, fit_logistic, turn_contexts
from servicecheck.policy.loader import load_policies
from servicecheck.signals import SignalMatcher

PACK = ROOT / "policies" / "service-standards"
CTX = ("ctx:first", "ctx:same-speaker", "ctx:after-question")
FOLDS = 5
THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(14)]  # 0.30 .. 0.95
HELD_OUT_THREADS = tuple(p for p in bm.HELD_OUT if p.startswith("wt"))


def customer_turns(select) -> list[dict]:
    rows = []
    for conv, lab in bm.pairs("en"):
        if not select(conv):
            continue
        turns = conv["turns"]
        contexts = turn_contexts([t["speaker"] for t in turns], [t["text"] for t in turns])
        for turn, tags, ctx in zip(turns, lab["turns"], contexts):
            if turn["speaker"] == "customer":
                rows.append({"conv": conv["id"], "text": turn["text"], "gold": "INCIVILITY" in tags, "ctx": list(ctx)})
    return rows


def plain_matcher() -> SignalMatcher:
    """The pack's matcher with its models stripped (the patterns alone), as servicecheck.train builds it."""
    policyset = load_policies([str(PACK)], include_default=False)
    plain = {name: replace(sig, models={}) for name, sig in policyset.signals.items()}
    return SignalMatcher(plain, policyset.spellings, policyset.negators)


def pattern_hits(matcher: SignalMatcher, rows: list[dict]) -> np.ndarray:
    return np.array(["incivility" in matcher.match(r["text"], "customer", "en", "transcript", only=["incivility"],
                                                   context=r["ctx"]) for r in rows])


def dense_lr(X: np.ndarray, y: np.ndarray):
    mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-6
    Z = (X - mu) / sd
    w, b = fit_logistic(lambda v: Z @ v, lambda g: Z.T @ g, Z.shape[1], y, TrainParams())
    return lambda Xn: 1.0 / (1.0 + np.exp(-np.clip(((Xn - mu) / sd) @ w + b, -40, 40)))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def f1(pred: np.ndarray, gold: np.ndarray) -> tuple[float, int, int, int]:
    tp, fp, fn = int((pred & gold).sum()), int((pred & ~gold).sum()), int((~pred & gold).sum())
    return 2 * tp / max(1, 2 * tp + fp + fn), tp, fp, fn


def main() -> None:
    import wordllama
    from wordllama import WordLlama

    wl = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    matcher = plain_matcher()  # its normalisation (with the pack's spellings) is what the shipped models see

    def embed(rows):
        emb = np.asarray(wl.embed([r["text"] for r in rows]), dtype=np.float64)
        ctx = np.array([[1.0 if c in r["ctx"] else 0.0 for c in CTX] for r in rows])
        return np.hstack([emb, ctx])

    train = [{"conv": e.conversation, "text": e.text, "gold": "INCIVILITY" in e.tags, "ctx": list(e.context)}
             for e in bm.train_examples(frozenset({"train", "dev"})) if e.language == "en" and e.speaker == "customer"]
    judged = {
        "held-out airline tweets": customer_turns(lambda c: c["id"] in bm.HELD_OUT_IDS),
        "held-out written threads": customer_turns(lambda c: c["id"].startswith(HELD_OUT_THREADS)),
    }
    convs = sorted({r["conv"] for r in train})
    random.Random(0).shuffle(convs)
    fold_of = {c: i % FOLDS for i, c in enumerate(convs)}
    fold = np.array([fold_of[r["conv"]] for r in train])
    y = np.array([r["gold"] for r in train])
    docs = [linear.features(matcher.normalized(r["text"], "en").text) + r["ctx"] for r in train]
    X = embed(train)
    p_lin, p_emb = np.zeros(len(train)), np.zeros(len(train))
    for k in range(FOLDS):
        fit = [i for i in range(len(train)) if fold[i] != k]
        model = linear.train([docs[i] for i in fit], [bool(y[i]) for i in fit], "incivility", "en")
        score = dense_lr(X[fold != k], y[fold != k].astype(float))
        for i in np.flatnonzero(fold == k):
            p_lin[i] = model.probability(docs[i])
        p_emb[fold == k] = score(X[fold == k])
    S = np.column_stack([logit(p_lin), logit(p_emb)])
    p_stack = np.zeros(len(train))
    for k in range(FOLDS):
        p_stack[fold == k] = dense_lr(S[fold != k], y[fold != k].astype(float))(S[fold == k])
    pats = pattern_hits(matcher, train)
    scores = {"lin": p_lin, "emb": p_emb, "avg": (p_lin + p_emb) / 2, "stack": p_stack}
    best = {}
    print(f"English customer turns trained on: {len(train)} ({int(y.sum())} INCIVILITY)")
    print("out of fold on the training turns, patterns OR score >= threshold:")
    for name, sc in scores.items():
        (score, tp, fp, fn), t = max((f1(pats | (sc >= t), y), t) for t in THRESHOLDS)
        best[name] = t
        print(f"  {name:6} F1 {score:.3f} at {t:.2f} (tp {tp}, fp {fp}, fn {fn})")
    shipped = linear.load(PACK / "models" / "incivility.en.json")
    emb_final = dense_lr(X, y.astype(float))
    stack_final = dense_lr(S, y.astype(float))
    for title, rows in judged.items():
        g = np.array([r["gold"] for r in rows])
        pat = pattern_hits(matcher, rows)
        pl = np.array([shipped.probability(linear.features(matcher.normalized(r["text"], "en").text) + r["ctx"]) for r in rows])
        pe = emb_final(embed(rows))
        ps = stack_final(np.column_stack([logit(pl), logit(pe)]))
        print(f"{title}: {len(rows)} customer turns, {int(g.sum())} INCIVILITY")
        score, tp, fp, fn = f1(pat, g)
        print(f"  patterns   F1 {score:.3f} (tp {tp}, fp {fp}, fn {fn})")
        for name, sc in {"lin": pl, "emb": pe, "avg": (pl + pe) / 2, "stack": ps}.items():
            score, tp, fp, fn = f1(pat | (sc >= best[name]), g)
            print(f"  {name:6} at {best[name]:.2f}  F1 {score:.3f} (tp {tp}, fp {fp}, fn {fn})")


if __name__ == "__main__":
    main()
