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

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from ..errors import InputError
from ..model import Conversation, Document, InputProblem
from .common import ReadContext, read_input_bytes
from .detect import detect_format
from .documents import document_from_text, read_document
from .source import DecodeProblem, decode
from .speakers import DEFAULT_SPEAKERS, SpeakerMap

if TYPE_CHECKING:
    from .text import parse_text_transcript

# The transcript readers are imported when a transcript is read (``lint`` reads documents only);
# their names stay importable from here.
_LAZY = {"parse_text_transcript": ".text", "JSON_CONVERTERS": ".jsonread", "read_json": ".jsonread",
         "read_jsonl": ".jsonread", "read_jsonl_stream": ".stream", "streamable_jsonl": ".stream"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


FORMATS: tuple[str, ...] = ("json", "jsonl", "text", "csv", "vtt", "srt", "aws", "ccai", "genesys", "hvb")

STDIN_NAME = "<stdin>"

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
    from . import subtitles, tabular, text
    from .jsonread import JSON_CONVERTERS, read_json, read_jsonl
    from .stream import read_jsonl_stream, streamable_jsonl

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
            yield from read_jsonl(ctx, content)
        elif fmt in JSON_CONVERTERS:
            yield from read_json(ctx, content, fmt)
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
    from .jsonread import read_json

    ctx = ReadContext(path, SpeakerMap(speakers))
    content = text.replace("\r\n", "\n").replace("\r", "\n")
    conversations: list[Conversation] = []
    for item in read_json(ctx, content, "json"):
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
