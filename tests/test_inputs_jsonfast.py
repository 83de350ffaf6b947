"""The fast JSONL line reader (C decoder, turn-text positions only) gives what the position-keeping parser gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecheck.inputs.common import ReadContext
from servicecheck.inputs.jsonfast import convert_fast
from servicecheck.inputs.speakers import SpeakerMap
from servicecheck.inputs.stream import convert_jsonl_line

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def both(line: str, number: int = 3, explicit: bool = False) -> tuple[list[object], list[object], int, int]:
    """(fast items, slow items, fast count, slow count) of one line; the line continues with a newline."""
    text = line + "\n"
    fast_ctx = ReadContext("f.jsonl", SpeakerMap(), explicit_format=explicit, count=5)
    slow_ctx = ReadContext("f.jsonl", SpeakerMap(), explicit_format=explicit, count=5)
    fast = list(convert_jsonl_line(fast_ctx, number, text, len(line)))
    slow = list(convert_jsonl_line(slow_ctx, number, text, len(line), fast=False))
    return fast, slow, fast_ctx.count, slow_ctx.count


def taken(line: str) -> bool:
    return convert_fast(ReadContext("f.jsonl", SpeakerMap()), 1, line + "\n", len(line)) is not None


CONV = {"id": "c1", "language": "fr-FR", "channel": "chat", "metadata": {"team": "b", "n": 3},
        "turns": [{"speaker": "agent", "text": "Bonjour, c’est «Zoé»\u00a0!", "start_ms": 0, "end_ms": 900},
                  {"speaker": "Client", "text": "Merci \\ \"ok\" \ttab\nligne 😀 {\"text\": \"x\"}", "start_ms": 1000},
                  {"role": "customer", "text": ", \"text\": \"y\""}],
        "source": "synthetic"}

CASES = [
    json.dumps(CONV, ensure_ascii=False),
    json.dumps(CONV),
    json.dumps(CONV, separators=(",", ":"), ensure_ascii=False),
    json.dumps(CONV, separators=(",", ":")),
    json.dumps(CONV, indent=None, separators=(", ", ":")),  # not a json.dumps form this path knows: slow
    json.dumps({**CONV, "metadata": {"text": "a key the turns also have"}}),
    json.dumps({**CONV, "turns": [{"speaker": "agent", "text": "x", "extra": {"text": "y"}}]}),
    json.dumps({**CONV, "turns": [{"speaker": "agent", "tex": "x"}], "metadata": {"text": "y"}}),
    json.dumps({**CONV, "turns": [{"speaker": "agent", "text": 4}]}),
    json.dumps({**CONV, "turns": [{"speaker": "Marie", "text": "x"}]}),
    json.dumps({**CONV, "turns": [{"speaker": "agent", "text": "x", "start_ms": "3"}]}),
    json.dumps({**CONV, "turns": [{"speaker": "agent", "text": "x", "start_ms": float("nan")}]}),
    json.dumps({**CONV, "id": 12, "language": None}),
    json.dumps({**CONV, "metadata": [1]}),
    json.dumps({**CONV, "turns": []}),
    json.dumps({**CONV, "turns": "none"}),
    json.dumps({"turns": [{"speaker": "agent", "text": "lone \ud800 surrogate"}]}),
    json.dumps({"turns": [{"speaker": "agent", "text": "pair \U0001F600"}]}),
    '{"turns": [{"speaker": "agent", "text": "a", "text": "b"}]}',
    '{"turns": [{"speaker": "agent", "text": "x"}], "n": 1.50}',
    # built directly when plain, through the canonical converter when not (both must agree)
    json.dumps({**CONV, "turns": [{"speaker": "agent", "text": "x", "start_ms": 1.5, "end_ms": 2}]}),
    json.dumps({**CONV, "turns": [{"speaker": "agent", "text": "x", "start_ms": True}]}),
    json.dumps({**CONV, "turns": [{"speaker": None, "text": "x"}]}),
    json.dumps({**CONV, "turns": [{"speaker": "agent", "role": "customer", "text": "x"}]}),
    json.dumps({**CONV, "id": "", "metadata": None, "channel": None}),
    json.dumps({**CONV, "channel": 3}),
    json.dumps({**CONV, "turns": [{"speaker": "agent", "text": "a \\\" b"}, {"speaker": "agent", "text": ""}]}),
    '{"turns": [{"speaker": "agent", "text": "x"}], "n": 1e400}',
    ' {"turns": [{"speaker": "agent", "text": "x"}]}',
    '{"turns": [{"speaker": "agent", "text": "x"}]',
    '[{"turns": [{"speaker": "agent", "text": "x"}]}]',
    '{"turns": [{"speaker": "agent", "text": "x"}], "deep": ' + "[" * 1200 + "]" * 1200 + "}",
    '{"turns": [{"speaker": "agent", "text": "x"}], "deep": ' + "[" * 300 + "]" * 300 + "}",
]


@pytest.mark.parametrize("line", CASES)
def test_cases_read_the_same(line: str) -> None:
    fast, slow, fast_count, slow_count = both(line)
    assert fast == slow
    assert fast_count == slow_count
    explicit = both(line, explicit=True)
    assert explicit[0] == explicit[1] and explicit[2] == explicit[3]


def test_the_fast_path_is_taken_for_json_dumps_lines_only() -> None:
    assert all(taken(line) for line in CASES[:4])
    assert not taken(CASES[4])
    assert not taken(CASES[5])  # another "text" key: positions by the other parser
    assert not taken(CASES[16])  # a lone surrogate
    assert taken(CASES[17])  # a pair


def test_the_real_corpus_reads_the_same() -> None:
    files = sorted(p for p in CORPUS.glob("*/*.jsonl") if not p.name.endswith(".labels.jsonl"))
    lines = [line for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) > 1000
    fast_taken = 0
    for number, line in enumerate(lines, start=1):
        fast, slow, fast_count, slow_count = both(line, number)
        assert fast == slow, line[:200]
        assert fast_count == slow_count
        fast_taken += taken(line)
    assert fast_taken > len(lines) // 2


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30) | st.sampled_from(
    ['"text": "', ', "text": "x"', "{\"text\":", "\\", "\\u00e9", "é\n\t\"", ""])
_TURN = st.fixed_dictionaries({"speaker": st.sampled_from(["agent", "customer", "Conseiller", "bot"]), "text": _TEXT},
                              optional={"start_ms": st.integers(0, 10**6), "text2": _TEXT,
                                        "meta": st.dictionaries(st.sampled_from(["text", "a"]), _TEXT, max_size=2)})
_CONV = st.fixed_dictionaries({"turns": st.lists(_TURN, max_size=4)},
                              optional={"id": st.text(max_size=5) | st.integers(), "language": st.sampled_from(["fr", "en"]),
                                        "metadata": st.dictionaries(st.sampled_from(["text", "b"]), _TEXT, max_size=2),
                                        "text": _TEXT})


@settings(max_examples=300, deadline=None)
@given(conv=_CONV, ascii_only=st.booleans(), compact=st.booleans())
def test_generated_lines_read_the_same(conv: dict[str, object], ascii_only: bool, compact: bool) -> None:
    line = json.dumps(conv, ensure_ascii=ascii_only, separators=(",", ":") if compact else None)
    fast, slow, fast_count, slow_count = both(line)
    assert fast == slow
    assert fast_count == slow_count
