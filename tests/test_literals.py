"""The literal prefilter of document units (servicecheck.literals): it never leaves out a pattern that matches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servicecheck import api
from servicecheck.literals import DocumentFilter, _may, _needs, required_strings
from servicecheck.policy.loader import PolicySet, load_policies
from servicecheck.signals import SignalMatcher

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

    return Auditor(policyset, None).matcher


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


def test_no_pattern_that_matches_is_left_out(matcher: SignalMatcher) -> None:
    """Every pattern and exception of the default pack, on real turns and templates: a match is never filtered."""
    texts = _texts()
    assert len(texts) > 200
    for (name, lang), compiled in matcher._compiled.items():
        sets = [compiled.patterns] + ([compiled.exceptions] if compiled.exceptions else [])
        for patterns in sets:
            needs = _needs(patterns)
            for text in texts:
                norm = matcher.normalized(text, lang)
                may = set(_may(needs, " " + norm.text + " "))
                for i, pattern in enumerate(patterns.patterns):
                    if i not in may:
                        assert next(iter(pattern.finditer(norm.text)), None) is None, (name, lang, pattern.source, text)


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
