"""Tests for text normalisation: the folding rules, opaque tokens, span mapping and invariants."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecheck.text.normalize import OPAQUE, normalize, prepare_spellings

SPELLINGS = {"jai": "j ai", "svp": "s il vous plait", "pb": "probleme", "u": "you", "ur": "your"}

CASES = [
    # (text, normalised text)
    ("Désolée, JE COMPRENDS", "desolee , je comprends"),
    ("Œuvre, æther, Straße, ﬁn", "oeuvre , aether , strasse , fin"),
    ("Ｍｅｒｃｉ", "merci"),
    ("c’est l‘adresse d`Anne, qu´il, jʼai", "c est l adresse d anne , qu il , j ai"),
    ("jusqu'à lorsqu'il puisqu'elle", "jusqu a lorsqu il puisqu elle"),
    ("That's not my problem, I'm sure you don't", "thats not my problem , im sure you dont"),
    ("aujourd'hui", "aujourdhui"),
    ("« Bonjour » “hi” „ja“", '" bonjour " " hi " " ja "'),
    (
        "client·e client·e·s client.e·s client(e)s client-e-s client(e) tou·te·s",
        "client clients clients clients clients client tous",
    ),
    ("rapprochez-vous de l'e-mail", "rapprochez vous de l e mail"),
    ("sous 24h, à 7h12, depui 2j", "sous 24 h , a 7 h 12 , depui 2 j"),
    ("19,99 € ou £4.30 à 18:52.", "19,99 € ou £ 4.30 a 18:52 ."),
    ("Vraiment ?! Bien... 😡👏", "vraiment ? ! bien . . . 😡 👏"),
    ("  plein   d'espaces\n\tet\u00a0insécables ", "plein d espaces et insecables"),
    ("merciiii sooorry", "merci sorry"),
    ("#useless #NeverAgain", "# useless # never again"),
    ("80's", "80 s"),
    ("dis-le", "dis le"),
]

OPAQUE_CASES = [
    "Bonjour {{customer_name}} !",
    "Hi {{ customer.first_name }}, thanks",
    "Order {order_id} is late",
    "Value %s and %(amount)s and ${total}",
    "Merci _Name1_, envoyez à _Email1_",
    "@115716 sorry to hear that",
    "see https://t.co/abc123, or www.example.com.",
    "write to c.moreau@exemple.fr please",
    "[noise] okay <unk> yes [inaudible]",
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_folding_rules(text: str, expected: str) -> None:
    assert normalize(text).text == expected


@pytest.mark.parametrize("text", OPAQUE_CASES)
def test_placeholders_handles_urls_are_one_opaque_token(text: str) -> None:
    norm = normalize(text)
    assert OPAQUE in norm.text.split()
    for token, start, end in norm.tokens:
        if token == OPAQUE:
            original = text[start:end]
            assert original and not original.isspace()
            assert original[0] in "{%$_@hw[<c" or original[0].isalpha()


def test_opaque_spans_cover_the_whole_placeholder() -> None:
    text = "Hi {{ customer.first_name }}, order {order_id}."
    spans = [text[s:e] for tok, s, e in normalize(text).tokens if tok == OPAQUE]
    assert spans == ["{{ customer.first_name }}", "{order_id}"]


def test_url_keeps_trailing_punctuation_out() -> None:
    norm = normalize("go to https://example.com/a.")
    assert norm.text == f"go to {OPAQUE} ."


def test_handle_inside_word_is_not_opaque() -> None:
    assert OPAQUE not in normalize("C#").text


def test_spellings_expand_whole_tokens() -> None:
    norm = normalize("svp jai un pb, u know", SPELLINGS)
    assert norm.text == "s il vous plait j ai un probleme , you know"
    # every expanded token points at the word it came from
    assert [tok for tok, s, e in norm.tokens if (s, e) == (0, 3)] == ["s", "il", "vous", "plait"]


def test_spellings_never_touch_partial_words() -> None:
    assert normalize("pbm upset", {"pb": "probleme", "u": "you"}).text == "pbm upset"


def test_prepare_spellings_skips_multi_word_keys() -> None:
    table = prepare_spellings({"j'ai": "j ai", "svp": "s il vous plait"})
    assert table == {"svp": ("s", "il", "vous", "plait")}


def test_original_span_maps_tokens_back() -> None:
    text = "Bonjour, je suis DÉSOLÉE pour ça."
    norm = normalize(text)
    start = norm.text.index("desolee")
    a, b = norm.original_span(start, start + len("desolee pour"))
    assert text[a:b] == "DÉSOLÉE pour"


def test_original_span_of_empty_text() -> None:
    assert normalize("").original_span(0, 5) == (0, 0)
    assert normalize("   ").tokens == ()


@pytest.mark.parametrize("text", ["C'est l'e-mail de client·e·s, 19,99 €", "Merci, le colis part demain. " * 1200])
def test_token_offsets_agree_with_text(text: str) -> None:
    norm = normalize(text)  # the second text is long enough for its offsets to be kept in an array
    for (tok, _s, _e), start in zip(norm.tokens, norm.starts, strict=True):
        assert norm.text[start : start + len(tok)] == tok
    assert norm.token_index(norm.starts[-1] + 1) == len(norm.tokens) - 1


def test_huge_line_does_not_hang() -> None:
    text = ("aaaa@" * 20000) + ("_x" * 20000) + ("{{" * 10000) + ("http://" * 1000)
    norm = normalize(text)
    assert norm.tokens and len(norm.text) > 1000


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_and_is_idempotent(text: str) -> None:
    norm = normalize(text)
    assert normalize(norm.text).text == norm.text
    assert norm.text == " ".join(tok for tok, _s, _e in norm.tokens)
    for tok, start, end in norm.tokens:
        assert tok and " " not in tok
        assert 0 <= start <= end <= len(text)


def test_every_bmp_character_folds_in_one_pass() -> None:
    """Exhaustive where Hypothesis only samples: "⁻" once decomposed to "−" and needed a second pass."""
    unstable = []
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        once = normalize(f"a{chr(code)}b").text
        if normalize(once).text != once:
            unstable.append(hex(code))
    assert not unstable


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab jaisvpu'’-·.()#@_{}%é2,!? "))))
def test_idempotent_with_spellings(text: str) -> None:
    norm = normalize(text, SPELLINGS)
    assert normalize(norm.text, SPELLINGS).text == norm.text


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(-5, 400), st.integers(-5, 400))
def test_original_span_stays_inside_the_text(text: str, a: int, b: int) -> None:
    norm = normalize(text)
    start, end = norm.original_span(min(a, b), max(a, b))
    assert 0 <= start <= end <= len(text)


# ---------------------------------------------------------------- the fast path (issue 11)

import importlib
from array import array
from unittest.mock import patch

_N = importlib.import_module("servicecheck.text.normalize")


def _fast_tokens(stream: str, smap: Any, emap: Any, table: Any) -> list[tuple[str, int, int]] | None:
    """:func:`_flat_tokens` as token tuples, the shape of ``_slow_tokens`` (``None``: the slow path)."""
    flat = _N._flat_tokens(stream, smap, emap, table)
    return None if flat is None else list(zip(flat[0], flat[1], flat[2]))


_EDGY = list("aAbcdeEilnst sS  ''’-‐.,:·()[]{}@#_%$/!?0123456789") + [
    "é", "É", "œ", "Æ", "ß", "…", "\u0301", "\u200b", "\x01", "ﬁ", "²", "½", "§", "😀", "\n", "\u00a0",
    "http://x.fr/a", "@bob", "#NeverAgain", "{{name}}", "{id}", "%s", "_Name1_", "[noise]", "c'est", "don't",
    "aujourd'hui", "client·e·s", "client(e)s", "client-e-s", "19,99", "18:52", "24h", "merciiii", "jai", "svp",
    "rapprochez-vous", "80's", "qu'il", "l'l'x", "1.2.3", "x.es", "sooorry", "aa'a",
]
_TABLE = {"jai": "j ai", "svp": "s il vous plait", "pb": "probleme", "2": "deux", "c": "c est"}


def _fold_reference(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """The per-character fold the translate tables replaced."""
    spans = _N._scan_opaque(text)
    folded = [_N._fold_char(c) for c in text]
    if not spans and all(len(f) == 1 for f in folded):
        return "".join(folded), None, None
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def put(c: str, a: int, b: int) -> None:
        chars.append(c)
        starts.append(a)
        ends.append(b)

    it = iter(spans)
    nxt = next(it, None)
    i = 0
    while i < len(text):
        if nxt is not None and i == nxt[0]:
            s, e, kind = nxt
            if kind == "opaque":
                put(" ", s, s)
                put(OPAQUE, s, e)
                put(" ", e, e)
            else:
                put("#", s, s + 1)
                put(" ", s + 1, s + 1)
                for j in range(s + 1, e):
                    if j > s + 1 and text[j].isupper() and text[j - 1].islower():
                        put(" ", j, j)
                    for c in _N._fold_char(text[j]):
                        put(c, j, j + 1)
            i = e
            nxt = next(it, None)
            continue
        for c in folded[i]:
            put(c, i, i + 1)
        i += 1
    return "".join(chars), starts, ends


def _scan_reference(text: str) -> list[tuple[int, int, str]]:
    """The opaque scan by the regex's group names, on every text (no quick test of its characters first)."""
    data = _N._SURROGATES.sub("\ufffd", text).encode("utf-8")
    found = []
    for m in _N._OPAQUE_SCAN.finditer(data):
        kind = m.lastgroup
        start = len(data[: m.start()].decode("utf-8"))
        end = start + len(m.group().decode("utf-8"))
        if kind == "url":
            while end > start + 4 and text[end - 1] in _N._URL_TRAILING:
                end -= 1
        elif kind in ("handle", "pseudo", "hashtag"):
            if start > 0 and _N._WORDCHAR.match(text[start - 1]):
                continue
            if kind == "pseudo" and end < len(text) and _N._WORDCHAR.match(text[end]):
                continue
        found.append((start, end, "hashtag" if kind == "hashtag" else "opaque"))
    return found


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_EDGY + ["www.x", "WwW.a", "HTTPS://b", "hTtP://c", "\ud800", "a_b_c"]), max_size=40)
       .map("".join))
def test_opaque_scan_gives_the_reference_spans(text: str) -> None:
    assert _N._scan_opaque(text) == _scan_reference(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_EDGY), max_size=40).map("".join))
def test_fast_path_gives_the_reference_tokens(text: str) -> None:
    stream, smap, emap = _N._fold_stream(text)
    ref_stream, ref_smap, ref_emap = _fold_reference(text)
    assert stream == ref_stream
    assert (smap is None) == (ref_smap is None)
    if smap is not None:
        assert list(smap) == ref_smap and list(emap) == ref_emap
        # a long text's maps are machine-int arrays: the same values
        with patch.object(_N, "_SHORT_TEXT", 0):
            long_stream, long_smap, long_emap = _N._fold_stream(text)
        assert isinstance(long_smap, array) and isinstance(long_emap, array)
        assert long_stream == stream and list(long_smap) == ref_smap and list(long_emap) == ref_emap
    for table in ({}, prepare_spellings(_TABLE)):
        fast = _fast_tokens(stream, smap, emap, table)
        if fast is not None:
            assert fast == _N._slow_tokens(stream, smap, emap, table)


def test_fast_path_is_taken_and_agrees_on_the_corpora() -> None:
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    texts = [t.get("text", "") for f in sorted(root.glob("corpus/*/*.jsonl")) if not f.name.endswith(".labels.jsonl")
             for line in f.read_text(encoding="utf-8").splitlines() if line.strip()
             for t in json.loads(line).get("turns", [])]
    table = prepare_spellings(_TABLE)
    fast = 0
    for text in texts:
        stream, smap, emap = _N._fold_stream(text)
        got = _fast_tokens(stream, smap, emap, table)
        if got is not None:
            fast += 1
            assert got == _N._slow_tokens(stream, smap, emap, table), text
    assert fast >= 0.8 * len(texts)
