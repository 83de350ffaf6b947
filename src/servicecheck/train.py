"""Retrain a pack's learned detectors on its shipped training turns plus a team's own labelled conversations.

``train`` reads labelled conversations (labels as in ``LABELING.md``), adds them to
the turns the base pack ships (``models/training-data.jsonl.gz``), and for every
signal and language:

1. scores each turn out of fold (k folds by conversation), so the threshold is
   chosen on turns the model has not seen;
2. picks the probability threshold for "a pattern matches or the model reaches
   the threshold": the highest one whose F1 is within :data:`TOLERANCE` of the
   best (0: the best, ties to the higher threshold; 0.01 was measured and lost
   0.01–0.02 macro-F1 on the real dev split and the yardstick) — or switches the
   model off (``model: false``) when the best does not beat the patterns alone by
   :data:`MIN_GAIN`;
3. fits the final model on every turn.

The result is a copy of the base pack with new model files, the ``model`` block
of each signal file rewritten in place (comments and the rest of the file kept),
and the merged training data, so that a later ``train`` builds on it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from servicecheck.detect import linear
from servicecheck.detect.definitions import given_key
from servicecheck.errors import UsageError
from servicecheck.evaluate import TAG_SPEAKER, read_labels, tag_of
from servicecheck.model import InputProblem

TRAINING_DATA = "models/training-data.jsonl.gz"
FOLDS = 5
THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(16))  # 0.20 .. 0.95
MIN_POSITIVES = 30  # fewer labelled turns of a signal in a language: no model for it (too few to generalise)
MIN_GAIN = 0.02  # F1 the model must add over the patterns alone (out of fold) to be switched on
TOLERANCE = 0.0  # F1 given up for a higher threshold
DEFAULT_PARAMS = linear.TrainParams()
# How many shipped turns one of the team's own labelled turns is worth. 4 until the shipped data
# grew to 11,000 turns: then 30 of the worked example's calls (examples/qa-team) gained 0.007
# macro-F1 on the other 30 at 4, 0.025 at 8, 0.034 at 16; on halves of two written sets in a
# register the pack already knows, 4, 8 and 16 scored within 0.003 of each other.
DEFAULT_WEIGHT = 8
# The F1 a detector must add over the patterns for `servicecheck train` to switch it on (the pack's own build asks
# MIN_GAIN). A team's labelled calls are a small share of the pool it is judged on, so a detector that reads the team's
# own wording lifts the pool's out-of-fold F1 by less than MIN_GAIN: on the worked example (examples/qa-team, 30 calls
# trained, the other 30 scored), 0.005 switched on French deflection, empathy, thanks, boundary and agent incivility,
# and the other half gained 0.024 macro-F1 instead of 0.0195; trained on one held-out written set and scored on
# others (French written_chat_zo -> _zp, English written_threads_zk -> _zl + _zm) it scored 0.903 and 0.932 where
# MIN_GAIN gave 0.895 and 0.930 (signals).
TEAM_MIN_GAIN = 0.005


@dataclass(frozen=True)
class TurnExample:
    """One labelled turn: where it comes from, its language and speaker, its text and its tags."""

    conversation: str
    language: str
    speaker: str
    text: str
    tags: tuple[str, ...]
    source: str = ""
    context: tuple[str, ...] = ()  # linear.turn_contexts

    def to_json(self) -> str:
        """One line of the training-data file."""
        return json.dumps({"conversation": self.conversation, "language": self.language, "speaker": self.speaker,
                           "text": self.text, "tags": list(self.tags), "source": self.source,
                           "context": list(self.context)}, ensure_ascii=False)


def read_training_data(path: Path) -> list[TurnExample]:
    """The turns a pack ships for training (none when the file is absent)."""
    if not path.is_file():
        return []
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out.append(TurnExample(row["conversation"], row["language"], row["speaker"], row["text"],
                                   tuple(row["tags"]), row.get("source", ""), tuple(row.get("context", ()))))
    return out


def write_training_data(path: Path, examples: Iterable[TurnExample]) -> None:
    """Write the training-data file (gzip, one JSON line per turn; ``mtime=0`` keeps the bytes reproducible)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for ex in examples:
            gz.write((ex.to_json() + "\n").encode("utf-8"))


def labelled_turns(
    paths: Iterable[str],
    labels_path: str,
    policyset: Any,
    *,
    language: str | None = None,
    input_format: str | None = None,
    source: str = "",
) -> tuple[list[TurnExample], list[InputProblem]]:
    """The labelled turns of the conversations in ``paths`` (conversations without labels are skipped)."""
    from servicecheck import api
    from servicecheck.inputs import read_transcripts

    labels = read_labels(labels_path)
    auditor = api.Auditor(policyset, language)
    out: list[TurnExample] = []
    problems: list[InputProblem] = []
    for path in api.expand_paths(paths, "transcript"):
        for conv in read_transcripts(path, input_format=input_format):
            if isinstance(conv, InputProblem):
                problems.append(conv)
                continue
            if conv.id not in labels:
                continue
            line, tags = labels[conv.id]
            if len(tags) != len(conv.turns):
                problems.append(InputProblem(labels_path, f"conversation {conv.id!r} has {len(conv.turns)} turns "
                                             f"but {len(tags)} label lists; left out", line))
                continue
            lang = auditor.language_of(conv) or "en"
            for turn, ts, ctx in zip(conv.turns, tags, api.contexts_of(conv)):
                if turn.speaker in ("agent", "customer"):
                    kept = tuple(t for t in ts if TAG_SPEAKER[t] == turn.speaker)
                    out.append(TurnExample(conv.id, lang, turn.speaker, turn.text, kept, source, ctx))
    return out, problems


def _fold_of(conversation: str) -> int:
    return int(hashlib.sha1(conversation.encode()).hexdigest()[:8], 16) % FOLDS


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@dataclass
class SignalReport:
    """What training decided for one signal in one language."""

    signal: str
    language: str
    turns: int
    positives: int
    f1_patterns: float  # out of fold, patterns alone
    f1_combined: float  # out of fold, patterns or model at the threshold
    threshold: float | None  # None: the model is off
    model: linear.LinearModel | None
    registers: tuple[str, ...] = ()  # the F1s are means over these registers' F1 (empty: all turns together)
    given: str = ""  # a model-given detector: fitted and judged on the turns labelled with this signal only

    @property
    def detector(self) -> str:
        """The detector's key: the signal, or ``signal|given`` for a model-given one (as in ``pinned``)."""
        return given_key(self.signal, self.given) if self.given else self.signal

    @property
    def label(self) -> str:
        """How reports print it: ``justification given refusal`` for a model-given detector."""
        return f"{self.signal} given {self.given}" if self.given else self.signal


def train_signal(
    signal: str,
    language: str,
    examples: Sequence[TurnExample],
    pattern_hits: Sequence[bool],
    params: linear.TrainParams = DEFAULT_PARAMS,
    judged: Callable[[TurnExample], str | None] | None = None,
    min_gain: float = MIN_GAIN,
    pinned: float | None = None,
) -> SignalReport:
    """Choose a threshold out of fold and fit the final model for one signal in one language.

    The model is fitted on every example. The threshold, and whether the model is on at all, are chosen
    on the F1 over every example; with ``judged``, on the mean F1 over the registers it names (``None``:
    an example no register judges), counting only the registers that hold at least
    :data:`MIN_POSITIVES` positives of the signal (all examples when none does). Registers weigh
    the same however many turns each has: real text is not outvoted by a larger written set, nor a
    register by patterns tuned on another. The model is switched on when its best score beats the
    patterns alone by ``min_gain`` (ties count with ``0``).

    ``pinned``: use this threshold, and switch the model on, whatever the out-of-fold scores say (a threshold
    chosen on held-out text that the patterns were never tuned on: out of fold, patterns tuned on the very
    turns they are scored on look better than they are). The report still gives the out-of-fold F1 at it.
    """
    tag = tag_of(signal)
    docs = [linear.features(ex.text) + list(ex.context) for ex in examples]
    gold = [tag in ex.tags for ex in examples]
    positives = sum(gold)
    groups: dict[str, list[int]] = defaultdict(list)
    if judged is not None:
        for i, ex in enumerate(examples):
            register = judged(ex)
            if register is not None:
                groups[register].append(i)
    registers = {r: idx for r, idx in sorted(groups.items()) if sum(gold[i] for i in idx) >= MIN_POSITIVES}
    if not registers:
        registers = {"": list(range(len(examples)))}

    def score(pred: Sequence[bool]) -> float:
        return sum(_f1(*_confusion([gold[i] for i in idx], [pred[i] for i in idx]))
                   for idx in registers.values()) / len(registers)

    judged_on = tuple(r for r in registers if r)
    base = score(pattern_hits)
    if positives < MIN_POSITIVES:
        return SignalReport(signal, language, len(examples), positives, base, base, None, None, judged_on)
    probs = [0.0] * len(examples)
    folds = [_fold_of(ex.conversation) for ex in examples]
    for k in range(FOLDS):
        train_idx = [i for i, f in enumerate(folds) if f != k]
        test_idx = [i for i, f in enumerate(folds) if f == k]
        if not test_idx or not any(gold[i] for i in train_idx):
            continue
        model = linear.train([docs[i] for i in train_idx], [gold[i] for i in train_idx], signal, language, params)
        for i in test_idx:
            probs[i] = model.probability(docs[i])
    scores = {t: score([p or q >= t for p, q in zip(pattern_hits, probs)]) for t in THRESHOLDS}
    top = max(scores.values())
    best_t: float | None = None
    best = base
    if pinned is not None:
        best_t = pinned
        best = score([p or q >= pinned for p, q in zip(pattern_hits, probs)])
    elif top >= base + min_gain:
        # the highest threshold within TOLERANCE of the best
        best_t = max(t for t, f in scores.items() if f >= top - TOLERANCE)
        best = scores[best_t]
    final = linear.train(docs, gold, signal, language, params) if best_t is not None else None
    return SignalReport(signal, language, len(examples), positives, base, best, best_t, final, judged_on)


def _confusion(gold: Sequence[bool], pred: Sequence[bool]) -> tuple[int, int, int]:
    tp = sum(1 for g, p in zip(gold, pred) if g and p)
    fp = sum(1 for g, p in zip(gold, pred) if p and not g)
    fn = sum(1 for g, p in zip(gold, pred) if g and not p)
    return tp, fp, fn


def train_models(
    examples: Sequence[TurnExample],
    policyset: Any,
    params: linear.TrainParams = DEFAULT_PARAMS,
    judged: Callable[[TurnExample], str | None] | None = None,
    min_gain: float = MIN_GAIN,
    pinned: Mapping[tuple[str, str], float] | None = None,
    languages: Collection[str] | None = None,
    given: Collection[tuple[str, str]] = (),
) -> Iterator[SignalReport]:
    """Train every agent and customer signal of ``policyset`` in every language the examples hold.

    ``judged``, ``min_gain``: see :func:`train_signal`; ``pinned``: ``{(signal, language): threshold}``
    passed on as its ``pinned`` (a model-given detector's key is ``(signal|given, language)``); ``languages``:
    train only these (``None``: all).

    Model-given detectors (``model-given`` in a signal file, and the ``(signal, given)`` pairs of ``given``) are
    trained like a signal's own, on the turns labelled with the other signal alone: among refusals, which are
    explained. Their threshold is chosen, and the detector switched on, on those turns' F1 beside the patterns.
    """
    from servicecheck.signals import SignalMatcher

    plain = {name: replace(sig, models={}, given_models={}) for name, sig in policyset.signals.items()}
    matcher = SignalMatcher(plain, policyset.spellings, policyset.negators)
    by_group: dict[tuple[str, str], list[TurnExample]] = defaultdict(list)
    for ex in examples:
        by_group[(ex.language, ex.speaker)].append(ex)
    names = [name for name, sig in sorted(policyset.signals.items())
             if sig.speaker in ("agent", "customer") and tag_of(name) in TAG_SPEAKER]
    pairs = sorted({(name, other) for name in names for other in policyset.signals[name].given_models} | set(given))
    for (lang, speaker), group in sorted(by_group.items()):
        mine = [n for n in names if policyset.signals[n].speaker == speaker]
        if not mine or (languages is not None and lang not in languages):
            continue
        found = [matcher.match(ex.text, ex.speaker, lang, "transcript", only=mine, context=ex.context)
                 for ex in group]
        normed = [replace(ex, text=matcher.normalized(ex.text, lang).text) for ex in group]
        for name in mine:
            yield train_signal(name, lang, normed, [name in f for f in found], params, judged, min_gain,
                               (pinned or {}).get((name, lang)))
        for name, other in pairs:
            if name not in mine or other not in mine:
                continue
            within = [i for i, ex in enumerate(normed) if tag_of(other) in ex.tags]
            report = train_signal(name, lang, [normed[i] for i in within], [name in found[i] for i in within], params,
                                  judged, min_gain, (pinned or {}).get((given_key(name, other), lang)))
            yield replace(report, given=other)


def _top_block(key: str) -> re.Pattern[str]:
    """A signal file's top-level ``key:`` block: its line and the indented (or blank) lines under it."""
    return re.compile(rf"^{re.escape(key)}:.*(?:\n(?:[ \t]+.*|[ \t]*))*\n?", re.MULTILINE)


_MODEL_BLOCK = _top_block("model")
_GIVEN_BLOCK = _top_block("model-given")


def _spec_lines(models: Mapping[str, tuple[str, float]], indent: str) -> list[str]:
    """``{language: (file, threshold)}`` as the YAML lines of a model block."""
    return [f"{indent}{lang}: {{file: {file}, threshold: {threshold}}}" for lang, (file, threshold) in sorted(models.items())]


def set_model_block(yaml_text: str, models: Mapping[str, tuple[str, float]]) -> str:
    """``yaml_text`` with its top-level ``model`` block replaced (``{}``: ``model: false``).

    The block goes where the old one stood, else before ``examples:``, else at the end.
    """
    if models:
        block = "\n".join(["model:", *_spec_lines(models, "  ")]) + "\n"
    else:
        block = "model: false\n"
    if _MODEL_BLOCK.search(yaml_text):
        return _MODEL_BLOCK.sub(lambda _m: block, yaml_text, count=1)
    at = re.search(r"^examples:", yaml_text, re.MULTILINE)
    if at:
        return yaml_text[: at.start()] + block + yaml_text[at.start():]
    return yaml_text.rstrip("\n") + "\n" + block


def set_given_block(yaml_text: str, models: Mapping[str, Mapping[str, tuple[str, float]]]) -> str:
    """``yaml_text`` with its top-level ``model-given`` block replaced (``{}``: removed).

    ``models``: ``{other signal: {language: (file, threshold)}}``. The block goes where the old one stood, else
    after the ``model`` block, else before ``examples:``, else at the end.
    """
    block = ""
    if models:
        lines = ["model-given:"]
        for other, specs in sorted(models.items()):
            lines += [f"  {other}:", *_spec_lines(specs, "    ")]
        block = "\n".join(lines) + "\n"
    if _GIVEN_BLOCK.search(yaml_text):
        return _GIVEN_BLOCK.sub(lambda _m: block, yaml_text, count=1)
    if not block:
        return yaml_text
    at = _MODEL_BLOCK.search(yaml_text) or re.search(r"^(?=examples:)", yaml_text, re.MULTILINE)
    if at:
        return yaml_text[: at.end()] + block + yaml_text[at.end():]
    return yaml_text.rstrip("\n") + "\n" + block


def write_pack(base: Path, output: Path, reports: Sequence[SignalReport], examples: Sequence[TurnExample],
               languages: Collection[str] | None = None) -> None:
    """Copy the pack ``base`` to ``output`` with the trained models, their thresholds and the training data.

    ``languages``: the languages retrained (``None``: all). Another language keeps the base's detectors as
    they are: model files, thresholds, and switched off where they were off.

    Raises:
        UsageError: ``output`` exists and is not an empty folder, or is inside ``base``.
    """
    if output.resolve() == base.resolve() or base.resolve() in output.resolve().parents:
        raise UsageError(f"{output}: the output folder must not be the base pack or inside it")
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise UsageError(f"{output}: exists and is not an empty folder")
    shutil.copytree(base, output, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "models"))
    # (signal, given or "") -> {language: (model file, threshold)}
    chosen: dict[tuple[str, str], dict[str, tuple[str, float]]] = defaultdict(dict)
    for rep in reports:
        if rep.model is not None and rep.threshold is not None:
            rel = f"models/{rep.signal}{f'.given-{rep.given}' if rep.given else ''}.{rep.language}.json"
            rep.model.save(output / rel)
            chosen[(rep.signal, rep.given)][rep.language] = (rel, rep.threshold)
    (output / "models").mkdir(parents=True, exist_ok=True)
    retrained = {(rep.signal, rep.given) for rep in reports}
    if languages is not None:
        for signal, given, lang, rel, threshold in _base_models(base):
            if lang not in languages:
                (output / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(base / rel, output / rel)
                chosen[(signal, given)][lang] = (rel, threshold)
    for signal in sorted({signal for signal, _given in retrained}):
        path = output / "signals" / f"{signal}.yaml"
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            if (signal, "") in retrained:
                text = set_model_block(text, chosen.get((signal, ""), {}))
            givens = sorted(given for s, given in retrained if s == signal and given)
            if givens:
                text = set_given_block(text, {g: chosen[(signal, g)] for g in givens if chosen.get((signal, g))})
            path.write_text(text, encoding="utf-8")
    for extra in (base / "models").glob("*") if (base / "models").is_dir() else ():
        if extra.suffix not in (".json", ".gz"):  # README, licences
            shutil.copy2(extra, output / "models" / extra.name)
    write_training_data(output / TRAINING_DATA, examples)


def _base_models(base: Path) -> Iterator[tuple[str, str, str, str, float]]:
    """``(signal, given or "", language, file relative to the pack, threshold)`` of every detector the pack ``base``
    switches on (its own models, then its model-given ones)."""
    import yaml

    from servicecheck.detect.definitions import given_signals, model_specs

    root = base.resolve()
    for path in sorted((base / "signals").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for given in ("", *given_signals(data)):
            specs = model_specs(data, str(root), given or None)
            for lang, spec in sorted(specs.items()):
                target = Path(spec.file).resolve()
                # the loader has checked the pack it loaded; --base may name another: only files inside it
                if target.is_file() and root in target.parents:
                    yield path.stem, given, lang, target.relative_to(root).as_posix(), spec.threshold


def train(
    paths: Iterable[str],
    labels_path: str,
    output: str,
    policyset: Any,
    base_pack: str,
    *,
    language: str | None = None,
    input_format: str | None = None,
    weight: int = DEFAULT_WEIGHT,
    params: linear.TrainParams = DEFAULT_PARAMS,
    min_gain: float = TEAM_MIN_GAIN,
) -> tuple[list[SignalReport], list[InputProblem], int]:
    """Train the detectors of ``base_pack`` on its shipped turns plus the labelled ``paths``; write ``output``.

    Each new labelled turn counts ``weight`` times against a shipped one. A retrained detector is switched on when it
    adds ``min_gain`` F1 to the patterns out of fold (:data:`TEAM_MIN_GAIN`). Only the languages of the labelled
    conversations are retrained; the others keep the base pack's detectors unchanged.

    Returns the per-signal reports, the input problems met, and the number of new labelled turns.

    Raises:
        UsageError: the labels cannot be read, no labelled conversation was found, or the output folder is
            not usable.
    """
    base = Path(base_pack)
    new, problems = labelled_turns(paths, labels_path, policyset, language=language, input_format=input_format,
                                   source=Path(labels_path).name)
    if not new:
        raise UsageError(f"{labels_path}: no conversation of the inputs has labels here (ids must match)")
    examples = read_training_data(base / TRAINING_DATA) + new
    # the team's own turns count `weight` times: they are few, and they are the register it audits
    # (the copies keep their conversation, so they fall in its fold: no copy is scored by a model it trained)
    weighted = examples + new * (weight - 1)
    # only the languages the team labelled: its French calls say nothing of English detectors, and refitting those
    # from the shipped turns alone would drop what the shipped pack chose on text the pack does not carry (the
    # thresholds judged on held-out sets, detectors kept off, turns whose licence keeps them out of the training data)
    languages = frozenset(ex.language for ex in new)
    reports = list(train_models(weighted, policyset, params, languages=languages, min_gain=min_gain))
    write_pack(base, Path(output), reports, examples, languages)
    return reports, problems, len(new)
