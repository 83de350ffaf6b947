"""The durable-rules adapter: its workarounds for the engine's traps, pinned by tests."""

from __future__ import annotations

import copy
import itertools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicecheck.compiler import CompiledRuleset
from servicecheck.engine import Session
from servicecheck.errors import EngineError
from servicecheck.rule_types.base import Action


def ruleset(name: str, rules: dict, actions: dict) -> CompiledRuleset:
    rules = dict(rules, done={"all": [{"m": {"type": "end"}}], "pri": 1000})
    actions = dict(actions, done=Action("", []))
    return CompiledRuleset(name, "transcript", rules, actions, ())


def plain(events: list) -> list:
    """Firings without the session id (the engine's own, different from run to run)."""
    def strip(fact: dict) -> dict:
        return {k: v for k, v in fact.items() if k != "sid"}
    return [(e.policy, e.event, [strip(x) for x in e.facts] if isinstance(e.facts, list)
             else {k: strip(v) for k, v in e.facts.items()}) for e in events]


def test_more_conversations_than_the_live_session_limit() -> None:
    # A ruleset holds at most 1,024 live sessions: each run must delete its own.
    rs = ruleset("t_many", {"hit": {"all": [{"m": {"$and": [{"type": "turn"}, {"x": 1}]}}]}},
                 {"hit": Action("p", [["emit", "violation"]])})
    session = Session(rs)
    fired = 0
    for i in range(1500):
        facts = [{"type": "turn", "t": 1, "x": i % 2}, {"type": "end", "t": 2}]
        fired += len(session.run(facts))
    assert fired == 750


def test_sessions_where_no_rule_fires_are_deleted_without_crashing() -> None:
    # Deleting a session in which no action ever ran segfaults durable-rules; the
    # adapter always asserts an end fact that a catch-all rule fires on. Run in a
    # child process so that a regression shows as a crash, not a dead test runner.
    code = (
        "from servicecheck.compiler import CompiledRuleset\n"
        "from servicecheck.engine import Session\n"
        "from servicecheck.rule_types.base import Action\n"
        "rules = {'hit': {'all': [{'m': {'$and': [{'type': 'turn'}, {'x': 99}]}}]},"
        " 'done': {'all': [{'m': {'type': 'end'}}], 'pri': 1000}}\n"
        "acts = {'hit': Action('p', [['emit', 'v']]), 'done': Action('', [])}\n"
        "s = Session(CompiledRuleset('t_quiet', 'transcript', rules, acts, ()))\n"
        "n = sum(len(s.run([{'type': 'turn', 't': 1, 'x': 0}])) for _ in range(300))\n"
        "print(n)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"


def test_errors_inside_actions_are_raised_not_swallowed() -> None:
    rs = ruleset("t_err", {"hit": {"all": [{"m": {"type": "turn"}}]}},
                 {"hit": Action("p", [["retract", "nosuchpattern"]])})
    with pytest.raises(EngineError, match="KeyError"):
        Session(rs).run([{"type": "turn", "t": 1}, {"type": "end", "t": 2}])
    # ... and the session was cleaned up: the next run works.
    ok = ruleset("t_err2", {"hit": {"all": [{"m": {"type": "turn"}}]}}, {"hit": Action("p", [["emit", "v"]])})
    assert len(Session(ok).run([{"type": "turn", "t": 1}])) == 1


def test_the_compiled_definition_is_not_mutated() -> None:
    rules = {"hit": {"all": [{"m": {"type": "turn"}}]}}
    rs = ruleset("t_mut", rules, {"hit": Action("p", [["emit", "v"]])})
    before = copy.deepcopy(rs.rules)
    Session(rs).run([{"type": "turn", "t": 1}])
    assert rs.rules == before
    json.dumps(rs.to_json())  # still plain data


def test_engine_trap_or_must_come_last() -> None:
    # durable-rules 2.0.28 drops the terms after an $or inside an $and. If this test
    # starts failing, the engine changed and rule_types.base.turn_condition can relax.
    def build(order: str) -> CompiledRuleset:
        limit = {"$lte": {"k": {"pend": "dl"}}}
        either = {"$or": [{"a": True}, {"b": True}]}
        terms = [{"type": "turn"}, limit, either] if order == "last" else [{"type": "turn"}, either, limit]
        return ruleset(f"t_or_{order}", {"r": {"all": [{"pend": {"type": "pending"}}, {"resp": {"$and": terms}}]}},
                       {"r": Action("p", [["emit", "answered"]])})

    facts = [{"type": "pending", "dl": 2}, {"type": "turn", "t": 1, "k": 5, "a": True}, {"type": "end", "t": 2}]
    assert Session(build("last")).run(facts) == []  # k=5 > dl=2: correctly no match
    assert len(Session(build("mid")).run(facts)) == 1  # the trap: the limit was ignored


def test_memo_gives_the_firings_of_a_fresh_engine_run() -> None:
    """Equal fact lists share one engine run (Session.memo); the firings are those of a run without it."""
    from servicecheck import api, engine
    from servicecheck.facts import conversation_facts
    from servicecheck.inputs import read_transcripts
    from servicecheck.policy.loader import load_policies

    devset = Path(__file__).resolve().parents[2] / "shared" / "devset"
    files = [p for p in (devset / "synthetic_conversations.jsonl", devset / "hvb_calls_en.jsonl") if p.is_file()]
    if not files:
        pytest.skip("no dev set beside the checkout")
    auditor = api.Auditor(load_policies([], include_default=True))
    ruleset = auditor._rulesets["transcript"]
    facts = []
    for path in files:
        for conv in read_transcripts(str(path)):
            hits = auditor.hits(conv, auditor.language_of(conv), auditor._used)
            facts.append(conversation_facts(conv, [list(h) for h in hits]))
    memo, fresh = engine.Session(ruleset), engine.Session(ruleset)
    fresh.memo = False
    for f in facts + facts:  # the second pass is answered from the memo
        assert plain(memo.run(f)) == plain(fresh.run(f))
    assert 0 < sum(len(part._memo) for part in memo._parts) < len(facts)


def test_the_lean_engine_calls_give_the_firings_of_durables_host() -> None:
    """Session.lean (the engine's C calls straight) fires as durable's Host does, on the dev set and the real corpus."""
    from servicecheck import api, engine
    from servicecheck.facts import conversation_facts
    from servicecheck.inputs import read_transcripts
    from servicecheck.policy.loader import load_policies

    root = Path(__file__).resolve().parents[1]
    devset = root.parent / "shared" / "devset"
    files = [p for p in (devset / "synthetic_conversations.jsonl", devset / "hvb_calls_en.jsonl") if p.is_file()]
    files += sorted(p for p in (root / "corpus").glob("*/*.jsonl") if not p.name.endswith(".labels.jsonl"))[:4]
    auditor = api.Auditor(load_policies([], include_default=True))
    ruleset = auditor._rulesets["transcript"]
    lean, host = engine.Session(ruleset), engine.Session(ruleset)
    lean.memo = host.memo = False
    host.lean = False

    runs = fired = 0
    for path in files:
        for conv in itertools.islice(read_transcripts(str(path)), 300):
            if not hasattr(conv, "turns"):
                continue
            hits = auditor.hits(conv, auditor.language_of(conv), auditor._used)
            facts = conversation_facts(conv, [list(h) for h in hits])
            got = plain(lean.run(facts))
            assert got == plain(host.run(facts))
            runs += 1
            fired += len(got)
    assert runs > 300 and fired > runs  # many conversations, and most of them fire rules


def test_the_lean_engine_calls_run_count_rules_and_report_action_errors() -> None:
    count = ruleset("t_lean_count", {"over": {"count": 2, "all": [{"m": {"$and": [{"type": "hit"}, {"p": "x"}]}}]}},
                    {"over": Action("p", [["emit", "over"]])})
    facts = [{"type": "hit", "p": "x", "t": t} for t in (1, 2, 3, 4)] + [{"type": "end", "t": 5}]
    lean, host = Session(count), Session(count)
    host.lean = lean.memo = host.memo = False
    got = [(e.event, [f["t"] for f in e.facts]) for e in lean.run(facts)]
    assert got == [(e.event, [f["t"] for f in e.facts]) for e in host.run(facts)]
    assert [(event, sorted(ts)) for event, ts in got] == [("over", [1, 2]), ("over", [3, 4])]
    broken = ruleset("t_lean_err", {"hit": {"all": [{"m": {"type": "turn"}}]}},
                     {"hit": Action("p", [["retract", "nope"]])})
    with pytest.raises(EngineError, match="KeyError"):
        Session(broken).run([{"type": "turn", "t": 1}, {"type": "end", "t": 2}])


def test_memo_keys_tell_true_from_one_and_take_list_values() -> None:
    """The memo's marshal keys: ``True`` and ``1`` (equal as tuples) get entries of their own, and a list
    value (unhashable) is memoised too; every answer is a fresh run's."""
    rs = ruleset("t_memo_keys", {"hit": {"all": [{"m": {"$and": [{"type": "turn"}, {"a": 1}]}}]}},
                 {"hit": Action("p", [["emit", "violation"]])})
    memo, fresh = Session(rs), Session(rs)
    fresh.memo = False
    lists = ([{"type": "turn", "t": 1, "a": True}], [{"type": "turn", "t": 1, "a": 1}],
             [{"type": "turn", "t": 1, "a": 1, "xs": [1, 2]}])
    def plain(events: list) -> list:
        return [(e.policy, e.event, {k: {f: v for f, v in x.items() if f != "sid"} for k, x in e.facts.items()})
                for e in events]
    for facts in lists + lists:  # the second pass is answered from the memo
        assert plain(memo.run([dict(f) for f in facts])) == plain(fresh.run([dict(f) for f in facts]))
    assert len(memo._parts[0]._memo) == 3


# durable-rules 2.0.28 reads past the end of a pattern's join terms when the last of them is
# false (jruizgit/rules#381; compiler.guard_joins). A pending fact and turns before, inside and
# after its window: each join term of the answer pattern is false for one of them.
_WINDOW = [{"type": "turn", "t": 2, "sp": "agent", "k": 1}, {"type": "turn", "t": 5, "sp": "agent", "k": 4},
           {"type": "turn", "t": 7, "sp": "customer", "k": 4}]


def _answer_rule(guarded: bool) -> dict:
    from servicecheck.compiler import guard_joins

    resp = {"$and": [{"type": "turn"}, {"sp": "agent"}, {"$gt": {"t": {"pend": "t"}}}, {"$lte": {"k": {"pend": "dl"}}}]}
    rule = {"all": [{"pend": {"type": "pending"}}, {"resp": resp}]}
    return guard_joins(rule) if guarded else rule


@pytest.mark.parametrize(
    ("cond", "guarded"),
    [
        ({"$and": [{"type": "turn"}, {"$gt": {"t": {"p": "t"}}}]}, True),  # a join term last
        ({"$and": [{"type": "turn"}, {"t": {"p": "t"}}, {"a": True}]}, True),  # an equality join, a plain term last
        ({"$and": [{"type": "turn"}, {"$gt": {"t": {"p": "t"}}}, {"$or": [{"a": True}, {"b": True}]}]}, False),
        ({"$and": [{"type": "turn"}, {"$gt": {"t": 3}}]}, False),  # no join: no sequence to overrun
        ({"$and": [{"$gt": {"t": {"p": "t"}}}, {"$lte": {"t": {"p": "dl"}}}]}, False),  # no plain term to repeat
        ({"type": "turn"}, False),
    ],
)
def test_guard_joins_ends_each_joining_pattern_with_an_or(cond: dict, guarded: bool) -> None:
    from servicecheck.compiler import guard_joins

    rule = {"all": [{"p": {"type": "pending"}}, {"m": cond}]}
    got = guard_joins(copy.deepcopy(rule))
    if guarded:
        assert got["all"][1]["m"] == {"$and": [*cond["$and"], {"$or": [{"type": "turn"}]}]}
        assert got["all"][0] == rule["all"][0]
    else:
        assert got == rule


def test_every_joining_pattern_of_the_default_pack_is_guarded() -> None:
    from servicecheck.api import load_policies
    from servicecheck.compiler import _joins, compile_policies

    checked = 0
    for rs in compile_policies(load_policies()).values():
        for rule in rs.rules.values():
            for pattern in rule.get("all", []):
                for cond in pattern.values():
                    terms = cond.get("$and", []) if isinstance(cond, dict) else []
                    if any(_joins(t) for t in terms):
                        checked += 1
                        assert "$or" in terms[-1], cond
    assert checked >= 5  # the respond, sequence and limit rules of the pack join on their pending facts


@pytest.mark.parametrize("pending", [{"type": "pending", "t": 1, "dl": 3}, {"type": "pending", "t": 1, "dl": 0},
                                     {"type": "pending", "t": 6, "dl": 9}])
def test_a_guarded_join_fires_as_the_unguarded_one(pending: dict) -> None:
    facts = [pending, *_WINDOW, {"type": "end", "t": 9}]
    runs = []
    for guarded in (False, True):
        rs = ruleset(f"t_guard_{guarded}_{pending['t']}_{pending['dl']}", {"r": _answer_rule(guarded)},
                     {"r": Action("p", [["emit", "answered"]])})
        runs.append([(e.event, e.facts["resp"]["t"]) for e in Session(rs).run(facts)])
    assert runs[0] == runs[1]


_VALGRIND_CHILD = """
import json, sys
from durable import engine
class Host(engine.Host):
    def _run(self):
        return None
host = Host()
rule = json.loads(sys.argv[1])
rule["run"] = lambda c: None
host.set_rulesets({"r": {"r": rule, "done": {"all": [{"e": {"type": "end"}}], "run": lambda c: None}}})
for k, pending in enumerate(json.loads(sys.argv[2])):
    for fact in [pending, *json.loads(sys.argv[3]), {"type": "end", "t": 9}]:
        try:
            host.assert_fact("r", dict(fact, sid=str(k)))
        except engine.MessageNotHandledException:
            pass
    host.delete_state("r", str(k))
"""


@pytest.mark.skipif(not shutil.which("valgrind"), reason="valgrind is not installed")
def test_the_guard_stops_the_engines_out_of_bounds_reads() -> None:
    """Under valgrind, the unguarded pattern makes the engine's join code read memory it does not own; the guarded one does not."""
    pendings = json.dumps([{"type": "pending", "t": 1, "dl": 3}, {"type": "pending", "t": 6, "dl": 9}])
    errors = {}
    for guarded in (False, True):
        run = subprocess.run(
            ["valgrind", "--error-limit=no", sys.executable, "-c", _VALGRIND_CHILD,
             json.dumps(_answer_rule(guarded)), pendings, json.dumps(_WINDOW)],
            capture_output=True, text=True, timeout=300, check=False, env={**os.environ, "PYTHONMALLOC": "malloc"})
        assert run.returncode == 0, run.stderr[-2000:]
        errors[guarded] = run.stderr.count("reduceExpressionSequence")
    assert errors[False] > 0  # the engine bug is there to be guarded against (else this test proves nothing)
    assert errors[True] == 0


def _pack_sessions() -> tuple[Session, Session, list[str]]:
    from servicecheck import api
    from servicecheck.policy.loader import load_policies

    auditor = api.Auditor(load_policies([], include_default=True))
    ruleset = auditor._rulesets["transcript"]
    lean, host = Session(ruleset), Session(ruleset)
    lean.memo = host.memo = False
    host.lean = False
    return lean, host, sorted(auditor._used)


_PACK: list = []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(turns=st.lists(st.tuples(st.sampled_from(["agent", "customer", "customer", "system"]),
                                st.sets(st.integers(0, 40), max_size=3), st.integers(0, 90_000)),
                      min_size=0, max_size=14),
       timed=st.booleans())
def test_lean_and_host_fire_alike_on_any_conversation(turns: list, timed: bool) -> None:
    """The default pack's rules, any speakers, signals and times: the lean calls fire as durable's Host."""
    from servicecheck.facts import conversation_facts
    from servicecheck.model import Conversation, Location, Turn

    if not _PACK:
        _PACK.extend(_pack_sessions())
    lean, host, names = _PACK
    clock, made, signals = 0, [], []
    for number, (speaker, picks, gap) in enumerate(turns, 1):
        clock += gap
        made.append(Turn(number, speaker, "x", clock if timed else None, clock + 1500 if timed else None))
        signals.append([names[i % len(names)] for i in sorted(picks)])
    conversation = Conversation("c", tuple(made), Location("t.jsonl", 1))
    facts = conversation_facts(conversation, signals)

    assert plain(lean.run([dict(f) for f in facts])) == plain(host.run([dict(f) for f in facts]))
