"""The line-by-line JSONL reader gives exactly what reading the file whole gives, and keeps memory flat."""

from __future__ import annotations

import codecs
import json
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import servicecheck.inputs as inputs
from servicecheck.inputs import read_transcripts
from servicecheck.inputs.stream import streamable_jsonl

DATA = Path(__file__).parent / "data" / "inputs"
DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"


def read_both(path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> tuple[list[object], list[object]]:
    streamed = list(read_transcripts(str(path), **kwargs))  # type: ignore[arg-type]
    with monkeypatch.context() as m:
        m.setattr(inputs, "streamable_jsonl", lambda *_a: None)
        whole = list(read_transcripts(str(path), **kwargs))  # type: ignore[arg-type]
    return streamed, whole


@pytest.mark.parametrize("path", sorted(DATA.rglob("*.jsonl")), ids=lambda p: p.name)
def test_sample_files_read_the_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    streamed, whole = read_both(path, monkeypatch)
    assert streamed == whole


@pytest.mark.skipif(not DEVSET.is_dir(), reason="../shared/devset is absent")
@pytest.mark.parametrize("name", ["synthetic_conversations.jsonl", "hvb_calls_en.jsonl"])
def test_devset_reads_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    streamed, whole = read_both(DEVSET / name, monkeypatch)
    assert len(streamed) > 10 and streamed == whole


GOOD = json.dumps({"id": "é1", "language": "fr", "turns": [
    {"speaker": "agent", "text": "Bonjour, c’est «Zoé»\u00a0!", "start_ms": 0, "end_ms": 900},
    {"speaker": "customer", "text": "Merci \\ \"ok\" \ttab", "start_ms": 1000}]}, ensure_ascii=False)
ESCAPED = json.dumps({"turns": [{"speaker": "agent", "text": "arrivée\nnouvelle ligne 😀"}]})
FRAGMENTS = [
    GOOD, ESCAPED, '{"id": "x"', '{"id": "x", "turns": [{"speaker": "agent", "text": 42}]}', "// a comment",
    "/* c */", "]", "}", "", "   ", "\t", "\u00a0", "[1, 2", '{"turns": []}', '[{"turns": []}, {"turns": []}]',
    '{"id": "u", "turns": [{"speaker": "Marie", "text": "x"}]}', '"just a string"', "nul", '{"a": "unterminated',
    '{"id": 7, "turns": [{"speaker": "agent", "text": "Hi"}]}   ', "  " + GOOD, '{"turns": [{"speaker": "agent"}]}',
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8),
    ends=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=8, max_size=8),
    bom=st.booleans(),
    final_newline=st.booleans(),
)
def test_any_jsonl_reads_the_same(lines: list[str], ends: list[str], bom: bool, final_newline: bool,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    text = "".join(line + end for line, end in zip(lines, ends))
    if not final_newline:
        text = text.rstrip("\r\n")
    data = (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.jsonl"
        path.write_bytes(data)
        for fmt in (None, "jsonl"):
            streamed, whole = read_both(path, monkeypatch, input_format=fmt)
            assert streamed == whole, text


@pytest.mark.parametrize(
    ("data", "streams"),
    [
        (b'{"turns": []}\n', True),
        (codecs.BOM_UTF8 + b'{"turns": []}\n', True),
        (b"   \n\n", False),  # blank: the whole-file reader says "empty file"
        (b'{"turns": [{"speaker": "agent", "text": "caf\xe9"}]}\n', False),  # cp1252
        (codecs.BOM_UTF16_LE + '{"turns": []}\n'.encode("utf-16-le"), False),
        (b'{"turns": []}\x00\n', False),  # binary
    ],
)
def test_only_plain_utf8_jsonl_streams(tmp_path: Path, data: bytes, streams: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    assert (streamable_jsonl(str(path), None) is not None) == streams
    streamed, whole = read_both(path, monkeypatch)
    assert streamed == whole


def test_not_jsonl_and_missing_files_are_left_to_the_whole_file_reader(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"turns": []}', encoding="utf-8")
    assert streamable_jsonl(str(tmp_path / "a.json"), None) is None
    assert streamable_jsonl(str(tmp_path / "missing.jsonl"), None) is None
    assert streamable_jsonl(str(tmp_path), None) is None


def test_memory_stays_flat_as_the_file_grows(tmp_path: Path) -> None:
    line = GOOD + "\n"
    peaks = []
    for n in (3000, 12000):
        path = tmp_path / f"c{n}.jsonl"
        path.write_text(line * n, encoding="utf-8")
        tracemalloc.start()
        count = sum(1 for _ in read_transcripts(str(path)))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert count == n
    size = len((line * 12000).encode("utf-8"))
    assert peaks[1] < 1.3 * peaks[0], peaks  # four times the file, about the same memory
    assert peaks[1] < size, (peaks, size)  # less than the file itself: nothing is held
