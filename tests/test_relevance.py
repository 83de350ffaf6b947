"""Sending the engine only the turns a rule can use changes no result (servicecheck.relevance)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicecheck import api, engine
from servicecheck.compiler import compile_target
from servicecheck.engine import Session
from servicecheck.facts import conversation_facts
from servicecheck.model import Conversation, Location, Severity, Turn
from servicecheck.policy.loader import Policy, PolicySet, load_policies
from servicecheck.relevance import TurnFilter, may_match
from servicecheck.rule_types import REGISTRY

CASES = Path(__file__).parent / "rule_types" / "cases"
DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"
CUSTOMER_SIGNALS = {"incivility", "complaint"}
AGENT_SIGNALS = ["apology", "empathy", "thank", "solve", "refusal", "justification", "deflection"]


def case_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for file in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(file.read_text(encoding="utf-8")):
            if case["rule"] not in rules:
                rules.append(case["rule"])
    return rules


def policy_of(i: int, rule: dict[str, Any]) -> Policy:
    names = set(REGISTRY[rule["kind"]].signals(rule))
    speakers = {n: ("customer" if n in CUSTOMER_SIGNALS else "agent") for n in names}
    return Policy(id=f"cases.p{i}", pack="cases", title="t", severity=Severity.ERROR, rule=rule,
                  message="m", path="cases.yaml", signal_speakers=speakers)


# Every rule of every rule-kind case file in one ruleset: windows, joins, counts, absences.
RULESET = compile_target(PolicySet([], [policy_of(i, r) for i, r in enumerate(case_rules())], {}, {}, {}),
                         "transcript")


def events_of(facts: list[dict[str, Any]], prune: bool, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    with monkeypatch.context() as m:
        m.setattr(Session, "prune", prune)
        events = Session(RULESET).run([dict(f) for f in facts])
    # Two sessions have different sids: compare everything else.
    return sorted(json.dumps([e.policy, e.event, _without_sid(e.facts)], sort_keys=True) for e in events)


def _without_sid(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_sid(v) for k, v in value.items() if k != "sid"}
    if isinstance(value, list):
        return [_without_sid(v) for v in value]
    return value


turn_rows = st.lists(
    st.tuples(
        st.sampled_from(["agent", "customer"]),
        st.sets(st.sampled_from(AGENT_SIGNALS + sorted(CUSTOMER_SIGNALS)), max_size=3),
        st.integers(0, 4000),
        st.integers(0, 3000),
    ),
    min_size=0,
    max_size=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=turn_rows, timed=st.booleans())
def test_pruned_and_full_runs_fire_the_same(rows: list[tuple[str, set[str], int, int]], timed: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    turns, signals, clock = [], [], 0
    for i, (speaker, sigs, gap, length) in enumerate(rows, 1):
        start = max(clock - 1500, 0) + gap if timed else None  # overlaps happen: interruptions
        end = start + length if start is not None else None
        clock = end or 0
        turns.append(Turn(i, speaker, f"turn {i}", start, end))
        own = CUSTOMER_SIGNALS if speaker == "customer" else set(AGENT_SIGNALS)
        signals.append(sorted(s for s in sigs if s in own))
    conversation = Conversation("h", tuple(turns), Location("h.jsonl", 1))
    facts = conversation_facts(conversation, signals)
    assert events_of(facts, True, monkeypatch) == events_of(facts, False, monkeypatch)


def test_turns_without_a_signal_are_not_sent() -> None:
    conversation = Conversation("c", tuple(Turn(i, sp, "x") for i, sp in enumerate(
        ["customer", "agent", "customer", "agent"], 1)), Location("c", 1))
    facts = conversation_facts(conversation, [[], ["thank"], [], []])
    kept = TurnFilter(RULESET.rules, RULESET.actions).wanted(facts)
    assert 2 in kept and 1 not in kept and 3 not in kept
    assert facts[-1]["type"] == "end"
    assert TurnFilter(RULESET.rules, RULESET.actions).select(facts)[-1] is facts[-1]  # the end fact always


def test_latency_sends_the_responders_turns_only_when_something_triggered() -> None:
    rule = {"kind": "limit", "metric": "latency", "speaker": "agent",
            "after": {"speaker": "customer", "signal": "complaint"}, "max-seconds": 10}
    ruleset = compile_target(PolicySet([], [policy_of(0, rule)], {}, {}, {}), "transcript")
    flt = TurnFilter(ruleset.rules, ruleset.actions)
    turns = tuple(Turn(i, sp, "x", i * 1000, i * 1000 + 500) for i, sp in enumerate(["customer", "agent", "agent"], 1))
    conversation = Conversation("c", turns, Location("c", 1))
    assert flt.wanted(conversation_facts(conversation, [[], [], []])) == []
    assert flt.wanted(conversation_facts(conversation, [["complaint"], [], []])) == [1, 2, 3]


@pytest.mark.parametrize(
    ("cond", "fact", "expected"),
    [
        ({"$and": [{"type": "turn"}, {"sp": "agent"}]}, {"type": "turn", "sp": "agent"}, True),
        ({"$and": [{"type": "turn"}, {"sp": "agent"}]}, {"type": "turn", "sp": "customer"}, False),
        ({"s_thank": True}, {"type": "turn"}, False),  # a missing flag is not true
        ({"$gt": {"ov": 1000}}, {"ov": 999}, False),
        ({"$gt": {"ov": 1000}}, {"ov": 1001}, True),
        ({"$gt": {"ov": 1000}}, {}, True),  # a missing field in a range test: may match
        ({"$gt": {"t": {"pend": "t"}}}, {"t": 1}, True),  # a reference: may match
        ({"$or": [{"s_a": True}, {"s_b": True}]}, {"s_b": True}, True),
        ({"$or": [{"s_a": True}, {"s_b": True}]}, {"s_c": True}, False),
        ({"$neq": {"sp": "agent"}}, {"sp": "agent"}, False),
        ({"$ex": {"ms": 1}}, {"ms": 0}, True),
        ({"$nex": {"ms": 1}}, {"ms": 0}, False),
        ({"$mystery": {"x": 1}}, {}, True),  # an operator not modelled: may match
        ({"timed": 1}, {"timed": "1"}, True),  # text against a number: not modelled, may match
    ],
)
def test_may_match_over_approximates(cond: dict[str, Any], fact: dict[str, Any], expected: bool) -> None:
    assert may_match(cond, fact) is expected


@pytest.fixture(scope="module")
def default_pack() -> PolicySet:
    return load_policies()  # a default pack that does not load is a failure here, never a skip


@pytest.mark.skipif(not DEVSET.is_dir(), reason="../shared/devset is absent")
def test_default_pack_reports_on_the_devset_are_identical(default_pack: PolicySet,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [str(DEVSET / "synthetic_conversations.jsonl"), str(DEVSET / "hvb_calls_en.jsonl")]

    def report(prune: bool) -> str:
        from servicecheck.formatters.json import report_dict

        monkeypatch.setattr(Session, "prune", prune)
        rep = api.collect(api.audit(paths, default_pack, auditor=api.Auditor(default_pack)), default_pack)
        data = report_dict(rep)
        data.pop("tool", None)
        return json.dumps(data, sort_keys=True, default=str)

    pruned, full = report(True), report(False)
    assert '"findings"' in pruned and pruned == full
    assert engine.Session.prune is False  # monkeypatched; restored after the test
