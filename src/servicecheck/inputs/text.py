"""Read plain-text transcripts: ``Speaker: text`` lines, several conversations per file.

Supported layout:

- A turn starts with a speaker label and a colon: ``Agent: …``, ``Client : …``
  (French spacing, also with a no-break space), ``Agent (Marie): …``, ``Agent 2: …``.
- An optional time stamp ``[00:12]``, ``[01:02:03]``, ``(10:32)`` or bare ``00:12`` may
  stand before the label, between the label and the colon, or right after the colon;
  it gives the turn's ``start_ms`` (``mm:ss`` or ``hh:mm:ss``, as offsets).
- Lines without a label continue the previous turn (multi-line turns); blank lines are
  ignored.  Lines before the first turn (a title, a date) are kept in
  ``metadata["preamble"]``.
- Conversations are separated by a line of three or more ``-``, ``=`` or ``*``, or by a
  heading line that also names the next conversation: ``=== call-42 ===`` or ``# call-42``.
  A conversation without such a name gets ``<file name>#<n>``.

A label counts as a speaker when the speaker table knows it.  A label it does not
know counts as a speaker (and so as an *unknown speaker* problem) only when it
starts two or more lines of the conversation, or when no label of the conversation
is known (a transcript labelled with people's names): so a continuation line such
as ``Note: …`` inside a turn is not mistaken for a speaker.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from ..errors import InputError
from ..model import Conversation, InputProblem
from .common import Draft, RawTurn, ReadContext, finish
from .source import CLOCK, TextBuilder, clock_to_ms
from .speakers import SpeakerMap, normalise_name

_STAMP = rf"[\[(]{CLOCK}[\])]"
LABEL = re.compile(
    rf"(?:(?P<s1>{_STAMP}|{CLOCK}(?=\s))\s*(?:[-–—|]\s*)?)?"
    r"(?P<name>[^\W\d_][^:：\[\]()\n]{0,40}?(?:\s*\([^()\n]{1,40}\))?)"
    rf"\s*(?P<s2>{_STAMP})?\s*[:：]"
    rf"[ \t\u00a0\u202f]*(?:(?P<s3>{_STAMP})[ \t\u00a0\u202f]*)?"
    r"(?P<rest>.*)$"
)
_SEPARATOR = re.compile(r"\s*(?:-{3,}|={3,}|\*{3,})\s*$")
_NAMED_SEPARATOR = re.compile(r"\s*(?:={2,}\s*(?P<a>[^=\s][^=]*?)\s*={2,}|#{1,6}\s+(?P<b>\S.*?)(?:\s+#+)?)\s*$")
_MAX_LABEL_WORDS = 4


@dataclass
class Line:
    """One line of transcript text with its place in the file."""

    text: str
    line: int
    column: int
    start_ms: int | None = None  # cue times, for subtitle formats
    end_ms: int | None = None
    cue: int | None = None
    speaker: str | None = None  # a label given by the format itself (WebVTT voice tags)


def match_label(text: str) -> re.Match[str] | None:
    """The speaker-label match of a line, or None when the line has no plausible label."""
    m = LABEL.match(text)
    if not m:
        return None
    name = m.group("name").strip()
    if not name or len(name.split()) > _MAX_LABEL_WORDS:
        return None
    return m


def _stamp(m: re.Match[str]) -> int | None:
    for group in ("s1", "s2", "s3"):
        value = m.group(group)
        if value:
            return clock_to_ms(value.strip("[]()"))
    return None


def lines_to_turns(lines: list[Line], speakers: SpeakerMap, *, subtitles: bool = False) -> tuple[list[RawTurn], list[str]]:
    """Group labelled lines into turns; returns the turns and the preamble lines.

    With ``subtitles``, cue times give the turns' times, and consecutive cues of one
    speaker form one turn (subtitle cues cut utterances into display-sized pieces).
    """
    matches: list[re.Match[str] | None] = []
    for ln in lines:
        matches.append(None if ln.speaker is not None else match_label(ln.text))
    names = [normalise_name(m.group("name")) for m in matches if m]
    counts = Counter(names)
    # A transcript labelled with people's names has no label the table knows (the agent
    # speaker does not count): then every label is a speaker.
    any_known = any(speakers.in_table(m.group("name")) for m in matches if m) or any(ln.speaker for ln in lines)

    turns: list[RawTurn] = []
    builders: list[TextBuilder] = []
    preamble: list[str] = []
    last_cue: int | None = None

    for ln, m in zip(lines, matches):
        speaker: str | None = ln.speaker
        content, column = ln.text, ln.column
        start = ln.start_ms
        if m is not None:
            name = m.group("name").strip()
            if speakers.known(name) or counts[normalise_name(name)] >= 2 or not any_known:
                speaker = name
                content = m.group("rest")
                column = ln.column + m.start("rest")
                stamp = _stamp(m)
                if stamp is not None:
                    start = stamp
        stripped = content.rstrip()
        lead = len(stripped) - len(stripped.lstrip())
        stripped = stripped.lstrip()
        column += lead
        if speaker is not None:
            same = turns and subtitles and normalise_name(turns[-1].speaker) == normalise_name(speaker) and ln.cue != last_cue
            if same:
                builders[-1].glue(" ")
                builders[-1].add(stripped, ln.line, column)
                if ln.end_ms is not None:
                    turns[-1].end_ms = ln.end_ms
            else:
                builder = TextBuilder()
                builder.add(stripped, ln.line, column)
                turns.append(RawTurn(speaker, "", (), start, ln.end_ms))
                builders.append(builder)
                if not stripped:
                    # An empty first line still anchors the turn at its label.
                    builder.segments.append((0, ln.line, column))
        elif stripped:
            if turns:
                builders[-1].glue(" " if subtitles and ln.cue != last_cue else "\n")
                builders[-1].add(stripped, ln.line, column)
                if ln.end_ms is not None:
                    turns[-1].end_ms = ln.end_ms
            else:
                preamble.append(stripped)
        last_cue = ln.cue
    for raw, builder in zip(turns, builders):
        raw.text = builder.text
        raw.origin = builder.origin or ((0, 1, 1),)
    return turns, preamble


def _blocks(text: str) -> Iterator[tuple[str | None, list[Line]]]:
    """Split a file into conversations: ``(name or None, lines)``."""
    name: str | None = None
    current: list[Line] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        sep = _NAMED_SEPARATOR.match(raw)
        if sep or _SEPARATOR.match(raw):
            if any(ln.text.strip() for ln in current):
                yield name, current
                name = None
            current = []
            if sep:
                name = (sep.group("a") or sep.group("b") or "").strip() or name
            continue
        current.append(Line(raw, number, 1))
    if any(ln.text.strip() for ln in current):
        yield name, current


def read(ctx: ReadContext, text: str) -> Iterator[Conversation | InputProblem]:
    """Yield every conversation of a plain-text transcript file."""
    found = False
    for name, lines in _blocks(text):
        found = True
        conv_id = ctx.next_id()
        if name:
            conv_id = name
        turns, preamble = lines_to_turns(lines, ctx.speakers)
        first = next((ln.line for ln in lines if ln.text.strip()), lines[0].line if lines else 1)
        draft = Draft(conv_id, turns[0].line if turns else first, turns=turns)
        if preamble:
            draft.metadata["preamble"] = preamble
        if not turns:
            yield ctx.problem(f"conversation {conv_id!r}: no 'Speaker: text' lines found", first)
            continue
        yield finish(ctx, draft)
    if not found:
        yield ctx.problem("no transcript text found")


def parse_text_transcript(text: str, path: str = "<example>", speakers: Mapping[str, str] | None = None) -> list[Conversation]:
    """Parse ``"Client: ...\\nConseiller: ..."`` text (policy examples) into conversations.

    Args:
        text: the transcript, in the plain-text format of this module.
        path: the name used in locations and generated ids.
        speakers: extra speaker-table entries, name -> role.

    Raises:
        InputError: the text has no turns or an unknown speaker.
    """
    ctx = ReadContext(path, SpeakerMap(speakers))
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    conversations: list[Conversation] = []
    for item in read(ctx, normalised):
        if isinstance(item, InputProblem):
            raise InputError(item.path, item.message, item.line, item.column)
        conversations.append(item)
    return conversations


__all__ = ["LABEL", "Line", "lines_to_turns", "match_label", "parse_text_transcript", "read"]
