"""Inline suppression in documents: ``servicecheck: disable=`` / ``disable-next-line=`` in each comment syntax."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecheck import api
from servicecheck.cli import main
from servicecheck.errors import ExitCode
from servicecheck.model import Finding, Location, Severity, Span
from servicecheck.suppress import is_suppressed

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "demo-pack"
POLICIES = api.load_policies([DEMO], include_default=False)
AUDITOR = api.Auditor(POLICIES, "en")

BAD = "It is not our department."  # demo.no-deflection (error) on every such line

# name, file name, text, expected (short policy id, line) of the findings that remain.
CASES = [
    ("md next-line, short id", "a.md",
     f"# Reply\nThank you for writing.\n<!-- servicecheck: disable-next-line=no-deflection -->\n{BAD}\n{BAD}\n",
     [("no-deflection", 5)]),
    ("md next-line, full id", "a.md",
     f"# Reply\nThank you.\n<!-- servicecheck: disable-next-line=demo.no-deflection -->\n{BAD}\n{BAD}\n",
     [("no-deflection", 5)]),
    ("md next-line skips blank lines", "a.md",
     f"# Reply\nThank you.\n<!-- servicecheck: disable-next-line=no-deflection -->\n\n\n{BAD}\n{BAD}\n",
     [("no-deflection", 7)]),
    ("md next-line at the end of a text line targets the next line", "a.md",
     f"# Reply\nThank you. {BAD} <!-- servicecheck: disable-next-line=no-deflection -->\n{BAD}\n{BAD}\n",
     [("no-deflection", 2), ("no-deflection", 4)]),
    ("md next-line for another policy silences nothing here", "a.md",
     f"# Reply\nThank you.\n<!-- servicecheck: disable-next-line=always-thank -->\n{BAD}\n",
     [("no-deflection", 4)]),
    ("md disable: from its line to the end of the file", "a.md",
     f"# Reply\nThank you.\n{BAD}\n<!-- servicecheck: disable=no-deflection -->\n{BAD}\n\n{BAD}\n",
     [("no-deflection", 3)]),
    ("md disable=all", "a.md",
     f"# Reply\n{BAD}\n<!-- servicecheck: disable=all -->\n{BAD}\n",
     [("no-deflection", 2)]),  # always-thank is about the whole unit: silenced too
    ("md bare disable means all", "a.md",
     f"# Reply\n{BAD}\n<!-- servicecheck: disable -->\n{BAD}\n",
     [("no-deflection", 2)]),
    ("md disable a list of policies", "a.md",
     f"# Reply\n<!-- servicecheck: disable=no-deflection, demo.always-thank -->\n{BAD}\n",
     []),
    ("md disable of a whole-unit finding anywhere in the unit", "a.md",
     "# Reply\nWe fixed it.\n<!-- servicecheck: disable=always-thank -->\n",
     []),
    ("md directive in a multi-line comment", "a.md",
     f"# Reply\nThank you.\n<!--\n  servicecheck: disable-next-line=no-deflection\n-->\n{BAD}\n{BAD}\n",
     [("no-deflection", 7)]),
    ("md directive inside fenced code is an example, not a directive", "a.md",
     f"# Reply\nThank you.\n```\n<!-- servicecheck: disable=all -->\n```\n{BAD}\n",
     [("no-deflection", 6)]),
    ("md directive is case-insensitive", "a.md",
     f"# Reply\nThank you.\n<!-- Servicecheck: Disable-Next-Line=No-Deflection -->\n{BAD}\n",
     []),
    ("md front matter", "a.md",
     f"---\nservicecheck: disable=no-deflection\n---\n# Reply\nThank you.\n{BAD}\n",
     []),
    ("md a hash line is text, not a comment", "a.md",
     f"# servicecheck: disable=no-deflection\nThank you.\n{BAD}\n",
     [("no-deflection", 3)]),
    ("txt next-line", "a.txt",
     f"Thank you.\n# servicecheck: disable-next-line=no-deflection\n{BAD}\n{BAD}\n",
     [("no-deflection", 4)]),
    ("txt disable", "a.txt",
     f"Thank you.\n{BAD}\n# servicecheck: disable=no-deflection\n{BAD}\n",
     [("no-deflection", 2)]),
    ("txt html comment is text", "a.txt",
     f"Thank you.\n<!-- servicecheck: disable-next-line=no-deflection -->\n{BAD}\n",
     [("no-deflection", 3)]),
    ("yaml next-line above a key silences the template's absence finding", "a.yaml",
     "templates:\n  one: Thank you, done.\n  # servicecheck: disable-next-line=always-thank\n  two: We fixed it.\n  three: Done.\n",
     [("always-thank", 5)]),
    ("yaml trailing comment targets the next line", "a.yaml",
     f"templates:\n  one: Thank you. {BAD}  # servicecheck: disable-next-line=no-deflection\n  two: Thank you. {BAD}\n",
     [("no-deflection", 2)]),
    ("yaml disable at the top covers every template", "a.yaml",
     f"# servicecheck: disable=no-deflection\ntemplates:\n  one: Thank you. {BAD}\n  two: Thank you. {BAD}\n",
     []),
    ("yaml disable inside one template covers the rest of the file", "a.yaml",
     f"templates:\n  one: Thank you. {BAD}\n  # servicecheck: disable=no-deflection\n  two: Thank you. {BAD}\n",
     [("no-deflection", 2)]),
    ("yaml a hash inside a block scalar is text", "a.yaml",
     f"templates:\n  one: |\n    Thank you. # servicecheck: disable=all\n    {BAD}\n",
     [("no-deflection", 4)]),
    ("yml key", "a.yml",
     f"servicecheck: disable=no-deflection\none: Thank you. {BAD}\n",
     []),
    ("json key", "a.json",
     f'{{"servicecheck": "disable=no-deflection", "templates": {{"one": "Thank you. {BAD}"}}}}\n',
     []),
]


def lint_file(tmp_path: Path, name: str, text: str) -> list[tuple[str, int | None]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    out = []
    for result in api.lint([str(path)], POLICIES, auditor=AUDITOR):
        assert not hasattr(result, "message") or hasattr(result, "findings"), result
        out += [(f.policy.split(".", 1)[1], f.location.line if f.location else None) for f in result.findings]
    return sorted(out)


@pytest.mark.parametrize(("name", "file", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_directives(tmp_path: Path, name: str, file: str, text: str, expected: list[tuple[str, int]]) -> None:
    assert lint_file(tmp_path, file, text) == sorted(expected)


IGNORED = {  # cases whose directive must have no effect
    "md next-line for another policy silences nothing here",
    "md directive inside fenced code is an example, not a directive",
    "md a hash line is text, not a comment",
    "txt html comment is text",
    "yaml a hash inside a block scalar is text",
}


@pytest.mark.parametrize(("name", "file", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_directive_is_what_silences(tmp_path: Path, name: str, file: str, text: str,
                                         expected: list[tuple[str, int]]) -> None:
    """The same file with the directive's keyword spoiled (lines unchanged) has more findings, or the same."""
    import re

    unsuppressed = lint_file(tmp_path, file, re.sub("servicecheck", "xervicecheck", text, flags=re.IGNORECASE))
    if name in IGNORED:
        assert unsuppressed == sorted(expected)
    else:
        assert set(expected) < set(unsuppressed)


def test_suppressed_policy_passes_and_the_score_is_recomputed(tmp_path: Path) -> None:
    path = tmp_path / "reply.md"
    path.write_text(f"# Reply\nThank you.\n<!-- servicecheck: disable-next-line=no-deflection -->\n{BAD}\n")
    (result,) = api.lint([str(path)], POLICIES, auditor=AUDITOR)
    assert result.findings == ()
    assert {p.id: p.status for p in result.policies}["demo.no-deflection"] == "pass"
    assert (result.score, result.auto_failed) == (100.0, False)


def test_cli_exit_code_follows_suppression(tmp_path: Path) -> None:
    path = tmp_path / "reply.md"
    path.write_text(f"# Reply\nThank you.\n{BAD}\n")
    args = ["lint", str(path), "--no-config", "--no-default-pack", "--policies", str(DEMO)]
    failing = CliRunner().invoke(main, args)
    assert failing.exit_code == ExitCode.FINDINGS
    assert f"{path}:3:" in failing.stdout
    path.write_text(f"# Reply\nThank you.\n<!-- servicecheck: disable-next-line=no-deflection -->\n{BAD}\n")
    clean = CliRunner().invoke(main, args)
    assert clean.exit_code == ExitCode.OK
    assert clean.stdout == ""  # lint is quiet on success


def test_transcripts_ignore_document_directives(tmp_path: Path) -> None:
    path = tmp_path / "call.txt"
    path.write_text("Customer: Hi.\nAgent: servicecheck: disable=all. That is not my department.\n")
    (result,) = api.audit([str(path)], POLICIES, auditor=AUDITOR)
    assert "demo.no-deflection" in {f.policy for f in result.findings}


@pytest.mark.parametrize(
    ("directive", "line", "evidence", "expected"),
    [
        ({"policy": "no-deflection", "line": 3, "scope": "file"}, 2, True, False),
        ({"policy": "no-deflection", "line": 3, "scope": "file"}, 3, True, True),
        ({"policy": "no-deflection", "line": 3, "scope": "file"}, 2, False, True),  # whole-unit finding
        ({"policy": "no-deflection", "line": 3, "scope": "file"}, None, True, True),
        ({"policy": "demo.no-deflection", "line": 0, "scope": "file"}, 9, True, True),
        ({"policy": "all", "line": 1, "scope": "file"}, 9, True, True),
        ({"policy": "always-thank", "line": 1, "scope": "file"}, 9, True, False),
        ({"policy": "no-deflection", "line": 3, "scope": "next-line", "target": 5}, 5, True, True),
        ({"policy": "no-deflection", "line": 3, "scope": "next-line", "target": 5}, 4, True, False),
        ({"policy": "no-deflection", "line": 3, "scope": "next-line"}, 4, True, True),  # target defaults to line + 1
        ({"policy": "NO-DEFLECTION", "line": 3, "scope": "next-line", "target": 4}, 4, True, True),
    ],
)
def test_is_suppressed(directive: dict, line: int | None, evidence: bool, expected: bool) -> None:
    policy = POLICIES.get("no-deflection")
    finding = Finding(policy.id, Severity.ERROR, "m", location=Location("a.md", line, 1),
                      evidence=Span("x", 0, 1) if evidence else None)
    assert is_suppressed(finding, policy, [directive]) is expected


@settings(max_examples=30, deadline=None)
@given(
    lines=st.lists(st.sampled_from([BAD, "Thank you.", "We fixed it.", "", "Not my department, sorry."]),
                   min_size=1, max_size=8),
    at=st.integers(min_value=0, max_value=8),
    policy=st.sampled_from(["no-deflection", "demo.no-deflection", "always-thank", "all", "no-such-policy"]),
    scope=st.sampled_from(["disable", "disable-next-line"]),
)
def test_a_directive_never_adds_findings(lines: list[str], at: int, policy: str, scope: str) -> None:
    from servicecheck.inputs import document_from_text

    def findings(text: str) -> list[tuple[str, str]]:
        result = AUDITOR.check(document_from_text(text, "x.md", "template"))
        return sorted((f.policy, f.evidence.text if f.evidence else "") for f in result.findings)

    before = findings("\n".join(["# Reply", *lines]))
    with_directive = ["# Reply", *lines]
    with_directive.insert(min(at, len(with_directive)), f"<!-- servicecheck: {scope}={policy} -->")
    after = findings("\n".join(with_directive))
    assert set(after) <= set(before)
    assert len(after) <= len(before)
