"""The learned layer: a logistic-regression detector over word n-grams of the normalised text.

A model is one signal in one language. Its features are the tokens and token pairs
of the text as :func:`servicecheck.text.normalize.normalize` gives it (folded case,
accents and SMS spellings, placeholders as one token), so a model sees what the
patterns see. The file is JSON (``{"format", "signal", "language", "bias",
"weights": {feature: weight}, ...}``): safe to load, small once pruned, and easy
to read ("which words make a complaint?").

Training is plain L2-regularised logistic regression, full batch, with balanced
class weights, solved by Adam over a sparse design matrix held as numpy arrays.
It needs nothing beyond numpy and takes seconds on a few thousand turns.

Several models of one language are scored together by :class:`ModelBank`: one
dictionary lookup per feature and one small matrix sum give every signal's
probability for a turn.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "servicecheck-linear/1"
MAX_FEATURES = 12000  # weights kept per model, largest first (the file stays ~0.5 MB at most)
_NUMBER = "<num>"


def features(normalized_text: str, tokens: Iterable[str] | None = None) -> list[str]:
    """The features of one normalised text: its tokens and adjacent token pairs, each once.

    Digits become ``<num>``, so "2 days" and "3 days" share a feature. A start
    marker makes "sorry" at the head of a turn a feature of its own. ``tokens``,
    when given, are the text's tokens already split (``Normalized.tokens``' strings):
    a very long turn is then not split into a second copy of every word.
    """
    words = [_NUMBER if tok.isdigit() else tok for tok in (normalized_text.split() if tokens is None else tokens)]
    out = dict.fromkeys(words)
    prev = "<s>"
    for word in words:  # tokens hold no space: no pair is also a word
        out[f"{prev} {word}"] = None
        prev = word
    return list(out)


def turn_contexts(speakers: Sequence[str], texts: Sequence[str]) -> list[tuple[str, ...]]:
    """Features of each turn's place in its conversation, beside its own words.

    ``ctx:first`` - the speaker's first turn (where problems are stated), in an exchange: a lone message
    (a tweet, a template, every turn by one speaker) has no first turn to tell apart, and marking it so taught
    the models, from thousands of one-tweet complaints, that any opening turn is one;
    ``ctx:after-question`` - the last turn by someone else asked a question (an answer follows);
    ``ctx:same-speaker`` - the turn goes on from the speaker's previous one.
    """
    out: list[tuple[str, ...]] = []
    seen: set[str] = set()
    exchange = len(set(speakers)) > 1
    for i, speaker in enumerate(speakers):
        ctx = []
        if speaker not in seen and exchange:
            ctx.append("ctx:first")
            seen.add(speaker)
        if i and speakers[i - 1] == speaker:
            ctx.append("ctx:same-speaker")
        other = next((j for j in range(i - 1, -1, -1) if speakers[j] != speaker), None)
        if other is not None and "?" in texts[other]:
            ctx.append("ctx:after-question")
        out.append(tuple(ctx))
    return out


@dataclass
class LinearModel:
    """One signal's detector in one language."""

    signal: str
    language: str
    weights: dict[str, float]
    bias: float
    info: dict[str, Any] = field(default_factory=dict)

    def logit(self, feats: Iterable[str]) -> float:
        """The log-odds of the signal for these features."""
        w = self.weights
        return self.bias + sum(w.get(f, 0.0) for f in feats)

    def probability(self, feats: Iterable[str]) -> float:
        """The probability of the signal for these features."""
        return _sigmoid(self.logit(feats))

    def to_json(self) -> str:
        """The model file's text (features sorted by weight, strongest first)."""
        ranked = sorted(self.weights.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        doc = {
            "format": FORMAT,
            "signal": self.signal,
            "language": self.language,
            "bias": round(self.bias, 6),
            "info": self.info,
            "weights": {k: round(v, 5) for k, v in ranked},
        }
        return json.dumps(doc, ensure_ascii=False, indent=0) + "\n"

    def save(self, path: Path) -> None:
        """Write the model file (parent folders are created)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")


class ModelError(ValueError):
    """A model file that cannot be used."""


def load(path: Path) -> LinearModel:
    """Read a model file.

    Raises:
        ModelError: the file is missing, not JSON, or not a servicecheck linear model.
    """
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"cannot read model: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"not a model file (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelError(f"not a model file (expected format {FORMAT!r})")
    weights = doc.get("weights")
    bias = doc.get("bias")
    if not isinstance(weights, dict) or not isinstance(bias, (int, float)):
        raise ModelError("model file lacks 'weights' or 'bias'")
    try:
        clean = {str(k): float(v) for k, v in weights.items()}
    except (TypeError, ValueError):
        raise ModelError("model weights must be numbers") from None
    if not all(math.isfinite(v) for v in clean.values()) or not math.isfinite(bias):
        raise ModelError("model weights must be finite numbers")
    return LinearModel(str(doc.get("signal", "")), str(doc.get("language", "")), clean, float(bias),
                       dict(doc.get("info") or {}))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


class ModelBank:
    """Every model of one language, scored together: one lookup per feature for all signals."""

    def __init__(self, models: Mapping[str, LinearModel]) -> None:
        """Stack ``{signal: model}`` into one feature index and one weight matrix."""
        import numpy as np  # here, not at the top: linting a document never scores a model

        self._np = np
        self.signals = tuple(models)
        index: dict[str, int] = {}
        for model in models.values():
            for feat in model.weights:
                index.setdefault(feat, len(index))
        matrix = np.zeros((len(index) + 1, len(self.signals)), dtype=np.float64)  # last row: unknown features
        for j, model in enumerate(models.values()):
            for feat, w in model.weights.items():
                matrix[index[feat], j] = w
        self._index = index
        self._matrix = matrix
        self._bias = np.array([m.bias for m in models.values()], dtype=np.float64)
        # Per signal, the features that can rank in top_features (a positive weight), negated: a turn's
        # few such features are then found at C speed among its many.
        self._pushes_up = {name: {f: -w for f, w in m.weights.items() if w > 0} for name, m in models.items()}

    def probabilities(self, feats: Sequence[str]) -> dict[str, float]:
        """``{signal: probability}`` for one turn's features."""
        np = self._np
        get = self._index.get
        rows = [r for r in map(get, feats) if r is not None]
        # The ufuncs themselves (ndarray.sum and np.clip are Python wrappers of add.reduce and of
        # minimum/maximum): the same operations on the same values, a few microseconds less a turn.
        logits = self._bias + np.add.reduce(self._matrix.take(rows, axis=0), axis=0) if rows else self._bias
        probs = 1.0 / (1.0 + np.exp(-np.minimum(np.maximum(logits, -40.0), 40.0)))
        return dict(zip(self.signals, probs.tolist()))

    def top_features(self, signal: str, feats: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` features of this turn that pushed ``signal`` up the most, with their weights."""
        negated = self._pushes_up[signal]
        present = list(filter(negated.__contains__, feats))
        ranked = sorted(zip(map(negated.__getitem__, present), present))  # (-weight, feature): strongest first
        return [(f, -w) for w, f in ranked[:k]]


# ------------------------------------------------------------------ training


@dataclass(frozen=True)
class TrainParams:
    """Hyper-parameters of :func:`train` (chosen on the real dev split; docs/accuracy.md)."""

    l2: float = 1.0  # on the summed (not averaged) loss
    epochs: int = 300
    learning_rate: float = 0.05
    min_count: int = 2  # a feature must occur in this many training texts


def fit_logistic(
    margin: Callable[[Any], Any], backprop: Callable[[Any], Any], d: int, y: Any, params: TrainParams
) -> tuple[Any, float]:
    """L2 logistic regression with balanced class weights, full batch, by Adam: ``(weights, bias)``.

    ``margin(w)`` gives ``X @ w`` and ``backprop(g)`` gives ``X.T @ g`` for the design
    matrix ``X`` (n x d) in whatever form the caller holds it (sparse here; dense in the
    model comparison benchmark). ``y`` holds 0/1 labels, both classes present.
    """
    import numpy as np

    n = len(y)
    positives = float(y.sum())
    # balanced class weights: each class weighs half of the total
    sample_w = np.where(y > 0, n / (2.0 * positives), n / (2.0 * (n - positives)))
    w = np.zeros(d)
    b = 0.0
    m_w = np.zeros(d)
    v_w = np.zeros(d)
    m_b = v_b = 0.0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, params.epochs + 1):
        p = 1.0 / (1.0 + np.exp(-np.clip(margin(w) + b, -40.0, 40.0)))
        g = (p - y) * sample_w
        grad_w = backprop(g) + params.l2 * w
        grad_b = float(g.sum())
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w * grad_w
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b * grad_b
        corr1, corr2 = 1 - beta1**step, 1 - beta2**step
        w -= params.learning_rate * (m_w / corr1) / (np.sqrt(v_w / corr2) + eps)
        b -= params.learning_rate * (m_b / corr1) / (math.sqrt(v_b / corr2) + eps)
    return w, b


def vocabulary(docs: Sequence[Sequence[str]], min_count: int) -> dict[str, int]:
    """Features seen in at least ``min_count`` documents, indexed in a fixed (sorted) order."""
    counts = Counter(f for doc in docs for f in set(doc))
    kept = sorted(f for f, c in counts.items() if c >= min_count)
    return {f: i for i, f in enumerate(kept)}


def train(
    docs: Sequence[Sequence[str]],
    labels: Sequence[bool],
    signal: str,
    language: str,
    params: TrainParams = TrainParams(),
) -> LinearModel:
    """Fit one detector on featurised texts (``docs``) and their yes/no labels.

    Deterministic: the same inputs give the same weights.
    """
    import numpy as np

    vocab = vocabulary(docs, params.min_count)
    rows: list[int] = []
    cols: list[int] = []
    for i, doc in enumerate(docs):
        ids = sorted({vocab[f] for f in doc if f in vocab})
        rows.extend([i] * len(ids))
        cols.extend(ids)
    n, d = len(docs), len(vocab)
    y = np.asarray(labels, dtype=np.float64)
    positives = float(y.sum())
    if n == 0 or d == 0 or positives in (0.0, float(n)):
        prior = (positives + 0.5) / (n + 1.0)
        return LinearModel(signal, language, {}, math.log(prior / (1 - prior)),
                           {"turns": n, "positives": int(positives), "note": "too little data: prior only"})
    r = np.asarray(rows, dtype=np.int64)
    c = np.asarray(cols, dtype=np.int64)
    w, b = fit_logistic(
        lambda w: np.bincount(r, weights=w[c], minlength=n),  # X @ w, X sparse binary (r, c)
        lambda g: np.bincount(c, weights=g[r], minlength=d),  # X.T @ g
        d, y, params,
    )
    names = list(vocab)
    order = np.argsort(-np.abs(w), kind="stable")[:MAX_FEATURES]
    weights = {names[i]: float(w[i]) for i in order if abs(w[i]) >= 1e-3}
    info = {"turns": n, "positives": int(positives), "features": len(weights),
            "l2": params.l2, "epochs": params.epochs}
    return LinearModel(signal, language, weights, float(b), info)
