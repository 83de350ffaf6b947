"""Rule kind ``sequence``: after a trigger, stages must occur in order.

``trigger`` is a clause (speaker + signal); only its first occurrence starts the
sequence. ``stages`` is a list of clauses with a ``name`` (and ``optional: true`` for
a stage that earns credit but is never reported missing). ``order: strict`` (the
default) wants each stage at or after the previous one; ``order: any`` accepts them
anywhere after the trigger. Missing and out-of-order stages are reported in one
finding at the trigger turn; partial credit (stages reached / stages) is in the
scorecard detail. ``n/a`` when nothing triggers.

In the engine the trigger asserts a ``seq`` fact; each stage asserts a ``stage`` fact
when a matching turn joins the previous stage's fact; at the end, a stage with no
fact is missing, and a stage whose signal was seen but not in order is out of order.

Failing example (``least-complaint-handling``)::

    Customer: My parcel never arrived, this is ridiculous.     <- finding, turn 1: no solve
    Agent: I'm so sorry about that.

Passing example::

    Customer: My parcel never arrived, this is ridiculous.
    Agent: I'm so sorry. I'm sending a replacement by express today.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from servicecheck.i18n import TEXT_SCHEMA, join, localised, t
from servicecheck.rule_types.base import (
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

NAME = "sequence"
STAGE_SCHEMA = clause_schema(
    {"name": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"}, "optional": {"type": "boolean"},
     "label": TEXT_SCHEMA}  # how findings name the stage, per language (default: its name)
)
STAGE_SCHEMA["required"] = ["name"]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kind", "trigger", "stages"],
    "properties": {
        "kind": {"const": NAME},
        "trigger": clause_schema(),
        "stages": {"type": "array", "items": STAGE_SCHEMA, "minItems": 1, "maxItems": 20},
        "order": {"enum": ["strict", "any"]},
    },
}


def signals(rule: dict[str, Any]) -> list[str]:
    """Signals the rule reads."""
    names = signal_names(rule["trigger"])
    for stage in rule["stages"]:
        names += signal_names(stage)
    return names


def compile(policy: Policy) -> dict[str, CompiledRule]:
    """Trigger, one rule per stage, and two end rules per stage (missing, out of order)."""
    rule = policy.rule
    pid = policy.id
    strict = rule.get("order", "strict") == "strict"
    seq = {"$and": [{"type": "seq"}, {"p": pid}]}

    def stage_fact(i: int) -> dict[str, Any]:
        return {"$and": [{"type": "stage"}, {"p": pid}, {"i": i}]}

    rules: dict[str, CompiledRule] = {
        "trigger": CompiledRule(
            {"all": [{"m": turn_condition(policy.speaker_for(rule["trigger"]), signal_names(rule["trigger"]))},
                     {"x$not": seq}]},
            Action(pid, [["emit", "applies"], ["assert", {"type": "seq", "p": pid, "t": {"ref": "m.t"}}]]),
        )
    }
    for i, stage in enumerate(rule["stages"]):
        speaker = policy.speaker_for(stage)
        names = signal_names(stage)
        after = "prev" if strict and i > 0 else "sq"
        op = "$gte" if after == "prev" else "$gt"
        patterns: list[dict[str, Any]] = [{"sq": seq}]
        if after == "prev":
            patterns.append({"prev": stage_fact(i - 1)})
        patterns.append({"m": turn_condition(speaker, names, {op: {"t": {after: "t"}}})})
        patterns.append({"x$not": stage_fact(i)})
        rules[f"stage{i}"] = CompiledRule(
            {"all": patterns},
            Action(pid, [["assert", {"type": "stage", "p": pid, "i": i, "t": {"ref": "m.t"}}], ["emit", f"stage{i}"]]),
        )
        if stage.get("optional"):
            continue
        rules[f"missing{i}"] = CompiledRule(
            {"all": [{"end": {"type": "end"}}, {"sq": seq}, {"x$not": stage_fact(i)}]},
            Action(pid, [["emit", f"missing{i}"]]),
        )
        rules[f"seen{i}"] = CompiledRule(
            {"all": [{"end": {"type": "end"}}, {"sq": seq},
                     {"m": turn_condition(speaker, names, {"$gt": {"t": {"sq": "t"}}})},
                     {"x$not": stage_fact(i)}]},
            Action(pid, [["emit", f"seen{i}"]]),
        )
    return rules


class _Stages:
    """What ``outcome`` reads of a policy's stages, worked out once per policy (it runs for every conversation)."""

    def __init__(self, rule: dict[str, Any]) -> None:
        self.rule = rule  # kept, so that the cache entry of a rule is never taken for another's
        stages = rule["stages"]
        self.names = [s["name"] for s in stages]
        self.events = [(s["name"], f"stage{i}", f"missing{i}", f"seen{i}") for i, s in enumerate(stages)]
        self.trigger_signals = signal_names(rule["trigger"])
        self._labels: dict[str | None, dict[str, str]] = {}

    def labels(self, lang: str | None) -> dict[str, str]:
        """Stage name -> how findings name it in ``lang``."""
        found = self._labels.get(lang)
        if found is None:
            found = self._labels[lang] = {s["name"]: localised(s.get("label"), lang) or s["name"]
                                          for s in self.rule["stages"]}
        return found


_PLANS: dict[int, _Stages] = {}  # id(policy.rule) -> its stages


def _stages(rule: dict[str, Any]) -> _Stages:
    plan = _PLANS.get(id(rule))
    if plan is None or plan.rule is not rule:
        if len(_PLANS) > 1024:  # packs hold a few sequences; tests build many
            _PLANS.clear()
        plan = _PLANS[id(rule)] = _Stages(rule)
    return plan


def outcome(policy: Policy, events: list[Event], conversation: Conversation, make: FindingMaker) -> Outcome:
    """One finding at the trigger naming the missing and out-of-order stages."""
    applies = next((e for e in events if e.event == "applies"), None)
    if applies is None:
        return Outcome([], "n/a")
    trigger = applies.fact("m")["t"]
    plan = _stages(policy.rule)
    fired = {e.event for e in events}
    reached: list[str] = []
    missing: list[str] = []
    disordered: list[str] = []
    for name, stage, not_reached, seen in plan.events:
        if stage in fired:
            reached.append(name)
        if not_reached in fired:
            (disordered if seen in fired else missing).append(name)
    detail = {"stages": list(plan.names), "reached": reached,
              "credit": round(len(reached) / len(plan.names), 3)}
    if not missing and not disordered:
        return Outcome([], "pass", detail)
    # Findings name stages by their label in the conversation's language ("empathy or an
    # apology"), not by their id: "missing empathize, solve" means little to a QA lead.
    lang = getattr(make, "language", None)
    labels = plan.labels(lang)
    said_missing = join(lang, [labels[n] for n in missing])
    said_disordered = join(lang, [labels[n] for n in disordered])
    parts = []
    if missing:
        parts.append(t(lang, "stages.missing", stages=said_missing))
    if disordered:
        parts.append(t(lang, "stages.out_of_order", stages=said_disordered))
    finding = make(
        policy,
        conversation,
        trigger,
        {"turn": trigger, "trigger": {"turn": trigger}, "missing": said_missing,
         "out_of_order": said_disordered, "stages": "; ".join(parts)},
        window=(trigger, len(conversation.turns)),
        detail={"missing": missing, "out_of_order": disordered, "reached": reached},
        signals=plan.trigger_signals,
    )
    return Outcome([finding], "fail", detail)
