"""Read a JSONL file one line at a time, with exactly the results of reading it whole.

A contact centre's export can be gigabytes of JSONL. Reading it whole holds the bytes,
the decoded text (two to four bytes a character once one curly apostrophe appears)
and a copy per line-end fix: about ten times the file. Streaming keeps memory flat.

Parity with the whole-file reader (``inputs.jsonread.read_jsonl``) is kept by construction:

* a file is streamed only when the whole-file decoder would read it as UTF-8
  (with or without BOM) and accept it (no NUL, not binary-looking, not blank);
  a pre-scan checks this without keeping the text, and anything else (UTF-16,
  cp1252, a binary file) goes to the whole-file reader and its messages;
* line ends are translated as the decoder does (CRLF and lone CR become LF);
* each line is parsed inside a text that also holds the lines after it up to the
  first one with a non-blank JSON character, because the parser's whitespace skip
  (and its hints) may look past the end of a broken line, exactly as it does in
  the whole text; line numbers, columns and turn origins are therefore the same.
"""

from __future__ import annotations

import codecs
import io
from collections import deque
from collections.abc import Generator, Iterator
from typing import TextIO

from ..model import Conversation, InputProblem
from .common import MAX_WHOLE_BYTES, ReadContext, too_large
from .detect import detect_format
from .jsonfast import convert_fast
from .jsonpos import JSONPosError, loads
from .jsonread import convert_json
from .jsonsource import JsonSource
from .source import _CONTROL, _SNIFF, LineIndex

_HEAD = 65536  # bytes given to format detection, as the whole-file reader does
_CHUNK = 1 << 18  # bytes per read of the pre-scan (bounded memory)
_JSON_SPACE = " \t\n\r"
TOO_LONG = -1  # the ``stop`` of a line over MAX_WHOLE_BYTES characters (its text is not kept)

__all__ = ["convert_jsonl_line", "jsonl_lines", "read_jsonl_stream", "streamable_jsonl"]


def streamable_jsonl(path: str, input_format: str | None) -> str | None:
    """The codec to stream ``path`` with, or ``None`` when it must be read whole.

    ``None`` for anything that is not a JSONL file (by ``input_format`` or detection),
    cannot be opened (the whole-file reader reports why), or would not decode as
    UTF-8 exactly as the whole-file decoder does.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
            fmt = input_format or detect_format(path, head)
            if fmt != "jsonl":
                return None
            for bom in (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                if head.startswith(bom) and not head.startswith(codecs.BOM_UTF8):
                    return None
            codec = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
            fh.seek(0)
            decoder = codecs.getincrementaldecoder(codec)("strict")
            sniff: list[str] = []
            sniffed = 0
            blank = True
            while True:
                chunk = fh.read(_CHUNK)
                final = not chunk
                if b"\x00" in chunk:
                    return None
                try:
                    text = decoder.decode(chunk, final)
                except UnicodeDecodeError:
                    return None  # the whole-file decoder falls back to cp1252: let it
                if sniffed < _SNIFF and text:
                    sniff.append(text[: _SNIFF - sniffed])
                    sniffed += len(sniff[-1])
                if blank and text and not text.isspace():
                    blank = False
                if final:
                    break
    except OSError:
        return None
    head_text = "".join(sniff)
    if blank or (head_text and len(_CONTROL.findall(head_text)) > max(2, len(head_text) // 20)):
        return None  # "empty file" / "binary file": the whole-file reader says so
    return codec


def jsonl_lines(path: str, codec: str, start: int = 0, first_line: int = 1
                ) -> Generator[tuple[int, str, int], None, None]:
    """``(line number, text, stop)`` for every non-blank line of a streamable JSONL file.

    ``text[:stop]`` is the line; the rest of ``text`` is its newline and the
    following lines up to the first that holds a non-blank JSON character (see the
    module docstring). A line over :data:`MAX_WHOLE_BYTES` characters comes as
    ``(number, "", TOO_LONG)``.

    ``start``: a byte offset just after a ``\n`` of the file (``--jobs`` workers read
    their own parts), whose line is numbered ``first_line``.
    """
    raw = open(path, "rb")  # noqa: SIM115 - closed by the text wrapper below
    if start:
        raw.seek(start)
        codec = "utf-8"  # a BOM is only at the start of the file
    with io.TextIOWrapper(raw, encoding=codec, newline=None) as fh:  # newline=None: CRLF and CR become LF
        lines = _bounded_lines(fh)
        ahead: deque[str] = deque()
        number = first_line - 1
        while True:
            line = ahead.popleft() if ahead else next(lines, None)
            if line is None:
                return
            number += 1
            if not line:  # over the size bound: said, never held in memory
                yield number, "", TOO_LONG
                continue
            body = line.removesuffix("\n")
            if not body.strip():
                continue
            # Look ahead to the first line with a JSON non-space character (usually the next one).
            k = 0
            while True:
                if k == len(ahead):
                    nxt = next(lines, None)
                    if nxt is None:
                        break
                    ahead.append(nxt)
                if not ahead[k] or ahead[k].strip(_JSON_SPACE):
                    k += 1
                    break
                k += 1
            text = line + "".join(ahead[i] for i in range(min(k, len(ahead))))
            yield number, text, len(body)


def _bounded_lines(fh: TextIO) -> Iterator[str]:
    """The lines of ``fh``, with ``""`` standing for a line over :data:`MAX_WHOLE_BYTES` characters.

    An over-long line is skipped in pieces, so memory stays bounded whatever its length.
    """
    while True:
        line = fh.readline(MAX_WHOLE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_WHOLE_BYTES and not line.endswith("\n"):
            while True:
                rest = fh.readline(_CHUNK)
                if not rest or rest.endswith("\n"):
                    break
            line = ""
        yield line


def convert_jsonl_line(
    ctx: ReadContext, number: int, text: str, stop: int, *, fast: bool = True
) -> Iterator[Conversation | InputProblem]:
    """The conversations (and problems) of one JSONL line, as :func:`jsonl_lines` gives it.

    ``fast``: try :func:`~servicecheck.inputs.jsonfast.convert_fast` first (the same
    results; ``False`` parses every line with positions, as tests compare).
    """
    if stop == TOO_LONG:
        ctx.next_id()
        yield ctx.problem(too_large("a line"), number)
        return
    items = convert_fast(ctx, number, text, stop) if fast else None
    if items is not None:
        yield from items
        return
    index = LineIndex(text, first_line=number)
    try:
        value = loads(text, 0, stop)
    except JSONPosError as err:
        ctx.next_id()
        # A line that ends too early (truncated object) is reported at its own end,
        # not on the next line where the parser ran out of input.
        line, col = index.locate(min(err.pos, stop))
        yield ctx.problem(f"invalid JSON: {err.message}", line, col)
        return
    yield from convert_json(ctx, value, JsonSource(text, index), "json")


def read_jsonl_stream(ctx: ReadContext, path: str, codec: str) -> Iterator[Conversation | InputProblem]:
    """Every conversation of a streamable JSONL file, read one line at a time."""
    found = False
    for number, text, stop in jsonl_lines(path, codec):
        found = True
        yield from convert_jsonl_line(ctx, number, text, stop)
    if not found:  # pragma: no cover - streamable_jsonl already refused blank files
        yield ctx.problem("empty file")
