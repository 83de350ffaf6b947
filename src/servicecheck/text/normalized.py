"""The result of normalising a text: its tokens, with their offsets in the original, and the map back."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add

LONG_TURN_TOKENS = 4096  # from this many tokens, their offsets are kept in an array (see offsets_of)


def offsets_of(tokens: Sequence[str]) -> Sequence[int]:
    """Where each token starts in the tokens joined by single spaces.

    A tuple for ordinary turns (the fastest to build and search); an ``array("q")`` for a
    very long one, which holds 8 bytes a token instead of an int object each.
    """
    if not tokens:
        return ()
    offsets = accumulate(map(add, map(len, tokens[:-1]), repeat(1)), initial=0)
    return tuple(offsets) if len(tokens) < LONG_TURN_TOKENS else array("q", offsets)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text: ``text`` is ``tokens`` joined by single spaces.

    ``tokens`` holds ``(token, orig_start, orig_end)``: the token's text and the
    span of the original string it came from (a token that a spelling expanded
    into several shares its source's span).
    """

    text: str
    tokens: tuple[tuple[str, int, int], ...]
    starts: Sequence[int] = field(default=(), repr=False, compare=False)  # offset of each token in ``text`` (offsets_of)

    def __post_init__(self) -> None:
        """Compute ``starts`` when the caller did not pass them."""
        if len(self.starts) != len(self.tokens):
            object.__setattr__(self, "starts", offsets_of([tok for tok, _s, _e in self.tokens]))

    def token_index(self, offset: int) -> int:
        """The index of the token that contains (or follows) ``offset`` of ``text``."""
        return max(bisect.bisect_right(self.starts, offset) - 1, 0)

    def original_span(self, norm_start: int, norm_end: int) -> tuple[int, int]:
        """Map ``text[norm_start:norm_end]`` back to ``(start, end)`` in the original text.

        Every token the span touches is included whole; the result always lies
        inside the original text.  An empty or out-of-range span maps to an
        empty span at the nearest token.
        """
        if not self.tokens:
            return (0, 0)
        norm_start = min(max(norm_start, 0), len(self.text))
        norm_end = min(max(norm_end, norm_start), len(self.text))
        first = self.token_index(norm_start)
        if norm_start >= self.starts[first] + len(self.tokens[first][0]) and first + 1 < len(self.tokens):
            first += 1  # the span starts on the space after a token
        if norm_end <= norm_start:
            pos = self.tokens[first][1]
            return (pos, pos)
        last = max(bisect.bisect_left(self.starts, norm_end) - 1, first)
        return (self.tokens[first][1], self.tokens[last][2])
