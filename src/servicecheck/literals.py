r"""Which patterns of a signal can match a text, told by the literal strings their regexes require.

A ``lint`` of one small template used to compile the whole RE2 alternation of every
signal its policies read (≈ 20 ms of its ≈ 140), although the text can match only
a few of their patterns. Every match of a compiled pattern (``" (?:" + body + ")"``,
searched in the normalised text with a space at both ends, :mod:`servicecheck.text.patterns`)
contains literal strings that can be read off the regex: each run of plain
characters of the top-level sequence (``"merci "``), and one string of each group
that cannot be skipped (one per alternative). A pattern with a required string
(or every string of such a group) missing from the text has no match there; the
matcher then searches only the others (``PatternSet.finditer(only=...)``, the
contract of the transcripts' prefilter), each by its own small regex when they are
few, and skips a signal none of whose patterns can match.

The analysis is conservative: what it does not read (an escape such as ``\x``, a
flag, a named group, a POSIX class) requires nothing, so that pattern is always
searched. ``regex:`` patterns are read the same way. The pack cache analyses every
signal when it builds a matcher and keeps the answers in it (without the cache, the
matcher searches every signal, as before).
"""

from __future__ import annotations

import pickle
from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["DocumentFilter", "required_strings"]

_MAX_STRINGS = 64  # a clause with more alternatives than this is not worth checking
_MAX_CLAUSES = 4  # clauses kept per pattern (the strongest)
_SPACE = frozenset([" "])
_ZERO_WIDTH = "^$"
_CLASS_ESCAPES = frozenset("dDwWsSbBAzCpP")  # a class, or zero-width


class _Unknown(Exception):
    """A construct the analysis does not read: the pattern then requires nothing."""


class _Reader:
    """Recursive descent over the RE2 regexes the pattern compiler writes."""

    def __init__(self, regex: str) -> None:
        self.src = regex
        self.i = 0

    def alternation(self) -> list[frozenset[str]]:
        """What every match of the alternation at ``i`` contains: one string of each clause (``[]``: none known)."""
        alternatives = [self.sequence()]
        while self.i < len(self.src) and self.src[self.i] == "|":
            self.i += 1
            alternatives.append(self.sequence())
        if len(alternatives) == 1:
            return alternatives[0]
        if not all(alternatives):
            return []
        union = frozenset().union(*(_best(a) for a in alternatives))
        return [union] if len(union) <= _MAX_STRINGS else []

    def sequence(self) -> list[frozenset[str]]:
        clauses: list[frozenset[str]] = []  # every element of a sequence is required
        run: list[str] = []

        def cut() -> None:
            if run:
                clauses.append(frozenset(["".join(run)]))
                run.clear()

        src = self.src
        while self.i < len(src) and src[self.i] not in "|)":
            char, need = self.atom()
            low = self.quantifier()
            if char is not None:
                if low == 0:
                    cut()
                else:
                    run.append(char)
                    if low is not None:  # repeated: what follows is not contiguous with it
                        cut()
                continue
            cut()
            if low != 0:
                clauses += need
        cut()
        return clauses

    def atom(self) -> tuple[str | None, list[frozenset[str]]]:
        """One element: ``(its literal character, [])`` or ``(None, what it requires)``."""
        src = self.src
        c = src[self.i]
        if c == "(":
            self.i += 1
            if src.startswith("?:", self.i):
                self.i += 2
            elif src.startswith("?", self.i):
                raise _Unknown  # flags, named groups: not written by the pattern compiler
            need = self.alternation()
            if self.i >= len(src) or src[self.i] != ")":
                raise _Unknown
            self.i += 1
            return None, need
        if c == "[":
            end = self.i + 1
            if end < len(src) and src[end] == "^":
                end += 1
            if end < len(src) and src[end] == "]":
                end += 1
            while end < len(src) and src[end] != "]":
                if src.startswith("[:", end):
                    raise _Unknown  # a POSIX class inside: its "]" is not the end
                end += 2 if src[end] == "\\" else 1
            if end >= len(src):
                raise _Unknown
            self.i = end + 1
            return None, []
        if c == "\\":
            if self.i + 1 >= len(src):
                raise _Unknown
            nxt = src[self.i + 1]
            if nxt.isascii() and nxt.isalnum():
                if nxt not in _CLASS_ESCAPES:
                    raise _Unknown  # \n, \t, octal...: not written by the pattern compiler
                if nxt in "pP" and src.startswith("{", self.i + 2):
                    close = src.find("}", self.i + 2)
                    if close < 0:
                        raise _Unknown
                    self.i = close + 1
                elif nxt in "pP":
                    self.i += 3
                else:
                    self.i += 2
                return None, []
            self.i += 2
            return nxt, []
        if c in "*+?{":
            raise _Unknown  # a quantifier with nothing before it
        self.i += 1
        if c == "." or c in _ZERO_WIDTH:
            return None, []
        return c, []

    def quantifier(self) -> int | None:
        """The least repeat count of a quantifier at ``i`` (consumed), or ``None`` when there is none."""
        src = self.src
        if self.i >= len(src):
            return None
        c = src[self.i]
        if c in "*?":
            low = 0
            self.i += 1
        elif c == "+":
            low = 1
            self.i += 1
        elif c == "{":
            close = src.find("}", self.i)
            head = src[self.i + 1 : close].split(",")[0] if close > 0 else ""
            if not head.isdigit():
                raise _Unknown  # RE2 would read "{" literally here; not written by the pattern compiler
            low = int(head)
            self.i = close + 1
        else:
            return None
        if self.i < len(src) and src[self.i] == "?":  # lazy
            self.i += 1
        return low


def _best(clauses: list[frozenset[str]]) -> frozenset[str]:
    """The clause least likely to hold by chance: the longest shortest string, then the fewest strings."""
    return max(clauses, key=lambda c: (min(len(s) for s in c), -len(c)))


def required_strings(regex: str) -> tuple[frozenset[str], ...] | None:
    """What every match of ``regex`` contains: one string of each clause, strongest first (``None``: nothing known).

    Clauses of one space alone (every padded text has one) are left out, and at most
    :data:`_MAX_CLAUSES` are kept.
    """
    reader = _Reader(regex)
    try:
        clauses = reader.alternation()
    except (_Unknown, IndexError):
        return None
    if reader.i != len(regex):  # an unbalanced ")": not ours
        return None
    kept = sorted({c for c in clauses if c != _SPACE}, key=lambda c: (-min(len(s) for s in c), len(c), sorted(c)))
    return tuple(kept[:_MAX_CLAUSES]) or None


_Needs = tuple[tuple[tuple[str, ...], ...] | None, ...]


def _needs(patterns: Any) -> _Needs:
    """Per pattern of a ``PatternSet``: the strings its search needs in the padded text (``None``: unknown).

    A ``regex:`` pattern runs on the text without the spaces: what it needs there is in the padded text too.
    (Tuples: they are kept in the matcher cache, read by every run, and load faster than sets.)
    """
    out = []
    for p in patterns.patterns:
        need = required_strings(" (?:" + p.body + ")") if p.body is not None else (
            required_strings(p.raw) if p.raw else None)
        out.append(None if need is None else tuple(tuple(sorted(clause)) for clause in need))
    return tuple(out)


def _may(needs: _Needs, padded: str) -> tuple[int, ...]:
    return tuple(i for i, need in enumerate(needs)
                 if need is None or all(any(s in padded for s in clause) for clause in need))


class DocumentFilter:
    """The literal prefilter of one matcher's signals, for document units (templates, guidelines).

    ``compiled``: the matcher's ``(signal, language) -> CompiledSignal``; every pattern is
    analysed here (≈ 0.25 s for the default pack), which the pack cache does when it builds
    a matcher, so that a ``lint`` reads the answers with the matcher.
    """

    def __init__(self, compiled: Mapping[tuple[str, str], Any]) -> None:
        # values: the answers, or their pickle until first used (__getstate__)
        self._needs: dict[tuple[str, str], Any] = {
            key: (_needs(signal.patterns), _needs(signal.exceptions) if signal.exceptions else ())
            for key, signal in compiled.items()}

    def __getstate__(self) -> dict[str, Any]:
        """Pickle each signal's answers apart (the pack cache): a lint reads only those of its units' signals."""
        return {"_needs": {key: value if isinstance(value, bytes) else pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
                           for key, value in self._needs.items()}}

    def _needs_of(self, key: tuple[str, str]) -> tuple[_Needs, _Needs] | None:
        needs = self._needs.get(key)
        if isinstance(needs, bytes):  # unpickled from the cache: read on first use
            needs = self._needs[key] = pickle.loads(needs)  # our own cache entry
        return needs

    def signals(self, lang: str, normalized_text: str, names: Collection[str]) -> dict[str, Any]:
        """Of ``names``, the signals with a pattern that may match, with the patterns and exceptions that may.

        The answer has the shape of :meth:`servicecheck.detect.prefilter.Prefilter.signals`:
        ``name -> (pattern indexes, exception indexes)``; a signal left out has no pattern that matches.
        """
        padded = " " + normalized_text + " "
        out: dict[str, Any] = {}
        for name in names:
            needs = self._needs_of((name, lang))
            if needs is None:
                continue  # no pattern in this language
            patterns = _may(needs[0], padded)
            if patterns:
                out[name] = (patterns, _may(needs[1], padded))
        return out
