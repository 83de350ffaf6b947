"""Read WebVTT and SRT subtitle transcripts (one conversation per file).

WebVTT: the speaker comes from ``<v Speaker>`` voice tags, else from a ``Speaker:``
prefix; SRT: from ``Speaker:`` (also ``- Speaker:`` and ``>> Speaker:``) prefixes, or a
``[Speaker]`` prefix that the speaker table knows.  A cue without a speaker continues
the previous speaker, and consecutive cues of one speaker form one turn, with the
first cue's start and the last cue's end as its times.  Formatting tags (``<i>``,
``<c.loud>``, ``{\\an8}``) and character references (``&amp;``) are removed; columns
after a removed inner tag are approximate, lines are exact.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from ..model import Conversation, InputProblem
from .common import Draft, ReadContext, ReadError, finish
from .source import clock_to_ms
from .text import Line, lines_to_turns

_TIMING = re.compile(r"\s*(?P<a>[\d:.,]+)\s*-->\s*(?P<b>[\d:.,]+)(?:\s|$)")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+(?P<name>[^>]+?)\s*>")
_TAG = re.compile(r"</?[A-Za-z][^>]*>|\{\\[^}]*\}|<\d[\d:.]*>")
_LEAD = re.compile(r"(?:-|>>|–|—)\s*")
_BRACKET_NAME = re.compile(r"\[(?P<name>[^\]\d][^\]]{0,39})\]\s*")


def _clean(text: str, column: int) -> tuple[str, int]:
    """Remove tags and character references; return the text and the column of its first character."""
    lead = 0
    while True:
        m = _TAG.match(text, lead)
        if not m:
            break
        lead = m.end()
    body = _TAG.sub("", text[lead:])
    if "&" in body:
        body = html.unescape(body)
    stripped = body.lstrip()
    return stripped.rstrip(), column + lead + (len(body) - len(stripped))


def _cues(text: str) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """Blank-line separated blocks: ``(first line number, [(line number, text)])``."""
    block: list[tuple[int, str]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if raw.strip():
            block.append((number, raw))
        elif block:
            yield block[0][0], block
            block = []
    if block:
        yield block[0][0], block


def _timing(number: int, raw: str, fmt: str) -> tuple[int, int]:
    m = _TIMING.match(raw)
    start = clock_to_ms(m.group("a")) if m else None
    end = clock_to_ms(m.group("b")) if m else None
    if start is None or end is None:
        raise ReadError(f"invalid {fmt} cue timing {raw.strip()[:60]!r} (expected 00:00:01{',' if fmt == 'SRT' else '.'}000 --> 00:00:04{',' if fmt == 'SRT' else '.'}000)", number, 1)
    return start, end


def _vtt_lines(text: str) -> list[Line]:
    lines: list[Line] = []
    first = True
    for cue_no, (start_line, block) in enumerate(_cues(text)):
        if first:
            first = False
            if not block[0][1].startswith("WEBVTT"):
                raise ReadError("not a WebVTT file: the first line must be 'WEBVTT'", start_line, 1)
            continue  # the header block
        head = block[0][1].lstrip()
        if head.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in head:
            continue
        timing_at = next((i for i, (_, raw) in enumerate(block[:2]) if "-->" in raw), None)
        if timing_at is None:
            raise ReadError("WebVTT cue without a timing line ('00:00:01.000 --> 00:00:04.000')", start_line, 1)
        number, raw = block[timing_at]
        start, end = _timing(number, raw, "WebVTT")
        for number, raw in block[timing_at + 1 :]:
            voices = list(_VOICE.finditer(raw))
            bounds: list[tuple[str | None, int, int]] = [(None, 0, voices[0].start() if voices else len(raw))]
            bounds += [(m.group("name"), m.end(), voices[i + 1].start() if i + 1 < len(voices) else len(raw)) for i, m in enumerate(voices)]
            for speaker, a, b in bounds:
                cleaned, column = _clean(raw[a:b].replace("</v>", ""), a + 1)
                if cleaned or speaker is not None:
                    lines.append(Line(cleaned, number, column, start, end, cue_no, speaker))
    return lines


def _srt_lines(text: str, ctx: ReadContext) -> list[Line]:
    lines: list[Line] = []
    for cue_no, (start_line, block) in enumerate(_cues(text)):
        timing_at = next((i for i, (_, raw) in enumerate(block[:2]) if "-->" in raw), None)
        if timing_at is None:
            raise ReadError("SRT block without a timing line ('00:00:01,000 --> 00:00:04,000')", start_line, 1)
        if timing_at == 1 and not block[0][1].strip().isdigit():
            raise ReadError(f"SRT cue number expected, got {block[0][1].strip()[:40]!r}", start_line, 1)
        number, raw = block[timing_at]
        start, end = _timing(number, raw, "SRT")
        for number, raw in block[timing_at + 1 :]:
            cleaned, column = _clean(raw, 1)
            lead = _LEAD.match(cleaned)
            if lead:
                cleaned, column = cleaned[lead.end() :], column + lead.end()
            speaker = None
            bracket = _BRACKET_NAME.match(cleaned)
            if bracket and ctx.speakers.known(bracket.group("name")):
                speaker = bracket.group("name")
                cleaned, column = cleaned[bracket.end() :], column + bracket.end()
            lines.append(Line(cleaned, number, column, start, end, cue_no, speaker))
    return lines


def read(ctx: ReadContext, text: str, fmt: str) -> Iterator[Conversation | InputProblem]:
    """Yield the conversation of a WebVTT (``fmt="vtt"``) or SRT (``fmt="srt"``) file."""
    conv_id = ctx.next_id()
    try:
        lines = _vtt_lines(text) if fmt == "vtt" else _srt_lines(text, ctx)
    except ReadError as err:
        yield ctx.problem(err.message, err.line, err.column)
        return
    turns, preamble = lines_to_turns(lines, ctx.speakers, subtitles=True)
    draft = Draft(conv_id, turns[0].line if turns else 1, turns=turns)
    if preamble:
        draft.metadata["preamble"] = preamble
    if not turns:
        what = "no cue with a speaker (<v Name> or 'Name:')" if fmt == "vtt" else "no cue with a 'Name:' speaker prefix"
        yield ctx.problem(f"{what} found", lines[0].line if lines else 1)
        return
    yield finish(ctx, draft)
