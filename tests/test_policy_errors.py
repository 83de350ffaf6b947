"""Broken policy packs are rejected with exit 2, file:line:column, key path and reason; no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from servicecheck.cli import main

CASES = yaml.safe_load((Path(__file__).parent / "policy_errors" / "cases.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_broken_pack_is_rejected(case: dict[str, Any], tmp_path: Path) -> None:
    pack = tmp_path / "team"
    for name, content in case["files"].items():
        (pack / name).parent.mkdir(parents=True, exist_ok=True)
        (pack / name).write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["policies", "validate", str(pack)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr
    for expected in case["expect"]:
        want = "servicecheck: " + expected.format(dir=pack)
        assert any(line.startswith(want) for line in lines), f"{want!r} not in {lines!r}"


def test_pattern_errors_name_the_pattern(tmp_path: Path) -> None:
    pack = tmp_path / "team"
    (pack / "signals").mkdir(parents=True)
    (pack / "pack.yaml").write_text("name: team\nversion: 1\n", encoding="utf-8")
    (pack / "signals" / "rudeness.yaml").write_text(
        "speaker: agent\ndescription: rude\npatterns:\n  en: [\"fine\", \"(unclosed\"]\n", encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["policies", "validate", str(pack)])
    assert result.exit_code == 2
    assert f"{pack}/signals/rudeness.yaml:4:" in result.stderr
    assert "$.patterns.en[1]" in result.stderr


def test_the_same_errors_stop_an_audit(tmp_path: Path) -> None:
    pack = tmp_path / "team"
    pack.mkdir()
    (pack / "pack.yaml").write_text("name: team\nversion: [1\n", encoding="utf-8")
    convo = tmp_path / "c.txt"
    convo.write_text("Agent: Hello, thanks for calling.\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", str(convo), "--policies", str(pack)])
    assert result.exit_code == 2
    assert f"{pack}/pack.yaml:" in result.stderr and "YAML syntax error" in result.stderr
    assert result.stdout == ""


def _write(pack: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        (pack / name).parent.mkdir(parents=True, exist_ok=True)
        (pack / name).write_text(content, encoding="utf-8")


def test_one_run_reports_every_error_of_every_file_with_did_you_mean(tmp_path: Path) -> None:
    pack = tmp_path / "team"
    _write(pack, {
        "pack.yaml": "name: team\nversion: 1\n",
        # 1. schema errors, and the rule kind's own parameters checked in the same run
        "be-nice.yaml": "title: Be nice\nseverty: error\nrule:\n  kind: respond\n  when: {signal: deflection}\n"
                        "  expect: {signal: empathy}\n  within: {agent-turns: two}\nmessage: 'no'\n",
        # 2. a pattern that does not compile, and a misspelt enum value
        "signals/rudeness.yaml": "speaker: agnet\ndescription: rude\npatterns:\n  en: [\"(unclosed\"]\n",
        # 3. a misspelt signal name (the pack defines agent-name)
        "signals/agent-name.yaml": "speaker: agent\ndescription: the agent's name\npatterns:\n  en: [\"my name is\"]\n",
        "greet.yaml": "title: Greet\nseverity: warning\nrule: {kind: require, signal: agent-nmae}\nmessage: 'no'\n",
    })
    result = CliRunner().invoke(main, ["policies", "validate", str(pack)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    want = [
        f"servicecheck: {pack}/be-nice.yaml:2:1: $.severty: unknown key 'severty' (did you mean 'severity'? ",
        f"servicecheck: {pack}/be-nice.yaml:7:25: $.rule.within.agent-turns: 'two' is not of type 'integer'",
        f"servicecheck: {pack}/signals/rudeness.yaml:1:10: $.speaker: 'agnet' is not one of ['agent', 'customer', "
        "'script'] (did you mean 'agent'?)",
        f"servicecheck: {pack}/signals/rudeness.yaml:4:8: $.patterns.en[0]: ",
        f"servicecheck: {pack}/greet.yaml:3:31: $.rule.signal: unknown signal 'agent-nmae' (did you mean "
        "'agent-name'? known: ",
    ]
    for expected in want:
        assert any(line.startswith(expected) for line in lines), f"{expected!r} not in {lines!r}"
    assert "Traceback" not in result.stderr


def test_pattern_and_unknown_signal_errors_come_in_the_same_run(tmp_path: Path) -> None:
    pack = tmp_path / "team"
    _write(pack, {
        "pack.yaml": "name: team\nversion: 1\n",
        "signals/rudeness.yaml": "speaker: agent\ndescription: rude\npatterns:\n  en: [\"(unclosed\"]\n",
        "no-rudeness.yaml": "title: No\nseverity: error\nrule: {kind: forbid, signal: rudeness}\nmessage: 'no'\n",
        "greet.yaml": "title: Greet\nseverity: eror\nrule: {kind: require, signal: thnak}\nmessage: 'no'\n",
    })
    result = CliRunner().invoke(main, ["policies", "validate", str(pack)])
    assert result.exit_code == 2
    err = result.stderr
    assert f"{pack}/signals/rudeness.yaml:4:" in err and "$.patterns.en[0]" in err
    assert f"{pack}/greet.yaml:2:11: $.severity: 'eror' is not one of ['error', 'warning', 'suggestion'] " \
           "(did you mean 'error'?)" in err
    assert "unknown signal 'thnak' (did you mean 'thank'?" in err
    assert "unknown signal 'rudeness'" not in err  # its own file's error says why it is missing


def test_policies_test_names_each_failing_example_by_file_and_line(tmp_path: Path) -> None:
    pack = tmp_path / "team"
    _write(pack, {
        "pack.yaml": "name: team\nversion: 1\n",
        "never-calm-down.yaml": (
            "title: Never say calm down\nseverity: error\napplies-to: [transcript]\n"
            "rule: {kind: forbid, signal: deflection}\nmessage: 'no'\n"
            "examples:\n"
            "  fail:\n"
            "    - \"Customer: Hi\\nAgent: That's not our department.\"\n"
            "    - \"Customer: Hi\\nAgent: Calm down, please.\"\n"
            "  pass:\n"
            "    - \"Customer: Hi\\nAgent: I'll sort it out.\"\n"
        ),
        "signals/calm-down.yaml": ("speaker: agent\ndescription: calm down\npatterns:\n  en: [\"calm down\"]\n"
                                   "examples:\n  match: [\"Calm down.\", \"Relax!\"]\n"),
    })
    result = CliRunner().invoke(main, ["policies", "test", str(pack)])
    assert result.exit_code == 1, result.output
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert fails == [f"FAIL {pack}/never-calm-down.yaml:9:7: team.never-calm-down examples.fail[1]: "
                     "expected a finding, got none",
                     f"FAIL {pack}/signals/calm-down.yaml:6:25: signal calm-down examples.match[1]: "
                     "no match: 'Relax!'"], result.stdout
    assert "3 passed, 2 failed" in result.stdout
