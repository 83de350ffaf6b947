"""Turn raw turn text into the token stream that signal patterns match against.

The rules (SPEC section 3, "Matching normalises text first"):

* Unicode NFKC/NFKD compatibility folding, case folding, accents removed
  (``œ`` -> ``oe``, ``æ`` -> ``ae``, ``ß`` -> ``ss``).
* Apostrophes ``’ ‘ ` ´ ʼ`` become ``'`` and quotes ``« » “ ” „`` become ``"``.
* French elisions are split: ``l' d' j' qu' n' s' c' m' t' jusqu' lorsqu'
  puisqu'`` become their own token without the apostrophe (``c'est`` ->
  ``c est``); any other apostrophe inside a word is dropped (``don't`` ->
  ``dont``).
* Inclusive forms fold to the masculine: ``client·e``, ``client.e·s``,
  ``client(e)s``, ``client-e-s`` -> ``client`` / ``clients``.
* A hyphen between two words separates them (``rapprochez-vous`` ->
  ``rapprochez vous``); so does a change between digits and letters
  (``24h`` -> ``24 h``, ``2j`` -> ``2 j``), so that ``{num}`` sees the number.
* Decimal and clock numbers stay one token (``19,99``, ``4.30``, ``18:52``).
* Punctuation and other symbols (emoji included) are tokens of their own.
* Opaque things are one reserved token :data:`OPAQUE` (``§``) that counts as a
  word but never equals a literal: template placeholders (``{{ name }}``,
  ``{order_id}``, ``%s``, ``%(x)s``, ``${x}``), pseudonymisation tokens
  (``_Name1_``), ``@handles``, URLs, e-mail addresses and transcription markers
  (``[noise]``, ``<unk>``).  A literal ``§`` in the input is opaque too.
* Hashtags: ``#NeverAgain`` -> ``# never again``: the ``#`` is a token of its
  own and camel case inside the tag splits into words, so both a pattern
  ``#useless`` (normalised the same way to ``# useless``) and a pattern
  ``useless`` match it.
* A letter typed three times or more in a row is squeezed to one:
  ``merciiii`` -> ``merci``, ``sooorry`` -> ``sorry``, ``pleeease`` ->
  ``please`` (no French or English word has a letter three times in a row;
  the price is ``goood`` -> ``god``).
* ``spellings`` (a per-language table from the pack's ``lexicon.yaml``) then
  replaces whole word tokens (``jai`` -> ``j ai``, ``svp`` -> ``s il vous plait``).
  A key must be one token; a replacement may be several.

:func:`normalize` never raises on any ``str``, is idempotent on its own output
text (given replacements that contain no key), and keeps, for every token, the
span of the original text it came from so that evidence can be quoted.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from bisect import bisect_left
from collections.abc import Mapping, MutableSequence, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter, sub

import re2

from servicecheck.text.normalized import Normalized, offsets_of

__all__ = ["CLAUSE_END", "ELISIONS", "OPAQUE", "SENTENCE_END", "Normalized", "is_word", "normalize", "prepare_spellings"]

OPAQUE = "\u00a7"  # "§": the one token every placeholder, handle, URL, ... becomes
SENTENCE_END = frozenset(".!?")  # tokens that end a sentence (`*` and `~N` never cross one)
CLAUSE_END = frozenset(".!?,;:\u2014\u2013-()[]\"")  # tokens that end a clause (negation scope)

ELISIONS = frozenset({"l", "d", "j", "qu", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu"})

# Suffixes of French inclusive writing, after a middle dot or a period:
# client·e, client·es, client·e·s, tou·te·s, conseiller·ere, lecteur·rice·s.
_INCLUSIVE_DOT = frozenset(
    "e es s ne nes le les te tes ere eres euse euses rice rices trice trices ice ices".split()
)
_INCLUSIVE_PAREN = frozenset("e es s ne nes le les ere eres euse euses rice rices trice trices".split())
_DOTS = frozenset({"\u00b7", "."})

_APOSTROPHES = frozenset("'\u2019\u2018`\u00b4\u02bc\u02b9\u2032\u201b\uff07")
_QUOTES = frozenset('"\u00ab\u00bb\u201c\u201d\u201e\u201f\u2039\u203a\u2033\u301d\u301e\uff02')
_MIDDLE_DOTS = frozenset("\u00b7\u22c5\u2219\u2027\u0387")
_HYPHENS = frozenset("\u2010\u2011\u2043\u2212\ufe63\uff0d")
_LETTER_FOLDS = {
    "\u0153": "oe", "\u00e6": "ae", "\u00f8": "o", "\u0111": "d", "\u0142": "l", "\u00f0": "d",
    "\u00fe": "th", "\u0127": "h", "\u0131": "i", "\u0140": "l", "\u0138": "q", "\u014b": "n",
}

# One scan of the original text finds the spans that become a single opaque token
# (and hashtags, which are split later).  RE2 keeps the scan linear on huge lines.
_SCAN_OPTIONS = re2.Options()
_SCAN_OPTIONS.log_errors = False
_OPAQUE_SCAN = re2.compile(
    # Unbounded repetitions on purpose: RE2 is linear anyway, and counted
    # repetitions would blow its program up.
    r"(?P<mustache>\{\{[^{}\n]*\}\}|\{%[^\n%]*%\})"
    r"|(?P<dollar>\$\{[^{}\s]+\})"
    r"|(?P<brace>\{[A-Za-z_][A-Za-z0-9_.\-]*\})"
    r"|(?P<printf>%\([A-Za-z_][A-Za-z0-9_]*\)[sdifr]|%[sdif])"
    r"|(?P<url>(?:[Hh][Tt][Tt][Pp][Ss]?://|[Ww][Ww][Ww]\.)[^\s<>\"«»]+)"
    r"|(?P<email>[A-Za-z0-9_.+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)"
    r"|(?P<handle>@[A-Za-z0-9_]+)"
    r"|(?P<pseudo>_[A-Za-z]+[0-9]*_)"
    r"|(?P<marker>\[[A-Za-z][A-Za-z _\-]*\]|<[A-Za-z]+>)"
    r"|(?P<hashtag>#[\pL\pN]+)"
    r"|(?P<section>\x{00a7})",
    _SCAN_OPTIONS,
)
_SCAN_KINDS = {index: name for name, index in _OPAQUE_SCAN.groupindex.items()}  # group number -> branch name
_WORDCHAR = re.compile(r"[^\W_]")
_URL_TRAILING = ".,;:!?)]}'\"\u2019"
_SURROGATES = re.compile("[\ud800-\udfff]")
# Raw pieces of the folded stream: digit runs, letter runs, whitespace, one symbol.
_RAW = re.compile(r"(\d+)|([^\W\d_]+)|(\s+)|(.)", re.DOTALL)
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}")  # a letter typed three times or more in a row


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """Fold one original character: compatibility form, case, accents, quote styles."""
    if ch in _APOSTROPHES:
        return "'"
    if ch in _QUOTES:
        return '"'
    if ch in _MIDDLE_DOTS:
        return "\u00b7"
    if ch in _HYPHENS:
        return "-"
    if ch.isspace() or ch == "\u200b":
        return " "
    out = []
    for c in unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold()):
        if c in _LETTER_FOLDS:
            out.append(_LETTER_FOLDS[c])
            continue
        cat = unicodedata.category(c)
        if cat[0] == "M" or cat in ("Cf", "Cc", "Cs", "Co", "Cn"):
            # Combining accents, zero-width formatting, controls and unassigned code
            # points carry no wording; dropping them is what makes "é" == "e".
            if c.isspace():
                out.append(" ")
            continue
        if c in _APOSTROPHES:
            c = "'"
        elif c in _QUOTES:
            c = '"'
        elif c in _HYPHENS:  # "⁻" decomposes to "−": fold it as "−" itself folds, or a second pass differs
            c = "-"
        out.append(c)
    return "".join(out)


class _FoldTable(dict):  # type: ignore[type-arg]
    """``ord -> folded text`` for ``str.translate``: :func:`_fold_char` of each character, on first sight.

    Characters that do not fold to exactly one character (``œ`` -> ``oe``, a dropped
    accent or control) are recorded in :data:`_IRREGULAR`: a text holding none of them
    folds one character for one, so its offsets are the identity and need no map.
    """

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        self[code] = folded
        if len(folded) != 1:
            _IRREGULAR.add(chr(code))
        return folded


_FOLD = _FoldTable()
_IRREGULAR: set[str] = set()
_FOLD_LIMIT = 1 << 16  # distinct characters kept; both tables start again past it (memory stays bounded)


def _translate(segment: str) -> str | None:
    """``segment`` folded at C speed, or ``None`` when some character does not fold one for one."""
    folded = segment.translate(_FOLD)
    return folded if _IRREGULAR.isdisjoint(segment) else None


@dataclass(slots=True)
class _Tok:
    text: str
    kind: str  # "D" digits/number, "L" letters, "S" symbol, "O" opaque
    start: int
    end: int
    glued: bool  # no whitespace between this token and the previous one


def _scan_opaque(text: str) -> list[tuple[int, int, str]]:
    """Spans of ``text`` that become one opaque token, and hashtag spans ("hashtag")."""
    # Every branch of _OPAQUE_SCAN needs one of these (a URL "://" or "www."): most turns hold none.
    if "{" not in text and "%" not in text and "@" not in text and "_" not in text and "#" not in text \
            and "[" not in text and "<" not in text and "\u00a7" not in text \
            and "://" not in text and "w." not in text and "W." not in text:
        return []
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: RE2 needs valid UTF-8 (the replacement keeps the length)
        data = _SURROGATES.sub("\ufffd", text).encode("utf-8")
    found: list[tuple[int, int, str]] = []
    # RE2 runs on the UTF-8 bytes, and byte offsets become character offsets here, counted on
    # from the previous match (its str interface maps every offset of every group in Python).
    ascii_only = len(data) == len(text)
    seen_bytes = seen_chars = 0
    for m in _OPAQUE_SCAN.finditer(data):
        kind = _SCAN_KINDS[m.lastindex]  # m.lastgroup builds the wrapper's name table on every call
        start, end = m.span()
        if not ascii_only:
            seen_chars += len(data[seen_bytes:start].decode("utf-8"))
            seen_bytes = start
            start, end = seen_chars, seen_chars + len(data[start:end].decode("utf-8"))
        if kind == "url":
            while end > start + 4 and text[end - 1] in _URL_TRAILING:
                end -= 1
        elif kind in ("handle", "pseudo", "hashtag"):
            # No look-behind in RE2: check by hand that the tag starts a word.
            if start > 0 and _WORDCHAR.match(text[start - 1]):
                continue
            if kind == "pseudo" and end < len(text) and _WORDCHAR.match(text[end]):
                continue
        found.append((start, end, "hashtag" if kind == "hashtag" else "opaque"))
    return found


_SHORT_TEXT = 1 << 16  # up to this many characters, the offset maps are lists (fast to fill); beyond, arrays


def _fold_stream(text: str) -> tuple[str, Sequence[int] | None, Sequence[int] | None]:
    """Fold ``text`` into one stream; ``starts``/``ends`` map stream chars to the original (``None``: identity)."""
    opaque_spans = _scan_opaque(text)
    if len(_FOLD) > _FOLD_LIMIT:
        _FOLD.clear()
        _IRREGULAR.clear()
    if not opaque_spans:
        folded = _translate(text)
        if folded is not None:
            return folded, None, None  # the common case: one char in, one char out
    chars: list[str] = []
    # One entry per stream character. A list is filled several times faster than an array (whose
    # extend() from a range costs ~60 ns an item), but a multi-megabyte turn would cost ~80 bytes a
    # character in int objects: machine-int arrays (16 bytes a character) above _SHORT_TEXT (issue 7).
    starts: MutableSequence[int] = [] if len(text) <= _SHORT_TEXT else array("q")
    ends: MutableSequence[int] = [] if len(text) <= _SHORT_TEXT else array("q")
    n = len(text)
    i = 0
    for s, e, kind in opaque_spans:
        if i < s:
            _fold_run(text, i, s, chars, starts, ends)
        if kind == "opaque":
            chars.append(" " + OPAQUE + " ")
            starts.extend((s, s, e))
            ends.extend((s, e, e))
        else:  # hashtag: "#", then the tag split at camel-case humps
            chars.append("# ")
            starts.extend((s, s + 1))
            ends.extend((s + 1, s + 1))
            j = s + 1
            for k in range(s + 2, e):
                if text[k].isupper() and text[k - 1].islower():
                    _fold_run(text, j, k, chars, starts, ends)
                    chars.append(" ")
                    starts.append(k)
                    ends.append(k)
                    j = k
            _fold_run(text, j, e, chars, starts, ends)
        i = e
    if i < n:
        _fold_run(text, i, n, chars, starts, ends)
    return "".join(chars), starts, ends


def _fold_run(text: str, i: int, stop: int, chars: list[str], starts: MutableSequence[int],
              ends: MutableSequence[int]) -> None:
    """Append ``text[i:stop]`` (no opaque span inside) folded to the stream, each character mapped to its own span."""
    folded = _translate(text[i:stop])
    if folded is not None:  # a run of plain text: one char for one, offsets in one go
        chars.append(folded)
        starts.extend(range(i, stop))
        ends.extend(range(i + 1, stop + 1))
        return
    # Some characters fold to none or several (œ, …, a variation selector): those one by one, the
    # stretches between them in one go.
    fold = _FOLD
    for k in [k for k in range(i, stop) if text[k] in _IRREGULAR]:
        if i < k:
            chars.append(text[i:k].translate(fold))
            starts.extend(range(i, k))
            ends.extend(range(i + 1, k + 1))
        piece = fold[ord(text[k])]
        chars.append(piece)
        starts.extend([k] * len(piece))
        ends.extend([k + 1] * len(piece))
        i = k + 1
    if i < stop:
        chars.append(text[i:stop].translate(fold))
        starts.extend(range(i, stop))
        ends.extend(range(i + 1, stop + 1))


def _raw_tokens(text: str) -> list[_Tok]:
    """Fold ``text`` and cut it into digit runs, letter runs, symbols and opaque tokens."""
    return _stream_tokens(*_fold_stream(text))


def _stream_tokens(stream: str, starts: Sequence[int] | None, ends: Sequence[int] | None) -> list[_Tok]:
    """Cut a folded stream into digit runs, letter runs, symbols and opaque tokens."""
    toks: list[_Tok] = []
    glued = False
    for m in _RAW.finditer(stream):
        kind_index = m.lastindex
        if kind_index == 3:
            glued = False
            continue
        a, b = m.span()
        piece = m.group()
        if kind_index == 1:
            kind = "D"
        elif kind_index == 2:
            kind = "L"
        else:
            kind = "O" if piece == OPAQUE else "S"
        if starts is None or ends is None:
            toks.append(_Tok(piece, kind, a, b, glued and kind != "O"))
        else:
            toks.append(_Tok(piece, kind, starts[a], ends[b - 1], glued and kind != "O"))
        glued = kind != "O"
    return toks


# The fast tokeniser (:func:`_flat_tokens`): each match is a token (a digit run, a letter run or
# one other character, as _RAW cuts them) with the whitespace before it.
_PIECES = re.compile(r"\s*(?:\d+|[^\W\d_]+|\S)")
_PIECES_ASCII = re.compile(r"\s*(?:[0-9]+|[A-Za-z]+|\S)")  # the same cuts on ASCII text: plain classes are faster
_LETTER = r"[^\W\d_]"
# Where _fold_inclusive could fold something (a superset: it then runs on its own).
_MAY_INCLUDE = re.compile(  # symbol first, no letter before it: a cheap scan
    r"[\u00b7.](?:" + "|".join(sorted(_INCLUSIVE_DOT, key=len, reverse=True)) + r")(?!" + _LETTER + r")"
    r"|\((?:" + "|".join(sorted(_INCLUSIVE_PAREN, key=len, reverse=True)) + r")\)"
    r"|-(?:es|e)(?!" + _LETTER + r")"
)
_THRICE = re.compile(r"(.)\1\1", re.DOTALL)  # any character three times in a row: where _STRETCHED may match
# A joiner glued between a letter or digit and another: _join_flat joins or drops nothing without one
# (both its neighbours must be letter or digit runs, with no whitespace between).
_GLUED_JOINER = re.compile(r"[-'.,:](?<=[^\W_].)(?=[^\W_])")
_LD = frozenset("LD")


def _kind(token: str) -> str:
    """The kind _stream_tokens gives ``token``: "D" digits, "L" letters, "O" opaque, "S" a symbol."""
    c = token[0]
    if c.isdecimal():
        return "D"
    if c.isalnum():  # \w less \d and "_": what [^\W\d_] matches
        return "L"
    return "O" if token == OPAQUE else "S"


def _flat_tokens(
    stream: str, smap: Sequence[int] | None, emap: Sequence[int] | None, table: Mapping[str, tuple[str, ...]]
) -> tuple[list[str], list[int], list[int], str] | None:
    """The final tokens of :func:`normalize` for ``stream``, at C speed where it can; ``None``: take the slow path.

    The same cuts, joins, squeezes and spellings as _stream_tokens, _join_words and
    normalize, computed on flat lists (offsets by running sums, joins only at the few
    symbols that can join); inclusive writing is left to the slow path. Returns the
    tokens, their original starts and ends, and the tokens joined by spaces.
    """
    if _MAY_INCLUDE.search(stream):
        return None
    pieces = (_PIECES_ASCII if stream.isascii() else _PIECES).findall(stream)
    ends = list(accumulate(map(len, pieces)))
    toks = list(map(str.lstrip, pieces))  # the same whitespace as the regex's \s (Py_UNICODE_ISSPACE)
    starts = list(map(sub, ends, map(len, toks)))
    if smap is None or emap is None:
        ost, oen = starts, ends
    else:
        ost = list(map(smap.__getitem__, starts))
        oen = [emap[e - 1] for e in ends]
    glued_joiners = [m.start() for m in _GLUED_JOINER.finditer(stream)]
    if glued_joiners:  # the tokens they are (a joiner is a token of its own, at that stream offset)
        toks, ost, oen = _join_flat(toks, ost, oen, pieces, [bisect_left(starts, at) for at in glued_joiners])
    text = " ".join(toks)
    if _THRICE.search(text) and _STRETCHED.search(text):  # a letter run of 3+ lies inside one letter token
        toks = [_squeeze(t) if len(t) > 2 and _kind(t) == "L" and _STRETCHED.search(t) else t for t in toks]
        text = " ".join(toks)
    if table and not table.keys().isdisjoint(toks):
        out_t: list[str] = []
        out_s: list[int] = []
        out_e: list[int] = []
        for tok, a, b in zip(toks, ost, oen):
            if tok in table and _kind(tok) == "L":
                spelled = table[tok]
                out_t += spelled
                out_s += [a] * len(spelled)
                out_e += [b] * len(spelled)
            else:
                out_t.append(tok)
                out_s.append(a)
                out_e.append(b)
        return out_t, out_s, out_e, " ".join(out_t)
    return toks, ost, oen, text


def _join_flat(
    toks: list[str], ost: list[int], oen: list[int], pieces: list[str], joiners: list[int]
) -> tuple[list[str], list[int], list[int]]:
    """:func:`_join_words` on flat lists: only the joiner tokens ``joiners`` are looked at, the rest is copied in slices.

    ``joiners`` (ascending) must hold every joiner glued between a letter or digit and
    another (:data:`_GLUED_JOINER`): no other can join or go, and looking at one only
    copies the tokens before it, which the next slice copies anyway.
    """
    n = len(toks)

    def glued(k: int) -> bool:  # no whitespace before token k, and neither it nor its neighbour is opaque
        return k > 0 and len(pieces[k]) == len(toks[k]) and toks[k] != OPAQUE and toks[k - 1] != OPAQUE

    out_t: list[str] = []
    out_s: list[int] = []
    out_e: list[int] = []
    last = 0
    for i in joiners:
        if i < last:
            continue
        out_t += toks[last:i]
        out_s += ost[last:i]
        out_e += oen[last:i]
        last = i
        if not out_t or i + 1 >= n or not glued(i) or not glued(i + 1):
            continue
        prev, nxt, t = out_t[-1], toks[i + 1], toks[i]
        pk, nk = _kind(prev), _kind(nxt)
        if pk not in _LD or nk not in _LD:
            continue
        if t == "'":
            if pk == "L" and nk == "L" and prev not in ELISIONS:
                out_t[-1] = prev + nxt  # don't -> dont
                out_e[-1] = oen[i + 1]
                last = i + 2
            else:
                last = i + 1  # c'est -> c est, 80's -> 80 s: the apostrophe goes
        elif t == "-":
            last = i + 1  # rapprochez-vous -> rapprochez vous
        elif pk == "D" and nk == "D" and t in ".,:":
            out_t[-1] = prev + t + nxt  # 19,99 / 4.30 / 18:52
            out_e[-1] = oen[i + 1]
            last = i + 2
    out_t += toks[last:]
    out_s += ost[last:]
    out_e += oen[last:]
    return out_t, out_s, out_e


def _fold_inclusive(toks: list[_Tok]) -> list[_Tok]:
    """Fold French inclusive writing (client·e·s, client(e)s, client-e-s) into one word."""
    out: list[_Tok] = []
    i = 0
    n = len(toks)

    def letters(k: int, allowed: frozenset[str] | None = None) -> bool:
        return k < n and toks[k].kind == "L" and toks[k].glued and (allowed is None or toks[k].text in allowed)

    def sym(k: int, chars: frozenset[str] | str) -> bool:
        return k < n and toks[k].kind == "S" and toks[k].glued and toks[k].text in chars

    def free_after(k: int) -> bool:
        return k >= n or not toks[k].glued or toks[k].kind not in ("L", "D")

    while i < n:
        t = toks[i]
        if t.kind == "L" and len(t.text) >= 2:
            end = None
            plural = False
            if sym(i + 1, _DOTS) and letters(i + 2, _INCLUSIVE_DOT):
                end = i + 2
                plural = toks[i + 2].text.endswith("s")
                if sym(i + 3, _DOTS) and letters(i + 4, frozenset({"s", "es"})):
                    end = i + 4
                    plural = True
            elif sym(i + 1, "(") and letters(i + 2, _INCLUSIVE_PAREN) and sym(i + 3, ")"):
                end = i + 3
                plural = toks[i + 2].text.endswith("s")
                if letters(i + 4, frozenset({"s"})):
                    end = i + 4
                    plural = True
            elif sym(i + 1, "-") and letters(i + 2, frozenset({"e", "es"})):
                end = i + 2
                plural = toks[i + 2].text == "es"
                if sym(i + 3, "-") and letters(i + 4, frozenset({"s"})):
                    end = i + 4
                    plural = True
            if end is not None and free_after(end + 1):
                word = t.text + ("s" if plural and not t.text.endswith("s") else "")
                out.append(_Tok(word, "L", t.start, toks[end].end, t.glued))
                i = end + 1
                continue
        out.append(t)
        i += 1
    return out


def _join_words(toks: list[_Tok]) -> list[_Tok]:
    """Resolve apostrophes, hyphens and decimal numbers between glued tokens."""
    out: list[_Tok] = []
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        prev = out[-1] if out else None
        nxt = toks[i + 1] if i + 1 < n else None
        between = (
            t.kind == "S" and t.glued and prev is not None and nxt is not None and nxt.glued
            and prev.kind in ("L", "D") and nxt.kind in ("L", "D")
        )
        if between and t.text == "'":
            assert prev is not None and nxt is not None
            if prev.kind == "L" and nxt.kind == "L" and prev.text not in ELISIONS:
                prev.text += nxt.text  # don't -> dont, aujourd'hui -> aujourdhui
                prev.end = nxt.end
                i += 2
                continue
            # An elision (c'est -> c est) or a digit next to the apostrophe (80's):
            # drop the apostrophe, keep two tokens.
            nxt.glued = False
            i += 1
            continue
        if between and t.text == "-":
            assert nxt is not None
            nxt.glued = False  # rapprochez-vous -> rapprochez vous
            i += 1
            continue
        if between and t.text in ".,:" and prev is not None and nxt is not None \
                and prev.kind == "D" and nxt.kind == "D":
            prev.text += t.text + nxt.text  # 19,99 / 4.30 / 18:52 stay one number
            prev.end = nxt.end
            i += 2
            continue
        out.append(t)
        i += 1
    return out


def _squeeze(word: str) -> str:
    """Shorten stretched letters: three or more in a row become one."""
    return _STRETCHED.sub(lambda m: m.group(1), word)


_PREPARED: dict[int, tuple[Mapping[str, str], dict[str, tuple[str, ...]]]] = {}


def prepare_spellings(spellings: Mapping[str, str] | None) -> dict[str, tuple[str, ...]]:
    """Normalise a spelling table once: key token -> replacement tokens.

    Keys that do not normalise to exactly one token are skipped (the lexicon
    loader reports them).  The result is cached per table object.
    """
    if not spellings:
        return {}
    cached = _PREPARED.get(id(spellings))
    if cached is not None and cached[0] is spellings:
        return cached[1]
    table: dict[str, tuple[str, ...]] = {}
    for key, value in spellings.items():
        k = normalize(str(key)).text.split()
        v = tuple(normalize(str(value)).text.split())
        if len(k) == 1 and v and OPAQUE not in v:
            table[k[0]] = v
    if len(_PREPARED) > 64:
        _PREPARED.clear()
    _PREPARED[id(spellings)] = (spellings, table)
    return table


def normalize(text: str, spellings: Mapping[str, str] | None = None) -> Normalized:
    """Normalise ``text`` for matching (see the module docstring for the rules).

    Args:
        text: any string (never raises).
        spellings: optional token replacements applied after folding.

    Returns:
        The normalised text, its tokens and their original spans.
    """
    if not isinstance(text, str):
        text = str(text)
    table = prepare_spellings(spellings) if spellings else {}
    stream, smap, emap = _fold_stream(text)
    flat = _flat_tokens(stream, smap, emap, table)
    if flat is None:
        return _normalized(_slow_tokens(stream, smap, emap, table))
    toks, ost, oen, joined = flat
    starts = offsets_of(toks)
    return Normalized(joined, tuple(zip(toks, ost, oen)), starts)


def _slow_tokens(
    stream: str, smap: Sequence[int] | None, emap: Sequence[int] | None, table: Mapping[str, tuple[str, ...]]
) -> list[tuple[str, int, int]]:
    """The final tokens of a folded stream, one token object at a time (the reference of _flat_tokens)."""
    toks = _join_words(_fold_inclusive(_stream_tokens(stream, smap, emap)))
    final: list[tuple[str, int, int]] = []
    for t in toks:
        if t.kind == "L" and len(t.text) > 2 and _STRETCHED.search(t.text):
            t.text = _squeeze(t.text)
        if table and t.kind == "L" and t.text in table:
            for piece in table[t.text]:
                final.append((piece, t.start, t.end))
        else:
            final.append((t.text, t.start, t.end))
    return final


def _normalized(final: list[tuple[str, int, int]]) -> Normalized:
    """The Normalized of the final tokens: their text joined by spaces, and where each starts in it."""
    toks = list(map(itemgetter(0), final))
    starts = offsets_of(toks)
    return Normalized(" ".join(toks), tuple(final), starts)


def is_word(token: str) -> bool:
    """True for a word token (letters, digits or the opaque token), False for punctuation and symbols."""
    return token == OPAQUE or bool(token) and (token[0].isalnum())
