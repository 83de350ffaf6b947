"""Report wording in French and English: one translation table per UI language, and bilingual policy text.

``en.py`` and ``fr.py`` each hold one ``TABLE`` (key -> ``str.format`` template) with the
same keys (a test checks it).  Findings are worded in their conversation's language by
the api layer; the report chrome (headings, labels, summaries) in the report's UI
language by the formatters.  Nothing here imports the rest of servicecheck.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from servicecheck.i18n import en, fr

LANGUAGES = ("en", "fr")
DEFAULT = "en"
TABLES: dict[str, dict[str, str]] = {"en": en.TABLE, "fr": fr.TABLE}


def lang_or_default(lang: str | None) -> str:
    """``lang`` when servicecheck speaks it, else English."""
    return lang if lang in TABLES else DEFAULT


def t(lang: str | None, key: str, /, **values: Any) -> str:
    """The wording of ``key`` in ``lang`` (English when unknown), with ``values`` filled in."""
    text = TABLES[lang_or_default(lang)].get(key) or TABLES[DEFAULT][key]
    return text.format(**values) if values else text


def tn(lang: str | None, key: str, n: int, /, **values: Any) -> str:
    """``key`` for the count ``n``: its ``singular|plural`` forms (French: 0 and 1 are singular)."""
    text = TABLES[lang_or_default(lang)].get(key) or TABLES[DEFAULT][key]
    one, _, many = text.partition("|")
    singular = n == 1 or (lang_or_default(lang) == "fr" and n == 0)
    return (one if singular or not many else many).format(n=n, **values)


def join(lang: str | None, items: Iterable[str]) -> str:
    """``a, b and c`` / ``a, b et c``."""
    words = list(items)
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} {t(lang, 'and')} {words[-1]}"


def localised(value: str | Mapping[str, str] | None, lang: str | None) -> str:
    """A policy text given as a plain string or as ``{fr: ..., en: ...}``, in ``lang``.

    A plain string is the same in every language; a map without ``lang`` falls back to
    English, then to its first entry.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.get(lang_or_default(lang)) or value.get(DEFAULT) or next(iter(value.values()), "")


def majority(languages: Iterable[str | None]) -> str:
    """The UI language of a report: the most frequent input language servicecheck speaks (ties: English)."""
    counts = {code: 0 for code in LANGUAGES}
    for code in languages:
        if code in counts:
            counts[code] += 1
    best = max(counts.values())
    return DEFAULT if counts[DEFAULT] == best else next(c for c in LANGUAGES if counts[c] == best)


# The JSON Schema of a policy text: one string for every language, or one per language.
TEXT_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {code: {"type": "string", "minLength": 1} for code in LANGUAGES},
        },
    ]
}
