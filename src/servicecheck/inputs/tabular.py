"""Read CSV transcripts: one row per turn, many conversations per file.

Columns (header names are matched case-insensitively; the first name listed is the
logical name that ``csv_columns`` remaps, e.g. ``{"text": "Message"}``):

=================  ==========================================================
conversation_id    also ``conversation``, ``conv_id``, ``call_id``, ``contact_id``, ``id``
turn               also ``turn_number``, ``seq``, ``index``: rows are sorted by it
speaker            also ``participant``, ``speaker_name``, ``author``
role               a role or speaker name; wins over ``speaker`` when both are filled
text               also ``utterance``, ``message``, ``content``, ``transcript``
start_ms, end_ms   integer milliseconds (``12.0`` and ``00:01:02.500`` are accepted)
language, channel  optional, per conversation
agent, team,       optional conversation metadata: also ``agent_name``, ``agent_id``,
queue, date        ``team_name``, ``queue_name``, ``call_date``...
=================  ==========================================================

Every other column is conversation metadata too, under its header name (folded to
lower case, spaces and dashes as ``_``): ``agent,team`` columns give
``metadata == {"agent": ..., "team": ...}``.  A metadata value is the first non-empty
one among the conversation's rows.

Rows are grouped by conversation id in order of first appearance (without the
column, the file is one conversation).  The delimiter is sniffed from the header
(``,`` ``;`` tab ``|``); quoted fields may span lines.  A bad row makes its whole
conversation an input problem (a conversation with a turn missing would be audited
wrongly); the other conversations are still read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..model import Conversation, InputProblem
from .common import Draft, RawTurn, ReadContext, ReadError, finish, language_tag
from .source import TextBuilder, clock_to_ms, strip_with_origin

ALIASES: dict[str, tuple[str, ...]] = {
    "conversation_id": ("conversation_id", "conversation", "conv_id", "conversationid", "call_id", "contact_id", "transcript_id", "id"),
    "turn": ("turn", "turn_number", "turn_no", "seq", "sequence", "index", "n"),
    "speaker": ("speaker", "participant", "speaker_name", "author", "from"),
    "role": ("role", "speaker_role", "participant_role"),
    "text": ("text", "utterance", "message", "content", "transcript", "body"),
    "start_ms": ("start_ms", "start", "begin_ms", "start_time_ms", "offset_ms"),
    "end_ms": ("end_ms", "end", "end_time_ms"),
    "language": ("language", "lang", "language_code"),
    "channel": ("channel", "medium"),
}
# Conversation metadata with a logical name (remappable with ``csv_columns`` like the turn
# columns above); any other column is metadata under its own header name.
METADATA_ALIASES: dict[str, tuple[str, ...]] = {
    "agent": ("agent", "agent_name", "agent_id", "agentid", "advisor", "conseiller"),
    "team": ("team", "team_name", "group", "equipe"),
    "queue": ("queue", "queue_name", "skill"),
    "date": ("date", "call_date", "contact_date", "started_at"),
}
COLUMN_NAMES = (*ALIASES, *METADATA_ALIASES)  # what csv_columns may remap


@dataclass
class Field:
    """One CSV field: its value and where it stands."""

    value: str
    line: int
    column: int
    builder: TextBuilder = field(default_factory=TextBuilder)


def _norm_header(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().strip('"').lower())


def sniff_delimiter(header: str) -> str:
    """The most frequent of ``, ; TAB |`` outside quotes in the header line."""
    outside = re.sub(r'"[^"]*"', "", header)
    counts = {d: outside.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[Field]]]:
    """Yield ``(line, fields)`` for each row, keeping every field's position (RFC 4180 quoting).

    Raises:
        ReadError: an unterminated quoted field, or text after a closing quote.
    """
    stop_chars = re.compile("[" + re.escape(delimiter) + "\n]")
    i, n, line, line_start = 0, len(text), 1, 0
    while i < n:
        row: list[Field] = []
        row_line = line
        while True:
            column = i - line_start + 1
            if i < n and text[i] == '"':
                fld = Field("", line, column)
                j = i + 1
                pieces: list[str] = []
                while True:
                    k = text.find('"', j)
                    if k == -1:
                        raise ReadError("unterminated quoted field (the rest of the file was not read)", line, column)
                    chunk = text[j:k]
                    # A quoted field may span lines: one segment per physical line.
                    pos = j
                    for p_i, part in enumerate(chunk.split("\n")):
                        if p_i:
                            fld.builder.glue("\n")
                            line += 1
                            line_start = pos
                        fld.builder.add(part, line, pos - line_start + 1)
                        pos += len(part) + 1
                    pieces.append(chunk)
                    if text.startswith('""', k):
                        fld.builder.add('"', line, k - line_start + 1)
                        pieces.append('"')
                        j = k + 2
                        continue
                    i = k + 1
                    break
                fld.value = "".join(pieces)
                if i < n and text[i] not in (delimiter, "\n"):
                    raise ReadError("unexpected text after a closing quote", line, i - line_start + 1)
            else:
                m = stop_chars.search(text, i)
                k = m.start() if m else n
                fld = Field(text[i:k], line, column)
                fld.builder.add(fld.value, line, column)
                i = k
            row.append(fld)
            if i >= n:
                break
            if text[i] == delimiter:
                i += 1
                if i >= n:
                    row.append(Field("", line, i - line_start + 1))
                    break
                continue
            i += 1  # newline
            line += 1
            line_start = i
            break
        if any(f.value.strip() for f in row):
            yield row_line, row


def _number_ms(value: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if ":" in text:
        ms = clock_to_ms(text)
        if ms is None:
            raise ValueError(text)
        return ms
    number = float(text.replace(",", ".")) if text.count(",") == 1 and "." not in text else float(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return round(number)


def read(ctx: ReadContext, text: str) -> Iterator[Conversation | InputProblem]:
    """Yield every conversation of a CSV transcript file."""
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if ctx.path.lower().endswith(".tsv") else sniff_delimiter(first_line)
    rows = iter_rows(text, delimiter)
    fatal: InputProblem | None = None
    try:
        header_line, header = next(rows)
    except StopIteration:
        yield ctx.problem("empty CSV file")
        return
    except ReadError as err:
        yield ctx.problem(err.message, err.line, err.column)
        return
    try:
        columns = _columns(header, ctx.csv_columns or {}, header_line)
    except ReadError as err:
        yield ctx.problem(err.message, err.line, err.column)
        return

    groups: dict[str, _Group] = {}
    try:
        for line, row in rows:
            _add_row(groups, columns, line, row, header)
    except ReadError as err:
        fatal = ctx.problem(err.message, err.line, err.column)
    for key, group in groups.items():
        fallback = ctx.next_id()
        if group.error:
            yield ctx.problem(group.error.message, group.error.line, group.error.column)
            continue
        draft = Draft(key or fallback, group.line, language=language_tag(group.language), channel=group.channel,
                      metadata=dict(group.metadata))
        ordered = sorted(group.turns, key=lambda t: t[0]) if columns.get("turn") is not None else group.turns
        draft.turns = [raw for _, raw in ordered]
        yield finish(ctx, draft)
    if fatal:
        yield fatal
    elif not groups:
        yield ctx.problem("CSV file has a header but no rows", header_line)


@dataclass
class _Group:
    line: int
    turns: list[tuple[float, RawTurn]] = field(default_factory=list)
    error: ReadError | None = None
    language: str | None = None
    channel: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


def _columns(header: list[Field], overrides: Mapping[str, str], line: int) -> dict[str, int | None]:
    names = [_norm_header(f.value) for f in header]
    found: dict[str, int | None] = {}
    for logical, aliases in ALIASES.items():
        wanted = overrides.get(logical)
        candidates = (_norm_header(wanted),) if wanted else aliases
        found[logical] = next((names.index(c) for c in candidates if c in names), None)
        if wanted and found[logical] is None:
            raise ReadError(f"CSV column {wanted!r} (for {logical}) not in the header: {', '.join(f.value for f in header)}", line, 1)
    if found["text"] is None:
        raise ReadError(f"CSV header has no text column (one of: {', '.join(ALIASES['text'])}); header: {', '.join(f.value for f in header)}", line, 1)
    if found["speaker"] is None and found["role"] is None:
        raise ReadError(f"CSV header has no speaker or role column; header: {', '.join(f.value for f in header)}", line, 1)
    # "id" only names the conversation when no better column exists; never the turn's own id.
    used = {i for i in found.values() if i is not None}
    for logical, aliases in METADATA_ALIASES.items():
        wanted = overrides.get(logical)
        candidates = (_norm_header(wanted),) if wanted else aliases
        index = next((names.index(c) for c in candidates if c in names and names.index(c) not in used), None)
        if wanted and index is None:
            raise ReadError(f"CSV column {wanted!r} (for {logical}) not in the header: {', '.join(f.value for f in header)}", line, 1)
        if index is not None:
            found["meta:" + logical] = index
            used.add(index)
    for index, name in enumerate(names):
        if index not in used and name and "meta:" + name not in found:
            found["meta:" + name] = index
    return found


def _add_row(groups: dict[str, _Group], columns: dict[str, int | None], line: int, row: list[Field], header: list[Field]) -> None:
    def cell(logical: str) -> Field | None:
        idx = columns.get(logical)
        return row[idx] if idx is not None and idx < len(row) else None

    conv = cell("conversation_id")
    key = conv.value.strip() if conv else ""
    group = groups.get(key)
    if group is None:
        group = groups[key] = _Group(line)
    if group.error:
        return
    try:
        extra = [f for f in row[len(header) :] if f.value.strip()]
        if extra:
            raise ReadError(f"row has {len(row)} fields, the header has {len(header)}", extra[0].line, extra[0].column)
        text = cell("text")
        if text is None:
            raise ReadError(f"row has {len(row)} fields and no text field (the header has {len(header)})", line, 1)
        role_cell, speaker_cell = cell("role"), cell("speaker")
        role_value = role_cell.value.strip() if role_cell else ""
        speaker_value = speaker_cell.value.strip() if speaker_cell else ""
        name = role_value or speaker_value
        if not name:
            raise ReadError("row has no speaker", line, (role_cell or speaker_cell or text).column)
        times: dict[str, int | None] = {}
        for logical in ("start_ms", "end_ms"):
            c = cell(logical)
            try:
                times[logical] = _number_ms(c.value) if c else None
            except ValueError:
                assert c is not None
                raise ReadError(f"{logical}: expected milliseconds, got {c.value.strip()[:30]!r}", c.line, c.column) from None
        order: float = len(group.turns)
        turn_cell = cell("turn")
        if turn_cell is not None:
            try:
                order = float(turn_cell.value.strip())
            except ValueError:
                raise ReadError(f"turn: expected a number, got {turn_cell.value.strip()[:30]!r}", turn_cell.line, turn_cell.column) from None
        raw = RawTurn(name, "", (), times["start_ms"], times["end_ms"])
        # Leading/trailing blanks are not part of the turn: trim them and move the origin.
        raw.text, raw.origin = strip_with_origin(text.builder.text, text.builder.origin)
        if not raw.origin:
            raw.origin = ((0, text.line, text.column),)
        group.turns.append((order, raw))
        for logical in ("language", "channel"):
            c = cell(logical)
            if c and c.value.strip() and getattr(group, logical) is None:
                setattr(group, logical, c.value.strip())
        for logical in columns:
            if logical.startswith("meta:") and logical[5:] not in group.metadata:
                c = cell(logical)
                if c and c.value.strip():
                    group.metadata[logical[5:]] = c.value.strip()
    except ReadError as err:
        group.error = ReadError(f"conversation {key!r}: {err.message}" if key else err.message, err.line, err.column)

