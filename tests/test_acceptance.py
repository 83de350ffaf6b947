"""Plain French and English cases: exactly the right findings (policy and turn, or line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from servicecheck import api, inputs
from servicecheck.cli import main

CASES = yaml.safe_load((Path(__file__).parent / "acceptance" / "cases.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def auditor() -> api.Auditor:
    return api.Auditor(api.load_policies())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_transcript_case(case: dict[str, Any], auditor: api.Auditor) -> None:
    (conversation,) = inputs.parse_text_transcript(case["text"], path="case.txt")
    result = auditor.check(conversation)
    got = sorted(
        [f.policy.split(".", 1)[1], f.turn] for f in result.findings if f.policy.split(".", 1)[1] in case["policies"]
    )
    assert got == sorted(case["expect"], key=str), [f.message for f in result.findings]


def test_trainer_script(tmp_path: Path) -> None:
    script = tmp_path / "consignes.md"
    script.write_text(
        "# Consignes du plateau\n\n"
        "- Répondez en moins de 10 secondes.\n"
        "- Le client est au centre de nos préoccupations.\n"
        "- La pause déjeuner est de 12 h à 13 h.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["lint", str(script), "--format", "json"])
    import json

    report = json.loads(result.stdout)
    got = sorted((f["policy"].split(".", 1)[1], f["location"]["line"]) for d in report["documents"]
                 for f in d["findings"])
    assert got == [("no-empty-injunctions", 4), ("no-pressure-exhortations", 3)]
    assert result.exit_code == 0  # warnings and suggestions only: under the default --fail-on error


def test_en_trainer_script(tmp_path: Path) -> None:
    script = tmp_path / "floor.txt"
    script.write_text(
        "Floor guidelines for the team\n"
        "Answer every call within 10 seconds.\n"
        "The customer is at the heart of everything we do.\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["lint", str(script), "--format", "json", "--fail-on", "warning"])
    import json

    report = json.loads(result.stdout)
    got = sorted((f["policy"].split(".", 1)[1], f["location"]["line"]) for d in report["documents"]
                 for f in d["findings"])
    assert got == [("no-empty-injunctions", 3), ("no-pressure-exhortations", 2)]
    assert result.exit_code == 1
