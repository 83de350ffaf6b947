"""Rule kind ``respond``: after a trigger, a response must follow within a window.

``when`` is the trigger (speaker + signal), ``expect`` the response (speaker + any
of signals); ``within`` bounds the wait in the responder's turns (``turns``, or
``agent-turns`` / ``customer-turns``) and/or ``seconds``; ``same-turn: true`` lets
the trigger turn itself answer. Each unanswered trigger is one finding, pointing at
the trigger turn with the window searched. ``n/a`` when nothing triggers.

How it runs in the engine: the trigger asserts a ``pending`` fact with its deadline;
a response inside the window retracts it; the end of the conversation joined with a
still-pending fact is the violation (positive joins only, see ENGINE.md).

Failing example (``incivility-never-ignored``)::

    Client: Vous êtes des incapables !                 <- finding, turn 1
    Conseiller: Votre numéro de commande ?

Passing example::

    Client: Vous êtes des incapables !
    Conseiller: Je comprends votre colère, je m'en occupe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicecheck.rule_types.base import (
    NEVER,
    Action,
    CompiledRule,
    Event,
    FindingMaker,
    Outcome,
    clause_schema,
    count_field,
    signal_names,
    turn_condition,
)

if TYPE_CHECKING:
    from servicecheck.model import Conversation
    from servicecheck.policy.loader import Policy

NAME = "respond"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "when", "expect"],
    "properties": {
        "kind": {"const": NAME},
        "when": clause_schema(),
        "expect": clause_schema(),
        "within": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "turns": {"type": "integer", "minimum": 1},
                "agent-turns": {"type": "integer", "minimum": 1},
                "customer-turns": {"type": "integer", "minimum": 1},
                "seconds": {"type": "number", "exclusiveMinimum": 0},
            },
        },
        "same-turn": {"type": "boolean"},
    },
}


def signals(rule: dict[str, Any]) -> list[str]:
    """Signals the rule reads."""
    return signal_names(rule["when"]) + signal_names(rule["expect"])


def responder_turns(rule: dict[str, Any]) -> int | None:
    """How many of the responder's turns the window spans, if bounded in turns."""
    within = rule.get("within") or {}
    for key in ("turns", "agent-turns", "customer-turns"):
        if key in within:
            return int(within[key])
    return None


def compile(policy: Policy) -> dict[str, CompiledRule]:
    """Trigger asserts ``pending``; a response in the window retracts it; ``end`` + pending is a violation."""
    rule = policy.rule
    when, expect = rule["when"], rule["expect"]
    responder = policy.speaker_for(expect)
    kfield = count_field(responder)
    n = responder_turns(rule)
    seconds = (rule.get("within") or {}).get("seconds")
    pending_fact: dict[str, Any] = {
        "type": "pending",
        "p": policy.id,
        "t": {"ref": "m.t"},
        "dl": {"add": [{"ref": f"m.{kfield}"}, n]} if n is not None else NEVER,
    }
    in_window: list[dict[str, Any]] = [
        {("$gte" if rule.get("same-turn") else "$gt"): {"t": {"pend": "t"}}},
        {"$lte": {kfield: {"pend": "dl"}}},
    ]
    if seconds is not None:
        # The deadline counts from the end of the trigger turn; untimed turns never meet it.
        pending_fact["dms"] = {"add": [{"ref": "m.me"}, int(seconds * 1000)]}
        in_window.append({"$lte": {"ms": {"pend": "dms"}}})
    pending = {"$and": [{"type": "pending"}, {"p": policy.id}]}
    return {
        "trigger": CompiledRule(
            {"all": [{"m": turn_condition(policy.speaker_for(when), signal_names(when))}]},
            Action(policy.id, [["emit", "applies"], ["assert", pending_fact]]),
        ),
        "answer": CompiledRule(
            {"all": [{"pend": pending}, {"resp": turn_condition(responder, signal_names(expect), *in_window)}]},
            Action(policy.id, [["retract", "pend"], ["emit", "answered"]]),
        ),
        "unanswered": CompiledRule(
            {"all": [{"end": {"type": "end"}}, {"pend": pending}]},
            Action(policy.id, [["emit", "violation"]]),
        ),
    }


def outcome(policy: Policy, events: list[Event], conversation: Conversation, make: FindingMaker) -> Outcome:
    """One finding per trigger still pending at the end."""
    if not events or not any(e.event == "applies" for e in events):
        return Outcome([], "n/a")
    rule = policy.rule
    n = responder_turns(rule)
    responder = policy.speaker_for(rule["expect"])
    findings = []
    for t in sorted({e.fact("pend")["t"] for e in events if e.event == "violation"}):
        later = [x.number for x in conversation.turns if x.number > t and x.speaker == responder]
        start = t if rule.get("same-turn") else t + 1
        last = (later[n - 1] if n is not None and len(later) >= n else len(conversation.turns)) if later else t
        findings.append(
            make(
                policy,
                conversation,
                t,
                {"turn": t, "trigger": {"turn": t}, "window_turns": (start, max(start, last))},
                window=(min(start, last), last),
                signals=signal_names(rule["when"]),
            )
        )
    return Outcome(findings, "fail" if findings else "pass")
