"""Tests for the canonical JSON / JSONL reader and the position-keeping JSON parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servicecheck.inputs import read_transcripts
from servicecheck.inputs.jsonpos import JSONPosError, loads, string_origin
from servicecheck.inputs.source import LineIndex
from servicecheck.model import Conversation, InputProblem

DATA = Path(__file__).parent / "data" / "inputs"


def read(path: Path | str, **kw: object) -> list[Conversation | InputProblem]:
    return list(read_transcripts(str(path), **kw))  # type: ignore[arg-type]


def check_origins(path: Path, conversations: list[Conversation]) -> None:
    """Every turn's first segment points at its text in the file (for texts without escapes)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    for conv in conversations:
        for turn in conv.turns:
            line, col = turn.locate(0)
            assert line is not None and col is not None
            head = turn.text[:5]
            if "\\" not in lines[line - 1][col - 1 : col + 20]:
                assert lines[line - 1][col - 1 :].startswith(head), (turn, lines[line - 1])


def test_list_of_conversations_roles_ids_and_lines() -> None:
    items = read(DATA / "canonical_list.json")
    assert all(isinstance(i, Conversation) for i in items)
    first, second = items
    assert isinstance(first, Conversation) and isinstance(second, Conversation)
    assert first.id == "fr-001" and first.language == "fr" and first.channel == "chat"
    assert [t.speaker for t in first.turns] == ["customer", "agent", "customer"]
    assert [t.line for t in first.turns] == [8, 9, 10]
    assert first.turns[0].start_ms == 0 and first.turns[0].end_ms == 2100
    assert first.metadata["queue"] == "sav"
    assert second.id == "canonical_list.json#2" and second.language == "en"
    assert second.metadata["language_code"] == "en-GB"
    assert [t.speaker for t in second.turns] == ["agent", "customer"]
    assert [t.number for t in second.turns] == [1, 2]
    assert first.source.line == 2 and second.source.line == 13


def test_escaped_text_maps_columns_exactly() -> None:
    items = read(DATA / "canonical_list.json")
    turn = items[0].turns[0]  # type: ignore[union-attr]
    assert turn.text == "Bonjour, ma commande n'est pas arrivée."
    line_text = (DATA / "canonical_list.json").read_text(encoding="utf-8").split("\n")[7]
    # "arrivée" is written arriv\u00e9e: the character after the escape is 5 columns further.
    offset = turn.text.index("e.", turn.text.index("arriv"))
    line, col = turn.locate(offset)
    assert line == 8 and line_text[col - 1 : col + 1] == "e."


def test_jsonl_bad_lines_are_problems_and_reading_goes_on() -> None:
    items = read(DATA / "canonical.jsonl")
    problems = [i for i in items if isinstance(i, InputProblem)]
    conversations = [i for i in items if isinstance(i, Conversation)]
    assert [c.id for c in conversations] == ["c1", "c5"]
    assert [(p.line, p.column) for p in problems] == [(2, 63), (3, 53), (5, None)]
    assert problems[0].message.startswith("invalid JSON: Expecting ','")
    assert "expected a string, got number" in problems[1].message and "turns[0].text" in problems[1].message
    assert "unknown speaker 'Marie'" in problems[2].message
    assert all("\n" not in p.message for p in problems)
    c5 = conversations[1]
    assert [t.speaker for t in c5.turns] == ["bot", "system", "agent"]
    assert c5.metadata == {"source": "synthetic"}
    check_origins(DATA / "canonical.jsonl", conversations)


@pytest.mark.parametrize(
    ("content", "message", "where"),
    [
        ('{"id": "x"}', "missing required key 'turns'", (1, 1)),
        ('{"id": "x", "turns": {}}', "turns: expected an array, got object", (1, 22)),
        ('{"id": "x", "turns": [3]}', "turns[0]: expected a turn object, got number", (1, 23)),
        ('{"id": "x", "turns": [{"speaker": "agent", "text": "a", "start_ms": "1"}]}', "start_ms: expected a number", (1, 69)),
        ('{"id": "x", "turns": [{"speaker": "agent"}]}', "missing required key 'text'", (1, 23)),
        ('[1]', "$[0]: expected a conversation object, got number", (1, 2)),
        ('{"foo": 1}', "not a known transcript format", (1, 1)),
        ('{"id": "x", "turns": [}', "invalid JSON: Expecting value", (1, 23)),
    ],
)
def test_wrong_types_give_located_problems(tmp_path: Path, content: str, message: str, where: tuple[int, int]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    (item,) = read(path)
    assert isinstance(item, InputProblem)
    assert message in item.message and (item.line, item.column) == where
    assert str(item).startswith(f"{path}:{where[0]}:{where[1]}: ")


def test_empty_turn_list_is_a_valid_empty_conversation(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text('{"id": 7, "turns": []}', encoding="utf-8")
    (conv,) = read(path)
    assert isinstance(conv, Conversation) and conv.id == "7" and conv.turns == ()


def test_conversations_wrapper_and_json_lines_in_json_file(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"conversations": [{"turns": [{"speaker": "agent", "text": "a"}]}]}), encoding="utf-8")
    assert [c.id for c in read(path)] == ["w.json#1"]  # type: ignore[union-attr]
    lines = tmp_path / "lines.json"
    lines.write_text('{"id": "a", "turns": []}\n{"id": "b", "turns": []}\n', encoding="utf-8")
    assert [c.id for c in read(lines)] == ["a", "b"]  # type: ignore[union-attr]


def test_deep_nesting_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (item,) = read(path)
    assert isinstance(item, InputProblem) and "nested deeper" in item.message
    jsonl = tmp_path / "deep.jsonl"
    jsonl.write_text('{"id": "ok", "turns": []}\n' + "[" * 100_000 + "\n", encoding="utf-8")
    items = read(jsonl)
    assert isinstance(items[0], Conversation) and isinstance(items[1], InputProblem) and items[1].line == 2


def test_six_megabyte_turn(tmp_path: Path) -> None:
    text = "merci " * 1_000_000
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"id": "big", "turns": [{"speaker": "agent", "text": text}]}), encoding="utf-8")
    (conv,) = read(path)
    assert isinstance(conv, Conversation) and conv.turns[0].text == text and conv.turns[0].line == 1


@pytest.mark.parametrize(
    "doc",
    ['{"a": [1, 2.5, -3e2, true, false, null, "x\\u00e9\\ud83d\\ude00"]}', "[]", '"s"', "0", '{"k": {"k": {"k": []}}}', "[NaN, Infinity]"],
)
def test_parser_agrees_with_stdlib(doc: str) -> None:
    assert json.dumps(loads(doc)) == json.dumps(json.loads(doc))


@pytest.mark.parametrize(
    ("doc", "message", "pos"),
    [
        ('{"a": 1} }', "Extra data: an unmatched '}'", 9),
        ('{"a": 1 // note\n}', "comments are not allowed", 8),
        ('{"a": 1,}', "Expecting property name", 8),
        ('["abc', "Unterminated string", 1),
    ],
)
def test_parser_errors_are_precise(doc: str, message: str, pos: int) -> None:
    with pytest.raises(JSONPosError) as err:
        loads(doc)
    assert message in err.value.message and err.value.pos == pos


def test_string_origin_segments_after_escapes() -> None:
    src = '{"t": "a\\nb\\u00e9c"}'
    value = loads(src)
    origin = string_origin(src, value.value_pos["t"], LineIndex(src))
    assert value["t"] == "a\nbéc"
    assert origin == ((0, 1, 8), (2, 1, 11), (4, 1, 18))


def test_parse_json_transcript_for_policy_examples() -> None:
    from servicecheck.errors import InputError
    from servicecheck.inputs import parse_json_transcript

    (conv,) = parse_json_transcript('{"turns": [{"speaker": "Client", "text": "Bonjour"}]}', path="p.yaml#pass[0]")
    assert conv.id == "p.yaml#pass[0]#1" and conv.turns[0].speaker == "customer"
    with pytest.raises(InputError) as err:
        parse_json_transcript('{"turns": [}')
    assert err.value.line == 1 and "invalid JSON" in err.value.message
