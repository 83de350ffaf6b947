"""`lint` on the dev set's 30 scripts and templates reports exactly the lines of its EXPECTED.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from servicecheck.cli import main

TEMPLATES = Path(__file__).resolve().parents[1].parent / "shared" / "devset" / "templates"
CATEGORY = {
    "deflection": "no-deflection",
    "pressure exhortation": "no-pressure-exhortations",
    "empty injunction": "no-empty-injunctions",
    "missing thanks": "always-thank",
    "refusal without reason": "refusal-explained",
}


def expected() -> set[tuple[str, int | None, str]]:
    """(file, first line or None for a whole file, policy) for every finding EXPECTED.md lists."""
    out: set[tuple[str, int | None, str]] = set()
    current = None
    for line in (TEMPLATES / "EXPECTED.md").read_text(encoding="utf-8").splitlines():
        if m := re.match(r"### `(.+)`", line):
            current = m.group(1)
        elif current and (m := re.match(r"- (?:L(\d+)(?:–L\d+)?|whole file) — \*\*(.+?)\*\*", line)):
            out.add((current, int(m.group(1)) if m.group(1) else None, CATEGORY[m.group(2)]))
    return out


@pytest.mark.skipif(not TEMPLATES.is_dir(), reason="../shared/devset is not beside the repository")
def test_lint_matches_expected_md() -> None:
    files = sorted(str(p) for p in TEMPLATES.iterdir() if p.name != "EXPECTED.md")
    result = CliRunner().invoke(main, ["lint", *files, "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.stderr
    got: set[tuple[str, int | None, str]] = set()
    for doc in json.loads(result.stdout)["documents"]:
        name = Path(doc["path"]).name
        for f in doc["findings"]:
            policy = f["policy"].split(".", 1)[1]
            whole = policy == "always-thank" and not name.endswith((".yaml", ".yml"))
            got.add((name, None if whole else f["location"]["line"], policy))
    want = expected()
    assert len(want) > 50
    assert got == want, {"missing": sorted(want - got, key=str), "extra": sorted(got - want, key=str)}
