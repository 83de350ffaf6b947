"""Read transcripts and lintable documents in every supported format into the shared model.

Public API (``api.py`` uses exactly this):

- :func:`read_transcripts` yields a :class:`~servicecheck.model.Conversation` for each
  conversation it can read and an :class:`~servicecheck.model.InputProblem` for each
  part it cannot; it never raises for bad content.
- :func:`read_document` reads a script, macro or template file for ``lint``.
- :func:`detect_format` guesses a format from a file name and its first bytes.
- :func:`parse_text_transcript` parses ``"Client: ...\\nConseiller: ..."`` strings
  (policy examples), raising :class:`~servicecheck.errors.InputError`;
  :func:`parse_json_transcript` does the same for JSON strings, and
  :func:`document_from_text` makes one document unit of a template string.

Formats (:data:`FORMATS`): ``json`` and ``jsonl`` (canonical), ``text``, ``csv``,
``vtt``, ``srt``, ``aws`` (Transcribe, Call Analytics, Post-Call Analytics, Contact Lens
voice and chat), ``ccai`` (Google CCAI Insights), ``genesys`` (Genesys Cloud) and
``hvb`` (Harper Valley Bank corpus files).  Each reader module documents its format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

from ..errors import InputError
from ..model import Conversation, Document, InputProblem
from . import aws, canonical, ccai, genesys, hvb, subtitles, tabular, text
from .common import ReadContext, read_input_bytes
from .detect import detect_format
from .documents import document_from_text, read_document
from .jsonpos import JSONPosError, loads
from .jsonsource import JsonSource
from .source import DecodeProblem, LineIndex, decode
from .speakers import DEFAULT_SPEAKERS, SpeakerMap
from .stream import read_jsonl_stream, streamable_jsonl
from .text import parse_text_transcript

FORMATS: tuple[str, ...] = ("json", "jsonl", "text", "csv", "vtt", "srt", "aws", "ccai", "genesys", "hvb")

STDIN_NAME = "<stdin>"

_Converter = Callable[[ReadContext, Any, JsonSource], Iterator[Conversation | InputProblem]]
_JSON_CONVERTERS: dict[str, _Converter] = {
    "json": canonical.convert,
    "aws": aws.convert,
    "ccai": ccai.convert,
    "genesys": genesys.convert,
    "hvb": hvb.convert,
}


def _structural(value: Any) -> str | None:
    """The JSON format a parsed value has, judged by its structure."""
    if canonical.looks_canonical(value):
        return "json"
    if aws.flavour(value):
        return "aws"
    if ccai.looks_ccai(value):
        return "ccai"
    if genesys.looks_genesys(value):
        return "genesys"
    if hvb.looks_hvb(value):
        return "hvb"
    return None


def _convert_json(
    ctx: ReadContext, value: Any, src: JsonSource, fmt: str, at: int = 0
) -> Iterator[Conversation | InputProblem]:
    # ``at``: where the value starts, for values that carry no position (a bare string or number).
    if not ctx.explicit_format:
        found = _structural(value)
        # Something that tries to be a canonical conversation gets the canonical reader's precise errors.
        trying = isinstance(value, list) or (isinstance(value, dict) and ("turns" in value or "id" in value))
        fmt = found or ("json" if trying else fmt)
        if fmt == "json" and not found and not trying:
            ctx.next_id()
            line, col = src.where(value)
            if line is None:
                line, col = src.at(at)
            yield ctx.problem(
                "JSON is not a known transcript format: expected a conversation with 'turns', "
                "or an AWS, CCAI, Genesys or HVB transcript (use --input-format to say which)",
                line,
                col,
            )
            return
    yield from _JSON_CONVERTERS[fmt](ctx, value, src)


def _read_json(ctx: ReadContext, content: str, fmt: str) -> Iterator[Conversation | InputProblem]:
    index = LineIndex(content)
    try:
        value = loads(content)
    except JSONPosError as err:
        line, col = index.locate(err.pos)
        yield ctx.problem(f"invalid JSON: {err.message}", line, col)
        return
    yield from _convert_json(ctx, value, JsonSource(content, index), fmt)


def _read_jsonl(ctx: ReadContext, content: str) -> Iterator[Conversation | InputProblem]:
    index = LineIndex(content)
    src = JsonSource(content, index)
    start = 0
    number = 0
    found = False
    while start <= len(content):
        end = content.find("\n", start)
        if end == -1:
            end = len(content)
        number += 1
        if content[start:end].strip():
            found = True
            try:
                value = loads(content, start, end)
            except JSONPosError as err:
                ctx.next_id()
                line, col = index.locate(min(err.pos, end))  # a truncated line: at its own end
                yield ctx.problem(f"invalid JSON: {err.message}", line, col)
            else:
                line_text = content[start:end]
                at = start + len(line_text) - len(line_text.lstrip())
                yield from _convert_json(ctx, value, src, "json", at)
        start = end + 1
    if not found:
        yield ctx.problem("empty file")


def read_transcripts(
    path: str,
    *,
    input_format: str | None = None,
    speakers: Mapping[str, str] | None = None,
    agent_speaker: str | None = None,
    csv_columns: Mapping[str, str] | None = None,
    stdin: BinaryIO | None = None,
) -> Iterator[Conversation | InputProblem]:
    """Read every conversation of one input file.

    Args:
        path: the file to read; ``"-"`` reads bytes from ``stdin`` (default: the process's).
        input_format: one of :data:`FORMATS`; detected when None.
        speakers: extra speaker-table entries, name -> role (over :data:`DEFAULT_SPEAKERS`).
        agent_speaker: the speaker name or label that is the agent (``spk_1``); others
            unknown to the table are then customers.
        csv_columns: CSV header names by logical column (``{"text": "Message"}``).
        stdin: the stream read for ``"-"``.

    Yields:
        A Conversation per conversation read, an InputProblem per part that could not
        be read (a bad JSONL line, an unknown speaker...); reading goes on after each.

    Raises:
        ValueError: ``speakers`` maps a name to something that is not a role.
    """
    speaker_map = SpeakerMap(speakers, agent_speaker)
    display = STDIN_NAME if path == "-" else path
    ctx = ReadContext(display, speaker_map, agent_speaker, csv_columns, explicit_format=input_format is not None)
    if input_format is not None and input_format not in FORMATS:
        yield ctx.problem(f"unknown input format {input_format!r} (use one of: {', '.join(FORMATS)})")
        return
    if path != "-" and input_format in (None, "jsonl"):
        # A big JSONL export is read line by line (memory stays flat); same results (inputs.stream).
        codec = streamable_jsonl(path, input_format)
        if codec is not None:
            try:
                yield from read_jsonl_stream(ctx, path, codec)
            except RecursionError:  # pragma: no cover - the parser is iterative; a last guard
                yield ctx.problem("input nested too deeply to read")
            return
    data = read_input_bytes(ctx, path, stdin)
    if isinstance(data, InputProblem):
        yield data
        return
    try:
        content = decode(data)
    except DecodeProblem as err:
        yield ctx.problem(str(err))
        return
    fmt = input_format or detect_format(path if path != "-" else "", data[:65536])
    if fmt is None:
        yield ctx.problem(f"cannot tell the input format (use --input-format, one of: {', '.join(FORMATS)})")
        return
    try:
        if fmt == "jsonl":
            yield from _read_jsonl(ctx, content)
        elif fmt in _JSON_CONVERTERS:
            yield from _read_json(ctx, content, fmt)
        elif fmt == "text":
            yield from text.read(ctx, content)
        elif fmt == "csv":
            yield from tabular.read(ctx, content)
        else:
            yield from subtitles.read(ctx, content, fmt)
    except RecursionError:  # pragma: no cover - every reader is iterative; a last guard
        yield ctx.problem("input nested too deeply to read")


def parse_json_transcript(text: str, path: str = "<example>", speakers: Mapping[str, str] | None = None) -> list[Conversation]:
    """Parse canonical (or vendor) transcript JSON given as a string, e.g. a policy example.

    Args:
        text: one JSON value: a conversation object, a list of them, or a vendor transcript.
        path: the name used in locations and generated ids.
        speakers: extra speaker-table entries, name -> role.

    Raises:
        InputError: the JSON is invalid or a conversation in it cannot be read.
    """
    ctx = ReadContext(path, SpeakerMap(speakers))
    content = text.replace("\r\n", "\n").replace("\r", "\n")
    conversations: list[Conversation] = []
    for item in _read_json(ctx, content, "json"):
        if isinstance(item, InputProblem):
            raise InputError(item.path, item.message, item.line, item.column)
        conversations.append(item)
    return conversations


__all__ = [
    "DEFAULT_SPEAKERS",
    "FORMATS",
    "Document",
    "detect_format",
    "document_from_text",
    "parse_json_transcript",
    "parse_text_transcript",
    "read_document",
    "read_transcripts",
]
