"""The C accelerator of normalize (servicecheck/text/_cnormalize.c) against the pure-Python reference.

Both must give the same tokens, offsets and text on any input: Hypothesis draws arbitrary
Unicode and strings made of the characters the rules treat specially; the real corpus is
checked too. Where the extension is not built (no C compiler at install), the tests that
need it are skipped and servicecheck runs the reference code.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecheck.text.normalize import prepare_spellings

_N = importlib.import_module("servicecheck.text.normalize")
ROOT = Path(__file__).resolve().parents[1]

try:
    from servicecheck.text import _cnormalize
except ImportError:  # pragma: no cover - built by pip install where a C compiler is found
    _cnormalize = None

needs_c = pytest.mark.skipif(_cnormalize is None, reason="the C accelerator is not built")

_EDGY = list("aAbcdeEilnst sS  ''’-‐.,:·()[]{}@#_%$/!?0123456789") + [
    "é", "É", "œ", "Æ", "ß", "…", "\u0301", "\u200b", "\x01", "\x1c", "ﬁ", "²", "½", "٣", "Ⅻ", "§", "😀", "\n",
    "\u00a0", "\u3000", "http://x.fr/a", "@bob", "#NeverAgain", "{{name}}", "{id}", "%s", "_Name1_", "[noise]",
    "c'est", "don't", "aujourd'hui", "client·e·s", "client(e)s", "client-e-s", "19,99", "18:52", "24h", "merciiii",
    "jai", "svp", "rapprochez-vous", "80's", "qu'il", "l'l'x", "1.2.3", "x.es", "sooorry", "aa'a", "ééé", "ßßß",
    "2'2", "a-1", "1-a", "§-a", "a'§", "pb", "c",
]
_TABLE = {"jai": "j ai", "svp": "s il vous plait", "pb": "probleme", "2": "deux", "c": "c est", "sory": "sorry"}
_TEXTS = st.one_of(st.text(max_size=80), st.lists(st.sampled_from(_EDGY), max_size=40).map("".join))


@pytest.fixture(autouse=True, scope="module")
def _restore() -> Iterator[None]:
    """The tests switch between both codes: leave the module as they found it."""
    saved = (_N._c_tokens, _N._c_wait)
    try:
        yield
    finally:
        _N._c_tokens, _N._c_wait = saved


def _pure(text: str, spellings: dict[str, str] | None) -> _N.Normalized:
    _N._use_pure()
    return _N.normalize(text, spellings)


def _accelerated(text: str, spellings: dict[str, str] | None) -> _N.Normalized:
    _N._load_c()
    assert _N._c_tokens is not None
    return _N.normalize(text, spellings)


def _same(text: str, spellings: dict[str, str] | None) -> None:
    want = _pure(text, spellings)
    got = _accelerated(text, spellings)
    assert got.text == want.text
    assert got.tokens == want.tokens
    assert got.starts == want.starts
    assert type(got.tokens) is tuple and type(got.starts) is tuple


@needs_c
@settings(max_examples=600, deadline=None)
@given(_TEXTS, st.booleans())
def test_the_accelerator_gives_the_reference_results(text: str, spelled: bool) -> None:
    _same(text, _TABLE if spelled else None)


@needs_c
@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_the_accelerated_token_stage_equals_the_reference(text: str) -> None:
    """The token stage alone, with offset maps too (opaque spans, characters that fold to several)."""
    stream, smap, emap = _N._fold_stream(text)
    for table in ({}, prepare_spellings(_TABLE)):
        want = _N._flat_tokens_py(stream, smap, emap, table)
        _N._load_c()
        got = _N._flat_tokens(stream, smap, emap, table)
        assert got == want


@needs_c
def test_the_accelerator_agrees_on_the_corpus() -> None:
    texts = [t.get("text", "") for f in sorted(ROOT.glob("corpus/*/*.jsonl")) if not f.name.endswith(".labels.jsonl")
             for line in f.read_text(encoding="utf-8").splitlines() if line.strip()
             for t in json.loads(line).get("turns", [])]
    assert texts
    for text in texts[::3]:
        _same(text, _TABLE)


@needs_c
def test_the_accelerator_refuses_bad_arguments() -> None:
    assert _cnormalize is not None
    with pytest.raises(TypeError):
        _cnormalize.tokens("a b", [], frozenset(), True)
    with pytest.raises(TypeError):
        _cnormalize.tokens("jai", {"jai": ["j", "ai"]}, frozenset(), True)


def test_servicecheck_pure_keeps_the_reference_code() -> None:
    """SERVICECHECK_PURE=1: the accelerator is never loaded, whatever is built."""
    code = ("import importlib; n = importlib.import_module('servicecheck.text.normalize')\n"
            "for i in range(400): n.normalize(f'text {i}')\n"
            "import sys; print(n._c_tokens is None, 'servicecheck.text._cnormalize' in sys.modules)")
    env = dict(os.environ, SERVICECHECK_PURE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


def test_a_few_texts_never_load_the_accelerator() -> None:
    """A lint normalises a few units: the extension is loaded only after _C_AFTER texts."""
    code = ("import importlib; n = importlib.import_module('servicecheck.text.normalize')\n"
            "for i in range(50): n.normalize(f'text {i}')\n"
            "import sys; print('servicecheck.text._cnormalize' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "SERVICECHECK_PURE"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
