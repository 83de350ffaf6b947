"""Tests for the Amazon readers: Contact Lens, Call Analytics, Post-Call Analytics, Transcribe."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicecheck.inputs import read_transcripts
from servicecheck.model import Conversation, InputProblem

DATA = Path(__file__).parent / "data" / "inputs"
DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"
AWS = DEVSET / "raw" / "aws"
needs_devset = pytest.mark.skipif(not AWS.is_dir(), reason="../shared/devset not present")


def one(path: Path, **kw: object) -> Conversation:
    items = list(read_transcripts(str(path), **kw))  # type: ignore[arg-type]
    assert len(items) == 1 and isinstance(items[0], Conversation), items
    return items[0]


def test_contact_lens_chat_skips_events_and_uses_absolute_times() -> None:
    conv = one(DATA / "contact_lens_chat.json")
    assert conv.id == "a1b2c3d4-chat-0001" and conv.channel == "chat" and conv.language == "fr"
    assert [t.speaker for t in conv.turns] == ["customer", "agent", "system"]
    assert [t.start_ms for t in conv.turns] == [0, 38_000, 77_500]
    assert "[PII]" in conv.turns[0].text
    assert [t.line for t in conv.turns] == [16, 18, 20]


def test_call_analytics_roles_and_offsets() -> None:
    conv = one(DATA / "call_analytics.json")
    assert [(t.speaker, t.start_ms, t.end_ms) for t in conv.turns] == [("agent", 300, 2900), ("customer", 3200, 6100), ("agent", 5800, 9000)]
    assert [t.line for t in conv.turns] == [8, 9, 10]


def test_transcribe_audio_segments_merge_and_greeting_heuristic() -> None:
    conv = one(DATA / "transcribe_audio_segments.json")
    assert conv.id == "fr-call-42" and conv.language == "fr"
    assert [t.speaker for t in conv.turns] == ["customer", "agent", "customer"]
    assert conv.turns[1].text == "Bonjour, vous êtes bien au service client, que puis-je faire pour vous ?"
    assert (conv.turns[1].start_ms, conv.turns[1].end_ms) == (1200, 5100)
    assert conv.metadata["roles_from"] == "greeting" and conv.metadata["agent_speaker"] == "spk_1"
    assert conv.turns[1].locate(conv.turns[1].text.index("que"))[0] == 13
    forced = one(DATA / "transcribe_audio_segments.json", agent_speaker="spk_0")
    assert [t.speaker for t in forced.turns] == ["agent", "customer", "agent"]
    (problem,) = list(read_transcripts(str(DATA / "transcribe_audio_segments.json"), agent_speaker="spk_9"))
    assert isinstance(problem, InputProblem) and "'spk_9' does not occur" in problem.message


def test_transcribe_channel_identification() -> None:
    conv = one(DATA / "transcribe_channels.json", agent_speaker="ch_1")
    assert [(t.speaker, t.text) for t in conv.turns] == [("customer", "Hello."), ("agent", "Hi there")]
    line, col = conv.turns[1].locate(3)
    assert line == 14
    assert (DATA / "transcribe_channels.json").read_text(encoding="utf-8").split("\n")[13][col - 1 :].startswith('there"')


@needs_devset
def test_devset_contact_lens_fixed_sample() -> None:
    conv = one(AWS / "aws_contact_lens_example_analyzed.fixed.json")
    assert conv.channel == "voice" and conv.language == "en" and len(conv.turns) == 10
    assert [t.speaker for t in conv.turns[:4]] == ["agent", "customer", "agent", "customer"]
    assert conv.turns[1].text == "Just hello. My name is Peter and help."
    assert conv.turns[1].line == 126 and conv.turns[0].start_ms == 0 and conv.turns[1].end_ms == 4640
    assert conv.timed


@needs_devset
@pytest.mark.parametrize(
    ("name", "where", "message"),
    [
        ("aws_contact_lens_example_analyzed.json", (297, 1), "invalid JSON: Extra data: an unmatched '}'"),
        ("aws_contact_lens_example_redacted.json", (10, 44), "invalid JSON: Expecting ',' delimiter (comments are not allowed in JSON)"),
    ],
)
def test_devset_invalid_contact_lens_samples(name: str, where: tuple[int, int], message: str) -> None:
    (problem,) = list(read_transcripts(str(AWS / name)))
    assert isinstance(problem, InputProblem)
    assert (problem.line, problem.column) == where and problem.message.startswith(message)
    assert str(problem) == f"{AWS / name}:{where[0]}:{where[1]}: {problem.message}"


@needs_devset
def test_devset_pca_labels_are_checked_against_the_greeting() -> None:
    conv = one(AWS / "aws_pca_parsed_output_testfile.json")
    assert len(conv.turns) == 12 and conv.channel == "voice"
    # SpeakerLabels say spk_0 is the agent, but spk_1 says "Thank you for calling...".
    assert conv.turns[1].text.startswith("Thank you for calling") and conv.turns[1].speaker == "agent"
    assert conv.turns[0].speaker == "customer"
    assert "SpeakerLabels" in conv.metadata["roles_from"]
    assert (conv.turns[1].start_ms, conv.turns[1].end_ms) == (640, 3700)
    trusting = one(AWS / "aws_pca_parsed_output_testfile.json", agent_speaker="spk_0")
    assert trusting.turns[0].speaker == "agent" and trusting.metadata["roles_from"] == "agent_speaker"


@needs_devset
def test_devset_transcribe_diarization_sample() -> None:
    conv = one(AWS / "aws_transcribe_diarization_output_example.json")
    assert [t.text for t in conv.turns] == ["I've been on hold for an hour.", "Sorry about that."]
    assert conv.metadata["roles_from"] == "first-speaker" and conv.turns[0].speaker == "agent"
    assert (conv.turns[0].start_ms, conv.turns[0].end_ms) == (4870, 6880)
    assert conv.turns[0].line == 88
    fixed = one(AWS / "aws_transcribe_diarization_output_example.json", agent_speaker="spk_1")
    assert [t.speaker for t in fixed.turns] == ["customer", "agent"]


def test_transcribe_without_diarization_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "nodiar.json"
    path.write_text('{"results": {"transcripts": [{"transcript": "hi"}], "items": [{"start_time": "0.1", "end_time": "0.2", '
                    '"alternatives": [{"content": "hi"}], "type": "pronunciation"}]}}', encoding="utf-8")
    (problem,) = list(read_transcripts(str(path)))
    assert isinstance(problem, InputProblem) and "speaker diarization" in problem.message
