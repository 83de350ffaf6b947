"""Rule kind ``forbid``: a signal must never occur for a speaker (optionally inside a window).

Each matching turn (each matching line of a document) is one finding.

Failing example (policy ``no-deflection``, ``signal: deflection``, ``speaker: agent``)::

    Client: Ma facture est fausse.
    Conseiller: Ah ça, c'est le service comptabilité, pas nous.    <- finding, turn 2

Passing example::

    Client: Ma facture est fausse.
    Conseiller: Je corrige la facture tout de suite et je vous l'envoie.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicecheck.rule_types.base import (
    Action,
    CompiledRule,
    Event,
    FindingMaker,
    Outcome,
    signal_names,
    turn_condition,
    window_terms,
    windowed_clause_schema,
)

if TYPE_CHECKING:
    from servicecheck.model import Conversation
    from servicecheck.policy.loader import Policy

NAME = "forbid"
SCHEMA: dict[str, Any] = windowed_clause_schema(NAME)
signals = signal_names  # the signals the rule reads: its one clause's


def compile(policy: Policy) -> dict[str, CompiledRule]:
    """One rule: a turn by the speaker carrying the signal, inside the window."""
    rule = policy.rule
    cond = turn_condition(policy.speaker_for(rule), signal_names(rule), *window_terms(rule.get("within")))
    return {"hit": CompiledRule({"all": [{"m": cond}]}, Action(policy.id, [["emit", "violation"]]))}


def outcome(policy: Policy, events: list[Event], conversation: Conversation, make: FindingMaker) -> Outcome:
    """One finding per offending turn."""
    if not events:  # most conversations: nothing fired
        return Outcome([], "pass")
    turns = sorted({e.fact("m")["t"] for e in events if e.event == "violation"})
    findings = [make(policy, conversation, t, {"turn": t}, signals=signal_names(policy.rule)) for t in turns]
    return Outcome(findings, "fail" if findings else "pass")
