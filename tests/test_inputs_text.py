"""Tests for plain-text transcripts and parse_text_transcript."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicecheck.errors import InputError
from servicecheck.inputs import parse_text_transcript, read_transcripts
from servicecheck.model import Conversation, InputProblem

DATA = Path(__file__).parent / "data" / "inputs"


def test_sample_file_conversations_roles_times_and_lines() -> None:
    items = list(read_transcripts(str(DATA / "transcripts.txt")))
    assert all(isinstance(i, Conversation) for i in items)
    first, second, third = items
    assert [c.id for c in items] == ["call-fr-17", "transcripts.txt#2", "call-en-9"]  # type: ignore[union-attr]
    assert [t.speaker for t in first.turns] == ["agent", "customer", "agent", "customer"]  # type: ignore[union-attr]
    assert [t.start_ms for t in first.turns] == [0, 4000, 15000, 31000]  # type: ignore[union-attr]
    assert [t.line for t in first.turns] == [2, 3, 5, 7]  # type: ignore[union-attr]
    multi = first.turns[1]  # type: ignore[union-attr]
    assert multi.text == "Bonjour, j'ai un problème avec ma facture,\nelle est deux fois trop élevée."
    assert multi.locate(multi.text.index("elle")) == (4, 1)
    assert [t.speaker for t in second.turns] == ["customer", "agent"]  # type: ignore[union-attr]
    assert second.turns[1].text.endswith("Note: this line continues the agent's turn.")  # type: ignore[union-attr]
    assert [t.speaker for t in third.turns] == ["customer", "agent"]  # type: ignore[union-attr]


def test_origins_point_at_the_text() -> None:
    path = DATA / "transcripts.txt"
    lines = path.read_text(encoding="utf-8").split("\n")
    for conv in read_transcripts(str(path)):
        assert isinstance(conv, Conversation)
        for turn in conv.turns:
            for part_start, line, col in turn.origin:
                expected = turn.text[part_start:].split("\n")[0]
                assert lines[line - 1][col - 1 :] == expected


@pytest.mark.parametrize(
    ("line", "speaker", "text", "start"),
    [
        ("Conseiller : Bonjour", "agent", "Bonjour", None),
        ("Conseillère\u00a0: Bonjour", "agent", "Bonjour", None),
        ("CLIENT: allo", "customer", "allo", None),
        ("[01:02:03] Agent: hi", "agent", "hi", 3_723_000),
        ("(10:32) Customer: hi", "customer", "hi", 632_000),
        ("Agent [00:12]: hi", "agent", "hi", 12_000),
        ("Agent: [00:12.5] hi", "agent", "hi", 12_500),
        ("00:07 - Opératrice : oui", "agent", "oui", 7_000),
        ("Agent (Marie): bonjour", "agent", "bonjour", None),
        ("Client 2: re", "customer", "re", None),
        ("Chatbot: Welcome", "bot", "Welcome", None),
        ("Système : transfert", "system", "transfert", None),
    ],
)
def test_label_variants(line: str, speaker: str, text: str, start: int | None) -> None:
    (conv,) = parse_text_transcript(line)
    (turn,) = conv.turns
    assert (turn.speaker, turn.text, turn.start_ms) == (speaker, text, start)


def test_policy_example_strings() -> None:
    (conv,) = parse_text_transcript("Client: Vous êtes des incapables !\nConseiller: Je comprends votre colère, je m'en occupe.")
    assert [t.speaker for t in conv.turns] == ["customer", "agent"]
    assert conv.id == "<example>#1" and conv.source.line == 1


def test_unknown_speakers_raise_for_examples_and_are_problems_in_files(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        parse_text_transcript("Marie: Bonjour\nJean: Oui ?\nMarie: Je vous écoute.")
    assert "unknown speakers 'Marie', 'Jean'" in str(err.value) and err.value.line == 1
    path = tmp_path / "names.txt"
    path.write_text("Marie: Bonjour\nJean: Oui ?\n---\nAgent: ok\nClient: merci\n", encoding="utf-8")
    items = list(read_transcripts(str(path)))
    assert isinstance(items[0], InputProblem) and items[0].line == 1
    assert isinstance(items[1], Conversation) and items[1].id == "names.txt#2"
    mapped = list(read_transcripts(str(path), speakers={"Marie": "agent", "jean": "customer"}))
    assert [t.speaker for t in mapped[0].turns] == ["agent", "customer"]  # type: ignore[union-attr]
    by_agent = list(read_transcripts(str(path), agent_speaker="Marie"))
    assert [t.speaker for t in by_agent[0].turns] == ["agent", "customer"]  # type: ignore[union-attr]


def test_preamble_and_no_turns(tmp_path: Path) -> None:
    (conv,) = parse_text_transcript("Date: 3 mai\nAgent: Bonjour\nClient: Salut")
    assert conv.metadata["preamble"] == ["Date: 3 mai"] and len(conv.turns) == 2
    path = tmp_path / "prose.txt"
    path.write_text("just some prose\nwithout any speaker\n", encoding="utf-8")
    (problem,) = list(read_transcripts(str(path), input_format="text"))
    assert isinstance(problem, InputProblem) and "no 'Speaker: text' lines" in problem.message


def test_bad_speaker_table_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        list(read_transcripts("x.txt", speakers={"Marie": "boss"}))
