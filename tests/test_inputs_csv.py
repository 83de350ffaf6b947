"""Tests for CSV transcripts."""

from __future__ import annotations

from pathlib import Path

from servicecheck.inputs import read_transcripts
from servicecheck.model import Conversation, InputProblem

DATA = Path(__file__).parent / "data" / "inputs"


def test_grouping_sorting_roles_and_bad_row() -> None:
    items = list(read_transcripts(str(DATA / "turns.csv")))
    convs = [i for i in items if isinstance(i, Conversation)]
    problems = [i for i in items if isinstance(i, InputProblem)]
    assert [c.id for c in convs] == ["A1", "B2"]
    a1 = convs[0]
    assert [t.speaker for t in a1.turns] == ["customer", "agent", "customer"]
    assert [t.start_ms for t in a1.turns] == [0, 3000, 9000]
    assert [t.line for t in a1.turns] == [2, 5, 4]
    multi = a1.turns[1]
    assert multi.text == 'Je suis désolé.\nJe relance la box à distance, "ok" ?'
    assert multi.locate(multi.text.index("Je relance")) == (6, 1)
    assert multi.locate(multi.text.index("ok")) == (6, 33)
    (problem,) = problems
    assert (problem.line, problem.column) == (7, 15) and "start_ms" in problem.message and "'C3'" in problem.message


def test_semicolon_crlf_and_custom_columns() -> None:
    items = list(read_transcripts(str(DATA / "semicolon.csv"), csv_columns={"conversation_id": "call"}))
    (conv,) = items
    assert isinstance(conv, Conversation) and conv.id == "X"
    assert [(t.speaker, t.text, t.line) for t in conv.turns] == [("agent", "Bonjour", 2), ("customer", "Salut", 3)]


def test_header_problems(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("id,who,words\n1,agent,hi\n", encoding="utf-8")
    (problem,) = list(read_transcripts(str(path)))
    assert isinstance(problem, InputProblem) and "no text column" in problem.message and problem.line == 1
    (ok,) = list(read_transcripts(str(path), csv_columns={"speaker": "who", "text": "words"}))
    assert isinstance(ok, Conversation) and ok.turns[0].text == "hi"
    (missing,) = list(read_transcripts(str(path), csv_columns={"text": "nope"}))
    assert isinstance(missing, InputProblem) and "'nope'" in missing.message


def test_unterminated_quote_keeps_earlier_conversations(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('conversation_id,speaker,text\na,agent,hello\nb,agent,"never closed\n', encoding="utf-8")
    items = list(read_transcripts(str(path)))
    assert isinstance(items[0], Conversation) and items[0].id == "a"
    assert isinstance(items[-1], InputProblem) and items[-1].line == 3 and "unterminated" in items[-1].message


def test_extra_fields_and_unknown_speaker_skip_only_their_conversation(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("conversation_id,speaker,text\na,agent,hi,surplus\nb,Bob,hello\nc,customer,ok\n", encoding="utf-8")
    items = list(read_transcripts(str(path)))
    assert [type(i).__name__ for i in items] == ["InputProblem", "InputProblem", "Conversation"]
    assert items[0].line == 2 and "fields" in items[0].message  # type: ignore[union-attr]
    assert "unknown speaker 'Bob'" in items[1].message  # type: ignore[union-attr]
