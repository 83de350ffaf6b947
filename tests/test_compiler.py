"""The compiler is pure: the default pack compiles to the same JSON-serialisable rulesets every time."""

from __future__ import annotations

import json
import os
from pathlib import Path

from servicecheck.api import load_policies
from servicecheck.compiler import compile_policies

GOLDEN = Path(__file__).parent / "golden" / "compiled_default_pack.json"


def compiled() -> dict:
    return {target: rs.to_json() for target, rs in compile_policies(load_policies()).items()}


def test_default_pack_compiles_to_the_snapshot() -> None:
    got = json.loads(json.dumps(compiled(), sort_keys=True))
    if os.environ.get("SERVICECHECK_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(GOLDEN.read_text(encoding="utf-8")), "SERVICECHECK_UPDATE_GOLDEN=1 to accept a change"


def test_compilation_is_deterministic_and_does_not_touch_the_policies() -> None:
    policyset = load_policies()
    rules_before = json.dumps([p.rule for p in policyset.policies], sort_keys=True)
    a = json.dumps({t: r.to_json() for t, r in compile_policies(policyset).items()}, sort_keys=True)
    b = json.dumps({t: r.to_json() for t, r in compile_policies(policyset).items()}, sort_keys=True)
    assert a == b
    assert json.dumps([p.rule for p in policyset.policies], sort_keys=True) == rules_before


def test_each_target_gets_only_its_policies() -> None:
    rulesets = compile_policies(load_policies())
    assert {p.short_id for p in rulesets["guideline"].policies} == {"no-pressure-exhortations", "no-empty-injunctions"}
    assert "listen-no-interruption" in {p.short_id for p in rulesets["transcript"].policies}
    assert "listen-no-interruption" not in {p.short_id for p in rulesets["template"].policies}
