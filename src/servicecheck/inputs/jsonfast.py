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
  structural ``"text"`` key is found by one regex; there must be one per turn (no other
  object of the line holds that key), each turn's value a string: the k-th key is then
  the k-th turn's, and its string's origin is computed as the other parser computes it;
* the canonical converter needs no other position: any error (which names a place) makes
  the line go the slow way, with the conversation count put back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..model import Conversation, InputProblem
from .common import ReadContext, ReadError
from .jsonpos import MAX_DEPTH, string_origin
from .jsonread import convert_json
from .jsonsource import JsonSource
from .source import LineIndex

__all__ = ["convert_fast"]

_SEPARATORS = ((", ", ": "), (",", ":"))
_TEXT_KEY = {
    (", ", ": "): re.compile(r'(?:\{|, )"text": '),
    (",", ":"): re.compile(r'(?:\{|,)"text":'),
}
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
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    if "\\u" in body and _SURROGATE_ESCAPE.search(body) and _SURROGATE.search(json.dumps(value, ensure_ascii=False)):
        return None  # a lone surrogate, which the other parser replaces (pairs decode to one character)
    turns = value.get("turns")
    if not isinstance(turns, list):
        return None
    ascii_only = body.isascii()
    for seps in _SEPARATORS:
        try:
            same = json.dumps(value, ensure_ascii=ascii_only, separators=seps) == body
        except (ValueError, RecursionError):
            return None
        if same:
            break
    else:
        return None
    quotes = [m.end() for m in _TEXT_KEY[seps].finditer(body)]
    if len(quotes) != len(turns):
        return None
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
