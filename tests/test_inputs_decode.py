"""Tests for decoding, stdin, unreadable files and format detection."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from servicecheck.inputs import FORMATS, detect_format, read_document, read_transcripts
from servicecheck.model import Conversation, InputProblem

DATA = Path(__file__).parent / "data" / "inputs"
TEXT = "Conseiller : Bonjour, désolé pour l’attente.\nClient : Merci, ça va.\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.replace("\n", "\r\n").encode("utf-8"),
        TEXT.replace("\n", "\r").encode("utf-8"),
        TEXT.replace("’", "'").encode("cp1252"),
        TEXT.replace("’", "'").encode("latin-1"),
        "\ufeff".encode("utf-16-le") + TEXT.encode("utf-16-le"),
    ],
    ids=["utf8", "bom", "crlf", "cr", "cp1252", "latin1", "utf16"],
)
def test_encodings_and_line_ends(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    (conv,) = list(read_transcripts(str(path)))
    assert isinstance(conv, Conversation)
    assert [(t.speaker, t.line) for t in conv.turns] == [("agent", 1), ("customer", 2)]
    assert conv.turns[0].text.startswith("Bonjour, désolé") and conv.turns[0].locate(0) == (1, 14)


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty file"), (b"  \n\n", "empty file"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"), (bytes(range(32)) * 10, "binary file")],
)
def test_empty_and_binary_files(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(data)
    (problem,) = list(read_transcripts(str(path)))
    assert isinstance(problem, InputProblem) and problem.message.startswith(message)
    doc = read_document(str(path))
    assert isinstance(doc, InputProblem) and doc.message.startswith(message)


def test_missing_file_directory_and_unknown_format(tmp_path: Path) -> None:
    (missing,) = list(read_transcripts(str(tmp_path / "nope.json")))
    assert isinstance(missing, InputProblem) and missing.message == "no such file"
    (directory,) = list(read_transcripts(str(tmp_path)))
    assert isinstance(directory, InputProblem) and "directory" in directory.message
    (fmt,) = list(read_transcripts(str(DATA / "call.vtt"), input_format="docx"))
    assert isinstance(fmt, InputProblem) and "unknown input format 'docx'" in fmt.message
    odd = tmp_path / "notes.bin"
    odd.write_text("nothing that looks like a transcript\n", encoding="utf-8")
    (unknown,) = list(read_transcripts(str(odd)))
    assert isinstance(unknown, InputProblem) and "cannot tell the input format" in unknown.message


def test_stdin() -> None:
    stream = io.BytesIO('{"id": "s", "turns": [{"speaker": "agent", "text": "hi"}]}'.encode())
    (conv,) = list(read_transcripts("-", stdin=stream))
    assert isinstance(conv, Conversation) and conv.source.path == "<stdin>"
    (text_conv,) = list(read_transcripts("-", stdin=io.BytesIO(TEXT.encode()), input_format="text"))
    assert isinstance(text_conv, Conversation) and text_conv.id == "<stdin>#1"
    doc = read_document("-", stdin=io.BytesIO(b"Bonjour, merci pour votre message."))
    assert not isinstance(doc, InputProblem) and doc.path == "<stdin>" and doc.units[0].turns[0].text.startswith("Bonjour")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("canonical_list.json", "json"),
        ("canonical.jsonl", "jsonl"),
        ("transcripts.txt", "text"),
        ("turns.csv", "csv"),
        ("call.vtt", "vtt"),
        ("call.srt", "srt"),
        ("contact_lens_chat.json", "aws"),
        ("call_analytics.json", "aws"),
        ("transcribe_audio_segments.json", "aws"),
        ("ccai_entries.json", "ccai"),
        ("ccai_conversation.json", "ccai"),
        ("genesys.json", "genesys"),
    ],
)
def test_detect_by_extension_and_keys(name: str, expected: str) -> None:
    assert detect_format(name, (DATA / name).read_bytes()[:65536]) == expected
    assert expected in FORMATS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("canonical_list.json", "json"),
        ("canonical.jsonl", "jsonl"),
        ("transcripts.txt", "text"),
        ("turns.csv", "csv"),
        ("call.vtt", "vtt"),
        ("call.srt", "srt"),
        ("genesys.json", "genesys"),
    ],
)
def test_detect_by_content_alone(name: str, expected: str) -> None:
    assert detect_format("-", (DATA / name).read_bytes()) == expected


def test_structure_wins_over_a_misleading_head(tmp_path: Path) -> None:
    # The flavour keys sit beyond the sniffed head: the parsed structure still decides.
    path = tmp_path / "late.json"
    path.write_text('{"padding": "' + "x" * 70_000 + '", "entries": [{"text": "hi", "role": "AGENT"}]}', encoding="utf-8")
    (conv,) = list(read_transcripts(str(path)))
    assert isinstance(conv, Conversation) and conv.turns[0].speaker == "agent"
