"""Split a document unit into sentence turns, each mapped back to its file line and column."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from ..model import Turn
from .docparts import PLACEHOLDER, Seg, Unit
from .source import TextBuilder

# --------------------------------------------------------------------------- sentences

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "m", "mme", "mlle", "me", "mm", "e.g", "i.e", "eg", "ie", "cf", "vs", "no", "n°",
    "p.ex", "ex", "approx", "env", "tel", "tél", "inc", "ltd", "jr", "sr", "prof", "fig", "art", "ch", "p", "pp",
}
_SENTENCE_END = re.compile(r"(?:[.!?…]+|\.{3})(?:[ \t\u00a0\u202f]*[»”\"’')\]])*(?=[\s\u00a0\u202f]|$)")
_WORD_BEFORE = re.compile(r"([\w.°]+)$")
_HAS_WORD = re.compile(r"\w")


def _slice_origin(segments: tuple[Seg, ...], a: int, b: int, offsets: list[int] | None = None) -> tuple[Seg, ...]:
    if offsets is None:
        offsets = [seg[0] for seg in segments]
    out: list[Seg] = []
    # Start at the segment that holds ``a`` (every earlier one would be skipped): a stream
    # of many segments (a long folded scalar) stays linear, not sentences x segments.
    first = max(bisect.bisect_right(offsets, a) - 1, 0)
    for i in range(first, len(segments)):
        off, line, col = segments[i]
        nxt = segments[i + 1][0] if i + 1 < len(segments) else b
        if nxt <= a and i + 1 < len(segments):
            continue
        if off >= b:
            break
        if off <= a:
            out.append((0, line, col + (a - off)))
        else:
            out.append((off - a, line, col))
    return tuple(out)


def split_sentences(text: str, segments: tuple[Seg, ...]) -> Iterator[tuple[str, tuple[Seg, ...]]]:
    """Split ``text`` into sentences and lines, each with its own origin segments."""
    protected = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(text)]
    protected_starts = [a for a, _b in protected]  # sorted, non-overlapping: bisect, not a scan per cut
    cuts: list[int] = []
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        k = bisect.bisect_left(protected_starts, m.start()) - 1
        if k >= 0 and m.start() < protected[k][1]:
            continue
        if text[m.start()] == "." and m.group().strip(" \t\u00a0\u202f»”\"’')]") == ".":
            # Look back a bounded window only: a search from 0 made every sentence cost the
            # whole text before it (quadratic on a 6 MB paragraph).  A word cut by the window
            # is 32+ characters long, never one of the short _ABBREVIATIONS.
            before = _WORD_BEFORE.search(text, max(0, m.start() - 32), m.start())
            if before and before.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                continue
        cuts.append(end)
    boundaries = sorted(set(cuts) | {i + 1 for i, c in enumerate(text) if c == "\n"} | {len(text)})
    start = 0
    offsets = [seg[0] for seg in segments]
    for cut in boundaries:
        chunk = text[start:cut]
        lead = len(chunk) - len(chunk.lstrip())
        body = chunk.strip()
        if body and _HAS_WORD.search(body):
            a = start + lead
            yield body, _slice_origin(segments, a, a + len(body), offsets)
        start = cut


def unit_turns(unit: Unit) -> tuple[Turn, ...]:
    # Join soft-broken pieces (folded YAML lines) into one stream; a hard piece ends a line.
    streams: list[TextBuilder] = []
    current: TextBuilder | None = None
    for piece in unit.pieces:
        if current is None:
            current = TextBuilder()
        elif current:
            current.glue(" ")
        current.extend(piece.builder)
        if piece.hard:
            streams.append(current)
            current = None
    if current is not None:
        streams.append(current)
    turns: list[Turn] = []
    for stream in streams:
        for sentence, origin in split_sentences(stream.text, stream.origin):
            turns.append(Turn(number=len(turns) + 1, speaker="agent", text=sentence, origin=origin))
    return tuple(turns)
