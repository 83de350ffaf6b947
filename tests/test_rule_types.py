"""Rule kinds, compiled and run in the real engine, on data-driven cases (signals given per turn)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from servicecheck.compiler import compile_target
from servicecheck.engine import Session
from servicecheck.facts import conversation_facts
from servicecheck.model import Conversation, Finding, Location, Severity, Turn
from servicecheck.policy.loader import Policy, PolicySet
from servicecheck.policy.schema import rule_schema
from servicecheck.rule_types import REGISTRY

CASES = Path(__file__).parent / "rule_types" / "cases"
CUSTOMER_SIGNALS = {"incivility", "complaint"}


def load_cases() -> list[Any]:
    out = []
    for file in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(file.read_text(encoding="utf-8")):
            out.append(pytest.param(file.stem, case, id=f"{file.stem}: {case['name']}"))
    return out


def make_policy(rule: dict[str, Any]) -> Policy:
    names = set(REGISTRY[rule["kind"]].signals(rule))
    speakers = {n: ("customer" if n in CUSTOMER_SIGNALS else "agent") for n in names}
    return Policy(id="cases.p", pack="cases", title="t", severity=Severity.ERROR, rule=rule,
                  message="m {turn}", path="cases.yaml", signal_speakers=speakers)


def make_conversation(rows: list[list[Any]]) -> tuple[Conversation, list[list[str]]]:
    turns, signals = [], []
    for i, row in enumerate(rows, 1):
        speaker, sigs = row[0], row[1]
        start, end = (row[2], row[3]) if len(row) > 2 else (None, None)
        turns.append(Turn(i, speaker, f"turn {i}", start, end, ((0, i, 1),)))
        signals.append(sigs)
    return Conversation("case", tuple(turns), Location("case.txt", 1)), signals


def maker(policy, conversation, turn, context=None, **extra):  # noqa: ANN001, ANN003, ANN201
    keep = {k: v for k, v in extra.items() if k in ("window", "related", "detail")}
    return Finding(policy.id, policy.severity, policy.message, turn=turn, **keep)


def run_case(rule: dict[str, Any], rows: list[list[Any]]):  # noqa: ANN201
    policy = make_policy(rule)
    ruleset = compile_target(PolicySet([], [policy], {}, {}, {}), "transcript")
    conversation, signals = make_conversation(rows)
    events = Session(ruleset).run(conversation_facts(conversation, signals))
    return REGISTRY[rule["kind"]].outcome(policy, [e for e in events if e.policy == policy.id], conversation, maker)


@pytest.mark.parametrize(("kind", "case"), load_cases())
def test_case(kind: str, case: dict[str, Any]) -> None:
    from jsonschema import Draft202012Validator

    assert case["rule"]["kind"] == kind
    Draft202012Validator(rule_schema(kind)).validate(case["rule"])
    out = run_case(case["rule"], case["turns"])
    expect = case["expect"]
    assert out.status == expect["status"]
    assert [f.turn for f in out.findings] == expect["turns"]
    if "window" in expect:
        assert list(out.findings[0].window) == expect["window"]
    if "related" in expect:
        assert list(out.findings[0].related) == expect["related"]
    for key in ("missing", "out_of_order"):
        if key in expect:
            assert out.findings[0].detail[key] == expect[key]
    if "credit" in expect:
        assert out.detail["credit"] == expect["credit"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_kind_is_documented_and_has_failing_cases(name: str) -> None:
    module = REGISTRY[name]
    assert module.__doc__ and "Failing example" in module.__doc__ and "Passing example" in module.__doc__
    cases = yaml.safe_load((CASES / f"{name}.yaml").read_text(encoding="utf-8"))
    statuses = {c["expect"]["status"] for c in cases}
    assert {"pass", "fail"} <= statuses


def test_adding_unrelated_turns_never_removes_a_forbid_finding() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    rule = {"kind": "forbid", "signal": "deflection", "speaker": "agent"}
    row = st.tuples(st.sampled_from(["agent", "customer"]), st.sampled_from([[], ["thank"], ["solve"]]))

    @settings(max_examples=30, deadline=None)
    @given(st.lists(row, max_size=6))
    def prop(extra: list[tuple[str, list[str]]]) -> None:
        base = [["customer", []], ["agent", ["deflection"]]]
        before = {f.turn for f in run_case(rule, base).findings}
        after = {f.turn for f in run_case(rule, base + [list(r) for r in extra]).findings}
        assert before <= after

    prop()
