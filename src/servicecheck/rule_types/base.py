"""What every rule kind provides, and the helpers that build durable-rules conditions from data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from servicecheck.model import Conversation, Finding
    from servicecheck.policy.loader import Policy

# Fact fields (built by servicecheck.facts): "type" is "turn" or "end"; a turn has
# "t" (1-based number), "sp" (speaker), "k_<role>" (how many turns that role has had
# up to and including this one), "s_<signal>": true for each signal it carries, and
# when timed "ms"/"me" (start/end ms) and "ov" (ms by which it starts before the other
# speaker's previous turn ended). The end fact carries "n" (turn count), "k_<role>"
# totals, "timed" (0/1) and "ratio_<role>" (share of talk time, 0..1, timed only).

NEVER = 1_000_000_000  # a bound no conversation reaches


def signal_field(name: str) -> str:
    """The fact field that says a turn carries signal ``name``."""
    return "s_" + name.replace("-", "_")


def count_field(role: str) -> str:
    """The fact field counting ``role``'s turns so far."""
    return "k_" + role


def signal_names(spec: dict[str, Any]) -> list[str]:
    """The signals named by ``signal:`` or ``any-signal:`` in a rule clause."""
    if "signal" in spec:
        return [spec["signal"]]
    return list(spec.get("any-signal", []))


def turn_condition(speaker: str | None, signals: list[str], *extra: dict[str, Any]) -> dict[str, Any]:
    """A durable condition: a turn fact by ``speaker`` carrying any of ``signals``."""
    terms: list[dict[str, Any]] = [{"type": "turn"}]
    if speaker:
        terms.append({"sp": speaker})
    terms.extend(extra)
    if len(signals) == 1:
        terms.append({signal_field(signals[0]): True})
    elif signals:
        # The ``$or`` must come last: durable-rules 2.0.28 silently drops every term
        # that follows an ``$or`` inside an ``$and`` (pinned by tests/test_engine.py).
        terms.append({"$or": [{signal_field(s): True} for s in signals]})
    return {"$and": terms}


def window_terms(within: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Conditions for an absolute window (``first-turns``, ``last-turns``, ``first-seconds``, ``last-seconds``)."""
    if not within:
        return []
    terms: list[dict[str, Any]] = []
    if "first-turns" in within:
        terms.append({"$lte": {"t": within["first-turns"]}})
    if "last-turns" in within:
        terms.append({"$lte": {"rt": within["last-turns"]}})
    if "first-seconds" in within:
        terms.append({"$lte": {"ms": int(within["first-seconds"] * 1000)}})
    if "last-seconds" in within:
        terms.append({"$lte": {"rms": int(within["last-seconds"] * 1000)}})
    return terms


WINDOW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "first-turns": {"type": "integer", "minimum": 1},
        "last-turns": {"type": "integer", "minimum": 1},
        "first-seconds": {"type": "number", "exclusiveMinimum": 0},
        "last-seconds": {"type": "number", "exclusiveMinimum": 0},
    },
}

SPEAKER_SCHEMA: dict[str, Any] = {"enum": ["agent", "customer", "system", "bot"]}
SIGNAL_NAME_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"}


def clause_schema(extra: dict[str, Any] | None = None, required_speaker: bool = False) -> dict[str, Any]:
    """Schema of a ``{speaker, signal | any-signal}`` clause."""
    props: dict[str, Any] = {
        "speaker": SPEAKER_SCHEMA,
        "signal": SIGNAL_NAME_SCHEMA,
        "any-signal": {"type": "array", "items": SIGNAL_NAME_SCHEMA, "minItems": 1, "uniqueItems": True},
    }
    props.update(extra or {})
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "oneOf": [{"required": ["signal"]}, {"required": ["any-signal"]}],
    }
    if required_speaker:
        schema["required"] = ["speaker"]
    return schema


def windowed_clause_schema(kind: str) -> dict[str, Any]:
    """Schema of a rule block that is one clause plus an optional window (``forbid``, ``require``)."""
    schema = clause_schema({"kind": {"const": kind}, "within": WINDOW_SCHEMA})
    schema["required"] = ["kind"]
    return schema


@dataclass
class Action:
    """What the engine adapter does when a rule fires, as data (so rulesets snapshot-test).

    ``do`` is a list of operations: ``["emit", event]`` records the match under
    ``event``; ``["assert", {field: value}]`` asserts a fact whose values are
    literals, ``{"ref": "pattern.field"}`` or ``{"add": [value, value]}``;
    ``["retract", pattern]`` retracts the fact that ``pattern`` matched.
    """

    policy: str
    do: list[list[Any]]

    def to_json(self) -> dict[str, Any]:
        """The action as plain data."""
        return {"policy": self.policy, "do": self.do}


@dataclass
class CompiledRule:
    """One durable rule and its action."""

    rule: dict[str, Any]
    action: Action


@dataclass(frozen=True)
class Event:
    """One firing of a compiled rule, as the engine adapter reports it."""

    policy: str
    event: str
    facts: dict[str, dict[str, Any]] | list[dict[str, Any]]

    def fact(self, name: str) -> dict[str, Any]:
        """The fact matched by pattern ``name`` (or the only one)."""
        if isinstance(self.facts, list):
            return self.facts[0]
        return self.facts.get(name) or next(iter(self.facts.values()))


@dataclass
class Outcome:
    """A policy's findings and status for one conversation, built from its events."""

    findings: list[Finding] = field(default_factory=list)
    status: str = "pass"
    detail: dict[str, Any] = field(default_factory=dict)


class FindingMaker(Protocol):
    """Builds a finding for a policy at a turn; supplied by the runner (it owns locations).

    ``language`` is the conversation's (``fr``/``en``/None): rules that compose words
    into a message (a sequence's stage names) word them in it.
    """

    language: str | None

    def __call__(
        self,
        policy: Policy,
        conversation: Conversation,
        turn: int | None,
        context: dict[str, Any] | None = None,
        **extra: Any,
    ) -> Finding: ...
