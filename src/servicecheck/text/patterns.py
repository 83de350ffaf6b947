r"""Compile the signal pattern mini-language to linear-time RE2 regexes over normalised text.

Syntax (SPEC section 3):

=================  ==========================================================
``merci``          a literal word, matched as a whole token after the same
                   normalisation as the text (so ``c'est`` = ``c est``,
                   ``désolé`` = ``desole``, ``e-mail`` = ``e mail``)
``*``              one to ``max_gap`` tokens, never crossing ``.`` ``!`` ``?``
``(a|b c|d)``      alternatives, nestable; an empty one, ``(a|)``, makes the
                   group optional.  A group glued to letters is spelled out,
                   so ``you('ll| will)`` = ``you'll`` or ``you will`` and
                   ``d'(avoir|etre)`` = ``d'avoir`` or ``d'etre``
``{word}``         any one word token (placeholders, handles and URLs count)
``{num}``          one number token: digits (``3``, ``19,99``, ``18:52``) or a
                   number word (``deux``, ``ten``)
``a ~N b``         ``b`` starts at most ``N`` tokens after ``a`` ends (same
                   sentence)
``regex:...``      the rest of the pattern is a raw RE2 regex run on the
                   normalised text; matches are widened to whole tokens
``\\x``             the character ``x`` literally (for ``\\*``, ``\\(``, ...)
=================  ==========================================================

The normalised text is tokens joined by single spaces.  A compiled pattern is a
regex in which every token is followed by one space; it runs on the text with a
space added at both ends, behind a leading space, so that a match always begins
and ends on token boundaries without look-around (which RE2 does not have).
Several patterns combine into one alternation with a group each
(:class:`PatternSet`), so a signal costs one search per language, not one per
pattern.  RE2 guarantees linear time whatever the pattern.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Union

import re2

from servicecheck.text.normalize import OPAQUE, normalize

MAX_EXPANSION = 256  # alternatives a glued group may spell out to
MAX_PROXIMITY = 50
MAX_NESTING = 32  # groups inside groups; parsing and compiling recurse once per level
EACH_LIMIT = 8  # at most this many patterns (that may match) are searched one regex each

NUMBER_WORDS = (
    "un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize "
    "vingt trente quarante cinquante soixante cent cents mille "
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand"
).split()

_TOKEN = r"[^ ]* "
_GAP_TOKEN = r"[^ .!?][^ ]* "  # any token but a sentence end
_WORD_RE = r"(?:[\pL\pN][^ ]* |" + OPAQUE + " )"
_NUM_RE = r"(?:\pN[^ ]* |(?:" + "|".join(NUMBER_WORDS) + ") )"


class PatternError(ValueError):
    """A pattern that cannot be compiled; ``column`` (1-based) points at the problem."""

    def __init__(self, message: str, column: int | None = None) -> None:
        """Record ``message`` and the 1-based ``column`` (``None`` when no column applies)."""
        self.message = message
        self.column = column
        super().__init__(f"{message} (column {column})" if column else message)


PATTERN_MEM = (48 << 10, 8 << 20)  # RE2 max_mem of one pattern's regex: the small budget, doubled as needed up to the large one


def _compile_small(source: str, *, never_capture: bool = False, budgets: tuple[int, int] = PATTERN_MEM) -> Any:
    """Compile one pattern's regex within the smallest memory budget it fits: the small one, doubled as needed.

    ``max_mem`` bounds the compiled program and the lazily built DFA together. Every pattern of a
    pack has its own regex (searched alone when the prefilter names few candidates), and each DFA
    grows with the text it sees up to its budget: thousands of them at 8 MB each made the audit's
    resident memory climb with the corpus. A pattern's DFA needs far less (RE2 starts its cache
    afresh when the budget is spent). The few patterns whose program does not fit the small budget
    get the first doubling that compiles (96 KB to 6 MB in the default pack), no longer the whole
    large budget: 15 of them at 8 MB held about 10 MB of an audit's peak. Matches are the same either way.
    ``regex:`` patterns are compiled here too, with ``never_capture``; ``budgets``: the small
    budget and the large one, for other uses (the prefilter's probes).
    """
    budget, largest = budgets
    while True:
        options = _options(budget)
        options.never_capture = never_capture
        try:
            return re2.compile(source, options)
        except re2.error:
            if budget >= largest:
                raise
            budget = min(2 * budget, largest)


def _options(max_mem: int = 8 << 20) -> re2.Options:
    opts = re2.Options()
    opts.log_errors = False  # errors become PatternError; RE2's own log is noise
    opts.max_mem = max_mem
    return opts


# ---------------------------------------------------------------- parsing


@dataclass
class _Text:
    text: str
    column: int


@dataclass
class _Space:
    pass


@dataclass
class _Wild:
    column: int


@dataclass
class _Word:
    column: int


@dataclass
class _Num:
    column: int


@dataclass
class _Prox:
    n: int
    column: int


@dataclass
class _Group:
    alternatives: list[list[_Item]]
    column: int


_Item = Union[_Text, _Space, _Wild, _Word, _Num, _Prox, _Group]  # noqa: UP007 (a runtime alias)


class _Parser:
    """Recursive descent over the pattern source; columns are 1-based."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.i = 0
        self.depth = 0

    def error(self, message: str, at: int | None = None) -> PatternError:
        return PatternError(message, (self.i if at is None else at) + 1)

    def parse(self) -> list[list[_Item]]:
        alts = self.alternatives()
        if self.i < len(self.src):
            raise self.error("unbalanced ')'")
        return alts

    def alternatives(self) -> list[list[_Item]]:
        alts = [self.sequence()]
        while self.i < len(self.src) and self.src[self.i] == "|":
            self.i += 1
            alts.append(self.sequence())
        return alts

    def sequence(self) -> list[_Item]:
        items: list[_Item] = []
        buf: list[str] = []
        buf_col = 0

        def flush() -> None:
            if buf:
                items.append(_Text("".join(buf), buf_col + 1))
                buf.clear()

        src = self.src
        while self.i < len(src):
            c = src[self.i]
            if c in "|)":
                break
            if c.isspace():
                flush()
                if not items or not isinstance(items[-1], _Space):
                    items.append(_Space())
                self.i += 1
            elif c == "(":
                flush()
                start = self.i
                self.depth += 1
                if self.depth > MAX_NESTING:
                    # A user pack's "((((...))))" would otherwise end in RecursionError.
                    raise self.error(f"groups nested more than {MAX_NESTING} deep")
                self.i += 1
                alts = self.alternatives()
                self.depth -= 1
                if self.i >= len(src) or src[self.i] != ")":
                    raise self.error("unclosed '('", start)
                self.i += 1
                items.append(_Group(alts, start + 1))
            elif c == "*":
                flush()
                items.append(_Wild(self.i + 1))
                self.i += 1
            elif c == "{":
                flush()
                end = src.find("}", self.i)
                name = src[self.i + 1 : end] if end != -1 else ""
                if name == "word":
                    items.append(_Word(self.i + 1))
                elif name == "num":
                    items.append(_Num(self.i + 1))
                else:
                    raise self.error("unknown placeholder; use {word} or {num} (write \\{ for a literal brace)")
                self.i = end + 1
            elif c == "~":
                flush()
                j = self.i + 1
                while j < len(src) and src[j] in "0123456789":  # not isdigit(): "²" is a digit int() refuses
                    j += 1
                if j == self.i + 1:
                    raise self.error("'~' must be followed by a number of tokens, as in 'a ~3 b'")
                digits = src[self.i + 1 : j]
                # More than 4 digits is too wide anyway, and int() refuses 4,300 of them.
                n = int(digits) if len(digits) <= 4 else MAX_PROXIMITY + 1
                if n > MAX_PROXIMITY:
                    shown = digits if len(digits) <= 8 else digits[:8] + "..."
                    raise self.error(f"proximity ~{shown} is too wide (at most ~{MAX_PROXIMITY})")
                items.append(_Prox(n, self.i + 1))
                self.i = j
            elif c == "}":
                raise self.error("unexpected '}'")
            else:
                if not buf:
                    buf_col = self.i
                if c == "\\":
                    if self.i + 1 >= len(src):
                        raise self.error("dangling '\\' at the end")
                    self.i += 1
                    c = src[self.i]
                buf.append(c)
                self.i += 1
        flush()
        return items


# ------------------------------------------------------- glue resolution


def _glueable(item: _Item) -> bool:
    return isinstance(item, (_Text, _Group))


def _merge_texts(items: list[_Item]) -> list[_Item]:
    out: list[_Item] = []
    for it in items:
        if isinstance(it, _Text) and out and isinstance(out[-1], _Text):
            out[-1] = _Text(out[-1].text + it.text, out[-1].column)
        elif isinstance(it, _Space) and (not out or isinstance(out[-1], _Space)):
            if not out:
                out.append(it)
        else:
            out.append(it)
    return out


def _resolve(items: list[_Item], budget: list[int]) -> list[_Item]:
    """Spell out every group glued to text or to another group, recursively."""
    out: list[_Item] = []
    run: list[_Item] = []

    def flush() -> None:
        if not run:
            return
        if len(run) == 1:
            only = run[0]
            if isinstance(only, _Group):
                out.append(_Group([_resolve(a, budget) for a in only.alternatives], only.column))
            else:
                out.append(only)
        else:
            combos: list[list[_Item]] = [[]]
            for it in run:
                if isinstance(it, _Group):
                    combos = [c + list(a) for c in combos for a in it.alternatives]
                    budget[0] -= len(combos)
                    if budget[0] < 0 or len(combos) > MAX_EXPANSION:
                        column = it.column
                        raise PatternError("too many alternatives once glued groups are spelled out", column)
                else:
                    combos = [c + [it] for c in combos]
            column = run[0].column if isinstance(run[0], (_Text, _Group)) else 1
            out.append(_Group([_resolve(_merge_texts(c), budget) for c in combos], column))
        run.clear()

    for it in items:
        if _glueable(it):
            run.append(it)
        else:
            flush()
            out.append(it)
    flush()
    return out


# ------------------------------------------------------------ compiling


@dataclass
class _Compiled:
    regex: str
    min_tokens: int
    max_tokens: int | None  # None = unbounded (not used yet, kept for the docs)


class _Compiler:
    def __init__(self, spellings: Mapping[str, str] | None, max_gap: int) -> None:
        self.spellings = spellings
        self.max_gap = max_gap

    def sequence(self, items: list[_Item]) -> _Compiled:
        parts: list[str] = []
        lo = 0
        for it in items:
            if isinstance(it, _Space):
                continue
            c = self.item(it)
            parts.append(c.regex)
            lo += c.min_tokens
        return _Compiled("".join(parts), lo, None)

    def item(self, it: _Item) -> _Compiled:
        if isinstance(it, _Text):
            tokens = normalize(it.text, self.spellings).text.split()
            if OPAQUE in tokens:
                raise PatternError(
                    "placeholders, handles, URLs and e-mail addresses never match literally; use {word}", it.column
                )
            return _Compiled("".join(re2.escape(t) + " " for t in tokens), len(tokens), len(tokens))
        if isinstance(it, _Wild):
            return _Compiled(f"(?:{_GAP_TOKEN}){{1,{self.max_gap}}}?", 1, self.max_gap)
        if isinstance(it, _Word):
            return _Compiled(_WORD_RE, 1, 1)
        if isinstance(it, _Num):
            return _Compiled(_NUM_RE, 1, 1)
        if isinstance(it, _Prox):
            return _Compiled(f"(?:{_GAP_TOKEN}){{0,{it.n}}}?", 0, it.n)
        if isinstance(it, _Group):
            alts = [self.sequence(a) for a in it.alternatives]
            non_empty = sorted({a.regex for a in alts if a.regex}, key=[a.regex for a in alts].index)
            optional = any(not a.regex for a in alts)
            if not non_empty:
                raise PatternError("empty group", it.column)
            body = "(?:" + "|".join(non_empty) + ")"
            lo = 0 if optional else min(a.min_tokens for a in alts if a.regex)
            return _Compiled(body + ("?" if optional else ""), lo, None)
        raise AssertionError(it)  # pragma: no cover


def _check_proximity(items: list[_Item]) -> None:
    """``~N`` needs a part on each side, inside the same sequence."""
    solid = [it for it in items if not isinstance(it, _Space)]
    for k, it in enumerate(solid):
        if isinstance(it, _Prox):
            if k == 0 or k == len(solid) - 1:
                raise PatternError("'~N' needs words on both sides, as in 'a ~3 b'", it.column)
            if isinstance(solid[k - 1], (_Prox, _Wild)) or isinstance(solid[k + 1], (_Prox, _Wild)):
                raise PatternError("'~N' next to '*' or another '~N' means nothing", it.column)
        if isinstance(it, _Group):
            for alt in it.alternatives:
                _check_proximity(alt)


@dataclass(frozen=True)
class Pattern:
    """One compiled pattern.

    Attributes:
        source: the pattern as written.
        body: the token-form regex (every token followed by a space), or
            ``None`` for a ``regex:`` pattern.
        raw: the raw RE2 regex of a ``regex:`` pattern, else ``None``.
    """

    source: str
    body: str | None
    raw: str | None = None
    _regex: object = field(default=None, repr=False, compare=False)

    def finditer(self, normalized_text: str) -> Iterator[tuple[int, int]]:
        """Every match in ``normalized_text`` as ``(start, end)``, by start; at most one per start token."""
        alone = _ALONE.get(id(self))
        if alone is None or alone[0] is not self:
            if len(_ALONE) > 4096:
                _ALONE.clear()
            alone = _ALONE[id(self)] = (self, PatternSet([self]))
        for _i, start, end in alone[1].finditer(normalized_text):
            yield start, end


_ALONE: dict[int, tuple[Pattern, PatternSet]] = {}  # a one-pattern set per pattern, built on first use


def compile_pattern(source: str, spellings: Mapping[str, str] | None = None, max_gap: int = 4) -> Pattern:
    """Compile one pattern of the mini-language.

    Args:
        source: the pattern, e.g. ``"c'est (le|la) service {word}"``.
        spellings: the language's spelling table, applied to literal words as to text.
        max_gap: the most tokens one ``*`` may stand for.

    Returns:
        The compiled :class:`Pattern`.

    Raises:
        PatternError: bad syntax, a pattern that can match nothing, or a
            ``regex:`` that RE2 rejects; ``column`` is 1-based.
    """
    if not isinstance(source, str):
        raise PatternError("a pattern must be a string")
    stripped = source.lstrip()
    if stripped.startswith("regex:"):
        raw = stripped[len("regex:") :]
        column = len(source) - len(stripped) + len("regex:") + 1
        if not raw.strip():
            raise PatternError("empty regex", column)
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:  # YAML's "\ud800" escape: RE2 would raise while encoding it
            raise PatternError("the regex holds a lone surrogate (an unpaired \\ud800-\\udfff escape)", column) from None
        try:
            # Only the whole match's span is used (_snap): without capture groups RE2 finds it
            # with its DFAs alone, never the NFA that submatches need (the same span either way).
            compiled = _compile_small(raw, never_capture=True)
        except re2.error as exc:
            detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise PatternError(f"RE2 rejects the regex: {detail}", column) from None
        if compiled.search("") is not None:
            raise PatternError("the regex matches the empty string", column)
        return Pattern(source, None, raw, compiled)
    if not source.strip():
        raise PatternError("empty pattern", 1)
    if max_gap < 1:
        raise PatternError("max_gap must be at least 1")
    alts = _Parser(source).parse()
    for alt in alts:
        _check_proximity(alt)
    top: list[_Item] = alts[0] if len(alts) == 1 else [_Group(alts, 1)]
    items = _resolve(top, [4 * MAX_EXPANSION])
    compiled_seq = _Compiler(spellings, max_gap).sequence(items)
    if compiled_seq.min_tokens == 0:
        raise PatternError("the pattern can match no words at all", 1)
    body = compiled_seq.regex
    try:
        regex = _compile_small(" (?:" + body + ")")
    except re2.error as exc:  # our own output, but a huge pattern can pass RE2's memory budget
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(f"the pattern is too large to compile ({detail})", 1) from None
    return Pattern(source, body, None, regex)


def _snap(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Widen a raw match to whole tokens; ``None`` if it covers no token."""
    while start < end and text[start] == " ":
        start += 1
    while end > start and text[end - 1] == " ":
        end -= 1
    if start >= end:
        return None
    start = text.rfind(" ", 0, start) + 1
    nxt = text.find(" ", end)
    return start, (len(text) if nxt == -1 else nxt)


Spans = Sequence[tuple[int, int]]  # a search's answer: the match's (start, end) first; (-1, -1) for none
_NO_MATCH: Spans = ((-1, -1),)
_NATIVE: list[bool] = []  # whether google-re2's private Match answers as its public search (probed once)


def _native_search_works() -> bool:
    """Whether ``regex._regexp.Match(UNANCHORED, data, pos, endpos)`` answers as ``regex.search`` (probed once)."""
    if not _NATIVE:
        try:
            probe = re2.compile(" (?:b+ )", _options())
            native = probe._regexp.Match
            unanchored = re2._Anchor.UNANCHORED
            _NATIVE.append(
                tuple(native(unanchored, b"a bb c bbb ", 0, 11)[0]) == probe.search(b"a bb c bbb ").span() == (1, 5)
                and tuple(native(unanchored, b"a bb c bbb ", 2, 11)[0]) == (6, 11)
                and tuple(native(unanchored, b"a c ", 0, 4)[0]) == (-1, -1)
            )
        except Exception:  # noqa: BLE001 - another version of the wheel: its public API then
            _NATIVE.append(False)
    return _NATIVE[0]


def _searcher(regex: Any) -> Callable[[bytes, int, int], Spans]:
    """``regex``'s search of ``data[pos:endpos]`` as ``(data, pos, endpos) -> spans`` (the match's span first).

    google-re2's ``search`` wraps the compiled regex's ``Match(anchor, data, pos, endpos)``
    in a generator, a match object and a bounds check per offset read: as long as the
    search itself on a short turn. That call is private to the wheel, so it is used only
    when it answers as the public search on a probe; else the public search.
    """
    if _native_search_works():
        return partial(regex._regexp.Match, re2._Anchor.UNANCHORED)

    def search(data: bytes, pos: int, endpos: int) -> Spans:
        m = regex.search(data, pos, endpos)
        return _NO_MATCH if m is None else (m.span(),)

    return search


class _CharSpans:
    """Character spans in a non-ASCII text of the byte spans of matches in ``b" " + text + b" "`` (UTF-8), by start.

    A match spans ``[bs, be)`` from its first token byte to the space after its last
    token. Offsets are counted on from the previous match, never from 0: decoding the
    whole prefix per match was quadratic on long non-ASCII turns. (An ASCII text needs
    no decoding: the spans are ``(bs - 1, be - 2)``, computed inline by the callers.)
    """

    __slots__ = ("padded", "seen_bytes", "seen_chars")

    def __init__(self, padded: bytes) -> None:
        self.padded = padded
        self.seen_bytes = self.seen_chars = 0

    def __call__(self, bs: int, be: int) -> tuple[int, int]:
        padded = self.padded
        self.seen_chars += len(padded[self.seen_bytes : bs].decode("utf-8"))
        self.seen_bytes = bs
        start = self.seen_chars - 1
        return start, start + len(padded[bs : be - 1].decode("utf-8"))


class PatternSet:
    """Several patterns searched together: one RE2 alternation, plus any ``regex:`` patterns.

    The alternation gives each pattern a numbered group; RE2 is leftmost-first,
    so at one start position the first listed pattern wins.
    """

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        """Combine ``patterns`` (compiled by :func:`compile_pattern`) into one search."""
        self.patterns = tuple(patterns)
        self._raw = [(i, p) for i, p in enumerate(self.patterns) if p.body is None]
        body_index = [i for i, p in enumerate(self.patterns) if p.body is not None]
        # Usually one alternation; (regex, pattern indexes) pairs, split when too big for RE2.
        self._alternations = self._combine(body_index) if body_index else []
        # At most one alternation (RE2 did not have to split it): leftmost-first over every
        # token pattern, the regex: ones merged in by start.
        self.single = len(self._alternations) <= 1

    def _combine(self, index: list[int]) -> list[tuple[object, list[int]]]:
        source = " (?:" + "|".join("(" + str(self.patterns[i].body) + ")" for i in index) + ")"
        try:
            return [(re2.compile(source.encode("utf-8"), _options(8 << 20)), index)]
        except re2.error as exc:
            # A user pack with thousands of patterns can pass RE2's memory budget once
            # combined (each compiled on its own): search it as several alternations.
            if len(index) == 1:  # pragma: no cover - the pattern compiled on its own
                raise PatternError(f"cannot combine patterns: {exc}") from None
            half = len(index) // 2
            return self._combine(index[:half]) + self._combine(index[half:])

    def _alternation(self, text: str, combined: object, index: list[int]) -> Iterator[tuple[int, int, int]]:
        padded = (" " + text + " ").encode("utf-8")
        span = None if len(padded) == len(text) + 2 else _CharSpans(padded)
        pos = 0
        n = len(padded)
        while pos < n:
            m = combined.search(padded, pos)  # type: ignore[attr-defined]
            if m is None:
                return
            group = m.lastindex or 1
            bs, be = m.span(group)
            start, end = (bs - 1, be - 2) if span is None else span(bs, be)
            yield index[group - 1], start, end
            pos = bs  # the next match starts at a later token (overlaps allowed)

    def _raw_matches(self, index: int, pattern: Pattern, text: str) -> Iterator[tuple[int, int, int]]:
        last = -1
        for m in pattern._regex.finditer(text):  # type: ignore[attr-defined]
            snapped = _snap(text, *m.span())
            if snapped is not None and snapped[0] > last:
                last = snapped[0]
                yield index, snapped[0], snapped[1]

    def _each_alternation(self, text: str, index: Sequence[int]) -> Iterator[tuple[int, int, int]]:
        """:meth:`_alternation` over the patterns ``index`` (in order), each searched by its own regex.

        Leftmost-first as the alternation: the earliest start, and at one start the
        first listed pattern, with that pattern's own preferred match (as in the
        alternation, where the earlier branches do not match there); the next search
        starts at a later token. A pattern's own regex is small, so RE2 runs its DFA
        on new text far faster than the signal's whole alternation.
        """
        padded = (" " + text + " ").encode("utf-8")
        n = len(padded)
        span = None if n == len(text) + 2 else _CharSpans(padded)
        searches = [_searcher(self.patterns[i]._regex) for i in index]
        pending = [search(padded, 0, n)[0] for search in searches]  # each one's next match: (start, end)
        pos = 0
        while True:
            best = -1
            best_start = n
            for k, m in enumerate(pending):
                if -1 < m[0] < pos:  # (-1, -1): no match from an earlier position, so none from a later one
                    m = pending[k] = searches[k](padded, pos, n)[0]
                if -1 < m[0] < best_start:
                    best, best_start = k, m[0]
            if best < 0:
                return
            bs, be = best_start + 1, pending[best][1]
            start, end = (bs - 1, be - 2) if span is None else span(bs, be)
            yield index[best], start, end
            pos = bs

    def finditer(self, normalized_text: str, only: Sequence[int] | None = None) -> Iterator[tuple[int, int, int]]:
        """Yield ``(pattern_index, start, end)`` in ``normalized_text``, ordered by start.

        ``only``: the indexes (ascending) of the patterns that may match (a prefilter's
        answer); the others must have no match in the text. A few are then searched
        each by its own regex (:meth:`_each_alternation`), instead of the alternation.
        """
        if only is not None and (len(self._alternations) <= 1 and len(only) <= EACH_LIMIT
                                 or all(self.patterns[i].body is None for i in only)):
            # A few patterns, or regex: ones only (no alternation to search): each by its own regex.
            body = [i for i in only if self.patterns[i].body is not None]
            raw = [(i, self.patterns[i]) for i in only if self.patterns[i].body is None]
            if not raw:
                yield from self._each_alternation(normalized_text, body)
                return
            streams = [self._each_alternation(normalized_text, body)] + [
                self._raw_matches(i, p, normalized_text) for i, p in raw]
            yield from heapq.merge(*streams, key=lambda hit: (hit[1], hit[0]))
            return
        if not self._raw and len(self._alternations) == 1:
            yield from self._alternation(normalized_text, *self._alternations[0])
            return
        streams = [self._alternation(normalized_text, c, idx) for c, idx in self._alternations] + [
            self._raw_matches(i, p, normalized_text) for i, p in self._raw
        ]
        yield from heapq.merge(*streams, key=lambda hit: (hit[1], hit[0]))

    def search(self, normalized_text: str) -> tuple[int, int, int] | None:
        """The first match, or ``None``."""
        return next(self.finditer(normalized_text), None)
