"""The only module that imports durable-rules: facts in, rule firings out.

Facts about ENGINE.md that shape this adapter:
- one ``Host`` per process (its timer threads never stop), with the timer loop disabled;
- a per-process counter as ``sid`` (conversation ids may collide in the engine's 32-bit hash);
- turns are asserted as facts (facts are not consumed, so every policy sees every turn);
- the ruleset definition is deep-copied (the engine deletes ``run``);
- errors raised inside actions are swallowed by the engine: ours are recorded and re-raised;
- a session is deleted only after its ``end`` fact made the catch-all rule fire,
  because deleting a session in which no rule fired crashes the interpreter.

Facts are asserted through the engine's C calls (``durable_rules_engine``) in the order
durable's ``Host`` makes them, without its Python layer (``Session.lean``).
"""

from __future__ import annotations

import copy
import itertools
import json
import marshal
import threading
from collections.abc import Callable, Iterable
from typing import Any

import durable_rules_engine as _c  # the engine's C core (durable.engine wraps it)
from durable import engine as _durable

from servicecheck.compiler import DONE_RULE, CompiledRuleset, partition
from servicecheck.errors import EngineError
from servicecheck.relevance import TurnFilter
from servicecheck.rule_types.base import NEVER, Action, Event


class _QuietHost(_durable.Host):
    """A host without the background timer loop; actions still run synchronously."""

    def _run(self) -> None:  # pragma: no cover - replaces a thread body
        return None


_host: _QuietHost | None = None
_lock = threading.Lock()
_sids = itertools.count(1)


def _get_host() -> _QuietHost:
    global _host
    if _host is None:
        _host = _QuietHost()
    return _host


def _value(spec: Any, matched: dict[str, Any]) -> Any:
    if isinstance(spec, dict) and "ref" in spec:
        pattern, field = spec["ref"].split(".", 1)
        return matched.get(pattern, {}).get(field)
    if isinstance(spec, dict) and "add" in spec:
        parts = [_value(p, matched) for p in spec["add"]]
        if any(p is None for p in parts):
            return NEVER  # an untimed turn: the deadline cannot be missed
        return sum(parts)
    return spec


class _Recorder:
    """Where one ruleset's actions put their firings and errors."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.errors: list[BaseException] = []


# Per ruleset registered on the host: where its actions record, and each rule's action (by rule name).
_registry: dict[str, tuple[_Recorder, dict[str, Callable[[Any], None]]]] = {}
_dumps = json.JSONEncoder(ensure_ascii=False).encode  # as durable's json.dumps(..., ensure_ascii=False)


class _Call:
    """What an action of ours reads of durable's ``Closure``, made without it (see :meth:`_Part._assert_fact`).

    ``_m``: the matched facts by pattern name; ``m``: a ``count`` rule's matches;
    ``assert_fact`` / ``retract_fact``: as ``Closure``'s, the session id added.
    """

    __slots__ = ("_handle", "_m", "_sid", "m")

    def __init__(self, handle: int, message: Any, sid: str) -> None:
        self._handle = handle
        self._sid = sid
        self._m: dict[str, Any] | None
        if isinstance(message, dict):
            self._m = message
        else:  # a count rule: a list of matches, each {"m": fact} (as Closure unwraps them)
            self._m = None
            self.m = [_Fact(one["m"] if "m" in one and len(one) == 1 else one) for one in message]

    def assert_fact(self, fact: dict[str, Any]) -> None:
        _checked(_c.assert_fact(self._handle, _dumps(dict(fact, sid=self._sid))), fact)

    def retract_fact(self, fact: dict[str, Any]) -> None:
        _checked(_c.retract_fact(self._handle, _dumps(dict(fact, sid=self._sid))), fact)


class _Fact:
    """One match of a ``count`` rule (``_d``, as durable's ``Content``)."""

    __slots__ = ("_d",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._d = data


def _checked(result: Any, fact: dict[str, Any]) -> int:
    """The state handle of an assert or retract, or durable's exception for its result code (as ``Ruleset``)."""
    code = result[0]
    if code == 1:
        raise _durable.MessageNotHandledException(fact)
    if code == 2:
        raise _durable.MessageObservedException(fact)
    return 0 if code == 3 else int(result[1])


def _make_action(recorder: _Recorder, rule_name: str, action: Action) -> Callable[[Any], None]:
    def run(c: Any) -> None:  # a durable Closure; exactly one positional argument, or it turns async
        if rule_name == DONE_RULE:
            return
        try:
            matched = c._m
            if isinstance(matched, dict):
                facts: Any = {k: dict(v) for k, v in matched.items()}
            else:  # a ``count`` rule: a list of matches
                facts = [dict(x._d) for x in c.m]
            for op in action.do:
                if op[0] == "emit":
                    recorder.events.append(Event(action.policy, op[1], facts))
                elif op[0] == "assert":
                    try:
                        c.assert_fact({k: _value(v, facts) for k, v in op[1].items()})
                    except _durable.MessageObservedException:
                        # An ``$or`` fires its rule once per true branch: the second
                        # firing asserts the very same fact, which is already there.
                        pass
                elif op[0] == "retract":
                    c.retract_fact(dict(facts[op[1]]))
        except BaseException as exc:  # noqa: BLE001 - the engine would swallow it: record, re-raise after the assert
            recorder.errors.append(exc)

    return run


class Session:
    """Runs one compiled ruleset over conversations, one fresh engine session each.

    A ruleset too large for one engine ruleset runs as the parts
    :func:`servicecheck.compiler.partition` cuts it into, each conversation through each.
    """

    # Send only the turn facts some rule that can fire could use (servicecheck.relevance):
    # each fact costs the engine ~35 µs and most turns carry nothing a rule reads.
    # The results are the same either way (tests/test_relevance.py); False sends all.
    prune = True
    # The firings are a function of the facts sent (a fresh session each time, no
    # clock): conversations whose pruned facts are equal (a short chat with the same
    # signals on the same turns, an end fact alone) get the firings of the first one
    # instead of a new engine run. The results are the same (tests/test_audit_golden.py);
    # False runs the engine every time.
    # Each entry is kept as marshal bytes (the fact list as key, the firings as value), not
    # as the engine's dicts: about 3 KB an entry instead of about 15 KB, which held a fifth
    # of an audit's peak memory (docs/performance.md, sixteenth round).
    memo = True
    # Facts go to the engine's C calls directly (_Part._assert_fact) rather than through
    # durable's Host; False takes the Host's way. The firings are the same (tests/test_engine.py).
    lean = True
    MEMO_SIZE = 4096  # distinct fact lists kept per part; the table is emptied when full (memory stays flat)

    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.ruleset = ruleset
        self._parts = [_Part(part, self.prune, self) for part in partition(ruleset)]

    def run(self, facts: Iterable[dict[str, Any]]) -> list[Event]:
        """Assert ``facts`` (turn facts, then optionally one ``end``) in a fresh session; return the firings.

        Raises:
            EngineError: if an action raised, or the engine refused a fact.
        """
        if len(self._parts) == 1:
            return self._parts[0].run(facts)
        facts = list(facts)
        return [event for part in self._parts for event in part.run(facts)]


class _Part:
    """One engine ruleset, registered once per process, and its runs."""

    def __init__(self, ruleset: CompiledRuleset, prune: bool, session: Session) -> None:
        self.ruleset = ruleset
        self._filter = TurnFilter(ruleset.rules, ruleset.actions) if prune else None
        self._session = session
        self._memo: dict[bytes, bytes] = {}  # marshal of the fact list -> marshal of its firings
        with _lock:
            if ruleset.name not in _registry:
                recorder = _Recorder()
                definition = copy.deepcopy(ruleset.rules)
                runs = {name: _make_action(recorder, name, ruleset.actions[name]) for name in definition}
                for rule_name, rule in definition.items():
                    rule["run"] = runs[rule_name]
                _get_host().set_rulesets({ruleset.name: definition})
                _registry[ruleset.name] = (recorder, runs)
        self._recorder, self._actions = _registry[ruleset.name]
        self._handle = _get_host().get_ruleset(ruleset.name)._handle

    def run(self, facts: Iterable[dict[str, Any]]) -> list[Event]:
        """The firings of ``facts`` in a fresh session of this ruleset (see :meth:`Session.run`)."""
        facts = self._filter.select(list(facts)) if self._filter is not None else list(facts)
        key: bytes | None = None
        if self._session.memo:
            try:
                # marshal version 2 writes no back-references: equal fact lists give equal
                # bytes, and equal bytes mean equal values of equal types (1 and True differ).
                key = marshal.dumps(tuple(tuple(f.items()) for f in facts), 2)
            except ValueError:  # a value marshal cannot write: no memo for this one
                key = None
            known = self._memo.get(key) if key is not None else None
            if known is not None:
                return [Event(policy, event, matched) for policy, event, matched in marshal.loads(known)]
        events = self._run(facts)
        if key is not None:
            try:
                packed = marshal.dumps(tuple((e.policy, e.event, e.facts) for e in events), 4)  # refs: smaller, faster back
            except ValueError:  # pragma: no cover - the engine's JSON gives only what marshal writes
                return events
            if len(self._memo) >= self._session.MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = packed
        return events

    def _run(self, facts: list[dict[str, Any]]) -> list[Event]:
        host = _get_host()
        rec = self._recorder
        rec.events, rec.errors = [], []
        sid = str(next(_sids))
        name = self.ruleset.name
        ended = False
        failure: BaseException | None = None
        assert_fact = self._assert_fact if self._session.lean else (lambda fact: host.assert_fact(name, fact))
        try:
            for fact in facts:
                if fact.get("type") == "end":
                    ended = True
                try:
                    assert_fact(dict(fact, sid=sid))
                except _durable.MessageNotHandledException:
                    pass
                if rec.errors:
                    break
        except Exception as exc:  # noqa: BLE001 - the engine refused a fact (size, type): report it, still clean up
            failure = exc
        try:
            if not ended:
                assert_fact({"sid": sid, "type": "end", "t": NEVER, "n": 0, "timed": 0})
        except Exception as exc:  # pragma: no cover - the session is leaked rather than crash on delete
            raise EngineError(f"rules engine error in ruleset {name}: {exc}") from exc
        host.delete_state(name, sid)
        problem = failure or (rec.errors[0] if rec.errors else None)
        if problem is not None:
            raise EngineError(f"rules engine error in ruleset {name}: {type(problem).__name__}: {problem}") from problem
        events, rec.events = rec.events, []
        return events

    def _assert_fact(self, fact: dict[str, Any]) -> None:
        """``Host.assert_fact`` for our rulesets, straight on the engine's C calls.

        The same calls in the same order as durable's Python layer (``Ruleset.assert_fact``,
        ``do_actions``, ``_flush_actions``): assert, then for each action the engine
        starts, run it, hand the session state back unchanged and complete it. What that
        layer adds around them, our actions do not use (a ``Closure`` with its clock, a
        ``Promise`` with its timers, the state parsed and written again as JSON each time):
        about half the engine's time (docs/performance.md, twenty-third round).
        """
        handle = self._handle
        state = _checked(_c.assert_fact(handle, _dumps(fact)), fact)
        started = _c.start_action_for_state(handle, state)
        if not started:
            return
        state_json, message = started[0], started[1]
        sid = fact["sid"]
        run = self._actions
        while message:
            for action_name, matched in json.loads(message).items():
                break
            run[action_name](_Call(handle, matched, sid))
            _c.update_state(handle, state_json)
            message = _c.complete_and_start_action(handle, state)
