"""Turn raw input bytes into text, and text offsets into file lines and columns."""

from __future__ import annotations

import bisect
import codecs
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

# How much of the start of a file is inspected for binary content.
_SNIFF = 8192

# Control characters that never occur in text files (TAB, LF, FF, CR and ESC do).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


def _latin1_fallback(err: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves five bytes undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D); Latin-1 maps them to C1
    # controls, so a file that mixes both still decodes without losing a byte.
    assert isinstance(err, UnicodeDecodeError)
    return err.object[err.start : err.end].decode("latin-1"), err.end


codecs.register_error("servicecheck-latin1", _latin1_fallback)


class DecodeProblem(ValueError):
    """Bytes that are not a text file (``empty file``, ``binary file``)."""


def decode(data: bytes) -> str:
    """Decode a text file's bytes and normalise its line ends to ``\\n``.

    UTF-8 with or without BOM, UTF-16/32 with a BOM, else cp1252 (with Latin-1 for
    the bytes cp1252 leaves undefined): a wrong guess between those costs accents,
    never the file.  CRLF and lone CR become LF so that line numbers match editors.

    Raises:
        DecodeProblem: the file is empty (or blank) or binary.
    """
    text: str | None = None
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                raise DecodeProblem("binary file (not valid " + codec.upper() + " after its byte-order mark)") from None
            break
    if text is None:
        if b"\x00" in data:
            raise DecodeProblem("binary file (it contains NUL bytes)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="servicecheck-latin1")
    if "\x00" in text:
        raise DecodeProblem("binary file (it contains NUL characters)")
    head = text[:_SNIFF]
    if head and len(_CONTROL.findall(head)) > max(2, len(head) // 20):
        raise DecodeProblem("binary file (too many control characters)")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise DecodeProblem("empty file")
    return text


class LineIndex:
    """Maps 0-based offsets of a text to 1-based ``(line, column)``; lines end at ``\\n`` only."""

    def __init__(self, text: str, first_line: int = 1) -> None:
        self._starts = [0]
        find = text.find
        i = find("\n")
        while i != -1:
            self._starts.append(i + 1)
            i = find("\n", i + 1)
        self._first = first_line

    def locate(self, offset: int) -> tuple[int, int]:
        """Return the 1-based line and column of ``offset``."""
        i = bisect.bisect_right(self._starts, offset) - 1
        return i + self._first, offset - self._starts[i] + 1

    def line_start(self, line: int) -> int:
        """Return the offset where 1-based ``line`` starts."""
        return self._starts[line - self._first]


@dataclass
class TextBuilder:
    """Assembles a turn's text from pieces of the file, keeping each piece's position.

    The result's ``origin`` is the ``Turn.origin`` segment tuple: every piece added
    with :meth:`add` starts a segment; :meth:`glue` adds unmapped joiners (a space,
    a newline) that belong to the segment before them.
    """

    parts: list[str] = field(default_factory=list)
    segments: list[tuple[int, int, int]] = field(default_factory=list)
    length: int = 0

    def add(self, piece: str, line: int, column: int) -> None:
        """Append ``piece``, which stands at ``line:column`` in the file."""
        if not piece:
            return
        if self.segments:
            off, seg_line, seg_col = self.segments[-1]
            # A piece that continues the previous one on the same line needs no new segment.
            if seg_line == line and seg_col + (self.length - off) == column:
                self.parts.append(piece)
                self.length += len(piece)
                return
        self.segments.append((self.length, line, column))
        self.parts.append(piece)
        self.length += len(piece)

    def glue(self, joiner: str) -> None:
        """Append text that has no place of its own in the file (a joiner between pieces)."""
        if joiner and self.parts:
            self.parts.append(joiner)
            self.length += len(joiner)

    def extend(self, other: TextBuilder) -> None:
        """Append everything ``other`` assembled."""
        base = self.length
        self.parts.extend(other.parts)
        self.segments.extend((base + off, line, col) for off, line, col in other.segments)
        self.length += other.length

    @property
    def text(self) -> str:
        """The assembled text."""
        return "".join(self.parts)

    @property
    def origin(self) -> tuple[tuple[int, int, int], ...]:
        """The segments, for ``Turn.origin``."""
        return tuple(self.segments)

    def __bool__(self) -> bool:
        return self.length > 0


def strip_with_origin(text: str, origin: tuple[tuple[int, int, int], ...]) -> tuple[str, tuple[tuple[int, int, int], ...]]:
    """Strip surrounding whitespace from ``text`` and shift ``origin`` to match."""
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    if not lead:
        return stripped, origin
    shifted: list[tuple[int, int, int]] = []
    for i, (off, line, col) in enumerate(origin):
        nxt = origin[i + 1][0] if i + 1 < len(origin) else len(text)
        if nxt <= lead:
            continue
        if off < lead:
            shifted.append((0, line, col + (lead - off)))
        else:
            shifted.append((off - lead, line, col))
    return stripped, tuple(shifted)


# ``[00:12]``, ``(01:02:03)``, ``00:12.5`` and ``01:02:03,250``: minutes:seconds or hours:minutes:seconds.
CLOCK = r"(?:\d{1,3}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_CLOCK_PARTS = re.compile(r"(?:(\d+):)?(\d+):(\d+)(?:[.,](\d{1,3}))?$")


def clock_to_ms(stamp: str) -> int | None:
    """Convert ``mm:ss``, ``hh:mm:ss`` (with optional ``.mmm``/``,mmm``) to milliseconds."""
    m = _CLOCK_PARTS.match(stamp.strip())
    if not m:
        return None
    hours, minutes, seconds, frac = m.groups()
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        return None
    ms = int(frac.ljust(3, "0")) if frac else 0
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + ms


def iso_to_epoch_ms(value: str) -> int | None:
    """Parse an ISO-8601 / RFC 3339 timestamp into epoch milliseconds (naive times taken as UTC)."""
    text = value.strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # fromisoformat accepts at most 6 fractional digits; RFC 3339 allows 9.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def seconds_to_ms(value: object) -> int | None:
    """Convert seconds given as a number or a numeric string (``"4.87"``, ``"1.5s"``) to ms."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("s")
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(number):
        return None
    return round(number * 1000)
