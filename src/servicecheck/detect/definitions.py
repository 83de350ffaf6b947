"""Signal definitions as data: the signal and lexicon file schemas, SignalDef, Hit, and their loaders.

A signal file (``policies/<pack>/signals/<name>.yaml``) gives a speaker, a
description, patterns per language (``fr``, ``en``, or ``any`` for every
language), optional exceptions of the same shape (an entry ``{include: <signal>}`` stands for
that signal's list in the same section and language: :func:`expand_includes`), an optional
``negation: block``, an optional learned detector per language (``model``) and
examples. :mod:`servicecheck.signals` finds them in text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Self

from servicecheck.text.normalize import OPAQUE, is_word, normalize

SPEAKERS = ("agent", "customer", "script")
NEGATION_MODES = ("none", "block")
ANY = "any"
DEFAULT_LANGUAGES = ("fr", "en")
NEGATION_WINDOW = 4  # tokens before a match that a negator may stand in ("no need to be sorry")
# A negator's scope also ends where a new clause starts without punctuation: at a contrastive
# conjunction ("it isn't ready but I can refund it"), or at "and" / « et » before a subject
# (« le délai n'a pas été respecté et je m'en excuse"). "and" alone does not end it ("we can't
# refund and exchange it": both verbs are negated).
NEGATION_STOPS = frozenset({"but", "however", "though", "although", "mais", "cependant", "pourtant"})
NEGATION_AND = frozenset({"and", "et"})
NEGATION_SUBJECTS = frozenset({
    "i", "im", "ive", "ill", "we", "were", "weve", "well", "you", "he", "she", "they", "it",
    "je", "j", "nous", "on", "vous", "tu", "il", "elle", "ils", "elles",
})

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_LANG_KEY = {"pattern": "^(any|[a-z]{2,3})$"}
_INCLUDE: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["include"],
    "properties": {"include": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"}},
    "description": "Another signal of the same pack whose list (same section, same language) stands here, "
    "in its order: {include: incivility} in complaint's patterns makes every incivility a complaint.",
}
_BY_LANGUAGE: dict[str, Any] = {
    "type": "object",
    "propertyNames": _LANG_KEY,
    "minProperties": 1,
    "additionalProperties": {"type": "array", "items": {"oneOf": [{"type": "string", "minLength": 1}, _INCLUDE]}},
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
        "model-given": {
            "description": "Learned detectors that judge only the turns where another signal of the same speaker is "
            "found (per signal name, then per language as in model): is this refusal explained? They run where the "
            "patterns and the model have not found the signal.",
            "type": "object",
            "propertyNames": {"pattern": "^[a-z][a-z0-9-]*$"},
            "additionalProperties": {
                "type": "object",
                "propertyNames": _LANG_KEY,
                "minProperties": 1,
                "additionalProperties": _MODEL_ENTRY,
            },
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
    # detectors that judge only the turns where another signal is found: {that signal: {language: spec}}
    given_models: Mapping[str, Mapping[str, ModelSpec]] = field(default_factory=dict)


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
    """A section's own patterns per language; ``{include: ...}`` entries are left to :func:`expand_includes`."""
    return {str(lang): tuple(str(s) for s in sources or () if isinstance(s, str)) for lang, sources in (data or {}).items()}


class IncludeError(ValueError):
    """An ``{include: ...}`` entry that cannot be resolved: ``section``, ``lang`` and ``index`` place it."""

    def __init__(self, index: int, message: str, section: str = "", lang: str = "") -> None:
        super().__init__(message)
        self.index, self.section, self.lang = index, section, lang


def included(item: Any) -> str | None:
    """The signal an entry of a patterns or exceptions list includes (``None``: a pattern)."""
    return str(item["include"]) if isinstance(item, Mapping) and "include" in item else None


def has_includes(data: Mapping[str, Any]) -> bool:
    """Whether a signal mapping includes another signal anywhere."""
    return any(included(item) is not None
               for section in ("patterns", "exceptions")
               for sources in ((data.get(section) or {}).values() if isinstance(data.get(section), Mapping) else ())
               for item in (sources if isinstance(sources, list) else ()))


def resolve_includes(signal: SignalDef, signals: Mapping[str, Mapping[str, Any]]) -> SignalDef:
    """``signal`` (loaded from ``signals[signal.name]``) with its ``{include: ...}`` entries resolved.

    ``signals`` holds the mappings of every signal of its pack by name.

    Raises:
        IncludeError: see :func:`expand_includes`; ``section`` and ``lang`` say where.
    """
    data = signals[signal.name]
    if not has_includes(data):
        return signal
    expanded: dict[str, dict[str, tuple[str, ...]]] = {"patterns": {}, "exceptions": {}}
    for section, by_lang in expanded.items():
        for lang in data.get(section) or {}:
            try:
                by_lang[str(lang)] = expand_includes(signals, signal.name, section, lang)
            except IncludeError as exc:
                raise IncludeError(exc.index, str(exc), section, str(lang)) from None
    return replace(signal, patterns=expanded["patterns"], exceptions=expanded["exceptions"])


def expand_includes(
    signals: Mapping[str, Mapping[str, Any]], name: str, section: str, lang: str, chain: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Signal ``name``'s ``section`` list for ``lang``, each ``{include: other}`` replaced by ``other``'s list.

    ``signals`` holds the pack's signal mappings by name. The included list is the same section
    in the same language, in its own order, its own includes expanded in turn.

    Raises:
        IncludeError: an unknown signal, one without that section and language, or a cycle.
    """
    out: list[str] = []
    for i, item in enumerate((signals[name].get(section) or {}).get(lang) or ()):
        target = included(item)
        if target is None:
            out.append(str(item))
            continue
        if target == name or target in chain:
            raise IncludeError(i, "include cycle: " + " -> ".join((*chain, name, target)))
        if target not in signals:
            raise IncludeError(i, f"no signal {target!r} in this pack")
        if lang not in (signals[target].get(section) or {}):
            raise IncludeError(i, f"signal {target!r} has no {section} for {lang!r}")
        try:
            out.extend(expand_includes(signals, target, section, lang, (*chain, name)))
        except IncludeError as exc:
            raise IncludeError(i, f"in {target!r}: {exc}") from None
    return tuple(out)


def model_specs(data: Any, pack_dir: str, given: str | None = None) -> dict[str, ModelSpec]:
    """The ``model`` block of a signal mapping (``given``: its ``model-given`` entry for that signal instead),
    with files resolved against ``pack_dir``.

    Entries that are not ``{file, threshold}`` are left out (the schema reports them).
    """
    block = data.get("model") if isinstance(data, Mapping) else None
    if given is not None:
        found = data.get("model-given") if isinstance(data, Mapping) else None
        block = found.get(given) if isinstance(found, Mapping) else None
    if not isinstance(block, Mapping):
        return {}
    return {
        str(lang): ModelSpec(os.path.join(pack_dir, str(entry["file"])), float(entry["threshold"]))
        for lang, entry in block.items()
        if isinstance(entry, Mapping) and isinstance(entry.get("file"), str)
        and isinstance(entry.get("threshold"), (int, float)) and not isinstance(entry["threshold"], bool)
    }


def given_key(signal: str, given: str) -> str:
    """The name of a ``model-given`` detector (in a language's model bank, in ``pinned``): no signal name holds ``|``."""
    return f"{signal}|{given}"


def given_signals(data: Any) -> list[str]:
    """The signals a signal mapping's ``model-given`` block names, in file order."""
    found = data.get("model-given") if isinstance(data, Mapping) else None
    return [str(k) for k in found] if isinstance(found, Mapping) else []


def load_signal_mapping(name: str, data: Mapping[str, Any], path: str = "") -> SignalDef:
    """Build a :class:`SignalDef` from a signal file's mapping, already validated against :data:`SIGNAL_SCHEMA`.

    Model files are resolved against the pack folder (the signal file's grandparent).
    """
    examples = data.get("examples") or {}
    pack_dir = os.path.dirname(os.path.dirname(os.path.abspath(path))) if path else ""
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
        models=model_specs(data, pack_dir),
        given_models={other: specs for other in given_signals(data) if (specs := model_specs(data, pack_dir, other))},
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
