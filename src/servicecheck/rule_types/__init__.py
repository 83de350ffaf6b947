"""The registry of rule kinds: ``forbid``, ``require``, ``respond``, ``sequence``, ``limit``."""

from __future__ import annotations

from types import ModuleType

from servicecheck.rule_types import forbid, limit, require, respond, sequence

REGISTRY: dict[str, ModuleType] = {}


def register(module: ModuleType) -> None:
    """Add a rule kind; a second kind with the same ``NAME`` is an error."""
    if module.NAME in REGISTRY:
        raise ValueError(f"rule kind {module.NAME!r} registered twice")
    REGISTRY[module.NAME] = module


for _module in (forbid, require, respond, sequence, limit):
    register(_module)


def get(name: str) -> ModuleType:
    """The rule kind called ``name``."""
    return REGISTRY[name]
