"""The one-pass prefilter of signals (Hyperscan, or RE2 probes) changes no hit (issue 11)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from servicecheck import signals
from servicecheck.detect import prefilter
from servicecheck.policy.loader import load_policies

ROOT = Path(__file__).resolve().parents[1]


def _turns() -> list[tuple[str, str, str]]:
    out = []
    files = [p for p in sorted(ROOT.glob("corpus/*/*.jsonl")) if not p.name.endswith(".labels.jsonl")]
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                conv = json.loads(line)
                out += [(t.get("text", ""), t.get("speaker", ""), conv.get("language") or "")
                        for t in conv.get("turns", [])]
    return out[::3]  # a third of the corpus: every language and source, in a few seconds


@pytest.mark.parametrize("mode", ["hyperscan", "probes"])  # learned detectors on: their exceptions too
def test_prefilter_gives_the_hits_of_the_full_search(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if mode == "hyperscan" and prefilter.hyperscan_module() is None:
        pytest.skip("hyperscan is not installed")
    if mode == "probes":
        monkeypatch.setenv("SERVICECHECK_NO_HYPERSCAN", "1")
    monkeypatch.setenv("SERVICECHECK_PREFILTER_AFTER", "1")  # compile the database at once
    policyset = load_policies([], include_default=True)
    fast = signals.SignalMatcher(policyset.signals, policyset.spellings, policyset.negators)
    full = signals.SignalMatcher(policyset.signals, policyset.spellings, policyset.negators)
    full._may_match = lambda *_args: None  # type: ignore[method-assign]
    for text, speaker, lang in _turns():
        assert fast.match(text, speaker, lang or None) == full.match(text, speaker, lang or None), text
    filters = fast.__dict__.get("_prefilters", {})
    assert filters and all(f is not None for f in filters.values())
    if mode == "hyperscan":
        assert all(f._db is not None for f in filters.values())
    else:  # a probe for every signal with a token pattern, those with regex: patterns too
        for lang, f in filters.items():
            tokens = {name for (name, lg), c in fast._compiled.items()
                      if lg == lang and any(p.body is not None for p in c.patterns.patterns)}
            assert set(f._probes) == tokens, lang


@pytest.mark.parametrize(("source", "loose"), [
    (r"^.*(^| )je reviens vers (vous|toi)( |$).*$", r"(| )je reviens vers (vous|toi)( |)"),  # ^.* and .*$ go
    (r"a\.*$", r"a\.*$"),  # an escaped dot: as it is
    (r"a\\.*$", r"a\\"),  # an escaped backslash, then .*$
    (r"a[(^| )]b(^| )", r"a[(^| )]b(| )"),  # inside a class: as it is
    (r"x[]( |$)](^| )", r"x[]( |$)](| )"),  # "]" first in a class is a member
    (r"[^]](^| )", r"[^]](| )"),
    (r"[[:alpha:](^| )]( |$)", r"[[:alpha:](^| )]( |)"),
    (r"\(^| )(^| )", r"\(^| )(| )"),  # an escaped parenthesis is no group
    (r"a\\(^| )", r"a\\(| )"),  # an escaped backslash, then a group
])
def test_regex_patterns_lose_only_their_word_edge_anchors(source: str, loose: str) -> None:
    assert prefilter._loosen_anchors(source) == loose


def test_every_signal_of_the_default_pack_is_prefiltered(monkeypatch: pytest.MonkeyPatch) -> None:
    if prefilter.hyperscan_module() is None:
        pytest.skip("hyperscan is not installed")
    monkeypatch.setenv("SERVICECHECK_PREFILTER_AFTER", "1")
    policyset = load_policies([], include_default=True)
    matcher = signals.SignalMatcher(policyset.signals, policyset.spellings, policyset.negators)
    matcher.warm()
    filters = matcher.__dict__["_prefilters"]
    assert filters and all(f is not None and f._db is not None and not f.unfiltered for f in filters.values())
    assert all(f._raw_db is None and not f.raw_owners for f in filters.values())  # one scan a turn


@pytest.mark.parametrize(("loose", "padded"), [
    (r"^(§ )*(no|nope)( [.!]+)*$", r"(?:^ )(§ )*(no|nope)( [.!]+)*(?: $)"),
    (r"(| )not (us|me)( [.!;:,)]|$)", r"(| )not (us|me)( [.!;:,)]|(?: $))"),
    (r"a\$b\^", r"a\$b\^"),  # escaped: literal characters
    (r"[$^][^a]$", r"[$^][^a](?: $)"),  # in a class: members
    (r"\bmerci\b", r"\bmerci\b"),  # word boundaries: the padding is non-word, as the text's edges
    (r"\Aab", None), (r"ab\z", None), (r"ab\Z", None),  # other anchors: a database of their own
])
def test_regex_anchors_take_in_the_padding(loose: str, padded: str | None) -> None:
    assert prefilter._pad_anchors(loose) == padded


def test_a_hyperscan_database_built_in_a_child_is_the_one_built_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child process (which gives the compile's memory back on exit) builds the same cache entry."""
    hs = prefilter.hyperscan_module()
    if hs is None:
        pytest.skip("hyperscan is not installed")
    exprs = [b" (?:merci|thanks) ", b" (?:(^| )refused)", b" (?:sorry[^ ]* )"]  # the second is refused: left out
    flags = [hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_PREFILTER] * len(exprs)
    here = prefilter._build_database(hs, exprs, flags)
    assert here.split(b"\n", 1)[0] == b"[0, 2]"
    assert prefilter._build_in_child(exprs, flags) == here
    monkeypatch.setenv("SERVICECHECK_HYPERSCAN_IN_PROCESS", "1")
    assert prefilter._build_in_child(exprs, flags) is None  # then built in the process, as before
    monkeypatch.delenv("SERVICECHECK_HYPERSCAN_IN_PROCESS")
    monkeypatch.setattr(prefilter, "_CHILD", "print('a sitecustomize that talks')\n" + prefilter._CHILD)
    assert prefilter._build_in_child(exprs, flags) == here  # what the child prints is not the entry
    monkeypatch.setattr(prefilter, "_CHILD", "import sys; sys.exit(1)")
    assert prefilter._build_in_child(exprs, flags) is None  # a child that fails: built here
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    assert prefilter._build_in_child(exprs, flags) is None  # no interpreter to run: built here


@pytest.mark.parametrize("mode", ["hyperscan", "probes"])
def test_primed_turns_give_the_hits_of_unprimed_ones(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SignalMatcher.prime (a block's normalising and prefiltering done first) changes no hit."""
    if mode == "hyperscan" and prefilter.hyperscan_module() is None:
        pytest.skip("hyperscan is not installed")
    if mode == "probes":
        monkeypatch.setenv("SERVICECHECK_NO_HYPERSCAN", "1")
    monkeypatch.setenv("SERVICECHECK_PREFILTER_AFTER", "1")
    policyset = load_policies([], include_default=True)
    primed = signals.SignalMatcher(policyset.signals, policyset.spellings, policyset.negators)
    plain = signals.SignalMatcher(policyset.signals, policyset.spellings, policyset.negators)
    turns = _turns()[::4]
    for start in range(0, len(turns), 40):
        block = turns[start:start + 40]
        primed.prime([(text, lang or None) for text, _speaker, lang in block])
        for text, speaker, lang in block:
            assert primed.match(text, speaker, lang or None) == plain.match(text, speaker, lang or None), text
        if start and mode == "hyperscan":  # the database exists from the first block's matches on
            assert primed.__dict__["_primed_may"]
        primed.unprime()
        assert "_primed" not in primed.__dict__


def _english_conversations(count: int) -> list:
    """The first ``count`` conversations of the English corpus files."""
    from servicecheck.inputs import read_transcripts

    files = [p for p in sorted(ROOT.glob("corpus/en/*.jsonl")) if not p.name.endswith(".labels.jsonl")]
    return [c for p in files for c in read_transcripts(str(p))][:count]


def test_check_each_primes_bounded_blocks_and_keeps_what_came_before_a_read_error() -> None:
    from servicecheck import api

    auditor = api.Auditor(load_policies([], include_default=True))
    conversations = _english_conversations(80)
    sizes: list[int] = []
    prime = auditor.matcher.prime
    auditor.matcher.prime = lambda texts: (sizes.append(len(texts)), prime(texts))[1]  # type: ignore[method-assign]

    def failing():  # a reader whose file breaks after 70 conversations
        yield from conversations[:70]
        raise OSError("gone")

    got = []
    with pytest.raises(OSError, match="gone"):
        for item in auditor.check_each(failing()):
            got.append(item)
    assert len(got) == 70  # every conversation read before the error was checked
    alone = [auditor.check_or_problem(c) for c in conversations[:70]]
    assert [r.findings for r in got] == [r.findings for r in alone]
    assert [r.score for r in got] == [r.score for r in alone]
    assert sizes and all(s <= auditor.BLOCK_TURNS for s in sizes)
    assert len(sizes) >= 70 // auditor.BLOCK
    sizes.clear()
    long = replace(conversations[0], turns=tuple(replace(t, number=i + 1) for i, t in
                                                 enumerate(conversations[0].turns * (600 // len(conversations[0].turns) + 1))))
    assert len(long.turns) > 2 * auditor.BLOCK_TURNS
    assert [r.findings for r in auditor.check_each([long])] == [auditor.check_or_problem(long).findings]
    assert sizes == [auditor.BLOCK_TURNS]  # a long call: only its first turns are primed (memory stays bounded)


def test_check_each_reports_a_failing_conversation_as_check_alone_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Priming runs outside check_or_problem's protection: an error there must not end the run."""
    from servicecheck import api

    auditor = api.Auditor(load_policies([], include_default=True))
    ok = _english_conversations(2)
    bad = replace(ok[0], id="bad", turns=(replace(ok[0].turns[0], text="a turn that breaks the normaliser"),))
    real = signals.normalize

    def breaking(text: str, *args: object) -> object:
        if "breaks the normaliser" in text:
            raise ValueError("boom")
        return real(text, *args)

    monkeypatch.setattr(signals, "normalize", breaking)
    got = list(auditor.check_each([ok[0], bad, ok[1]]))
    alone = [auditor.check_or_problem(c) for c in (ok[0], bad, ok[1])]
    assert [type(r).__name__ for r in got] == ["Result", "InputProblem", "Result"]
    assert got[1] == alone[1] and "boom" in got[1].message
    assert [r.findings for r in (got[0], got[2])] == [r.findings for r in (alone[0], alone[2])]
