"""Tests for WebVTT and SRT transcripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicecheck.inputs import read_transcripts
from servicecheck.model import Conversation, InputProblem

DATA = Path(__file__).parent / "data" / "inputs"


def test_vtt_voices_merge_cues_and_keep_times() -> None:
    (conv,) = list(read_transcripts(str(DATA / "call.vtt")))
    assert isinstance(conv, Conversation)
    assert [t.speaker for t in conv.turns] == ["agent", "customer", "agent"]
    first, second, third = conv.turns
    assert first.text == "Thank you for calling, this is Alex. How can I help you today?"
    assert (first.start_ms, first.end_ms) == (500, 5000)
    assert first.locate(first.text.index("How")) == (11, 10)
    assert second.text == "My internet has been down all day & nobody called back."
    assert (second.line, second.start_ms, second.end_ms) == (15, 5500, 9250)
    assert (third.text, third.line, third.start_ms) == ("I'm sorry about that.", 19, 70000)


def test_srt_prefixes_continuations_and_dialogue_dashes() -> None:
    (conv,) = list(read_transcripts(str(DATA / "call.srt")))
    assert isinstance(conv, Conversation)
    assert [t.speaker for t in conv.turns] == ["agent", "customer", "agent"]
    assert conv.turns[0].text == "Bonjour, vous êtes bien au service client. Que puis-je faire pour vous ?"
    assert (conv.turns[0].start_ms, conv.turns[0].end_ms) == (1000, 5000)
    assert [t.line for t in conv.turns] == [3, 11, 12]
    lines = (DATA / "call.srt").read_text(encoding="utf-8").split("\n")
    for turn in conv.turns:
        line, col = turn.locate(0)
        assert lines[line - 1][col - 1 :].startswith(turn.text[:8])  # type: ignore[index, operator]


@pytest.mark.parametrize(
    ("name", "content", "message", "line"),
    [
        ("a.vtt", "NOT A VTT\n\n00:00:01.000 --> 00:00:02.000\nAgent: hi\n", "first line must be 'WEBVTT'", 1),
        ("b.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:xx\nAgent: hi\n", "invalid WebVTT cue timing", 3),
        ("c.srt", "1\n00:00:01,000 --> 00:00:02,000\nAgent: hi\n\n2\nno timing here\n", "without a timing line", 5),
        ("d.srt", "1\n00:00:01,000 --> 00:00:02,000\njust words\n", "no cue with a 'Name:' speaker prefix", 3),
        ("e.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Bob>hi\n", "unknown speaker 'Bob'", 4),
    ],
)
def test_malformed_subtitles(tmp_path: Path, name: str, content: str, message: str, line: int) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    (problem,) = list(read_transcripts(str(path)))
    assert isinstance(problem, InputProblem) and message in problem.message and problem.line == line
