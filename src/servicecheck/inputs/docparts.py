"""What a document is built of before it becomes sentence turns: pieces of text, units, linear-time patterns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import re2

from .source import TextBuilder

# --------------------------------------------------------------------------- pieces of text


Seg = tuple[int, int, int]  # a Turn.origin segment: (text offset, line, column)


@dataclass
class Piece:
    """A run of lintable text at a file position; ``hard`` ends a sentence after it."""

    builder: TextBuilder
    hard: bool = True


@dataclass
class Unit:
    """A unit being built: its pieces and what is known of it."""

    name: str | None
    first_line: int
    last_line: int
    pieces: list[Piece] = field(default_factory=list)
    kind: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def text_piece(text: str, line: int, column: int) -> Piece:
    builder = TextBuilder()
    builder.add(text, line, column)
    return Piece(builder)


# --------------------------------------------------------------------------- linear-time patterns

# The patterns that scan ahead from every place they could start run on RE2, which is
# linear whatever the input: with re, a long line of "{{", "[", "«" or spaces made them
# quadratic, and the directive pattern exponential (issue 7; found by fuzzing).  RE2 finds
# the same leftmost-first matches; its \s and \w are ASCII-only, so Python's Unicode
# whitespace is spelled out as WS.
WS = r"[\t\n\x0B\f\r\x1C-\x1F\x{85}\pZ]"
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def linear(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (a ``re.Pattern``-like object: search, match, finditer)."""
    return re2.compile(pattern, _RE2_OPTIONS)


# Placeholders in templates ({{name}}, {order_id}, %s): opaque words, never split or scored as text.
PLACEHOLDER = linear(r"\{\{.*?\}\}|\{[^{}\t\n\x0B\f\r\x1C-\x1F\x{85}\pZ]*\}|%[sd]")
