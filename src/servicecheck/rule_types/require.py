"""Rule kind ``require``: a signal must occur at least once for a speaker, optionally inside a window.

The finding points at the conversation, with the window searched and the closest
near-miss (a turn where the signal almost matched, e.g. an exception cancelled it).
The policy is ``n/a`` when the speaker never speaks.

Failing example (policy ``always-thank``, ``signal: thank``, ``speaker: agent``)::

    Customer: Where is my parcel?
    Agent: It ships tomorrow.                       <- finding: no thanks in turns 1-2

Passing example::

    Customer: Where is my parcel?
    Agent: Thanks for your patience, it ships tomorrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicecheck.rule_types.base import (
    Action,
    CompiledRule,
    Event,
    FindingMaker,
    Outcome,
    count_field,
    signal_names,
    turn_condition,
    window_terms,
    windowed_clause_schema,
)

if TYPE_CHECKING:
    from servicecheck.model import Conversation
    from servicecheck.policy.loader import Policy

NAME = "require"
SCHEMA: dict[str, Any] = windowed_clause_schema(NAME)
signals = signal_names  # the signals the rule reads: its one clause's


def compile(policy: Policy) -> dict[str, CompiledRule]:
    """At the end: absence of a matching turn is the violation; no turn by the speaker is n/a."""
    rule = policy.rule
    speaker = policy.speaker_for(rule)
    present = turn_condition(speaker, signal_names(rule), *window_terms(rule.get("within")))
    spoke = count_field(speaker)
    return {
        "missing": CompiledRule(
            {"all": [{"end": {"$and": [{"type": "end"}, {"$gt": {spoke: 0}}]}}, {"x$not": present}]},
            Action(policy.id, [["emit", "violation"]]),
        ),
        "silent": CompiledRule(
            {"all": [{"end": {"$and": [{"type": "end"}, {spoke: 0}]}}]},
            Action(policy.id, [["emit", "n/a"]]),
        ),
    }


def window_of(rule: dict[str, Any], conversation: Conversation) -> tuple[int, int]:
    """First and last turn the rule searched (for the finding)."""
    n = len(conversation.turns)
    within = rule.get("within") or {}
    first, last = 1, n
    if "first-turns" in within:
        last = min(n, within["first-turns"])
    if "last-turns" in within:
        first = max(1, n - within["last-turns"] + 1)
    return first, last


def outcome(policy: Policy, events: list[Event], conversation: Conversation, make: FindingMaker) -> Outcome:
    """A conversation-level finding when the signal is absent."""
    kinds = {e.event for e in events}
    if "n/a" in kinds:
        return Outcome([], "n/a")
    if "violation" not in kinds:
        return Outcome([], "pass")
    first, last = window_of(policy.rule, conversation)
    finding = make(
        policy,
        conversation,
        None,
        {"window_turns": (first, last), "first": first, "last": last},
        window=(first, last),
        near_miss_signals=signal_names(policy.rule),
    )
    return Outcome([finding], "fail")
