"""Signals: bilingual phrase detectors defined as data, and the matcher that finds them in one turn.

A signal file (``policies/<pack>/signals/<name>.yaml``) gives a speaker, a
description, patterns per language (``fr``, ``en``, or ``any`` for every
language), optional exceptions of the same shape, an optional
``negation: block`` and examples.  An exception match that overlaps a pattern
match cancels it; with ``negation: block`` so does a negator (from the pack's
``lexicon.yaml``) among the :data:`NEGATION_WINDOW` tokens before the match,
in the same clause.

Speakers: an ``agent`` signal matches agent turns and document sentences
(documents are spoken by ``agent``); a ``customer`` signal matches customer
turns; a ``script`` signal matches only documents (``kind`` is not
``"transcript"``).  An unknown language tries every language of the pack.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from servicecheck.detect import linear
from servicecheck.detect.linear import ModelBank
from servicecheck.text.normalize import CLAUSE_END, OPAQUE, SENTENCE_END, Normalized, is_word, normalize
from servicecheck.text.patterns import Pattern, PatternError, PatternSet, compile_pattern

SPEAKERS = ("agent", "customer", "script")
NEGATION_MODES = ("none", "block")
ANY = "any"
DEFAULT_LANGUAGES = ("fr", "en")
NEGATION_WINDOW = 4  # tokens before a match that a negator may stand in ("no need to be sorry")

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_LANG_KEY = {"pattern": "^(any|[a-z]{2,3})$"}
_BY_LANGUAGE: dict[str, Any] = {
    "type": "object",
    "propertyNames": _LANG_KEY,
    "minProperties": 1,
    "additionalProperties": {"type": "array", "items": {"type": "string", "minLength": 1}},
}
_EXAMPLE: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1}, "lang": _LANG_KEY | {"type": "string"}},
        },
    ]
}

_MODEL_ENTRY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["file", "threshold"],
    "properties": {
        "file": {"type": "string", "minLength": 1, "pattern": "^[^/\\\\].*$"},
        "threshold": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    },
}

SIGNAL_SCHEMA: dict[str, Any] = {
    "$schema": _DIALECT,
    "title": "servicecheck signal (policies/<pack>/signals/<name>.yaml)",
    "type": "object",
    "additionalProperties": False,
    "required": ["speaker", "description", "patterns"],
    "properties": {
        "speaker": {"enum": list(SPEAKERS)},
        "description": {"type": "string", "minLength": 1},
        "patterns": _BY_LANGUAGE,
        "exceptions": _BY_LANGUAGE | {"minProperties": 0},
        "negation": {"enum": list(NEGATION_MODES)},
        "model": {
            "description": "The learned detector beside the patterns: per language, a model file (relative to the "
            "pack folder) and the probability from which a turn carries the signal; false turns it off.",
            "oneOf": [
                {"const": False},
                {
                    "type": "object",
                    "propertyNames": _LANG_KEY,
                    "minProperties": 1,
                    "additionalProperties": _MODEL_ENTRY,
                },
            ],
        },
        "examples": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "match": {"type": "array", "items": _EXAMPLE},
                "no-match": {"type": "array", "items": _EXAMPLE},
            },
        },
    },
}

LEXICON_SCHEMA: dict[str, Any] = {
    "$schema": _DIALECT,
    "title": "servicecheck pack lexicon (policies/<pack>/lexicon.yaml)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "spellings": {
            "description": "Per language: a word as written (SMS, abbreviation) -> its standard form.",
            "type": "object",
            "propertyNames": _LANG_KEY,
            "additionalProperties": {
                "type": "object",
                "propertyNames": {"minLength": 1},
                "additionalProperties": {"type": "string", "minLength": 1},
            },
        },
        "negators": {
            "description": "Per language: words or short phrases that cancel a match of a negation: block signal.",
            "type": "object",
            "propertyNames": _LANG_KEY,
            "additionalProperties": {"type": "array", "items": {"type": "string", "minLength": 1}},
        },
    },
}


class Example(str):
    """A signal example: the text, plus the language it is written in (``None``: any)."""

    lang: str | None

    def __new__(cls, text: str, lang: str | None = None) -> Self:
        """Make an example; ``lang`` is ``fr``, ``en`` or ``None``."""
        self = super().__new__(cls, text)
        self.lang = lang
        return self


@dataclass(frozen=True)
class ModelSpec:
    """A signal's learned detector in one language: the model file and its probability threshold."""

    file: str  # absolute path
    threshold: float


@dataclass(frozen=True)
class SignalDef:
    """One signal, as loaded from its YAML file."""

    name: str
    speaker: str
    description: str
    patterns: Mapping[str, tuple[str, ...]]
    exceptions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    negation: str = "none"
    examples_match: tuple[str, ...] = ()
    examples_no_match: tuple[str, ...] = ()
    path: str = ""
    models: Mapping[str, ModelSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One signal match; ``start``/``end`` are offsets in the original turn text."""

    signal: str
    start: int
    end: int
    pattern: str
    language: str


def _examples(entries: Sequence[Any] | None) -> tuple[str, ...]:
    out: list[str] = []
    for entry in entries or ():
        if isinstance(entry, Mapping):
            out.append(Example(str(entry["text"]), entry.get("lang")))
        else:
            out.append(Example(str(entry)))
    return tuple(out)


def _by_language(data: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    return {str(lang): tuple(str(s) for s in sources or ()) for lang, sources in (data or {}).items()}


def model_specs(data: Any, pack_dir: str) -> dict[str, ModelSpec]:
    """The ``model`` block of a signal mapping, with files resolved against ``pack_dir``.

    Entries that are not ``{file, threshold}`` are left out (the schema reports them).
    """
    block = data.get("model") if isinstance(data, Mapping) else None
    if not isinstance(block, Mapping):
        return {}
    return {
        str(lang): ModelSpec(os.path.join(pack_dir, str(entry["file"])), float(entry["threshold"]))
        for lang, entry in block.items()
        if isinstance(entry, Mapping) and isinstance(entry.get("file"), str)
        and isinstance(entry.get("threshold"), (int, float))
    }


def load_signal_mapping(name: str, data: Mapping[str, Any], path: str = "") -> SignalDef:
    """Build a :class:`SignalDef` from a signal file's mapping, already validated against :data:`SIGNAL_SCHEMA`.

    Model files are resolved against the pack folder (the signal file's grandparent).
    """
    examples = data.get("examples") or {}
    return SignalDef(
        name=name,
        speaker=str(data["speaker"]),
        description=str(data.get("description", "")),
        patterns=_by_language(data.get("patterns")),
        exceptions=_by_language(data.get("exceptions")),
        negation=str(data.get("negation", "none")),
        examples_match=_examples(examples.get("match")),
        examples_no_match=_examples(examples.get("no-match")),
        path=path,
        models=model_specs(data, os.path.dirname(os.path.dirname(os.path.abspath(path))) if path else ""),
    )


def lexicon_problems(data: Mapping[str, Any] | None) -> list[tuple[tuple[Any, ...], str]]:
    """Semantic problems of a schema-valid lexicon, as ``(key_path, message)``.

    A spelling key must be one token once normalised, and no replacement may
    contain a key of the same language (normalisation would not be idempotent).
    :func:`load_lexicon` drops the offending entries; a loader reports these.
    """
    problems: list[tuple[tuple[Any, ...], str]] = []
    for lang, table in ((data or {}).get("spellings") or {}).items():
        keys = {}
        for key in table:
            toks = normalize(str(key)).text.split()
            if len(toks) != 1 or toks[0] == OPAQUE:
                problems.append((("spellings", lang, key), f"{key!r} must be a single word"))
            else:
                keys[toks[0]] = key
        for key, value in table.items():
            toks = normalize(str(value)).text.split()
            clash = [t for t in toks if t in keys]
            if clash:
                problems.append(
                    (("spellings", lang, key), f"replacement {value!r} contains {clash[0]!r}, itself a spelling key")
                )
            if OPAQUE in toks or not toks:
                problems.append((("spellings", lang, key), f"replacement {value!r} must be plain words"))
    for lang, words in ((data or {}).get("negators") or {}).items():
        for i, word in enumerate(words):
            if not any(is_word(t) and t != OPAQUE for t in normalize(str(word)).text.split()):
                problems.append((("negators", lang, i), f"negator {word!r} has no words"))
    return problems


def load_lexicon(data: Mapping[str, Any] | None) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """Read a pack's ``lexicon.yaml`` mapping (schema-valid) into ``(spellings, negators)`` per language.

    Entries that :func:`lexicon_problems` reports are left out.
    """
    bad = {path for path, _msg in lexicon_problems(data)}
    spellings: dict[str, dict[str, str]] = {}
    for lang, table in ((data or {}).get("spellings") or {}).items():
        spellings[str(lang)] = {
            str(k): str(v) for k, v in table.items() if ("spellings", lang, k) not in bad
        }
    negators: dict[str, list[str]] = {}
    for lang, words in ((data or {}).get("negators") or {}).items():
        negators[str(lang)] = [str(w) for i, w in enumerate(words) if ("negators", lang, i) not in bad]
    return spellings, negators


def applies(signal: SignalDef, speaker: str, kind: str) -> bool:
    """Whether ``signal`` may match a turn by ``speaker`` in a conversation of ``kind``."""
    if signal.speaker == "script":
        return kind != "transcript"
    return signal.speaker == speaker


@dataclass
class _Compiled:
    """One signal in one language: its pattern set and its exception set."""

    patterns: PatternSet
    exceptions: PatternSet | None


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


_PREFILTER_MEM = 64 << 20  # RE2 memory budget of one signal's probe (as PatternSet's alternations)
_GAP = re.compile(r"\{(\d+),(\d+)\}\?")


def _hyperscan() -> Any:
    """The ``hyperscan`` module, or ``None`` when it is not installed (or turned off)."""
    if os.environ.get("SERVICECHECK_NO_HYPERSCAN", "").strip() not in ("", "0"):
        return None
    try:
        import hyperscan
    except ImportError:
        return None
    return hyperscan


def _prefilter_after() -> int:
    """Turns matched in one language before its Hyperscan database is compiled (when not in the cache yet)."""
    try:
        return max(int(os.environ.get("SERVICECHECK_PREFILTER_AFTER", "") or 5000), 1)
    except ValueError:
        return 5000


def _approximate(body: str) -> str:
    """A pattern body loosened for the byte-level prefilter: it matches wherever the body does.

    ``{word}``/``{num}`` become any token and bounded gaps unbounded ones: the same
    language or a larger one, and far cheaper to compile. Tokens never hold a space
    byte, so ``[^ ]`` on UTF-8 bytes spans the same tokens as on characters.
    """
    body = body.replace("[\\pL\\pN]", "[^ ]").replace("\\pN", "[^ ]")
    return _GAP.sub(lambda m: "*" if m.group(1) == "0" else "+", body)


# What may match of one signal: the indexes of its patterns, and of its exceptions, that may
# (``None``: unknown, any may); ``()``: none does.
Subset = tuple[tuple[int, ...] | None, tuple[int, ...] | None]
_NOTHING: Subset = ((), ())
_NO_PATTERN: Subset = ((), None)  # an RE2 probe saw no pattern; it does not look at exceptions


class _Prefilter:
    """One pass over a turn for every signal of one language: which patterns and exceptions may match.

    With Hyperscan (the ``hyperscan`` wheel), one database holds every pattern and
    every exception of every signal in the language, loosened (:func:`_approximate`)
    and matched on the padded text's UTF-8 bytes (``regex:`` ones, as written, on the
    text in a second database). A pattern it does not report has no match anywhere;
    a signal is then searched with an alternation of only the patterns reported, in
    their order (the same leftmost-first matches: the others never match), and its
    exceptions likewise, or not at all. The databases take seconds to compile, so
    they are kept in the servicecheck cache. Without Hyperscan, each signal gets a
    probe: its alternation without capture groups (RE2 then runs its DFA only, and
    the grouped search, with its submatches, only where there is a match).
    """

    def __init__(self, compiled: Mapping[str, _Compiled], build: bool = True) -> None:
        """Build the prefilter of one language's signals; ``build=False``: Hyperscan only if already cached."""
        self.owners: list[tuple[str, int, int]] = []  # (signal, 0 pattern / 1 exception, index)
        self.raw_owners: list[tuple[str, int, int]] = []
        exprs: list[bytes] = []
        raw: list[bytes] = []
        for name, c in compiled.items():
            sections = [c.patterns.patterns, c.exceptions.patterns if c.exceptions is not None else ()]
            for section, patterns in enumerate(sections):
                for i, pattern in enumerate(patterns):
                    if pattern.body is not None:
                        exprs.append((" (?:" + _approximate(pattern.body) + ")").encode("utf-8"))
                        self.owners.append((name, section, i))
                    else:
                        raw.append(str(pattern.raw).encode("utf-8"))
                        self.raw_owners.append((name, section, i))
        self._db: Any = None
        self._raw_db: Any = None
        self._probes: dict[str, Any] = {}
        self.unfiltered: set[str] = set()  # signals with a pattern Hyperscan refuses: always searched in full
        hs = _hyperscan()
        if hs is not None and exprs:
            try:
                self._db, kept = self._database(hs, exprs, 0, "tokens", build)
                self.unfiltered.update(self.owners[i][0] for i in set(range(len(exprs))) - set(kept))
                if raw:  # regex: patterns, on the text itself, as Unicode (they may use any RE2 syntax)
                    self._raw_db, kept = self._database(hs, raw, hs.HS_FLAG_UTF8, "raw", build)
                    self.unfiltered.update(self.raw_owners[i][0] for i in set(range(len(raw))) - set(kept))
            except Exception:  # noqa: BLE001 - no usable database (a foreign cache entry, ...): use the probes
                self._db = self._raw_db = None
                self.unfiltered = set()
        if self._db is None:
            import re2

            options = re2.Options()
            options.log_errors = False
            options.max_mem = _PREFILTER_MEM
            options.never_capture = True
            for name, c in compiled.items():
                if any(p.body is None for p in c.patterns.patterns):
                    continue  # a regex: pattern: no probe, always searched
                try:
                    self._probes[name] = re2.compile(
                        " (?:" + "|".join(str(p.body) for p in c.patterns.patterns) + ")", options)
                except Exception:  # noqa: BLE001, S110 - too large for one regex: search it without a probe
                    pass

    @staticmethod
    def _database(hs: Any, exprs: list[bytes], flag: int, what: str, build_it: bool = True) -> tuple[Any, list[int]]:
        """The compiled database of ``exprs`` (from the cache when it can), and which of them it holds.

        Hyperscan refuses some constructs (``(^| )``, look-arounds): those patterns are
        left out, and their signals searched in full.
        """
        import json
        import platform

        from servicecheck.bytecache import cached_bytes

        flags = hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_PREFILTER | flag

        def compile_(ids: list[int]) -> Any:
            db = hs.Database()
            db.compile(expressions=[exprs[i] for i in ids], ids=ids, elements=len(ids), flags=[flags] * len(ids))
            return db

        def build() -> bytes:
            ids = list(range(len(exprs)))
            try:
                db = compile_(ids)
            except Exception:  # noqa: BLE001 - some pattern Hyperscan refuses: find which, keep the others
                good = []
                for i in ids:
                    try:
                        compile_([i])
                        good.append(i)
                    except Exception:  # noqa: BLE001, S110 - this one is refused: its signal is searched in full
                        pass
                ids = good
                db = compile_(ids) if ids else None
            body = bytes(hs.dumpb(db)) if db is not None else b""
            return json.dumps(ids).encode() + b"\n" + body

        what = f"hyperscan {getattr(hs, '__version__', '?')} {platform.machine()} prefilter v2 {what} {flag}"
        stored = cached_bytes(what, b"\0".join(exprs), build if build_it else None)
        if stored is None:
            raise LookupError("not built yet")
        head, _nl, body = stored.partition(b"\n")
        kept = [int(i) for i in json.loads(head)]
        if not kept:
            return None, []
        db = hs.loadb(body, hs.HS_MODE_BLOCK)
        db.scratch = hs.Scratch(db)  # a loaded database has no scratch space of its own
        return db, kept

    @staticmethod
    def _on_match(index: int, _start: int, _end: int, _flags: int, found: list[int]) -> None:
        found.append(index)

    def signals(self, normalized_text: str, names: Collection[str]) -> dict[str, Subset | None]:
        """Of ``names``, those with a pattern or an exception that may match ``normalized_text``.

        Each comes with the indexes of its patterns and exceptions that may match
        (``None``: any may); a signal left out has none that matches.
        """
        padded = (" " + normalized_text + " ").encode("utf-8")
        if not self._probes and self._db is None and self._raw_db is None and not self.unfiltered:
            return {name: None for name in names}  # no prefilter at all
        if self._probes or (self._db is None and self._raw_db is None):
            probed: dict[str, Subset | None] = {}
            for name in names:
                probe = self._probes.get(name)
                probed[name] = None if probe is None or probe.search(padded) is not None else _NO_PATTERN
            return probed
        found: list[int] = []
        if self._db is not None:
            self._db.scan(padded, match_event_handler=self._on_match, context=found)
        hits = [self.owners[i] for i in found]
        if self._raw_db is not None:
            found.clear()
            self._raw_db.scan(padded[1:-1], match_event_handler=self._on_match, context=found)
            hits += [self.raw_owners[i] for i in found]
        parts: dict[str, tuple[list[int], list[int]]] = {}
        for name, section, i in hits:
            parts.setdefault(name, ([], []))[section].append(i)
        out: dict[str, Subset | None] = {name: (tuple(sorted(p)), tuple(sorted(e))) for name, (p, e) in parts.items()}
        for name in self.unfiltered:
            out[name] = None
        return out


_MEMO_SIZE = 512  # recent normalisations kept (about a conversation's worth, many times over)
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
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._single: dict[tuple[str, str], list[Pattern]] = {}
        # learned detectors, per language: {signal: spec}; the models load on first use
        self._model_specs: dict[str, dict[str, ModelSpec]] = {}
        for name, sig in self.signals.items():
            for lang, spec in sig.models.items():
                for target in self.languages if lang == ANY else (lang,):
                    self._model_specs.setdefault(target, {})[name] = spec
        for name, sig in self.signals.items():
            for lang in self.languages:
                pats = self._compile(sig, "patterns", lang)
                if not pats:
                    continue
                exc = self._compile(sig, "exceptions", lang)
                self._single[(name, lang)] = pats
                self._compiled[(name, lang)] = _Compiled(PatternSet(pats), PatternSet(exc) if exc else None)

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
        return [
            name for name, sig in self.signals.items()
            if (only is None or name in only) and applies(sig, speaker, kind)
        ]

    def _negated(self, norm: Normalized, start: int, lang: str) -> bool:
        negators = self._negators.get(lang)
        if not negators:
            return False
        k = norm.token_index(start)
        window: list[str] = []
        for j in range(k - 1, max(k - 1 - NEGATION_WINDOW, -1), -1):
            tok = norm.tokens[j][0]
            if tok in CLAUSE_END:
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
        filters: dict[str, _Prefilter | None] = self.__dict__.setdefault("_prefilters", {})
        seen: dict[str, int] = self.__dict__.setdefault("_prefiltered", {})
        seen[lang] = count = seen.get(lang, 0) + 1
        if lang not in filters or count == _prefilter_after():
            # A Hyperscan database takes seconds to compile: until a run has matched enough
            # turns to pay for it, one already in the cache is used, else the RE2 probes.
            compiled = {name: c for (name, lg), c in self._compiled.items() if lg == lang}
            try:
                filters[lang] = _Prefilter(compiled, build=count >= _prefilter_after()) if compiled else None
            except Exception:  # noqa: BLE001 - a prefilter that cannot be built: each signal's own search works
                filters[lang] = None
        prefilter = filters[lang]
        return prefilter.signals(norm.text, names) if prefilter is not None else None

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
            specs = self._model_specs.get(lang)
            banks[lang] = ModelBank({name: linear.load(Path(spec.file)) for name, spec in specs.items()}) if specs else None
        return banks[lang]

    def _model_candidates(
        self, names: Collection[str], lang: str, norm: Normalized, context: Sequence[str] = (),
        may: Mapping[str, Subset | None] | None = None,
    ) -> Iterator[tuple[str, float, list[tuple[str, float]], int, int, str | None]]:
        """Model hits over the threshold: ``(signal, probability, top features, start, end, cancelled)``.

        ``start``/``end`` span (in ``norm.text``) the sentence holding the strongest
        feature; an exception overlapping that sentence, or a negator before that
        feature (``negation: block``), cancels the hit as it cancels a pattern's.
        ``may``: the prefilter's answer for this text (which exceptions may match).
        """
        specs = self._model_specs.get(lang)
        if not specs or not any(n in specs for n in names):
            return
        bank = self._bank(lang)
        if bank is None:
            return
        feats = linear.features(norm.text) + list(context)
        probs = bank.probabilities(feats)
        for name in names:
            spec = specs.get(name)
            if spec is None or probs[name] < spec.threshold:
                continue
            top = bank.top_features(name, feats)
            # the sentence of the strongest word (not of a context feature or a punctuation mark)
            words = [f for f, _w in top if not f.startswith("ctx:") and any(ch.isalnum() for ch in f)]
            start, end, at = _sentence_of(norm, words[0] if words else "")
            cancelled: str | None = None
            compiled = self._compiled.get((name, lang))
            if compiled is not None and compiled.exceptions is not None:
                subset = may.get(name, _NOTHING) if may is not None else None
                only = subset[1] if subset is not None else None
                if only != () and _Spans(compiled.exceptions.finditer(norm.text, only)).overlaps(start, end):
                    cancelled = "exception"
            if cancelled is None and self.signals[name].negation == "block" and self._negated(norm, at, lang):
                cancelled = "negation"
            yield name, probs[name], top, start, end, cancelled

    def _hit(self, name: str, lang: str, norm: Normalized, pattern: Pattern, start: int, end: int) -> Hit:
        a, b = norm.original_span(start, end)
        return Hit(name, a, b, pattern.source, lang)

    # --------------------------------------------------------------- API

    def normalized(self, text: str, language: str) -> Normalized:
        """``text`` normalised with ``language``'s spellings.

        The last few results are kept: the near-miss search of a ``require`` finding
        reads again the turns that ``match`` has just normalised.
        """
        key = (text, language)
        memo: dict[tuple[str, str], Normalized] = self.__dict__.setdefault("_memo", {})
        found = memo.get(key)
        if found is None:
            found = normalize(text, self._spellings.get(language))
            if len(text) <= _MEMO_TEXT:
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[key] = found
        return found

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (the pack cache) without the memo of recent texts or the loaded models."""
        state = dict(self.__dict__)
        state.pop("_memo", None)
        state.pop("_banks", None)
        state.pop("_prefilters", None)
        state.pop("_prefiltered", None)
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
        for lang in self._languages(language):
            norm = self.normalized(text, lang)
            if not norm.tokens:
                continue
            # Transcripts: one pass of a set of every pattern first (lint's few units skip its build).
            may = self._may_match(lang, norm, names) if kind == "transcript" else None
            for name in names:
                subset = may.get(name, _NOTHING) if may is not None else None
                if subset is not None and subset[0] == ():
                    continue  # no pattern of it can match
                # the evidence is the match of the first-listed pattern (the strongest), then the earliest
                best = min(((i, start, end, pattern) for i, pattern, start, end, cancelled
                            in self._candidates(name, lang, norm, subset) if cancelled is None), default=None,
                           key=lambda c: (c[0], c[1]))
                if best is not None and name not in found:
                    found[name] = self._hit(name, lang, norm, best[3], best[1], best[2])
            if kind == "transcript":
                missing = [n for n in names if n not in found]
                for name, prob, _top, start, end, cancelled in self._model_candidates(missing, lang, norm, context,
                                                                                      may):
                    if cancelled is None:
                        a, b = norm.original_span(start, end)
                        found[name] = Hit(name, a, b, f"model p={prob:.2f}", lang)
        return found

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
        return sorted(set(out), key=lambda h: (h.start, h.signal, h.end, h.language, h.pattern))
