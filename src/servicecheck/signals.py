"""Signals: the matcher that finds a pack's signals (patterns, exceptions, negation, learned detectors) in one turn.

Signal files are read by :mod:`servicecheck.detect.definitions`. An exception match that overlaps a pattern
match cancels it; with ``negation: block`` so does a negator (from the pack's
``lexicon.yaml``) among the :data:`NEGATION_WINDOW` tokens before the match,
in the same clause (punctuation, a contrastive conjunction, or "and" / « et » before a
subject ends it: :data:`NEGATION_STOPS`).

Speakers: an ``agent`` signal matches agent turns and document sentences
(documents are spoken by ``agent``); a ``customer`` signal matches customer
turns; a ``script`` signal matches only documents (``kind`` is not
``"transcript"``).  An unknown language tries every language of the pack.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from servicecheck.detect import linear
from servicecheck.detect.definitions import (
    ANY,
    DEFAULT_LANGUAGES,
    LEXICON_SCHEMA,
    NEGATION_AND,
    NEGATION_MODES,
    NEGATION_STOPS,
    NEGATION_SUBJECTS,
    NEGATION_WINDOW,
    SIGNAL_SCHEMA,
    SPEAKERS,
    Example,
    Hit,
    ModelSpec,
    SignalDef,
    applies,
    given_key,
    given_signals,
    lexicon_problems,
    load_lexicon,
    load_signal_mapping,
    model_specs,
    resolve_includes,
)
from servicecheck.detect.linear import ModelBank
from servicecheck.detect.prefilter import NOTHING, CompiledSignal, Prefilter, Subset, prefilter_after
from servicecheck.text.normalize import CLAUSE_END, SENTENCE_END, Normalized, normalize
from servicecheck.text.patterns import Pattern, PatternError, PatternSet, compile_pattern

# The definitions live in servicecheck.detect.definitions; they are re-exported here, where the
# loader, the schemas and pack authors' code have always found them.
__all__ = [
    "ANY", "DEFAULT_LANGUAGES", "LEXICON_SCHEMA", "NEGATION_MODES", "NEGATION_WINDOW", "SIGNAL_SCHEMA", "SPEAKERS",
    "Example", "Hit", "ModelSpec", "SignalDef", "SignalMatcher", "applies", "given_key", "given_signals",
    "lexicon_problems", "load_lexicon", "load_signal_mapping", "model_specs", "resolve_includes",
]

class _Spans:
    """Exception spans, asked "does any overlap [start, end)?" in log time.

    A scan of every span per match was quadratic on a long repetitive turn (issue 7).
    """

    def __init__(self, hits: Iterator[tuple[int, int, int]] | tuple[()]) -> None:
        self._starts: list[int] = []
        self._reach = [-1]  # _reach[k]: the furthest end among the first k spans
        for _i, s, e in sorted(hits, key=lambda hit: hit[1]):
            self._starts.append(s)
            self._reach.append(max(self._reach[-1], e))

    def overlaps(self, start: int, end: int) -> bool:
        """True when some span (s, e) has ``s < end`` and ``start < e``."""
        return self._reach[bisect.bisect_left(self._starts, end)] > start


def _sentence_of(norm: Normalized, feature: str) -> tuple[int, int, int]:
    """The sentence of ``norm.text`` where ``feature`` (a token, or two tokens) first occurs.

    Returns ``(start, end, feature_start)`` as offsets in ``norm.text``; the whole
    text when the feature is not found (a start marker, an empty feature).
    """
    toks = [t for t, _s, _e in norm.tokens]
    want = [t for t in feature.split() if t != "<s>"]
    at = 0
    if want:
        n = len(want)
        mapped = ["<num>" if x.isdigit() else x for x in toks]  # as the features name them
        i = -1
        while True:  # the first place where the feature's tokens follow each other
            try:
                i = mapped.index(want[0], i + 1, max(len(mapped) - n + 1, 0))
            except ValueError:
                break
            if mapped[i : i + n] == want:
                at = i
                break
    first = at
    while first > 0 and toks[first - 1] not in SENTENCE_END:
        first -= 1
    last = at
    while last < len(toks) - 1 and toks[last] not in SENTENCE_END:
        last += 1
    if not toks:
        return (0, 0, 0)
    return norm.starts[first], norm.starts[last] + len(toks[last]), norm.starts[at]


_MEMO_SIZE = 512  # answers of _applicable kept
# Recent normalisations kept, for the near-miss search that reads again the turns of the conversation
# just matched: enough for most conversations. Each kept result outlives the collector's young
# generation, and 512 of them made normalising ~10 % dearer than the work itself (the collector's
# passes); 64 keep almost every near-miss hit on the benchmark corpus (8,900 of 8,960).
_NORMALIZED_MEMO = 64
_MEMO_TEXT = 4096  # longer texts are not kept


class SignalMatcher:
    """Finds signals in one turn's text; built once per policy set, then reused for every turn."""

    def __init__(
        self,
        signals: Mapping[str, SignalDef],
        spellings: Mapping[str, Mapping[str, str]] | None = None,
        negators: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Compile every signal's patterns for every language.

        Raises:
            PatternError: naming the signal, its file and the pattern that does not compile.
        """
        self.signals = dict(signals)
        spellings = spellings or {}
        negators = negators or {}
        langs: set[str] = set()
        for sig in self.signals.values():
            langs.update(k for k in (*sig.patterns, *sig.exceptions) if k != ANY)
        langs.update(k for k in (*spellings, *negators) if k != ANY)
        self.languages: tuple[str, ...] = tuple(sorted(langs)) or DEFAULT_LANGUAGES
        self._spellings: dict[str, dict[str, str]] = {}
        self._negators: dict[str, list[tuple[str, ...]]] = {}
        for lang in self.languages:
            table = dict(spellings.get(ANY, {}))
            table.update(spellings.get(lang, {}))
            self._spellings[lang] = table
            words = [*negators.get(ANY, ()), *negators.get(lang, ())]
            self._negators[lang] = sorted(
                {tuple(normalize(w, table).text.split()) for w in words} - {()}, key=len, reverse=True
            )
        self._compiled: dict[tuple[str, str], CompiledSignal] = {}
        self._single: dict[tuple[str, str], list[Pattern]] = {}
        # learned detectors, per language: {signal: spec}; the models load on first use
        self._model_specs: dict[str, dict[str, ModelSpec]] = {}
        # and those that judge only the turns where another signal is found: {lang: {(signal, given): spec}}
        self._given_specs: dict[str, dict[tuple[str, str], ModelSpec]] = {}
        self._givens: dict[str, tuple[str, ...]] = {}  # signal -> the signals its model-given blocks need
        for name, sig in self.signals.items():
            for lang, spec in sig.models.items():
                for target in self.languages if lang == ANY else (lang,):
                    self._model_specs.setdefault(target, {})[name] = spec
            for given, specs in sig.given_models.items():
                if given not in self.signals:
                    continue  # the loader reports it; a matcher built from bare definitions skips it
                self._givens[name] = (*self._givens.get(name, ()), given)
                for lang, spec in specs.items():
                    for target in self.languages if lang == ANY else (lang,):
                        self._given_specs.setdefault(target, {})[(name, given)] = spec
        for name, sig in self.signals.items():
            for lang in self.languages:
                pats = self._compile(sig, "patterns", lang)
                if not pats:
                    continue
                exc = self._compile(sig, "exceptions", lang)
                self._single[(name, lang)] = pats
                self._compiled[(name, lang)] = CompiledSignal(PatternSet(pats), PatternSet(exc) if exc else None)

    def _compile(self, sig: SignalDef, section: str, lang: str) -> list[Pattern]:
        table: Mapping[str, tuple[str, ...]] = getattr(sig, section)
        out = []
        for source in (*table.get(lang, ()), *table.get(ANY, ())):
            try:
                out.append(compile_pattern(source, self._spellings[lang]))
            except PatternError as exc:
                where = f"{sig.path}: " if sig.path else ""
                raise PatternError(
                    f"{where}signal {sig.name!r}, {section}.{lang}: {source!r}: {exc.message}", exc.column
                ) from None
        return out

    # ------------------------------------------------------------ helpers

    def _languages(self, language: str | None) -> tuple[str, ...]:
        if language:
            primary = language.strip().lower().replace("_", "-").split("-")[0]  # "fr-FR" -> "fr"
            if primary in self.languages:
                return (primary,)
        return self.languages

    def _applicable(self, speaker: str, kind: str, only: Collection[str] | None) -> list[str]:
        # Asked once a turn with a few speakers and kinds: the answers are kept (by value of ``only``).
        key = (speaker, kind, None if only is None else only if isinstance(only, frozenset) else frozenset(only))
        memo: dict[tuple[str, str, frozenset[str] | None], list[str]] = self.__dict__.setdefault("_applicable_memo", {})
        found = memo.get(key)
        if found is None:
            found = [
                name for name, sig in self.signals.items()
                if (only is None or name in only) and applies(sig, speaker, kind)
            ]
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = found
        return found

    def _negated(self, norm: Normalized, start: int, lang: str) -> bool:
        negators = self._negators.get(lang)
        if not negators:
            return False
        k = norm.token_index(start)
        window: list[str] = []
        tokens = norm.tokens
        for j in range(k - 1, max(k - 1 - NEGATION_WINDOW, -1), -1):
            tok = tokens[j][0]
            if tok in CLAUSE_END or tok in NEGATION_STOPS:
                break
            if tok in NEGATION_AND and j + 1 < len(tokens) and tokens[j + 1][0] in NEGATION_SUBJECTS:
                break
            window.append(tok)
        if not window:
            return False
        window.reverse()
        for neg in negators:
            n = len(neg)
            for i in range(len(window) - n + 1):
                if tuple(window[i : i + n]) == neg:
                    return True
        return False

    def _candidates(
        self, name: str, lang: str, norm: Normalized, subset: Subset | None = None
    ) -> Iterator[tuple[int, Pattern, int, int, str | None]]:
        """Every match of signal ``name`` in ``norm``: ``(pattern index, pattern, start, end, why cancelled)``.

        ``why cancelled`` is ``None`` when the match stands; the index is the pattern's
        place in the signal file (its rank as evidence: patterns are listed strongest first).
        ``subset``: the patterns and exceptions that may match (the prefilter's); the
        others never match, so leaving them out of the searches changes nothing.
        """
        compiled = self._compiled.get((name, lang))
        if compiled is None:
            return
        patterns, exceptions = compiled.patterns, compiled.exceptions
        only, only_exc = subset if subset is not None else (None, None)
        if exceptions is not None and only_exc is not None and not only_exc:
            exceptions = None  # the prefilter saw none of them
        sig = self.signals[name]
        exc_spans: _Spans | None = None
        for index, start, end in patterns.finditer(norm.text, only):
            if exceptions is not None:
                if exc_spans is None:
                    exc_spans = _Spans(exceptions.finditer(norm.text, only_exc))
                if exc_spans.overlaps(start, end):
                    yield index, patterns.patterns[index], start, end, "exception"
                    continue
            if sig.negation == "block" and self._negated(norm, start, lang):
                yield index, patterns.patterns[index], start, end, "negation"
                continue
            yield index, patterns.patterns[index], start, end, None

    def _may_match(self, lang: str, norm: Normalized, names: Collection[str]) -> dict[str, Subset | None] | None:
        """Of ``names``, the signals that may match in ``norm``, with the subset (``None``: no prefilter, try each)."""
        filters: dict[str, Prefilter | None] = self.__dict__.setdefault("_prefilters", {})
        seen: dict[str, int] = self.__dict__.setdefault("_prefiltered", {})
        seen[lang] = count = seen.get(lang, 0) + 1
        after = self.__dict__.get("_prefilter_after")
        if after is None:  # read once (the environment, ~1 us), not on every turn
            after = self.__dict__["_prefilter_after"] = prefilter_after()
        if lang not in filters or count == after:
            # A Hyperscan database takes seconds to compile: until a run has matched enough
            # turns to pay for it, one already in the cache is used, else the RE2 probes.
            compiled = {name: c for (name, lg), c in self._compiled.items() if lg == lang}
            try:
                filters[lang] = Prefilter(compiled, build=count >= after) if compiled else None
            except Exception:  # noqa: BLE001 - a prefilter that cannot be built: each signal's own search works
                filters[lang] = None
        prefilter = filters[lang]
        primed = self.__dict__.get("_primed_may")
        if primed is not None and prefilter is not None:
            known = primed.get((norm.text, lang))
            if known is not None and known[0] is prefilter:
                return known[1]
        return prefilter.signals(norm.text, names) if prefilter is not None else None

    def _document_may(self, lang: str, norm: Normalized, names: Collection[str]) -> dict[str, Subset | None] | None:
        """Of ``names``, the signals that may match in a document, with their patterns that may (``None``: unknown).

        The literal prefilter (servicecheck.literals) is built by the pack cache with the matcher
        and kept in it (``_document_filter``); a matcher without it searches every signal.
        """
        found = self.__dict__.get("_document_filter")
        return found.signals(lang, norm.text, names) if found is not None else None

    def warm(self) -> None:
        """Build every language's prefilter and learned detectors now rather than on first use."""
        from servicecheck.text.normalize import normalize as _normalize

        for lang in self.languages:
            self._may_match(lang, _normalize("."), ())
            self._bank(lang)

    def _bank(self, lang: str) -> ModelBank | None:
        """The learned detectors of ``lang``, loaded on first use (``None``: there are none)."""
        banks: dict[str, ModelBank | None] = self.__dict__.setdefault("_banks", {})
        if lang not in banks:
            files = {name: spec.file for name, spec in self._model_specs.get(lang, {}).items()}
            files.update({given_key(name, given): spec.file
                          for (name, given), spec in self._given_specs.get(lang, {}).items()})
            banks[lang] = ModelBank({key: linear.load(Path(file)) for key, file in files.items()}) if files else None
        return banks[lang]

    def _model_candidates(
        self, names: Collection[str], lang: str, norm: Normalized, context: Sequence[str] = (),
        may: Mapping[str, Subset | None] | None = None, given: Collection[str] | None = None,
    ) -> Iterator[tuple[str, float, list[tuple[str, float]], int, int, str | None]]:
        """Model hits over the threshold: ``(signal, probability, top features, start, end, cancelled)``.

        ``given``: the signals found in the turn; then the ``model-given`` detectors of ``names`` whose
        other signal is among them run instead of the signals' own models.

        ``start``/``end`` span (in ``norm.text``) the sentence holding the strongest
        feature; an exception overlapping that sentence, or a negator before that
        feature (``negation: block``), cancels the hit as it cancels a pattern's.
        ``may``: the prefilter's answer for this text (which exceptions may match).
        """
        if given is None:
            specs = self._model_specs.get(lang)
            if not specs or specs.keys().isdisjoint(names):
                return
            asked = [(name, name, specs.get(name)) for name in names]
        else:
            pairs = self._given_specs.get(lang)
            if not pairs:
                return
            asked = [(name, given_key(name, other), spec) for (name, other), spec in pairs.items()
                     if name in names and other in given]
            if not asked:
                return
        bank = self._bank(lang)
        if bank is None:
            return
        feats, probs = self._scored(bank, norm, context)
        for name, key, spec in asked:
            if spec is None or probs[key] < spec.threshold:
                continue
            top = bank.top_features(key, feats)
            # the sentence of the strongest word (not of a context feature or a punctuation mark)
            words = [f for f, _w in top if not f.startswith("ctx:") and any(ch.isalnum() for ch in f)]
            start, end, at = _sentence_of(norm, words[0] if words else "")
            cancelled: str | None = None
            compiled = self._compiled.get((name, lang))
            if compiled is not None and compiled.exceptions is not None:
                subset = may.get(name, NOTHING) if may is not None else None
                only = subset[1] if subset is not None else None
                if only != () and _Spans(compiled.exceptions.finditer(norm.text, only)).overlaps(start, end):
                    cancelled = "exception"
            if cancelled is None and self.signals[name].negation == "block" and self._negated(norm, at, lang):
                cancelled = "negation"
            yield name, probs[key], top, start, end, cancelled

    def _scored(self, bank: ModelBank, norm: Normalized, context: Sequence[str]) -> tuple[list[str], dict[str, float]]:
        """A turn's features and every model's probability, kept for the turn scored last: the model-given
        pass of :meth:`match` scores the very turn the signals' own models have just scored."""
        context = tuple(context)
        last = self.__dict__.get("_last_scored")
        if last is not None and last[0] is norm and last[1] is bank and last[2] == context:
            return last[3], last[4]
        feats = linear.features(norm.text, map(itemgetter(0), norm.tokens)) + list(context)
        probs = bank.probabilities(feats)
        self.__dict__["_last_scored"] = (norm, bank, context, feats, probs)
        return feats, probs

    def _given_by(self, name: str, present: Collection[str]) -> str:
        """The signal in ``present`` that let ``name``'s model-given detector run (its first, in file order)."""
        return next(g for g in self._givens[name] if g in present)

    def _hit(self, name: str, lang: str, norm: Normalized, pattern: Pattern, start: int, end: int) -> Hit:
        a, b = norm.original_span(start, end)
        return Hit(name, a, b, pattern.source, lang)

    # --------------------------------------------------------------- API

    def prime(self, turns: Iterable[tuple[str, str | None]]) -> None:
        """Normalise and prefilter a block of transcript turns, ``(text, language)``, one after the other.

        :meth:`match` then takes these results instead of making them turn by turn
        between the other stages (the same results: the same calls on the same texts).
        Done back to back, the Hyperscan database and the normaliser's tables stay in
        the processor's caches: about a tenth of an audit's time (docs/performance.md,
        twenty-third round). :meth:`unprime` forgets them.
        """
        primed: dict[tuple[str, str], Normalized] = self.__dict__.setdefault("_primed", {})
        primed_may: dict[tuple[str, str], tuple[Prefilter, dict[str, Subset | None]]] = self.__dict__.setdefault(
            "_primed_may", {})
        filters: dict[str, Prefilter | None] = self.__dict__.get("_prefilters", {})
        for text, language in turns:
            if not text:
                continue
            for lang in self._languages(language):
                key = (text, lang)
                if key in primed:
                    continue
                try:
                    norm = normalize(text, self._spellings.get(lang))
                    prefilter = filters.get(lang)
                    # only a prefilter whose answer does not depend on the signals asked (a Hyperscan database)
                    may = prefilter.signals(norm.text, ()) if prefilter is not None and prefilter.scans else None
                except Exception:  # noqa: BLE001, S112 - match meets it again, where its conversation is reported
                    continue
                primed[key] = norm
                if prefilter is not None and may is not None and norm.tokens:
                    primed_may[(norm.text, lang)] = (prefilter, may)

    def unprime(self) -> None:
        """Forget what :meth:`prime` made."""
        self.__dict__.pop("_primed", None)
        self.__dict__.pop("_primed_may", None)

    def normalized(self, text: str, language: str) -> Normalized:
        """``text`` normalised with ``language``'s spellings.

        The last few results are kept: the near-miss search of a ``require`` finding
        reads again the turns that ``match`` has just normalised.
        """
        key = (text, language)
        primed: dict[tuple[str, str], Normalized] | None = self.__dict__.get("_primed")
        if primed is not None:
            found = primed.get(key)
            if found is not None:
                return found
        memo: dict[tuple[str, str], Normalized] = self.__dict__.setdefault("_memo", {})
        found = memo.get(key)
        if found is None:
            found = normalize(text, self._spellings.get(language))
            if len(text) <= _MEMO_TEXT:
                if len(memo) >= _NORMALIZED_MEMO:
                    memo.clear()
                memo[key] = found
        return found

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (the pack cache) without the memo of recent texts or the loaded models."""
        state = dict(self.__dict__)
        state.pop("_memo", None)
        state.pop("_primed", None)
        state.pop("_primed_may", None)
        state.pop("_banks", None)
        state.pop("_last_scored", None)
        state.pop("_prefilters", None)
        state.pop("_prefiltered", None)
        state.pop("_prefilter_after", None)
        state.pop("_applicable_memo", None)
        state.pop("_needed_memo", None)
        return state

    def match(
        self,
        text: str,
        speaker: str,
        language: str | None,
        kind: str = "transcript",
        only: Collection[str] | None = None,
        context: Sequence[str] = (),
    ) -> dict[str, Hit]:
        """The signals in one turn: name -> the hit that shows it best.

        That is the surviving match of the signal's first-listed pattern (a signal file
        lists its strongest patterns first), the earliest of them; a model hit only where
        no pattern matched. With several languages tried, the first language that finds
        the signal gives it.

        Args:
            text: the turn's text.
            speaker: ``agent``, ``customer``, ...
            language: ``fr``, ``en``, or ``None`` (unknown: every language is tried).
            kind: ``transcript``, ``template`` or ``guideline``.
            only: restrict to these signal names.
            context: the turn's place in its conversation, for the learned detectors
                (:func:`servicecheck.detect.linear.turn_contexts`).
        """
        names = self._applicable(speaker, kind, only)
        found: dict[str, Hit] = {}
        if not names or not text:
            return found
        # the signals that the asked ones' model-given detectors need are found too, then left out of the answer
        extra = self._needed(names, speaker) if self._givens and kind == "transcript" else ()
        scan = [*names, *extra] if extra else names
        for lang in self._languages(language):
            norm = self.normalized(text, lang)
            if not norm.tokens:
                continue
            # Transcripts: one pass of a set of every pattern first (lint's few units skip its build);
            # documents: the patterns whose literal strings are in the text (servicecheck.literals).
            may = self._may_match(lang, norm, scan) if kind == "transcript" else self._document_may(lang, norm, scan)
            # With a prefilter, only the signals it reported: the others have no pattern that can match.
            for name in scan if may is None else [n for n in scan if n in may]:
                subset = may[name] if may is not None else None
                if subset is not None and subset[0] == ():
                    continue  # no pattern of it can match
                # the evidence is the match of the first-listed pattern (the strongest), then the earliest
                best = min(((i, start, end, pattern) for i, pattern, start, end, cancelled
                            in self._candidates(name, lang, norm, subset) if cancelled is None), default=None,
                           key=lambda c: (c[0], c[1]))
                if best is not None and name not in found:
                    found[name] = self._hit(name, lang, norm, best[3], best[1], best[2])
            if kind == "transcript":
                missing = [n for n in scan if n not in found]
                for name, prob, _top, start, end, cancelled in self._model_candidates(missing, lang, norm, context,
                                                                                      may):
                    if cancelled is None:
                        a, b = norm.original_span(start, end)
                        found[name] = Hit(name, a, b, f"model p={prob:.2f}", lang)
                if self._givens:
                    self._given_hits(found, names, lang, norm, context, may)
        for name in extra:
            found.pop(name, None)
        return found

    def _needed(self, names: list[str], speaker: str) -> tuple[str, ...]:
        """The signals that ``names``' model-given detectors need and ``names`` lacks (kept per list of names)."""
        memo: dict[tuple[str, ...], tuple[str, ...]] = self.__dict__.setdefault("_needed_memo", {})
        key = (speaker, *names)
        found = memo.get(key)
        if found is None:
            asked = set(names)
            found = tuple(dict.fromkeys(g for n in names for g in self._givens.get(n, ())
                                        if g not in asked and applies(self.signals[g], speaker, "transcript")))
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[key] = found
        return found

    def _given_hits(self, found: dict[str, Hit], names: Collection[str], lang: str, norm: Normalized,
                    context: Sequence[str], may: Mapping[str, Subset | None] | None) -> None:
        """Add to ``found`` the hits of the model-given detectors of ``names`` not found yet, where their other
        signal is in ``found``."""
        missing = [n for n in names if n not in found and n in self._givens]
        if not missing:
            return
        for name, prob, _top, start, end, cancelled in self._model_candidates(missing, lang, norm, context, may,
                                                                              given=found.keys()):
            if cancelled is None and name not in found:
                a, b = norm.original_span(start, end)
                other = self._given_by(name, found)
                found[name] = Hit(name, a, b, f"model p={prob:.2f} given {other}", lang)

    def near_misses(
        self, text: str, speaker: str, language: str | None, kind: str, signal: str, context: Sequence[str] = ()
    ) -> list[Hit]:
        """Matches of ``signal`` that an exception or a negation cancelled (for "closest near-miss")."""
        if signal not in self.signals or not applies(self.signals[signal], speaker, kind) or not text:
            return []
        out: list[Hit] = []
        for lang in self._languages(language):
            norm = self.normalized(text, lang)
            for _i, pattern, start, end, cancelled in self._candidates(signal, lang, norm):
                if cancelled is not None:
                    out.append(self._hit(signal, lang, norm, pattern, start, end))
            if kind == "transcript":
                for _n, prob, _top, start, end, cancelled in self._model_candidates((signal,), lang, norm, context):
                    if cancelled is not None:
                        a, b = norm.original_span(start, end)
                        out.append(Hit(signal, a, b, f"model p={prob:.2f}", lang))
        return sorted(set(out), key=lambda h: (h.start, h.end, h.language, h.pattern))

    def explain(
        self, text: str, speaker: str, language: str | None, kind: str = "transcript", context: Sequence[str] = ()
    ) -> list[Hit]:
        """Every surviving hit of every applicable signal and every pattern (for ``annotate --explain``)."""
        out: list[Hit] = []
        names = self._applicable(speaker, kind, None)
        if not text:
            return out
        for lang in self._languages(language):
            norm = self.normalized(text, lang)
            for name in names:
                compiled = self._compiled.get((name, lang))
                if compiled is None:
                    continue
                sig = self.signals[name]
                exc_spans = _Spans(compiled.exceptions.finditer(norm.text) if compiled.exceptions is not None else ())
                for pattern in self._single[(name, lang)]:
                    for start, end in pattern.finditer(norm.text):
                        if exc_spans.overlaps(start, end):
                            continue
                        if sig.negation == "block" and self._negated(norm, start, lang):
                            continue
                        out.append(self._hit(name, lang, norm, pattern, start, end))
            if kind == "transcript":
                for name, prob, top, start, end, cancelled in self._model_candidates(names, lang, norm, context):
                    if cancelled is None:
                        a, b = norm.original_span(start, end)
                        words = ", ".join(f"{f} {w:+.2f}" for f, w in top)
                        out.append(Hit(name, a, b, f"model p={prob:.2f} ({words})", lang))
                present = {h.signal for h in out if h.language == lang}
                for name, prob, top, start, end, cancelled in self._model_candidates(names, lang, norm, context,
                                                                                      given=present):
                    if cancelled is None:
                        a, b = norm.original_span(start, end)
                        words = ", ".join(f"{f} {w:+.2f}" for f, w in top)
                        other = self._given_by(name, present)
                        out.append(Hit(name, a, b, f"model p={prob:.2f} given {other} ({words})", lang))
        return sorted(set(out), key=lambda h: (h.start, h.signal, h.end, h.language, h.pattern))
