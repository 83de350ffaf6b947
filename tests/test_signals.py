"""Tests for signals: schemas, loading, the matcher's rules, and every signal file's own examples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from servicecheck.signals import (
    LEXICON_SCHEMA,
    SIGNAL_SCHEMA,
    Example,
    Hit,
    SignalDef,
    SignalMatcher,
    lexicon_problems,
    load_lexicon,
    load_signal_mapping,
)
from servicecheck.text.normalize import normalize
from servicecheck.text.patterns import PatternError

PACK = Path(__file__).resolve().parents[1] / "policies" / "service-standards"
SIGNAL_FILES = sorted((PACK / "signals").glob("*.yaml"))
DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"
EXPECTED_SIGNALS = {
    "thank", "apology", "empathy", "solve", "deflection", "refusal", "justification", "boundary",
    "agent-incivility", "incivility", "complaint", "pressure-exhortation", "empty-injunction",
}
# who says an example, per signal speaker: (speaker, kind)
VOICE = {"agent": ("agent", "transcript"), "customer": ("customer", "transcript"), "script": ("agent", "guideline")}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pack_matcher() -> SignalMatcher:
    from servicecheck.policy.loader import load_policies

    pack = load_policies([PACK], include_default=False)  # the loader: includes resolved, as in an audit
    return SignalMatcher(pack.signals, pack.spellings, pack.negators)


def _examples() -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    for f in SIGNAL_FILES:
        sig = load_signal_mapping(f.stem, _load(f), str(f))
        out += [(sig.name, True, e) for e in sig.examples_match]
        out += [(sig.name, False, e) for e in sig.examples_no_match]
    return out


# ------------------------------------------------------------ the pack's files


def test_schemas_are_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SIGNAL_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(LEXICON_SCHEMA)


def test_the_default_pack_has_the_thirteen_signals() -> None:
    assert {f.stem for f in SIGNAL_FILES} == EXPECTED_SIGNALS


@pytest.mark.parametrize("path", SIGNAL_FILES, ids=lambda p: p.stem)
def test_signal_file_is_valid_and_sane(path: Path) -> None:
    data = _load(path)
    jsonschema.Draft202012Validator(SIGNAL_SCHEMA).validate(data)
    sig = load_signal_mapping(path.stem, data, str(path))
    assert set(sig.patterns) >= {"fr", "en"}, "every default signal is bilingual"
    for lang, sources in sig.patterns.items():
        assert len(sources) < 200, f"{lang}: keep pattern counts sane"
    langs = {e.lang for e in (*sig.examples_match, *sig.examples_no_match)}  # type: ignore[attr-defined]
    assert {"fr", "en"} <= langs, "examples in both languages"
    assert sig.examples_match and sig.examples_no_match


# An English contraction split in two ("we re", "can t") never occurs in normalised text: the
# normaliser folds "we're" to "were" and "can't" to "cant". An alternative written only in the
# split form is dead; the collapsed form must stand beside it.
_SPLIT_CONTRACTION = re.compile(
    r"\b(i|we|you|they|he|she|it|that|there|who|what|here|let) (d|m|ll|ve|re|s)\b|\b(\w+n) t\b")


def test_normalize_folds_english_contractions() -> None:
    assert normalize("We're sorry, we can't; I'd ask, you'd been").text == "were sorry , we cant ; id ask , youd been"


@pytest.mark.parametrize("path", SIGNAL_FILES, ids=lambda p: p.stem)
def test_no_token_pattern_uses_an_anchor(path: Path) -> None:
    """``$`` and ``^`` are literal characters in a token pattern (only ``regex:`` patterns are
    regular expressions): an alternative ``(...|$)`` meant as "end of turn" never matches."""
    data = _load(path)
    anchored = [str(source) for section in ("patterns", "exceptions")
                for sources in (data.get(section) or {}).values() for source in sources or []
                if not str(source).startswith("regex:") and re.search(r"(?<!\\)[$^]", str(source))]
    assert not anchored, anchored


def _english_sources(data: dict[str, Any]) -> list[str]:
    """The English patterns and exceptions of a signal file."""
    return [str(source) for section in ("patterns", "exceptions")
            for source in (data.get(section) or {}).get("en") or []]


@pytest.mark.parametrize("path", SIGNAL_FILES, ids=lambda p: p.stem)
def test_no_english_pattern_relies_on_a_split_contraction(path: Path) -> None:
    dead = []
    for source in _english_sources(_load(path)):
        for m in _SPLIT_CONTRACTION.finditer(source):
            if not re.search(r"\b" + re.escape(m.group(0).replace(" ", "")) + r"\b", source):
                dead.append(f"{m.group(0)!r} in {source[:80]!r}")
    assert not dead, dead


# A pattern that starts with a bare contraction ending, "(is|are|s|re) set by", relies on the word
# before it being split off ("they re"); normalize glues it ("theyre"), so the joined forms must be there.
_JOINED = {"re": "theyre", "s": "its", "ll": "well", "ve": "weve", "m": "im", "d": "wed"}


@pytest.mark.parametrize("path", SIGNAL_FILES, ids=lambda p: p.stem)
def test_no_english_pattern_starts_with_a_bare_contraction_ending(path: Path) -> None:
    dead = []
    for source in _english_sources(_load(path)):
        lead = re.match(r"\(([^()]*)\)", source)
        alts = lead.group(1).split("|") if lead else []
        dead += [f"{end!r} without {_JOINED[end]!r} in {source[:60]!r}"
                 for end in alts if end in _JOINED and _JOINED[end] not in alts]
    assert not dead, dead


def test_a_leading_contraction_ending_matches_the_glued_word(pack_matcher: SignalMatcher) -> None:
    hits = pack_matcher.match("I'm afraid not, they're set under the regulator's cap.", "agent", "en", "transcript")
    assert "justification" in hits


def test_lexicon_is_valid() -> None:
    data = _load(PACK / "lexicon.yaml")
    jsonschema.Draft202012Validator(LEXICON_SCHEMA).validate(data)
    assert lexicon_problems(data) == []
    spellings, negators = load_lexicon(data)
    assert spellings["fr"]["svp"] == "s il vous plait"
    assert "not" in negators["en"]


@pytest.mark.parametrize(("signal", "should_match", "example"), _examples(), ids=lambda v: str(v)[:40])
def test_signal_examples(pack_matcher: SignalMatcher, signal: str, should_match: bool, example: str) -> None:
    speaker, kind = VOICE[pack_matcher.signals[signal].speaker]
    assert isinstance(example, Example)
    hits = pack_matcher.match(example, speaker, example.lang, kind)
    if should_match:
        assert signal in hits, f"{signal} should match {example!r}"
        hit = hits[signal]
        assert 0 <= hit.start < hit.end <= len(example)
    else:
        assert signal not in hits, f"{signal} should not match {example!r} (matched {hits.get(signal)})"


# --------------------------------------------------------------- loading


def test_load_signal_mapping_reads_examples_with_languages() -> None:
    data = {
        "speaker": "agent",
        "description": "d",
        "patterns": {"fr": ["merci"], "any": ["thanks"]},
        "exceptions": {"fr": ["merci de"]},
        "negation": "block",
        "examples": {"match": ["merci", {"text": "thanks", "lang": "en"}], "no-match": [{"text": "merci de venir"}]},
    }
    jsonschema.validate(data, SIGNAL_SCHEMA)
    sig = load_signal_mapping("thank", data, "x.yaml")
    assert sig.patterns == {"fr": ("merci",), "any": ("thanks",)}
    assert sig.exceptions == {"fr": ("merci de",)}
    assert sig.negation == "block" and sig.path == "x.yaml"
    assert [(e, e.lang) for e in sig.examples_match] == [("merci", None), ("thanks", "en")]  # type: ignore[attr-defined]
    assert sig.examples_no_match == ("merci de venir",)


@pytest.mark.parametrize(
    "data",
    [
        {"speaker": "agent", "description": "d"},
        {"speaker": "bot", "description": "d", "patterns": {"fr": ["x"]}},
        {"speaker": "agent", "description": "d", "patterns": {"fr": ["x"]}, "extra": 1},
        {"speaker": "agent", "description": "d", "patterns": {"FR": ["x"]}},
        {"speaker": "agent", "description": "d", "patterns": {"fr": ["x"]}, "negation": "maybe"},
        {"speaker": "agent", "description": "d", "patterns": {"fr": ["x"]}, "examples": {"fail": []}},
        {"speaker": "agent", "description": "d", "patterns": {"fr": [""]}},
    ],
)
def test_signal_schema_rejects_bad_files(data: dict) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SIGNAL_SCHEMA)


def test_lexicon_problems_are_reported_and_dropped() -> None:
    data = {
        "spellings": {"fr": {"j'ai": "j ai", "pb": "pb probleme", "svp": "s il vous plait"}},
        "negators": {"fr": ["!"]},
    }
    jsonschema.validate(data, LEXICON_SCHEMA)
    problems = dict(lexicon_problems(data))
    assert set(problems) == {("spellings", "fr", "j'ai"), ("spellings", "fr", "pb"), ("negators", "fr", 0)}
    spellings, negators = load_lexicon(data)
    assert spellings == {"fr": {"svp": "s il vous plait"}} and negators == {"fr": []}


# --------------------------------------------------------------- matcher


def _sig(name: str, speaker: str = "agent", **kw: object) -> SignalDef:
    return SignalDef(name=name, speaker=speaker, description="test", **kw)  # type: ignore[arg-type]


@pytest.fixture()
def small() -> SignalMatcher:
    signals = {
        "apology": _sig(
            "apology",
            patterns={"fr": ("desole(e|)",), "en": ("sorry",)},
            exceptions={"en": ("sorry ?",)},
            negation="block",
        ),
        "complaint": _sig("complaint", "customer", patterns={"any": ("unacceptable", "inadmissible")}),
        "pressure": _sig("pressure", "script", patterns={"en": ("keep smiling",)}),
        "thank": _sig("thank", patterns={"fr": ("merci",)}, exceptions={"fr": ("merci de {word}",)}),
    }
    return SignalMatcher(signals, {"fr": {"dsl": "desole"}}, {"fr": ["pas", "ne"], "en": ["not", "no need"]})


def test_match_returns_the_first_hit_with_original_offsets(small: SignalMatcher) -> None:
    text = "Bonjour, vraiment DÉSOLÉE, désolée."
    hit = small.match(text, "agent", "fr")["apology"]
    assert hit == Hit("apology", 18, 25, "desole(e|)", "fr")
    assert text[hit.start : hit.end] == "DÉSOLÉE"


def test_spellings_apply_per_language(small: SignalMatcher) -> None:
    assert "apology" in small.match("dsl pour le retard", "agent", "fr")
    assert "apology" not in small.match("dsl pour le retard", "agent", "en")


def test_unknown_language_tries_every_language(small: SignalMatcher) -> None:
    assert small.match("so sorry", "agent", None)["apology"].language == "en"
    assert small.match("désolé", "agent", "de")["apology"].language == "fr"
    assert "apology" not in small.match("désolé", "agent", "en-GB")
    assert "apology" in small.match("désolé", "agent", "fr_FR")


def test_any_language_patterns_apply_everywhere(small: SignalMatcher) -> None:
    assert "complaint" in small.match("C'est inadmissible", "customer", "fr")
    assert "complaint" in small.match("This is unacceptable", "customer", "en")


def test_speaker_rules(small: SignalMatcher) -> None:
    assert small.match("sorry", "customer", "en") == {}
    assert small.match("unacceptable", "agent", "en") == {}
    assert "pressure" not in small.match("keep smiling", "agent", "en", "transcript")
    assert "pressure" in small.match("keep smiling", "agent", "en", "guideline")
    assert "apology" in small.match("sorry", "agent", "en", "template")


def test_only_restricts_the_signals(small: SignalMatcher) -> None:
    assert set(small.match("désolée, merci", "agent", "fr", only={"thank"})) == {"thank"}


def test_exception_cancels_an_overlapping_match(small: SignalMatcher) -> None:
    assert "apology" not in small.match("Sorry? You're breaking up", "agent", "en")
    assert "apology" in small.match("Sorry? Sorry for the wait.", "agent", "en")
    assert "thank" not in small.match("Merci de patienter", "agent", "fr")


def test_negation_blocks_in_the_same_clause_only(small: SignalMatcher) -> None:
    assert "apology" not in small.match("je ne suis pas désolé", "agent", "fr")
    assert "apology" not in small.match("No need to be sorry", "agent", "en")
    assert "apology" in small.match("Je ne peux pas, désolé", "agent", "fr")
    assert "apology" in small.match("pas de souci mais vraiment encore désolé", "agent", "fr")


def test_near_misses_are_the_cancelled_matches(small: SignalMatcher) -> None:
    misses = small.near_misses("je ne suis pas désolée. Sorry?", "agent", None, "transcript", "apology")
    assert [(m.language, m.start, m.end) for m in misses] == [("fr", 15, 22), ("en", 24, 29)]
    assert small.near_misses("merci beaucoup", "agent", "fr", "transcript", "thank") == []
    assert small.near_misses("x", "agent", "fr", "transcript", "nope") == []


def test_explain_lists_every_surviving_hit(small: SignalMatcher) -> None:
    hits = small.explain("Désolé, merci, désolée.", "agent", "fr")
    assert [(h.signal, h.start) for h in hits] == [("apology", 0), ("thank", 8), ("apology", 15)]


def test_empty_and_symbol_only_text(small: SignalMatcher) -> None:
    assert small.match("", "agent", "fr") == {}
    assert small.match("?!…", "agent", None) == {}


def test_bad_pattern_names_signal_and_pattern() -> None:
    bad = {"oops": _sig("oops", patterns={"fr": ("bonjour (le|la",)}, path="signals/oops.yaml")}
    with pytest.raises(PatternError) as info:
        SignalMatcher(bad)
    assert "signals/oops.yaml" in str(info.value) and "'oops'" in str(info.value)
    assert "bonjour (le|la" in str(info.value) and info.value.column == 9


# -------------------------------------------------------- default pack accuracy


@pytest.mark.skipif(not (DEVSET / "synthetic_conversations.jsonl").is_file(), reason="../shared/devset not present")
def test_default_pack_on_the_synthetic_devset(pack_matcher: SignalMatcher) -> None:
    """A regression guard: per-language macro-F1 over signals as shared/tools/evaluate.py computes it."""
    convs = [json.loads(line) for line in (DEVSET / "synthetic_conversations.jsonl").open(encoding="utf-8")]
    labels = {
        row["id"]: row["turns"]
        for row in map(json.loads, (DEVSET / "synthetic_conversations.labels.jsonl").open(encoding="utf-8"))
    }
    tags = sorted({t for turns in labels.values() for ts in turns for t in ts})
    for lang in ("fr", "en"):
        counts = {t: [0, 0, 0] for t in tags}
        for conv in (c for c in convs if c["language"] == lang):
            for turn, gold in zip(conv["turns"], labels[conv["id"]], strict=True):
                got = {s.replace("-", "_").upper() for s in pack_matcher.match(turn["text"], turn["speaker"], lang)}
                for t in tags:
                    counts[t][0 if t in got and t in gold else 1 if t in got else 2 if t in gold else 0] += (
                        t in got or t in gold
                    )
        f1 = []
        for tp, fp, fn in counts.values():
            if tp + fn:
                f1.append(2 * tp / (2 * tp + fp + fn))
        assert sum(f1) / len(f1) >= 0.9 and min(f1) >= 0.75, (lang, counts)


@pytest.mark.parametrize(("text", "lang", "negated"), [
    ("It isn't ready but sorry", "en", False),  # a contrastive conjunction opens a new clause
    ("pas prêt mais désolé", "fr", False),
    ("le délai n'a pas été respecté et je suis désolé", "fr", False),  # « et » before a subject
    ("not the answer and I am sorry", "en", False),
    ("not late and sorry", "en", True),  # "and" alone keeps the negation: one clause
    ("pas là et désolé", "fr", True),
])
def test_negation_scope_ends_at_a_new_clause_without_punctuation(
    small: SignalMatcher, text: str, lang: str, negated: bool
) -> None:
    assert ("apology" not in small.match(text, "agent", lang)) is negated


def test_include_stands_for_the_other_signals_list_in_place(tmp_path: Path) -> None:
    """``{include: x}`` is x's list of the same section and language, in x's order, where it stands."""
    from servicecheck.policy.loader import load_policies

    signals = tmp_path / "team" / "signals"
    signals.mkdir(parents=True)
    (tmp_path / "team" / "pack.yaml").write_text("name: team\nversion: 1\n")
    (signals / "rude.yaml").write_text(
        "speaker: customer\ndescription: rude\npatterns:\n  en: [\"you idiots\", \"clowns\"]\n"
        "exceptions:\n  en: [\"not clowns\"]\n")
    (signals / "angry.yaml").write_text(
        "speaker: customer\ndescription: angry\npatterns:\n  en: [\"furious\", {include: rude}, \"livid\"]\n"
        "  fr: [\"furieux\"]\nexceptions:\n  en: [{include: rude}]\n")
    (signals / "angrier.yaml").write_text(  # an include of a signal that includes another
        "speaker: customer\ndescription: angrier\npatterns:\n  en: [{include: angry}, \"raging\"]\n")
    pack = load_policies([tmp_path / "team"], include_default=False).signals
    assert pack["angry"].patterns == {"en": ("furious", "you idiots", "clowns", "livid"), "fr": ("furieux",)}
    assert pack["angry"].exceptions == {"en": ("not clowns",)}
    assert pack["angrier"].patterns["en"] == ("furious", "you idiots", "clowns", "livid", "raging")
    matcher = SignalMatcher(pack, {}, {})
    assert "angry" in matcher.match("You clowns!", "customer", "en")
    assert "angry" not in matcher.match("We are not clowns.", "customer", "en")  # the included exception
