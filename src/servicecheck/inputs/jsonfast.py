"""A fast path for one JSONL line: the C JSON decoder, and the positions of the turn texts only.

The position-keeping parser (:mod:`servicecheck.inputs.jsonpos`) is pure Python and costs
about fifteen times ``json.loads`` on a real conversation; a canonical conversation needs
only the place of each turn's ``text`` string (``Turn.origin``) and of the object itself
(its line). This path is taken only where it gives exactly what the position-keeping
parser gives, and returns ``None`` otherwise (the caller then parses the line with
positions, as before):

* the line decodes with ``json.loads`` to an object whose ``turns`` is a list, nested
  less deeply than :data:`~servicecheck.inputs.jsonpos.MAX_DEPTH` (by an over-count of the
  brackets), without a lone surrogate (the other parser replaces those);
* the line is exactly ``json.dumps`` of that value (``", "``/``": "`` or ``","``/``":"``
  separators, ASCII-escaped or not), so every raw ``"`` in it delimits a string and a
  structural ``"text"`` key is found by a string search; there must be one per turn (no other
  object of the line holds that key), each turn's value a string: the k-th key is then
  the k-th turn's, and its string's origin is computed as the other parser computes it;
* the canonical converter needs no other position: any error (which names a place) makes
  the line go the slow way, with the conversation count put back.

A plain conversation (string id, language and channel, an object of metadata, turns of a
known speaker with a string text and integer times) is then built directly
(:func:`_plain`), as :func:`~servicecheck.inputs.canonical.convert` would build it; anything
else goes through the canonical converter. A turn text that needs no escape in JSON stands
in the line as it is, so its origin is one segment at its quote.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..model import Conversation, InputProblem, Location, Turn
from .canonical import KNOWN_KEYS
from .common import ReadContext, ReadError, language_tag
from .jsonpos import MAX_DEPTH, string_origin
from .jsonread import convert_json
from .jsonsource import JsonSource
from .source import LineIndex

__all__ = ["convert_fast"]

_SEPARATORS = ((", ", ": "), (",", ":"))
# The structural ``"text"`` key of each separator style: the key, then the item separator before it.
_TEXT_KEY = {seps: ('"text"' + seps[1], seps[0]) for seps in _SEPARATORS}
# ``json.dumps`` with any option makes an encoder per call: the four this path compares with, made once.
_ENCODERS = {(ascii_only, seps): json.JSONEncoder(ensure_ascii=ascii_only, separators=seps)
             for ascii_only in (True, False) for seps in _SEPARATORS}
_DECODER = json.JSONDecoder()
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Slow(Exception):
    """A position other than a turn text's was asked for: read the line with the position-keeping parser."""


@dataclass
class _FastSource(JsonSource):
    """A :class:`JsonSource` that knows only the top object's line and the turn texts' origins."""

    top: int = 0  # id() of the line's object
    line: int = 1
    origins: dict[int, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)  # id(turn) -> origin

    def where(self, container: Any, key: str | int | None = None) -> tuple[int | None, int | None]:
        raise _Slow

    def line_of(self, container: Any, key: str | int | None = None) -> int | None:
        if key is None and id(container) == self.top:
            return self.line
        raise _Slow

    def origin(self, container: Any, key: str | int) -> tuple[tuple[int, int, int], ...]:
        found = self.origins.get(id(container)) if key == "text" else None
        if found is None:
            raise _Slow
        return found

    def fail(self, message: str, container: Any, key: str | int | None = None) -> ReadError:
        raise _Slow


def convert_fast(ctx: ReadContext, number: int, text: str, stop: int) -> list[Conversation | InputProblem] | None:
    """The items of one JSONL line (``text[:stop]``, line ``number``) read fast, or ``None``: read it with positions."""
    body = text[:stop]
    if not body.startswith("{") or body.count("{") + body.count("[") >= MAX_DEPTH:
        return None
    try:
        # ``raw_decode`` from the first character: ``json.loads`` without its whitespace skips.
        # A line with anything after its value (even spaces) is not json.dumps output: slow way.
        value, end = _DECODER.raw_decode(body)
    except (ValueError, RecursionError):
        return None
    if end != len(body) or not isinstance(value, dict):
        return None
    if "\\u" in body and _SURROGATE_ESCAPE.search(body) and _SURROGATE.search(json.dumps(value, ensure_ascii=False)):
        return None  # a lone surrogate, which the other parser replaces (pairs decode to one character)
    turns = value.get("turns")
    if not isinstance(turns, list):
        return None
    ascii_only = body.isascii()
    for seps in _SEPARATORS:
        try:
            same = _ENCODERS[ascii_only, seps].encode(value) == body
        except (ValueError, RecursionError):
            return None
        if same:
            break
    else:
        return None
    quotes = _text_keys(body, seps)
    if len(quotes) != len(turns):
        return None
    plain = _plain(ctx, value, turns, number, text, quotes)
    if plain is not None:
        return [plain]
    index = LineIndex(text, first_line=number)
    origins: dict[int, tuple[tuple[int, int, int], ...]] = {}
    for turn, quote in zip(turns, quotes):
        if not isinstance(turn, dict) or not isinstance(turn.get("text"), str) or body[quote] != '"':
            return None
        origins[id(turn)] = string_origin(text, quote, index)
    src = _FastSource(text, index, top=id(value), line=number, origins=origins)
    count = ctx.count
    try:
        return list(convert_json(ctx, value, src, "json"))
    except _Slow:
        ctx.count = count
        return None


def _text_keys(body: str, seps: tuple[str, str]) -> list[int]:
    """Where the value of every ``"text"`` key of the line starts (the key opens an object or follows an item).

    ``str.find`` and a look at the characters before: the regex ``(?:\\{|, )"text": `` gives
    the same ends, twice as slowly.
    """
    key, comma = _TEXT_KEY[seps]
    out = []
    find = body.find
    at = find(key)
    while at > 0:
        if body[at - 1] == "{" or body.startswith(comma, at - len(comma)):
            out.append(at + len(key))
        at = find(key, at + 1)
    return out


def _escaped_origin(text: str, quote: int, number: int, index: list[LineIndex]) -> tuple[tuple[int, int, int], ...]:
    """``string_origin`` of the literal at ``quote``, with the line index made once (``index`` holds it)."""
    if not index:
        index.append(LineIndex(text, first_line=number))
    return string_origin(text, quote, index[0])


def _plain(ctx: ReadContext, obj: dict[str, Any], turns: list[Any], number: int, text: str,
           quotes: list[int]) -> Conversation | None:
    """The conversation of a plain canonical object, as ``canonical.convert`` gives it; None: not plain.

    Plain: ``id``, ``language`` and ``channel`` strings or absent, ``metadata`` an object or
    absent, every turn an object with a string speaker (or role) the speaker table knows, a
    string text and integer times. ``ctx`` is left untouched when the answer is None.
    """
    conv_id, language, channel, meta = obj.get("id"), obj.get("language"), obj.get("channel"), obj.get("metadata")
    if not ((conv_id is None or isinstance(conv_id, str)) and (language is None or isinstance(language, str))
            and (channel is None or isinstance(channel, str)) and (meta is None or isinstance(meta, dict))):
        return None
    resolve = ctx.speakers.resolve
    index: list[LineIndex] = []
    built: list[Turn] = []
    for number_in, (turn, quote) in enumerate(zip(turns, quotes), start=1):
        if not isinstance(turn, dict):
            return None
        speaker = turn.get("speaker" if "speaker" in turn or "role" not in turn else "role")
        said = turn.get("text")
        start, end = turn.get("start_ms"), turn.get("end_ms")
        if not (isinstance(speaker, str) and isinstance(said, str)
                and (start is None or (type(start) is int)) and (end is None or type(end) is int)):
            return None  # bool, float and error cases: the canonical converter
        role = resolve(speaker)
        if role is None or text[quote] != '"':
            return None
        # Raw characters other than a backslash or a quote each decode to themselves, so when the
        # line holds the text right after the quote and the text has neither, the literal is the
        # text unescaped: ``string_origin`` would give one segment, at the column after the quote
        # (the line starts ``text``).
        if "\\" not in said and '"' not in said and text.startswith(said, quote + 1):
            origin: tuple[tuple[int, int, int], ...] = ((0, number, quote + 2),)
        else:
            origin = _escaped_origin(text, quote, number, index)
        built.append(Turn(number_in, role, said, start, end, origin))
    metadata = dict(meta or {})
    for key, val in obj.items():
        if key not in KNOWN_KEYS:
            metadata.setdefault(key, val)
    tag = language_tag(language)
    if language and tag != language:
        metadata.setdefault("language_code", language)
    fallback_id = ctx.next_id()
    return Conversation(id=conv_id or fallback_id, turns=tuple(built), source=Location(ctx.path, number),
                        language=tag, channel=channel, metadata=metadata)
