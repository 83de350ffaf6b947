"""Compile a PolicySet into durable-rules rulesets as plain data (pure: no engine import)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from servicecheck.errors import PolicyError
from servicecheck.policy.loader import Policy, PolicySet
from servicecheck.policy.schema import TARGETS
from servicecheck.rule_types import REGISTRY
from servicecheck.rule_types.base import Action

# The end fact always fires this rule, so every session has run an action before its
# state is deleted (deleting a session in which nothing fired crashes the engine).
DONE_RULE = "done"

# durable-rules 2.0.28 fails on rulesets that are too large, in two ways measured here:
# - rules sharing a condition (the ``end`` fact, a trigger used by many policies): 241 on
#   one condition were created, 281 failed ("Could not create ruleset, error code: 108");
#   far past it, creating the ruleset spins forever (ENGINE.md). No policy may exceed it.
# - the cascade of firings inside one fact: two 20-stage sequences in one ruleset failed on
#   an agent turn carrying two signals ("Could not assert fact, error code: 303"), each
#   alone ran. Twenty to thirty-one stages in one ruleset were measured: 132 engine rules
#   (an ``$or`` of n signals counts n) ran, 142 failed.
# A ruleset is therefore cut, between policies, into parts of at most PART_BUDGET engine
# rules (a larger policy runs alone), and a policy over SHARED_TEST_BUDGET on one condition
# cannot run (tests/test_engine_limits.py).
PART_BUDGET = 100
SHARED_TEST_BUDGET = 200


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
            rules[name] = guard_joins(compiled.rule)
            actions[name] = compiled.action
    rules[DONE_RULE] = {"all": [{"m": {"type": "end"}}], "pri": 1000}
    actions[DONE_RULE] = Action("", [])
    name = f"sc_{target}_{policyset.fingerprint()}"
    return CompiledRuleset(name, target, rules, actions, chosen)


def _joins(term: Any) -> bool:
    """Whether a term of a pattern compares a field with another pattern's (a join the engine tests per pair)."""
    if not isinstance(term, dict) or len(term) != 1:
        return False
    ((key, value),) = term.items()
    if key in ("$and", "$or"):
        return False
    if key.startswith("$"):  # {"$lte": {"k": {"pend": "dl"}}}
        return isinstance(value, dict) and any(isinstance(v, dict) for v in value.values())
    return isinstance(value, dict)  # {"t": {"pend": "t"}}: an equality join


def guard_joins(rule: dict[str, Any]) -> dict[str, Any]:
    """``rule`` with every pattern that joins ending in an ``$or`` (the same facts match).

    durable-rules 2.0.28 evaluates a pattern's join terms as a sequence closed by an end
    marker. When the last join term of an ``$and`` is false, its short cut skips that marker
    and reads on past the sequence (upstream jruizgit/rules#381, fixed by the unreleased
    pull request #386): out-of-bounds reads that valgrind reports on every such pattern, and
    a segmentation fault when they leave the mapped memory (seen replaying an audit's
    engine runs). A trailing ``$or`` puts its own marker before the ``$and``'s, where the
    short cut then stops. It repeats a plain term of the pattern, so it matches the same
    facts (a one-branch ``$or`` fires once); a pattern without a plain term is left as it is.
    """
    patterns = []
    changed = False
    for pattern in rule.get("all", []):
        guarded = {}
        for alias, cond in pattern.items():
            terms = cond.get("$and") if isinstance(cond, dict) and len(cond) == 1 else None
            plain = [t for t in terms or () if isinstance(t, dict) and len(t) == 1
                     and not next(iter(t)).startswith("$") and not isinstance(next(iter(t.values())), dict)]
            if (terms and plain and any(_joins(t) for t in terms)
                    and not (isinstance(terms[-1], dict) and "$or" in terms[-1])):
                cond = {"$and": [*terms, {"$or": [dict(plain[0])]}]}
                changed = True
            guarded[alias] = cond
        patterns.append(guarded)
    return {**rule, "all": patterns} if changed else rule


def compile_policies(policyset: PolicySet) -> dict[str, CompiledRuleset]:
    """One ruleset per target kind.

    Raises:
        PolicyError: a policy the engine cannot run (see :func:`partition`), so that
            ``policies validate`` and ``audit`` agree before anything is audited.
    """
    rulesets = {target: compile_target(policyset, target) for target in TARGETS}
    for ruleset in rulesets.values():
        partition(ruleset)
    return rulesets


def shared_tests(rules: dict[str, dict[str, Any]]) -> Counter[str]:
    """How many rules test each condition (one count per pattern), keyed by the condition as JSON."""
    load: Counter[str] = Counter()
    for rule in rules.values():
        for pattern in rule.get("all", []):
            for cond in pattern.values():
                load[json.dumps(cond, sort_keys=True)] += 1
    return load


def engine_rules(rule: dict[str, Any]) -> int:
    """How many rules the engine makes of ``rule``: one per combination of its ``$or`` branches."""
    count = 1
    for pattern in rule.get("all", []):
        for cond in pattern.values():
            for term in cond.get("$and", []) if isinstance(cond, dict) else []:
                if isinstance(term, dict) and isinstance(term.get("$or"), list):
                    count *= len(term["$or"])
    return count


def _policy_index(rule_name: str) -> int:
    """The policy index in a ``p<i>_<role>`` rule name; -1 for other names."""
    head, _, _ = rule_name.partition("_")
    return int(head[1:]) if head[:1] == "p" and head[1:].isdigit() else -1


def partition(ruleset: CompiledRuleset, budget: int | None = None) -> list[CompiledRuleset]:
    """``ruleset`` cut between policies into rulesets the engine can run (the ruleset itself if it can).

    Each part holds whole policies, in order, at most ``budget`` (default
    :data:`PART_BUDGET`) engine rules unless one policy alone has more, and its own
    ``done`` rule; parts are named ``<name>_<k>``.

    Raises:
        PolicyError: a policy has more than :data:`SHARED_TEST_BUDGET` rules on one condition.
    """
    budget = PART_BUDGET if budget is None else budget
    own: dict[int, list[str]] = {}  # rule names by policy index (``p<i>_<role>``, as compile_target names them)
    for name in ruleset.rules:
        if name != DONE_RULE:
            own.setdefault(_policy_index(name), []).append(name)
    problems = []
    for index, names in sorted(own.items()):
        shared = max(shared_tests({n: ruleset.rules[n] for n in names}).values(), default=0)
        if shared > SHARED_TEST_BUDGET:
            where = (f"{ruleset.policies[index].path}: {ruleset.policies[index].id}"
                     if 0 <= index < len(ruleset.policies) else ruleset.name)
            problems.append(f"{where}: {shared} engine rules on one condition; "
                            f"at most {SHARED_TEST_BUDGET} can run (split the policy)")
    if problems:
        raise PolicyError(problems)
    sizes = {i: sum(engine_rules(ruleset.rules[n]) for n in names) for i, names in own.items()}
    if sum(sizes.values()) <= budget or any(i < 0 for i in own):
        return [ruleset]  # small enough, or not made by compile_target (a test's hand-written ruleset)
    groups: list[list[int]] = []
    size = 0
    for index in sorted(own):
        if not groups or size + sizes[index] > budget:
            groups.append([])
            size = 0
        groups[-1].append(index)
        size += sizes[index]
    parts = []
    for k, indexes in enumerate(groups):
        names = [n for i in indexes for n in own[i]] + [DONE_RULE]
        parts.append(replace(ruleset, name=f"{ruleset.name}_{k}", rules={n: ruleset.rules[n] for n in names},
                             actions={n: ruleset.actions[n] for n in names},
                             policies=tuple(ruleset.policies[i] for i in indexes)))
    return parts
