"""The JSON Schemas published in schemas/ for editors match the ones the loader enforces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from servicecheck.policy.loader import default_pack_root
from servicecheck.api import published_schema as published

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("which", ["policy", "signal", "pack", "lexicon", "config"])
def test_published_schema_is_current(which: str) -> None:
    on_disk = json.loads((ROOT / "schemas" / f"{which}.schema.json").read_text(encoding="utf-8"))
    assert on_disk == published(which), f"regenerate: servicecheck policies schema {which} > schemas/{which}.schema.json"
    Draft202012Validator.check_schema(on_disk)


def test_default_pack_files_validate_against_the_published_schemas() -> None:
    root = default_pack_root()
    policy = Draft202012Validator(published("policy"))
    signal = Draft202012Validator(published("signal"))
    files = list(root.glob("*/*.yaml"))
    assert files
    for file in files:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        if file.name == "pack.yaml":
            Draft202012Validator(published("pack")).validate(data)
        elif file.name == "lexicon.yaml":
            Draft202012Validator(published("lexicon")).validate(data)
        else:
            policy.validate(data)
    for file in root.glob("*/signals/*.yaml"):
        signal.validate(yaml.safe_load(file.read_text(encoding="utf-8")))


def test_the_published_policy_schema_checks_rule_parameters() -> None:
    policy = Draft202012Validator(published("policy"))
    good = {"title": "t", "severity": "error", "message": "m",
            "rule": {"kind": "respond", "when": {"signal": "a"}, "expect": {"signal": "b"}, "within": {"turns": 2}}}
    assert not list(policy.iter_errors(good))
    bad = json.loads(json.dumps(good))
    bad["rule"]["within"] = {"turns": "two"}
    assert list(policy.iter_errors(bad))
    bad["rule"] = {"kind": "forbid", "signal": "a", "within": {"turns": 2}}  # forbid windows are first/last-N
    assert list(policy.iter_errors(bad))
