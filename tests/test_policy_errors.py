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
