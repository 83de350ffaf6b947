"""The literal prefilter of document units (servicecheck.literals): it never leaves out a pattern that matches."""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from servicecheck import api
from servicecheck.literals import DocumentFilter, _may, _needs, required_strings
from servicecheck.policy.loader import PolicySet, load_policies
from servicecheck.signals import SignalMatcher
from servicecheck.text.normalize import normalize
from servicecheck.text.patterns import PatternError, PatternSet, _searcher, compile_pattern

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT.parent / "shared" / "devset" / "templates"


@pytest.mark.parametrize(("regex", "needs"), [
    (" (?:merci )", [{"merci "}]),
    (" (?:(?:youll |you will )(?:be |get )refund )", [{"refund "}, {"youll ", "you will "}, {"be ", "get "}]),
    (" (?:(?:youll |you will )(?:[^ .!?][^ ]* ){1,4}?ok )", [{"youll ", "you will "}, {"ok "}]),
    (" (?:(?:a |b )?c )", [{"c "}]),  # an optional group requires nothing
    (" (?:x(?:abc|cde)+yz )", [{"yz "}, {"abc", "cde"}, {"x"}]),  # a repeated group: one of its alternatives
    (" (?:(?:(?:ab|cd)x|yz) )", [{"ab", "cd", "yz"}]),  # an alternation: the best clause of each alternative
    ("(^| )impossible (pour|de)( |$)", [{"impossible "}, {"pour", "de"}]),
    (r"a\-b?c", [{"a-"}, {"c"}]),
    ("ab+c", [{"ab"}, {"c"}]),  # a repeated letter ends the run it closes: "abbc" holds "ab", not "abc"
    ("ab{2}?c", [{"ab"}, {"c"}]),
    (r"\pL+ (?:\pN)", None),  # a space alone says nothing
    ("(?i)merci", None),  # a flag: not read
    (r"\x{41}bc", None),
    ("[[:alpha:]]+ merci", None),
    ("(a|)b", [{"b"}]),
    ("(a|)", None),
    ("a{,3}", None),
])
def test_required_strings(regex: str, needs: list[set[str]] | None) -> None:
    assert required_strings(regex) == (None if needs is None else tuple(frozenset(n) for n in needs))


@pytest.fixture(scope="module")
def matcher() -> SignalMatcher:
    policyset = load_policies([], include_default=True)
    from servicecheck.auditor import Auditor

    found = Auditor(policyset, None).matcher
    # the pack cache gives the matcher its filter; without the cache (SERVICECHECK_NO_CACHE), one is made here
    found.__dict__.setdefault("_document_filter", DocumentFilter(found._compiled))
    return found


def _texts() -> list[str]:
    texts = []
    for path in sorted(ROOT.glob("corpus/*/*.jsonl")):
        if path.name.endswith(".labels.jsonl"):
            continue
        for line in path.read_text(encoding="utf-8").splitlines()[:12]:
            texts += [turn["text"] for turn in json.loads(line)["turns"]]
    for path in sorted(TEMPLATES.glob("*")) if TEMPLATES.is_dir() else ():
        texts += [part for part in path.read_text(encoding="utf-8").split("\n\n") if part.strip()]
    return texts


_ANCHORS = ("^", "$", "\\A", "\\z")


def _left_out_matches(patterns: PatternSet, needs: Any, texts: Sequence[str]) -> list[tuple[str, str]]:
    """``(pattern, text)`` for each normalised text where a pattern matches that the filter leaves out (none, if sound).

    The texts a pattern matches are found by searching its regex in them all at once, each
    padded as the search pads it, end to end (a match in one text is a match there); each
    text where a match starts is then searched alone, and only those are asked of the filter.
    A ``regex:`` pattern with an anchor is searched in each text alone. A few searches a
    pattern instead of one a (pattern, text): seconds for thousands of texts, not a minute.
    """
    plain = [text.encode("utf-8") for text in texts]
    padded = [b" " + text + b" " for text in plain]
    data = b"".join(padded)
    starts = [0, *accumulate(map(len, padded))]
    found = []
    for i, pattern in enumerate(patterns.patterns):
        search, where = _searcher(pattern._regex), []
        if pattern.body is None and any(a in str(pattern.raw) for a in _ANCHORS):
            where = [k for k, text in enumerate(plain) if search(text, 0, len(text))[0][0] >= 0]
        else:
            pos = 0
            while pos < len(data):
                start = search(data, pos, len(data))[0][0]
                if start < 0:
                    break
                where.append(k := bisect.bisect_right(starts, start) - 1)
                pos = starts[k + 1]  # a match starts in text k: on to the next text
        found += [(pattern.source, texts[k]) for k in where  # (the filter's own test, of this pattern alone)
                  if not _may(needs[i : i + 1], " " + texts[k] + " ") and next(iter(pattern.finditer(texts[k])), None)]
    return found


def _check_all(matcher: SignalMatcher, texts: Sequence[str], langs: Sequence[str] | None = None) -> None:
    """No pattern or exception of any signal that matches one of ``texts`` is left out by the filter."""
    for lang in langs or matcher.languages:
        norms = [norm for norm in (matcher.normalized(text, lang).text for text in texts) if norm]
        for (name, lg), compiled in matcher._compiled.items():
            if lg != lang:
                continue
            needs = matcher.__dict__["_document_filter"]._needs_of((name, lang))  # as the pack cache keeps them
            assert _left_out_matches(compiled.patterns, needs[0], norms) == [], (name, lang)
            if compiled.exceptions:
                assert _left_out_matches(compiled.exceptions, needs[1], norms) == [], (name, lang)


def test_no_pattern_that_matches_is_left_out(matcher: SignalMatcher) -> None:
    """Every pattern and exception of the default pack, on real turns and templates: a match is never filtered."""
    texts = _texts()
    assert len(texts) > 200
    _check_all(matcher, texts)


def test_the_examples_of_every_signal_keep_their_patterns(matcher: SignalMatcher) -> None:
    """Every signal's examples (match and no-match, in their language): no matching pattern of any signal is dropped."""
    by_lang: dict[str, list[str]] = {lang: [] for lang in matcher.languages}
    for sig in matcher.signals.values():
        for example in (*sig.examples_match, *sig.examples_no_match):
            for lang in (example.lang,) if example.lang in by_lang else matcher.languages:
                by_lang[lang].append(example)
    assert sum(map(len, by_lang.values())) > 300
    for lang, texts in by_lang.items():
        _check_all(matcher, texts, [lang])
    # and each signal's own matching examples, read as a document: the same signals through the filter as without
    for name, sig in matcher.signals.items():
        for example in sig.examples_match:
            assert matcher.match(example, "agent", example.lang, "template") == _unfiltered_match(
                matcher, example, "agent", example.lang, "template"), (name, example)


def _unfiltered_match(matcher: SignalMatcher, *args: Any) -> Any:
    """``matcher.match(*args)`` with every signal searched in full, as a matcher without the filter does."""
    kept = matcher.__dict__.pop("_document_filter")
    try:
        return matcher.match(*args)
    finally:
        matcher.__dict__["_document_filter"] = kept


# Texts built from the pack's own words (its examples, spelled as written, whole or in parts; the words and
# the alternatives of its patterns), its spelling variants, noise words, case changes and joiners: often a
# match, often almost one.
@functools.cache
def _fragments() -> list[str]:
    policyset = load_policies([], include_default=True)
    out: set[str] = set()
    for sig in policyset.signals.values():
        for example in (*sig.examples_match, *sig.examples_no_match):
            words = str(example).split()
            out.update(words)
            out.update(" ".join(words[i : i + k]) for k in (2, 3, 5) for i in range(0, max(len(words) - k + 1, 0), 2))
        for sources in (*sig.patterns.values(), *sig.exceptions.values()):
            for source in sources:
                if not source.startswith("regex:"):
                    out.update(part.strip() for part in re.split(r"[()|*]|~\d+|\{\w+\}", source) if part.strip())
    for table in policyset.spellings.values():
        out.update(table)
    return sorted(out)


_FRAGMENTS = st.deferred(lambda: st.sampled_from(_fragments()))  # the pack is read when the test runs
_NOISE = st.text(alphabet="abcdeéèàçœ’'-.,!?;: 019ABÉ", min_size=1, max_size=6)
_PIECE = st.one_of(_FRAGMENTS, _FRAGMENTS.map(str.upper), _FRAGMENTS.map(str.title), _NOISE)
_TEXT = st.lists(st.tuples(_PIECE, st.sampled_from([" ", " ", " ", "", ", ", ". ", "’", "-", "\n", " ! "])),
                 min_size=1, max_size=14).map(lambda parts: "".join(p + j for p, j in parts))


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(_TEXT, min_size=1, max_size=6))
def test_the_filter_never_drops_a_match_on_random_text(matcher: SignalMatcher, texts: list[str]) -> None:
    _check_all(matcher, texts)
    for text in texts:
        for lang in (*matcher.languages, None):
            for kind in ("template", "guideline"):
                assert matcher.match(text, "agent", lang, kind) == _unfiltered_match(matcher, text, "agent", lang, kind)


# Patterns of the mini-language and raw regexes written at random from a few words, and texts from the
# same words: the analysis itself, on constructs the default pack may not use (yet).
_WORDS = ["merci", "pas", "de", "n'est", "e-mail", "désolé", "c'est", "you'll", "refund", "3", "ok", "a"]
_TOKEN_PART = st.one_of(
    st.sampled_from(_WORDS), st.sampled_from(["*", "{word}", "{num}", "\\.", "you('ll| will)", "d'(avoir|etre)"]),
    st.lists(st.sampled_from([*_WORDS, ""]), min_size=2, max_size=4).map(lambda alts: "(" + "|".join(alts) + ")"),
)
_SOURCE = st.lists(_TOKEN_PART, min_size=1, max_size=5).map(" ".join).map(
    lambda src: src.replace(" * ", " ~2 ", 1) if src.count(" ") > 3 else src)
_ATOM = st.sampled_from(["a", "b", "ab", " ", ".", "[ab]", "[^ ]", "\\.", "\\b", "\\pL", "é", "-", "^", "$", "(^| )", "( |$)"])
_QUANT = st.sampled_from(["", "", "", "?", "*", "+", "{2}", "{0,2}", "{1,3}?", "??"])
_REGEX = st.recursive(
    st.lists(st.tuples(_ATOM, _QUANT).map("".join), min_size=1, max_size=5).map("".join),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda alts: "(?:" + "|".join(alts) + ")"),
        st.tuples(inner, st.sampled_from(["(", "(?:"]), inner, st.sampled_from(["", "|", "|b"]), _QUANT).map(
            lambda t: t[0] + t[1] + t[2] + t[3] + ")" + t[4]),
        st.tuples(inner, inner).map("".join),
    ),
    max_leaves=8,
)
_WORDY_TEXT = st.one_of(
    st.lists(st.one_of(st.sampled_from([*_WORDS, "ab", "ba", "b", "aab", ".", "!", "12"]),
                       st.text(alphabet="abé -.", max_size=4)), max_size=12).map(" ".join),
    st.text(alphabet="aabbé -.", min_size=1, max_size=16),
)


@settings(max_examples=300, deadline=None)
@given(source=st.one_of(_SOURCE, _REGEX.map(lambda r: "regex:" + r)), data=st.data())
def test_a_random_pattern_matches_only_where_its_strings_are(source: str, data: st.DataObject) -> None:
    try:
        pattern = compile_pattern(source, {})
    except PatternError:
        return
    own = sorted({c for c in source.removeprefix("regex:") if c.isalpha() or c in " -."} | {" "})  # its letters too
    texts = data.draw(st.lists(st.one_of(_WORDY_TEXT, st.text(alphabet=own, min_size=1, max_size=12)), max_size=8))
    needs = _needs(PatternSet([pattern]))
    event("strings known" if needs[0] else "nothing known")
    for text in texts:
        norm = normalize(text).text
        for candidate in (norm, text):  # the analysis holds for any text searched, normalised or not
            if next(iter(pattern.finditer(candidate)), None) is not None:
                event("a match")
                assert _may(needs, " " + candidate + " ") == (0,), (source, candidate, needs)


_REPEATS = {"": (1, 1), "?": (0, 1), "??": (0, 1), "*": (0, 3), "+": (1, 3), "{2}": (2, 2), "{0,2}": (0, 2),
            "{1,3}?": (1, 3)}


@st.composite
def _regex_and_a_match(draw: st.DrawFn, depth: int = 0) -> tuple[str, str]:
    """A regex of letters, quantifiers, groups and alternatives, and a string it matches in full."""
    regex, text = [], []
    for _ in range(draw(st.integers(1, 4))):
        quantifier = draw(st.sampled_from(sorted(_REPEATS)))
        low, high = _REPEATS[quantifier]
        times = draw(st.integers(low, high))
        if depth < 2 and draw(st.integers(0, 3)) == 0:
            alternatives = [draw(_regex_and_a_match(depth + 1)) for _ in range(draw(st.integers(1, 3)))]
            regex.append("(?:" + "|".join(r for r, _t in alternatives) + ")" + quantifier)
            text += [draw(st.sampled_from(alternatives))[1] for _ in range(times)]  # each repeat its own alternative
        else:
            char = draw(st.sampled_from("aab-é "))
            regex.append(("\\" + char if char in "- " else char) + quantifier)
            text.append(char * times)
    return "".join(regex), "".join(text)


@settings(max_examples=300, deadline=None)
@given(case=_regex_and_a_match(), before=st.text(alphabet="ab -", max_size=3), after=st.text(alphabet="ab -", max_size=3))
def test_what_a_regex_matches_holds_its_strings(case: tuple[str, str], before: str, after: str) -> None:
    """Soundness itself: a string a regex matches (whichever match the search would pick) holds its required strings."""
    regex, match = case
    try:
        pattern = compile_pattern("regex:" + regex, {})
    except PatternError:  # one that matches the empty string
        return
    text = before + match + after
    assert _may(_needs(PatternSet([pattern])), " " + text + " ") == (0,), (regex, match, required_strings(regex))


def test_lint_findings_are_those_of_the_full_search(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    policyset: PolicySet = load_policies([], include_default=True)
    paths = sorted(str(p) for p in (*ROOT.glob("examples/templates/*"), *TEMPLATES.glob("*")) if p.suffix != ".json")
    (tmp_path / "t.md").write_text("Bonjour, merci pour votre message. Nous revenons vers vous sous 24 h.\n",
                                   encoding="utf-8")
    paths.append(str(tmp_path / "t.md"))
    filtered = list(api.lint(paths, policyset))
    monkeypatch.setattr(SignalMatcher, "_document_may", lambda self, lang, norm, names: None)
    assert list(api.lint(paths, policyset)) == filtered


def test_the_filter_skips_signals_that_cannot_match(matcher: SignalMatcher) -> None:
    names = sorted({name for name, _lang in matcher._compiled})
    found = DocumentFilter(matcher._compiled).signals("fr", "bonjour merci pour votre message", names)
    assert 0 < len(found) < len(names)
    assert all(patterns for patterns, _exceptions in found.values())


def test_a_cached_filter_reads_each_signal_on_first_use(matcher: SignalMatcher) -> None:
    """Pickled (the pack cache), the filter keeps each signal's answers apart and gives the same answers unpickled."""
    import pickle

    original = matcher.__dict__["_document_filter"]
    copy = pickle.loads(pickle.dumps(original))
    assert all(isinstance(v, bytes) for v in copy._needs.values())
    text = "Unfortunately we can't refund this, as the terms say. Thanks for your patience."
    for lang in matcher.languages:
        norm = matcher.normalized(text, lang).text
        names = sorted({name for name, lg in matcher._compiled if lg == lang})
        assert copy.signals(lang, norm, names) == original.signals(lang, norm, names)
    assert any(not isinstance(v, bytes) for v in copy._needs.values())  # read once used
