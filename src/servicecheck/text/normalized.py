"""The result of normalising a text: its tokens, with their offsets in the original, and the map back."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalised text: ``text`` is ``tokens`` joined by single spaces.

    ``tokens`` holds ``(token, orig_start, orig_end)``: the token's text and the
    span of the original string it came from (a token that a spelling expanded
    into several shares its source's span).
    """

    text: str
    tokens: tuple[tuple[str, int, int], ...]
    # offset of each token in ``text``: an ``array("q")`` from normalize (8 bytes a token, not an int object each)
    starts: Sequence[int] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        """Compute ``starts`` when the caller did not pass them."""
        if len(self.starts) != len(self.tokens):
            offsets, pos = [], 0
            for tok, _s, _e in self.tokens:
                offsets.append(pos)
                pos += len(tok) + 1
            object.__setattr__(self, "starts", tuple(offsets))

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
