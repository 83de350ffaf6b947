"""Tests for the Google CCAI Insights, Genesys Cloud and Harper Valley Bank readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servicecheck.inputs import read_transcripts
from servicecheck.model import Conversation, InputProblem

DATA = Path(__file__).parent / "data" / "inputs"
DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"
HVB = DEVSET / "raw" / "hvb"


def one(path: Path, **kw: object) -> Conversation:
    items = list(read_transcripts(str(path), **kw))  # type: ignore[arg-type]
    assert len(items) == 1 and isinstance(items[0], Conversation), items
    return items[0]


def test_ccai_upload_entries() -> None:
    conv = one(DATA / "ccai_entries.json")
    assert [t.speaker for t in conv.turns] == ["customer", "agent", "bot", "customer"]
    assert [t.start_ms for t in conv.turns] == [0, 4500, 9000, 12000]
    assert [t.line for t in conv.turns] == [4, 5, 6, 7]
    assert conv.metadata["conversation_info"]["categories"][0]["display_name"] == "Billing"


def test_ccai_conversation_resource_roles_from_channels() -> None:
    conv = one(DATA / "ccai_conversation.json")
    assert conv.id == "conv-123" and conv.channel == "voice" and conv.language == "en"
    assert [(t.speaker, t.start_ms, t.end_ms) for t in conv.turns] == [("agent", 200, 2300), ("customer", 2800, 4400)]


def test_genesys_phrases_sorted_offsets_and_decorated_text() -> None:
    conv = one(DATA / "genesys.json")
    assert conv.id == "gen-conv-55" and conv.channel == "voice" and conv.language == "fr"
    assert [t.speaker for t in conv.turns] == ["bot", "agent", "customer"]
    assert [(t.start_ms, t.end_ms) for t in conv.turns] == [(0, 600), (800, 3200), (3800, 5800)]
    assert conv.turns[1].text == "Bonjour, vous êtes bien au service client."
    assert conv.turns[2].text == "oui bonjour ma box ne marche plus"  # empty decoratedText falls back to text
    assert [t.line for t in conv.turns] == [14, 13, 15]


def test_genesys_bad_phrase_is_located(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"conversationId": "g", "transcripts": [{"phrases": [{"text": "hi"}]}]}), encoding="utf-8")
    (problem,) = list(read_transcripts(str(path)))
    assert isinstance(problem, InputProblem) and "participantPurpose" in problem.message and problem.line == 1


@pytest.mark.skipif(not HVB.is_dir(), reason="../shared/devset not present")
@pytest.mark.parametrize("sid", ["00d676d7058c49bb", "00f7dce6fc3849a2", "0188295665114e74"])
def test_devset_hvb_raw_files_match_the_converted_jsonl(sid: str) -> None:
    conv = one(HVB / f"{sid}.json")
    expected = next(
        json.loads(line) for line in (DEVSET / "hvb_calls_en.jsonl").read_text(encoding="utf-8").splitlines() if f'"hvb:{sid}"' in line
    )
    assert conv.id == f"hvb:{sid}" and conv.language == "en"
    assert [(t.speaker, t.text, t.start_ms, t.end_ms) for t in conv.turns] == [
        (t["speaker"], t["text"], t["start_ms"], t["end_ms"]) for t in expected["turns"]
    ]
    lines = (HVB / f"{sid}.json").read_text(encoding="utf-8").split("\n")
    for turn in conv.turns:
        line, col = turn.locate(0)
        assert lines[line - 1][col - 1 :].startswith(turn.text)  # type: ignore[index, operator]
