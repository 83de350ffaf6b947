"""Property tests: no reader raises on arbitrary bytes; it yields conversations or problems."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicecheck.inputs import FORMATS, parse_text_transcript, read_document, read_transcripts
from servicecheck.errors import InputError
from servicecheck.model import Conversation, Document, InputProblem

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TMP = Path(tempfile.mkdtemp(prefix="sc-inputs-fuzz-"))

# Bytes that look a little like each format, so the fuzzer gets past the first checks.
SEEDS = {
    "json": b'{"id": "x", "turns": [{"speaker": "agent", "text": "hi"}]}',
    "jsonl": b'{"id": "x", "turns": []}\n{"id": "y"}\n',
    "text": "Agent : Bonjour\nClient: [00:12] salut\n---\n# id\n".encode(),
    "csv": b'conversation_id,speaker,text\na,agent,"hi ""x"""\n',
    "vtt": b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Agent>hi\n",
    "srt": b"1\n00:00:01,000 --> 00:00:02,000\nAgent: hi\n",
    "aws": b'{"Transcript": [{"ParticipantId": "AGENT", "Content": "hi", "BeginOffsetMillis": 0}]}',
    "ccai": b'{"entries": [{"text": "hi", "role": "AGENT", "start_timestamp_usec": 1}]}',
    "genesys": b'{"transcripts": [{"phrases": [{"text": "hi", "participantPurpose": "internal", "startTimeMs": 1}]}]}',
    "hvb": b'[{"speaker_role": "agent", "human_transcript": "hi", "start_ms": 1, "duration_ms": 2}]',
}


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.builds(lambda cut, extra: seed[:cut] + extra + seed[cut:], st.integers(0, len(seed)), st.binary(max_size=20)),
        st.builds(lambda cut: seed[:cut], st.integers(0, len(seed))),
    )


def check(items: list[object]) -> None:
    assert items, "a reader must yield at least one item"
    for item in items:
        assert isinstance(item, (Conversation, InputProblem))
        if isinstance(item, InputProblem):
            assert "\n" not in item.message
        else:
            assert [t.number for t in item.turns] == list(range(1, len(item.turns) + 1))
            assert all(t.speaker in ("agent", "customer", "system", "bot") for t in item.turns)


def _run(fmt: str, data: bytes, explicit: bool) -> None:
    path = TMP / f"f.{ 'txt' if fmt == 'text' else fmt if fmt in ('json', 'jsonl', 'csv', 'vtt', 'srt') else 'json'}"
    path.write_bytes(data)
    check(list(read_transcripts(str(path), input_format=fmt if explicit else None)))


def _make(fmt: str):  # type: ignore[no-untyped-def]
    @SETTINGS
    @given(data=mutated(SEEDS[fmt]), explicit=st.booleans())
    def test(data: bytes, explicit: bool) -> None:
        _run(fmt, data, explicit)

    test.__name__ = f"test_{fmt}_reader_never_raises"
    return test


for _fmt in FORMATS:
    globals()[f"test_{_fmt}_reader_never_raises"] = _make(_fmt)


@SETTINGS
@given(st.text(max_size=200))
def test_parse_text_transcript_raises_only_input_error(text: str) -> None:
    try:
        conversations = parse_text_transcript(text)
    except InputError:
        return
    assert all(isinstance(c, Conversation) for c in conversations)


@SETTINGS
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)), ext=st.sampled_from([".md", ".txt", ".yaml", ".json", ""]))
def test_read_document_never_raises(data: bytes, ext: str) -> None:
    path = TMP / f"doc{ext}"
    path.write_bytes(data)
    result = read_document(str(path))
    assert isinstance(result, (Document, InputProblem))
    if isinstance(result, Document):
        for unit in result.units:
            assert unit.kind in ("template", "guideline")
            assert all(t.speaker == "agent" and t.text.strip() for t in unit.turns)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["agent", "customer", "Client", "Conseiller"]), st.text(min_size=1, max_size=40)), min_size=1, max_size=6))
def test_canonical_round_trip_keeps_texts_and_lines(turns: list[tuple[str, str]]) -> None:
    doc = {"id": "rt", "turns": [{"speaker": s, "text": t} for s, t in turns]}
    path = TMP / "rt.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    (conv,) = list(read_transcripts(str(path)))
    assert isinstance(conv, Conversation)
    assert [t.text for t in conv.turns] == [t for _, t in turns]
    lines = path.read_text(encoding="utf-8").split("\n")
    for turn in conv.turns:
        assert '"text"' in lines[turn.line - 1]  # type: ignore[operator]
