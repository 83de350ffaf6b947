"""Tell, from a compiled ruleset, which turn facts the engine can use, so the others are never sent.

Sending a fact to durable-rules costs about 35 µs (ENGINE.md); most turns carry no
signal that any rule reads. This module reads the ruleset *as data* and answers,
for one conversation's facts, which turn facts could take part in some firing:

* every pattern of every rule is a condition on a fact; a turn fact is kept when
  it may satisfy the condition of a turn pattern (positive or ``$not``) of a rule
  that can fire in this conversation;
* a rule can fire only if each of its positive patterns can be satisfied: a turn
  pattern by some turn of the conversation, the ``end`` pattern always, and a
  pattern on a fact that actions assert (``pending``, ``seq``, ``stage``) only if
  a rule asserting that fact can fire (so the responder's turns are sent for a
  latency rule only when something triggered it).

Every test is an over-approximation of the engine's: a literal comparison on a
field the fact has is evaluated as the engine would, and anything else (a
reference to another pattern, an unknown operator, a missing field in a range
test) counts as "may match". Equality with a missing field does not match, which
is how the engine treats the ``s_<signal>: true`` tests the rule kinds build. The
policy logic stays in the engine: a kept turn is still matched, joined, counted and
windowed there; a dropped turn is one no rule could ever have matched.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Fact = Mapping[str, Any]
Test = Callable[[Fact], bool]

_MISSING = object()
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$lt": operator.lt,
    "$lte": operator.le,
    "$gt": operator.gt,
    "$gte": operator.ge,
}

__all__ = ["TurnFilter", "may_match"]


def _always(_fact: Fact) -> bool:
    return True


def _literal(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _test(cond: Any) -> Test:
    """A Python test that is True whenever the engine could match ``cond`` against a fact."""
    if not isinstance(cond, dict) or len(cond) != 1:
        if isinstance(cond, dict) and len(cond) > 1:  # several terms in one object: all must hold
            parts = [_test({k: v}) for k, v in cond.items()]
            return lambda f: all(p(f) for p in parts)
        return _always
    ((key, value),) = cond.items()
    if key == "$and" and isinstance(value, list):
        return _conjunction(value)
    if key == "$or" and isinstance(value, list):
        parts = [_test(v) for v in value]

        def disjunction(f: Fact) -> bool:
            for part in parts:
                if part(f):
                    return True
            return False

        return disjunction
    if key in _COMPARE and isinstance(value, dict) and len(value) == 1:
        ((field, bound),) = value.items()
        if not _literal(bound) or isinstance(bound, (str, bool)) or bound is None:
            return _always  # a reference to another pattern's fact, or a non-numeric bound
        compare = _COMPARE[key]

        def ranged(f: Fact) -> bool:
            got = f.get(field, _MISSING)
            if got is _MISSING or isinstance(got, (str, bool)) or got is None:
                return True
            return compare(got, bound)

        return ranged
    if key == "$neq" and isinstance(value, dict) and len(value) == 1:
        ((field, other),) = value.items()
        if not _literal(other):
            return _always
        return lambda f: f.get(field, _MISSING) is _MISSING or f[field] != other
    if key == "$ex" and isinstance(value, dict) and len(value) == 1:
        ((field, _),) = value.items()
        return lambda f: field in f
    if key == "$nex" and isinstance(value, dict) and len(value) == 1:
        ((field, _),) = value.items()
        return lambda f: field not in f
    if key.startswith("$"):
        return _always  # an operator this analysis does not model
    if _literal(value):
        def equal(f: Fact) -> bool:
            got = f.get(key, _MISSING)
            if got is _MISSING:
                return False
            if isinstance(got, str) != isinstance(value, str):
                return True  # a coercion between text and numbers is not modelled: may match
            return bool(got == value)

        return equal
    return _always  # equality with a reference


def _conjunction(terms: list[Any]) -> Test:
    # Literal equalities (type, speaker, signal flags: most terms) are checked in one
    # loop before the other tests: this runs for every turn of every conversation.
    equalities: list[tuple[str, Any]] = []
    others: list[Test] = []
    for term in terms:
        if isinstance(term, dict) and len(term) == 1:
            ((k, v),) = term.items()
            if not k.startswith("$") and _literal(v):
                equalities.append((k, v))
                continue
        others.append(_test(term))

    def conjunction(f: Fact) -> bool:
        get = f.get
        for k, v in equalities:
            got = get(k, _MISSING)
            if got is _MISSING:
                return False
            if got != v and isinstance(got, str) == isinstance(v, str):
                return False
        for other in others:
            if not other(f):
                return False
        return True

    return conjunction


def may_match(cond: Any, fact: Fact) -> bool:
    """Whether the engine could match condition ``cond`` against ``fact`` (over-approximated)."""
    return _test(cond)(fact)


def _type_of(cond: Any) -> tuple[str | None, str | None]:
    """The literal ``type`` and ``p`` a condition requires (``None`` when it does not pin them)."""
    terms = cond.get("$and") if isinstance(cond, dict) and "$and" in cond else [cond]
    kind = p = None
    for term in terms if isinstance(terms, list) else []:
        if isinstance(term, dict) and len(term) == 1:
            ((k, v),) = term.items()
            if k == "type" and isinstance(v, str):
                kind = v
            elif k == "p" and isinstance(v, str):
                p = v
    return kind, p


def _flags_needed(cond: Any) -> frozenset[str] | None:
    """Fields of which a fact must have at least one (as ``true``) to match ``cond``; ``None``: no such need.

    Read from the terms of a top-level ``$and``: a ``{field: true}`` term needs that
    field, an ``$or`` of such terms needs one of its fields.
    """
    terms = cond.get("$and") if isinstance(cond, dict) and "$and" in cond else [cond]
    for term in terms if isinstance(terms, list) else []:
        if not isinstance(term, dict) or len(term) != 1:
            continue
        ((k, v),) = term.items()
        if v is True and not k.startswith("$"):
            return frozenset([k])
        if k == "$or" and isinstance(v, list) and v and all(
            isinstance(x, dict) and len(x) == 1 and next(iter(x.values())) is True
            and not next(iter(x)).startswith("$") for x in v
        ):
            return frozenset(next(iter(x)) for x in v)
    return None


def _speaker_of(cond: Any) -> str | None:
    """The speaker a turn condition requires by a literal ``sp`` term, if any."""
    terms = cond.get("$and") if isinstance(cond, dict) and "$and" in cond else [cond]
    for term in terms if isinstance(terms, list) else []:
        if isinstance(term, dict) and len(term) == 1 and isinstance(term.get("sp"), str):
            return str(term["sp"])
    return None


class _Rule:
    """What one rule needs (as patterns) and what its action asserts."""

    def __init__(self, name: str, rule: Mapping[str, Any], action: Any, key: Callable[[Any], int]) -> None:
        self.name = name
        self.turns: list[int] = []  # every turn condition of the rule (positive or not)
        self.gates: list[int] = []  # positive turn conditions: each needs some turn
        self.derived: list[tuple[str, str | None]] = []  # positive patterns on asserted facts
        patterns = rule.get("all") if isinstance(rule.get("all"), list) else None
        if patterns is None:  # ``any`` or something unforeseen: every turn may matter
            self.turns.append(key(None))
        for pattern in patterns or []:
            for pname, cond in (pattern.items() if isinstance(pattern, dict) else []):
                negative = isinstance(pname, str) and pname.endswith("$not")
                kind, p = _type_of(cond)
                if kind in (None, "turn"):  # a turn pattern (or one that may match any fact)
                    k = key(cond)
                    self.turns.append(k)
                    if not negative:
                        self.gates.append(k)
                elif kind != "end" and not negative:
                    self.derived.append((kind, p))
        self.produces: list[tuple[str | None, str | None]] = []
        for op in getattr(action, "do", None) or []:
            if op and op[0] == "assert" and isinstance(op[1], dict):
                kind = op[1].get("type")
                p = op[1].get("p")
                self.produces.append((kind if isinstance(kind, str) else None, p if isinstance(p, str) else None))


class TurnFilter:
    """The turn facts of a conversation that a compiled ruleset can use.

    Args:
        rules: the durable rules (``CompiledRuleset.rules``).
        actions: the actions by rule name (``CompiledRuleset.actions``), for the facts they assert.
    """

    def __init__(self, rules: Mapping[str, Mapping[str, Any]], actions: Mapping[str, Any]) -> None:
        self._tests: list[Test] = []
        self._keys: dict[str, int] = {}
        self._groups: dict[str | None, tuple[list[int], list[tuple[int, frozenset[str]]]]] = {None: ([], [])}
        self._flags: set[str] = set()
        self._live_cache: dict[frozenset[int], frozenset[int]] = {}
        self.rules = [_Rule(name, rule, actions.get(name), self._key) for name, rule in rules.items()]
        self._flagset = frozenset(self._flags)
        self._speaker_tests: dict[Any, tuple[list[int], list[tuple[int, frozenset[str]]]]] = {}
        self._producers: dict[tuple[str, str | None], list[_Rule]] = {}
        for r in self.rules:
            for kind, p in r.derived:
                self._producers[(kind, p)] = [
                    o for o in self.rules
                    if any((pk is None or pk == kind) and (pp is None or p is None or pp == p) for pk, pp in o.produces)
                ]

    def _key(self, cond: Any) -> int:
        text = json.dumps(cond, sort_keys=True, default=str)
        if text not in self._keys:
            k = self._keys[text] = len(self._tests)
            self._tests.append(_test(cond) if cond is not None else _always)
            # Tests that pin a speaker run only on that speaker's turns, and tests that need
            # a flag (a signal) only on turns carrying one: most turns carry none.
            flags = _flags_needed(cond)
            group = self._groups.setdefault(_speaker_of(cond), ([], []))
            if flags is None:
                group[0].append(k)
            else:
                group[1].append((k, flags))
                self._flags.update(flags)
        return self._keys[text]

    def _possible(self, rule: _Rule, present: Callable[[int], bool], seen: set[str]) -> bool:
        if not all(present(k) for k in rule.gates):
            return False
        for need in rule.derived:
            producers = self._producers.get(need, [])
            if not producers:
                continue  # nothing we know asserts it: assume it may exist
            if not any(p.name in seen or self._possible(p, present, seen | {rule.name}) for p in producers):
                return False
        return True

    def _live(self, seen: frozenset[int]) -> frozenset[int]:
        """The turn tests of the rules that can fire when the tests in ``seen`` are met by some turn."""
        live = self._live_cache.get(seen)
        if live is None:
            found: set[int] = set()
            for rule in self.rules:
                if rule.turns and self._possible(rule, seen.__contains__, set()):
                    found.update(rule.turns)
            live = frozenset(found)
            if len(self._live_cache) > 4096:  # combinations repeat a lot; keep the memo bounded
                self._live_cache.clear()
            self._live_cache[seen] = live
        return live

    def _by_speaker(self, speaker: Any) -> tuple[list[int], list[tuple[int, frozenset[str]]]]:
        """The tests a turn of ``speaker`` runs: those pinning that speaker and those pinning none.

        Made once per speaker (a conversation has a handful): ``select`` runs for every conversation.
        """
        found = self._speaker_tests.get(speaker)
        if found is None:
            own = self._groups.get(speaker, ([], [])) if speaker is not None else ([], [])
            anyone = self._groups[None]
            found = self._speaker_tests[speaker] = ([*own[0], *anyone[0]], [*own[1], *anyone[1]])
        return found

    def select(self, facts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """``facts`` without the turn facts no rule that can fire here could use (order kept)."""
        tests = self._tests
        flags = self._flagset
        passes: list[list[int] | None] = []  # per fact: the tests it passes (None: not a turn fact)
        seen: set[int] = set()
        for f in facts:
            if f.get("type") != "turn":
                passes.append(None)
                continue
            plain, flagged = self._by_speaker(f.get("sp"))
            passed = [k for k in plain if tests[k](f)]
            carried = flags.intersection(f)  # the signal flags this turn carries (most carry none)
            if carried:
                passed += [k for k, need in flagged if not need.isdisjoint(carried) and tests[k](f)]
            passes.append(passed)
            seen.update(passed)
        live = self._live(frozenset(seen))
        return [f for f, passed in zip(facts, passes) if passed is None or not live.isdisjoint(passed)]

    def wanted(self, facts: Iterable[dict[str, Any]]) -> list[int]:
        """The turn numbers ``select`` keeps (for tests and debugging)."""
        return [f["t"] for f in self.select(list(facts)) if f.get("type") == "turn"]
