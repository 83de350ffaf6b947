"""Compile a PolicySet into durable-rules rulesets as plain data (pure: no engine import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servicecheck.policy.loader import Policy, PolicySet
from servicecheck.policy.schema import TARGETS
from servicecheck.rule_types import REGISTRY
from servicecheck.rule_types.base import Action

# The end fact always fires this rule, so every session has run an action before its
# state is deleted (deleting a session in which nothing fired crashes the engine).
DONE_RULE = "done"


@dataclass(frozen=True)
class CompiledRuleset:
    """One durable ruleset (JSON-serialisable) and, per rule, the action to run and its policy."""

    name: str
    target: str
    rules: dict[str, dict[str, Any]]
    actions: dict[str, Action]
    policies: tuple[Policy, ...]

    def to_json(self) -> dict[str, Any]:
        """Everything as plain data, for snapshot tests and debugging."""
        return {
            "name": self.name,
            "rules": self.rules,
            "actions": {k: a.to_json() for k, a in self.actions.items()},
        }


def compile_target(policyset: PolicySet, target: str) -> CompiledRuleset:
    """The ruleset of the enabled policies that apply to ``target`` (transcript, template, guideline)."""
    rules: dict[str, dict[str, Any]] = {}
    actions: dict[str, Action] = {}
    chosen = tuple(p for p in policyset.policies if target in p.applies_to)
    for i, policy in enumerate(chosen):
        for role, compiled in REGISTRY[policy.kind].compile(policy).items():
            name = f"p{i}_{role}"
            rules[name] = compiled.rule
            actions[name] = compiled.action
    rules[DONE_RULE] = {"all": [{"m": {"type": "end"}}], "pri": 1000}
    actions[DONE_RULE] = Action("", [])
    name = f"sc_{target}_{policyset.fingerprint()}"
    return CompiledRuleset(name, target, rules, actions, chosen)


def compile_policies(policyset: PolicySet) -> dict[str, CompiledRuleset]:
    """One ruleset per target kind."""
    return {target: compile_target(policyset, target) for target in TARGETS}
