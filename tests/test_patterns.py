"""Tests for the pattern mini-language: syntax, matching on token boundaries, errors, combined sets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecheck.text.normalize import normalize
from servicecheck.text.patterns import PatternError, PatternSet, compile_pattern

MATCHES = [
    # (pattern, text, the normalised substrings it must find, in order)
    ("c'est (le|la) service {word}", "Ah oui, c'est le service commercial, ça.", ["c est le service commercial"]),
    ("not (my|our) department", "That’s not our department.", ["not our department"]),
    ("you('ll| will) (need|have) to contact *", "You'll need to contact the seller.", ["youll need to contact the"]),
    ("you('ll| will) (need|have) to contact *", "you will have to contact them", ["you will have to contact them"]),
    ("merci d'(avoir|etre)", "Merci d’avoir patienté", ["merci d avoir"]),
    ("desole(e|)(s|)", "Désolées, vraiment désolé", ["desolees", "desole"]),
    ("merci (beaucoup|)", "merci beaucoup et merci", ["merci beaucoup", "merci"]),
    ("je ~2 desolee", "je suis vraiment désolée", ["je suis vraiment desolee"]),
    ("je ~1 desolee", "je suis vraiment désolée", []),
    ("{num} (minutes|min)", "en moins de 3 minutes, ou dix min", ["3 minutes", "dix min"]),
    ("{num} euros", "19,99 euros", ["19,99 euros"]),
    ("merci {word}", "Merci {{first_name}} !", ["merci §"]),
    ("#useless", "still nothing #useless", ["# useless"]),
    ("useless", "still nothing #useless", ["useless"]),
    ("voyez avec *", "Voyez avec La Poste, c’est eux", ["voyez avec la"]),
    ("sorry ?", "Sorry? You're breaking up", ["sorry ?"]),
    ("sorry", "sorrynotsorry", []),  # whole tokens only
    ("a * b", "a x. b", []),  # `*` never crosses a sentence end
    ("a * b", "a x, y b", ["a x , y b"]),
    ("a * b", "a 1 2 3 4 5 b", []),  # at most max_gap tokens
    ("regex:desol", "vraiment désolée pour ça", ["desolee"]),  # regex hits widen to whole tokens
    ("rapprochez-vous de", "rapprochez vous de votre banque", ["rapprochez vous de"]),
    ("\\(e\\)", "client (e) x", ["( e )"]),
    ("reste (due|du ,|du .)", "Il reste dû, hélas. Tout reste dû.", ["reste du ,", "reste du ."]),  # punctuation inside an alternative
]

ERRORS = [
    # (pattern, column of the problem)
    ("(a|b", 1),
    ("a)", 2),
    ("x {foo}", 3),
    ("~3 a", 1),
    ("a ~ b", 3),
    ("a ~3", 3),
    ("a ~3 * b", 3),
    ("(|)", 1),
    ("", 1),
    ("   ", 1),
    ("(a|)", 1),
    ("regex:(", 7),
    ("regex:a*", 7),
    ("{{name}}", 1),
    ("a ~99 b", 3),
    ("a }", 3),
    ("tail \\", 6),
]


@pytest.mark.parametrize(("source", "text", "expected"), MATCHES)
def test_matches(source: str, text: str, expected: list[str]) -> None:
    pattern = compile_pattern(source)
    norm = normalize(text).text
    assert [norm[a:b] for a, b in pattern.finditer(norm)] == expected


@pytest.mark.parametrize(("source", "column"), ERRORS)
def test_errors_carry_a_column(source: str, column: int) -> None:
    with pytest.raises(PatternError) as info:
        compile_pattern(source)
    assert info.value.column == column
    assert isinstance(info.value, ValueError)
    assert f"column {column}" in str(info.value)


def test_pattern_keeps_its_source() -> None:
    assert compile_pattern("a (b|c)").source == "a (b|c)"


def test_spellings_apply_to_pattern_literals() -> None:
    pattern = compile_pattern("svp", {"svp": "s il vous plait"})
    norm = normalize("merci s'il vous plaît").text
    assert [norm[a:b] for a, b in pattern.finditer(norm)] == ["s il vous plait"]


def test_max_gap_is_configurable() -> None:
    norm = normalize("a 1 2 3 4 5 6 b").text
    assert list(compile_pattern("a * b", max_gap=6).finditer(norm))
    assert not list(compile_pattern("a * b", max_gap=4).finditer(norm))


def test_glued_groups_have_a_bounded_expansion() -> None:
    many = "(" + "|".join(f"w{i}" for i in range(40)) + ")"
    with pytest.raises(PatternError, match="too many alternatives"):
        compile_pattern(f"x{many}{many}")


def test_pathological_regex_runs_in_linear_time() -> None:
    pattern = compile_pattern("regex:(a+)+$")
    text = normalize("a" * 50_000 + " b").text
    assert list(pattern.finditer(text)) == []


def test_pattern_set_finds_every_start_and_names_the_pattern() -> None:
    sources = ["je suis desole", "desole", "regex:\\bexcuse", "toutes nos excuses"]
    patterns = [compile_pattern(s) for s in sources]
    norm = normalize("Je suis désolé, toutes nos excuses.").text
    found = [(sources[i], norm[a:b]) for i, a, b in PatternSet(patterns).finditer(norm)]
    assert found == [
        ("je suis desole", "je suis desole"),
        ("desole", "desole"),
        ("toutes nos excuses", "toutes nos excuses"),
        ("regex:\\bexcuse", "excuses"),
    ]


def test_pattern_set_is_leftmost_first() -> None:
    patterns = [compile_pattern("b c"), compile_pattern("a b")]
    norm = normalize("a b c").text
    assert PatternSet(patterns).search(norm) == (1, 0, 3)


def test_non_ascii_offsets() -> None:
    pattern = compile_pattern("merci")
    norm = normalize("😡 👏 merci 🙏").text
    assert [norm[a:b] for a, b in pattern.finditer(norm)] == ["merci"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_compile_only_raises_pattern_error(source: str) -> None:
    try:
        compile_pattern(source)
    except PatternError as exc:
        assert exc.message


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab c.,!?'-é")), max_size=40))
def test_matches_fall_on_token_boundaries(text: str) -> None:
    norm = normalize(text).text
    for source in ("a", "a * b", "(a|b c) ~2 b", "{word} a", "regex:b"):
        for start, end in compile_pattern(source).finditer(norm):
            assert 0 <= start < end <= len(norm)
            assert start == 0 or norm[start - 1] == " "
            assert end == len(norm) or norm[end] == " "


def test_the_wheels_own_search_is_probed_and_used() -> None:
    from servicecheck.text import patterns

    assert patterns._native_search_works()  # the google-re2 of the dev environment: the fast path is tested
    regex = compile_pattern("b c")._regex
    data = b" a b c b c "
    for pos in range(len(data) + 1):
        m = regex.search(data, pos, len(data))  # type: ignore[attr-defined]
        assert tuple(patterns._searcher(regex)(data, pos, len(data))[0]) == (m.span() if m else (-1, -1))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab c.,!?'-é")), max_size=40), st.sets(st.integers(0, 4)))
def test_candidates_searched_one_by_one_match_the_alternation(text: str, only: set[int]) -> None:
    """The prefilter's path (each candidate by its own regex) gives the alternation's matches, fast search or not."""
    from unittest.mock import patch

    from servicecheck.text import patterns

    sources = ["a b", "a", "b * c", "(a|b) ~1 c", "é"]
    pset = PatternSet([compile_pattern(s) for s in sources])
    norm = normalize(text).text
    # the prefilter's contract: a pattern left out has no match; any others may be in
    index = sorted(only | {i for i, p in enumerate(pset.patterns) if any(True for _ in p.finditer(norm))})
    whole = list(pset.finditer(norm))
    assert list(pset.finditer(norm, index)) == whole
    with patch.object(patterns, "_NATIVE", [False]):
        assert list(pset.finditer(norm, index)) == whole


def test_a_pattern_too_big_for_the_small_memory_budget_gets_the_first_doubling_that_compiles() -> None:
    """Each pattern's regex gets the small RE2 budget (its DFA stays small); a larger one the smallest
    doubling of it that compiles, not the whole large budget (its DFA would grow to 8 MB)."""
    from pathlib import Path

    import re2
    import yaml

    from servicecheck.text import patterns as pt

    pack = Path(__file__).resolve().parents[1] / "policies" / "service-standards" / "signals"
    sources = [s for f in sorted(pack.glob("*.yaml"))
               for s in (yaml.safe_load(f.read_text(encoding="utf-8"))["patterns"].get("en") or [])
               if isinstance(s, str) and not s.startswith("regex:")]  # not the {include: ...} entries
    too_big = []
    for source in sources:
        compiled = pt.compile_pattern(source)  # never fails for want of memory
        try:
            re2.compile(" (?:" + str(compiled.body) + ")", pt._options(pt.PATTERN_MEM[0]))
        except re2.error:
            too_big.append(compiled)
    assert too_big, "no pattern of the default pack needs the large budget: the fallback is untested"
    for compiled in too_big:
        budget = compiled._regex.options.max_mem
        assert pt.PATTERN_MEM[0] < budget < pt.PATTERN_MEM[1], (compiled.source, budget)
        with pytest.raises(re2.error):  # half of it would not do: the smallest doubling
            re2.compile(" (?:" + str(compiled.body) + ")", pt._options(budget // 2))
    big = too_big[0]
    text = normalize("nothing to see here").text
    assert list(big.finditer(text)) == []


def test_a_regex_pattern_gets_the_small_memory_budget_and_no_captures() -> None:
    """``regex:`` patterns go through the same budget as the others (they once kept RE2's whole 8 MB)."""
    from servicecheck.text import patterns as pt

    compiled = pt.compile_pattern("regex:(desol|navr)e+s?")
    assert compiled._regex.options.max_mem == pt.PATTERN_MEM[0]
    assert compiled._regex.options.never_capture
