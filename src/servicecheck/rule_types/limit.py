"""Rule kind ``limit``: counts and conversation metrics against thresholds.

``metric`` is one of:

- ``signal-count``: turns of ``speaker`` carrying ``signal`` (or ``any-signal``), at most ``max``;
- ``interruptions``: turns of ``speaker`` that start more than ``overlap-ms`` before the
  other party's previous turn ended, at most ``max``;
- ``latency``: after a turn matching ``after`` (speaker + signals), the next turn of
  ``speaker`` must start within ``max-seconds`` of its end;
- ``talk-ratio``: ``speaker``'s share of the talk time, at most ``max-ratio``.

Timed metrics are ``n/a`` when the input has no timing; ``latency`` is also ``n/a``
when nothing triggers. The finding points at the turns involved.

Failing example (``listen-no-interruption``, ``metric: interruptions``, ``max: 1``)::

    [00:00] Customer: My card was blocked and ...   (0-9 s)
    [00:04] Agent: Okay, what is the number?        <- overlaps by 5 s
    [00:10] Customer: ... I was abroad and ...      (10-20 s)
    [00:15] Agent: Right, right.                    <- second interruption: finding

Passing example: the agent speaks only once the customer has finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicecheck.rule_types.base import (
    SIGNAL_NAME_SCHEMA,
    SPEAKER_SCHEMA,
    Action,
    CompiledRule,
    Event,
    FindingMaker,
    Outcome,
    clause_schema,
    signal_names,
    turn_condition,
)

if TYPE_CHECKING:
    from servicecheck.model import Conversation
    from servicecheck.policy.loader import Policy

NAME = "limit"
_BASE = {"kind": {"const": NAME}, "speaker": SPEAKER_SCHEMA}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "metric"],
    "properties": {"kind": {"const": NAME}, "metric": {"enum": ["signal-count", "interruptions", "latency", "talk-ratio"]}},
    "allOf": [
        {
            "if": {"properties": {"metric": {"const": "signal-count"}}},
            "then": {
                "additionalProperties": False,
                "required": ["max"],
                "properties": {**_BASE, "metric": {}, "max": {"type": "integer", "minimum": 0},
                               "signal": SIGNAL_NAME_SCHEMA,
                               "any-signal": {"type": "array", "items": SIGNAL_NAME_SCHEMA, "minItems": 1}},
                "oneOf": [{"required": ["signal"]}, {"required": ["any-signal"]}],
            },
        },
        {
            "if": {"properties": {"metric": {"const": "interruptions"}}},
            "then": {
                "additionalProperties": False,
                "required": ["max"],
                "properties": {**_BASE, "metric": {}, "max": {"type": "integer", "minimum": 0},
                               "overlap-ms": {"type": "integer", "minimum": 0}},
            },
        },
        {
            "if": {"properties": {"metric": {"const": "latency"}}},
            "then": {
                "additionalProperties": False,
                "required": ["after", "max-seconds"],
                "properties": {**_BASE, "metric": {}, "after": clause_schema(),
                               "max-seconds": {"type": "number", "exclusiveMinimum": 0}},
            },
        },
        {
            "if": {"properties": {"metric": {"const": "talk-ratio"}}},
            "then": {
                "additionalProperties": False,
                "required": ["max-ratio"],
                "properties": {**_BASE, "metric": {},
                               "max-ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}},
            },
        },
    ],
}

TIMED = {"interruptions", "latency", "talk-ratio"}


def signals(rule: dict[str, Any]) -> list[str]:
    """Signals the rule reads."""
    if rule["metric"] == "signal-count":
        return signal_names(rule)
    if rule["metric"] == "latency":
        return signal_names(rule["after"])
    return []


def compile(policy: Policy) -> dict[str, CompiledRule]:
    """Hits are counted by the engine (``count``); latency uses a pending fact like ``respond``."""
    rule = policy.rule
    pid = policy.id
    metric = rule["metric"]
    speaker = rule.get("speaker", "agent")
    rules: dict[str, CompiledRule] = {}
    if metric in TIMED:
        rules["untimed"] = CompiledRule({"all": [{"end": {"$and": [{"type": "end"}, {"timed": 0}]}}]},
                                        Action(pid, [["emit", "n/a"]]))
    if metric in ("signal-count", "interruptions"):
        if metric == "signal-count":
            names = signal_names(rule)
            hit = turn_condition(speaker, names)
        else:
            names = []
            hit = turn_condition(speaker, [], {"$gt": {"ov": int(rule.get("overlap-ms", 1000))}})
        over = int(rule["max"]) + 1
        if len(names) > 1:
            # An ``$or`` fires its rule once per true branch, so a turn carrying two of the
            # signals would be counted twice. Each hit asserts one ``hit`` fact per turn
            # (asserting it again is a no-op), and the engine counts those facts: turns.
            rules["hit"] = CompiledRule({"all": [{"m": hit}]}, Action(pid, [
                ["emit", "hit"], ["assert", {"type": "hit", "p": pid, "t": {"ref": "m.t"}}]]))
            rules["over"] = CompiledRule({"count": over, "all": [{"m": {"$and": [{"type": "hit"}, {"p": pid}]}}]},
                                         Action(pid, [["emit", "violation"]]))
        else:
            rules["hit"] = CompiledRule({"all": [{"m": hit}]}, Action(pid, [["emit", "hit"]]))
            rules["over"] = CompiledRule({"count": over, "all": [{"m": hit}]}, Action(pid, [["emit", "violation"]]))
    elif metric == "latency":
        after = rule["after"]
        pending = {"$and": [{"type": "pending"}, {"p": pid}]}
        limit_ms = int(rule["max-seconds"] * 1000)
        rules["trigger"] = CompiledRule(
            {"all": [{"m": turn_condition(policy.speaker_for(after), signal_names(after), {"timed": 1})}]},
            Action(pid, [["emit", "applies"],
                         ["assert", {"type": "pending", "p": pid, "t": {"ref": "m.t"},
                                     "dms": {"add": [{"ref": "m.me"}, limit_ms]}}]]),
        )
        nxt = {"$gt": {"t": {"pend": "t"}}}
        rules["prompt"] = CompiledRule(
            {"all": [{"pend": pending}, {"r": turn_condition(speaker, [], nxt, {"$lte": {"ms": {"pend": "dms"}}})}]},
            Action(pid, [["retract", "pend"], ["emit", "answered"]]),
        )
        rules["late"] = CompiledRule(
            {"all": [{"pend": pending}, {"r": turn_condition(speaker, [], nxt, {"$gt": {"ms": {"pend": "dms"}}})}]},
            Action(pid, [["retract", "pend"], ["emit", "violation"]]),
        )
    else:  # talk-ratio
        ratio = "ratio_" + speaker
        rules["over"] = CompiledRule(
            {"all": [{"end": {"$and": [{"type": "end"}, {"timed": 1}, {"$gt": {ratio: float(rule["max-ratio"])}}]}}]},
            Action(pid, [["emit", "violation"]]),
        )
    return rules


def outcome(policy: Policy, events: list[Event], conversation: Conversation, make: FindingMaker) -> Outcome:
    """Findings for the turns involved; ``n/a`` without timing."""
    rule = policy.rule
    metric = rule["metric"]
    kinds = [e.event for e in events]
    if "n/a" in kinds or (metric in TIMED and not conversation.timed):
        return Outcome([], "n/a")
    if metric == "latency" and "applies" not in kinds:
        return Outcome([], "n/a")
    findings = []
    if metric in ("signal-count", "interruptions"):
        hits = sorted({e.fact("m")["t"] for e in events if e.event == "hit"})
        if "violation" in kinds and len(hits) > int(rule["max"]):
            t = hits[int(rule["max"])]
            findings.append(make(policy, conversation, t,
                                 {"turn": t, "count": len(hits), "max": rule["max"], "turns": ", ".join(map(str, hits))},
                                 related=tuple(hits), signals=signal_names(rule) if metric == "signal-count" else []))
    elif metric == "latency":
        for e in events:
            if e.event == "violation":
                pend, r = e.fact("pend"), e.fact("r")
                delay = round((r["ms"] - (pend["dms"] - int(rule["max-seconds"] * 1000))) / 1000, 1)
                findings.append(make(policy, conversation, r["t"],
                                     {"turn": r["t"], "trigger": {"turn": pend["t"]}, "seconds": delay,
                                      "max": rule["max-seconds"]},
                                     related=(pend["t"],)))
    elif "violation" in kinds:
        end = next(e for e in events if e.event == "violation").fact("end")
        ratio = end.get("ratio_" + rule.get("speaker", "agent"), 0)
        findings.append(make(policy, conversation, None, {"ratio": f"{ratio:.0%}", "max": rule["max-ratio"]}))
    return Outcome(findings, "fail" if findings else "pass")
