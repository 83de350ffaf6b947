"""Baselines: --write-baseline records known findings, --baseline drops them, so CI fails only on new ones."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecheck import api
from servicecheck.baseline import Baseline, entries_of, filter_result, fingerprints_of, load_baseline, stable_path
from servicecheck.cli import main
from servicecheck.errors import ExitCode, UsageError
from servicecheck.formatters.sarif import FINGERPRINT_KEY, sarif_log

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "demo-pack"
POLICIES = api.load_policies([DEMO], include_default=False)

BAD = "It is not our department."
BAD2 = "Honestly, not my department."
PACK = ["--no-config", "--no-default-pack", "--policies", str(DEMO)]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "refund.md").write_text(f"# Refund\nThank you.\n{BAD}\n", encoding="utf-8")
    (tmp_path / "templates" / "ok.md").write_text("# Hello\nThank you, it is done.\n", encoding="utf-8")
    (tmp_path / "templates" / "macros.yaml").write_text(f"templates:\n  late: Thank you. {BAD}\n  fine: Thanks!\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(main, [*args, *PACK])


def test_write_then_use_a_baseline(repo: Path) -> None:
    assert run("lint", "templates").exit_code == ExitCode.FINDINGS
    written = run("lint", "templates", "--write-baseline", "baseline.json")
    assert written.exit_code == ExitCode.OK, written.output
    assert "wrote 2 known finding(s) to baseline.json" in written.stderr
    doc = json.loads((repo / "baseline.json").read_text())
    assert doc["version"] == 1 and doc["fingerprints"] == FINGERPRINT_KEY
    assert [(e["policy"], e["path"]) for e in doc["findings"]] == [
        ("demo.no-deflection", "templates/macros.yaml"),
        ("demo.no-deflection", "templates/refund.md"),
    ]
    assert doc["findings"][0]["hint"] == "late: «not our department»"
    assert all(set(e) == {"policy", "path", "fingerprint", "hint"} for e in doc["findings"])
    again = run("lint", "templates", "--baseline", "baseline.json")
    assert again.exit_code == ExitCode.OK, again.output
    assert again.stdout == ""
    assert "2 known finding(s) hidden by the baseline baseline.json" in again.stderr
    assert run("lint", "templates", "--baseline", "baseline.json", "--quiet").stderr == ""


def test_only_new_findings_fail(repo: Path) -> None:
    run("lint", "templates", "--write-baseline", "baseline.json")
    # Lines added above the known finding move it: its fingerprint does not change.
    (repo / "templates" / "refund.md").write_text(f"# Refund\n\nHello.\nThank you.\n\n{BAD}\n{BAD2}\n")
    result = run("lint", "templates", "--baseline", "baseline.json", "--format", "json")
    assert result.exit_code == ExitCode.FINDINGS
    docs = json.loads(result.stdout)["documents"]
    new = [(d["path"], f["location"]["line"]) for d in docs for f in d["findings"]]
    assert new == [("templates/refund.md", 7)]


def test_a_repeated_finding_beyond_the_known_count_is_new(repo: Path) -> None:
    (repo / "templates" / "refund.md").write_text(f"# Refund\nThank you.\n{BAD}\n{BAD}\n")
    run("lint", "templates", "--write-baseline", "baseline.json")
    (repo / "templates" / "refund.md").write_text(f"# Refund\nThank you.\n{BAD}\n{BAD}\n{BAD}\n")
    result = run("lint", "templates/refund.md", "--baseline", "baseline.json", "-f", "json")
    assert result.exit_code == ExitCode.FINDINGS
    assert len(json.loads(result.stdout)["documents"][0]["findings"]) == 1


def test_the_path_spelling_does_not_matter(repo: Path) -> None:
    run("lint", "templates", "--write-baseline", "baseline.json")
    for spelling in ("./templates", str(repo / "templates"), "templates/", "templates/../templates"):
        result = run("lint", spelling, "--baseline", "baseline.json")
        assert result.exit_code == ExitCode.OK, (spelling, result.output)


def test_fingerprints_are_the_sarif_partial_fingerprints(repo: Path) -> None:
    report = api.collect(api.lint(["templates"], POLICIES), POLICIES)
    sarif = {r["partialFingerprints"][FINGERPRINT_KEY] for r in sarif_log(report)["runs"][0]["results"]}
    ours = {fp for r in report.documents for _, fp in fingerprints_of(r)}
    assert ours == sarif and len(ours) == 2
    cli = json.loads(run("lint", "templates", "-f", "sarif").stdout)["runs"][0]["results"]
    assert {r["partialFingerprints"][FINGERPRINT_KEY] for r in cli} == ours


def test_baselined_policy_passes_and_the_score_is_recomputed(repo: Path) -> None:
    (result,) = [r for r in api.lint(["templates/refund.md"], POLICIES)]
    assert result.score == 25.0  # no-deflection (3) fails, always-thank (1) passes
    cleaned = filter_result(result, Baseline(fp for _, fp in fingerprints_of(result)))
    assert cleaned.findings == ()
    assert {p.id: p.status for p in cleaned.policies}["demo.no-deflection"] == "pass"
    assert (cleaned.score, cleaned.auto_failed) == (100.0, False)
    assert filter_result(result, Baseline()) is result


def test_baseline_with_transcripts_and_jsonl(repo: Path) -> None:
    (repo / "calls.jsonl").write_text(
        json.dumps({"id": "c1", "turns": [{"speaker": "customer", "text": "Hi"},
                                          {"speaker": "agent", "text": "Thanks. Not my department."}]}) + "\n"
        + json.dumps({"id": "c2", "turns": [{"speaker": "customer", "text": "Hi"},
                                            {"speaker": "agent", "text": "Thank you, done."}]}) + "\n")
    assert run("audit", "calls.jsonl", "--write-baseline", "b.json", "-f", "jsonl").exit_code == ExitCode.OK
    assert [e["hint"] for e in json.loads((repo / "b.json").read_text())["findings"]] == ["c1: «Not my department»"]
    result = run("audit", "calls.jsonl", "--baseline", "b.json", "-f", "jsonl")
    assert result.exit_code == ExitCode.OK
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["c1", "c2"] and all(x["findings"] == [] for x in lines)


def test_write_baseline_still_reports_unreadable_inputs(repo: Path) -> None:
    (repo / "templates" / "broken.yaml").write_text("templates: [\n")
    result = run("lint", "templates", "--write-baseline", "b.json")
    assert result.exit_code == ExitCode.UNREADABLE
    assert len(json.loads((repo / "b.json").read_text())["findings"]) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "b.json:1:2: invalid JSON"),
        ("[]", "b.json: $: not a servicecheck baseline"),
        ('{"version": 7, "findings": []}', "b.json: $.version: unsupported baseline version 7"),
        ('{"version": 1, "fingerprints": "other/v9", "findings": []}', "b.json: $.fingerprints: written with 'other/v9'"),
        ('{"version": 1, "findings": [{"fingerprint": 3}]}', "b.json: $.findings[0].fingerprint: expected a non-empty string"),
    ],
)
def test_a_bad_baseline_is_a_usage_error(repo: Path, text: str, message: str) -> None:
    (repo / "b.json").write_text(text)
    result = run("lint", "templates", "--baseline", "b.json")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith(f"servicecheck: {message}"), result.stderr
    with pytest.raises(UsageError):
        load_baseline(repo / "b.json")


def test_a_missing_baseline_is_a_usage_error(repo: Path) -> None:
    assert run("lint", "templates", "--baseline", "nope.json").exit_code == ExitCode.USAGE


def test_written_file_is_sorted_and_stable(repo: Path) -> None:
    run("lint", "templates", "--write-baseline", "one.json")
    run("lint", "templates/refund.md", "templates/macros.yaml", "--write-baseline", "two.json")
    assert (repo / "one.json").read_text() == (repo / "two.json").read_text()


@pytest.mark.parametrize(
    ("given", "expected"),
    [("templates/a.md", "templates/a.md"), ("./templates/a.md", "templates/a.md"), ("a//b/../c.md", "a/c.md"),
     ("<stdin>", "<stdin>")],
)
def test_stable_path(given: str, expected: str) -> None:
    assert stable_path(given) == expected


def test_stable_path_of_an_absolute_path_below_the_working_directory(repo: Path) -> None:
    assert stable_path(str(repo / "templates" / "x.md")) == "templates/x.md"
    outside = os.path.abspath(os.sep + "elsewhere" + os.sep + "x.md")
    assert stable_path(outside) == outside.replace(os.sep, "/")


@settings(max_examples=25, deadline=None)
@given(
    lines=st.lists(st.sampled_from([BAD, BAD2, "Thank you.", "", "We fixed it."]), min_size=1, max_size=6),
    extra=st.lists(st.sampled_from(["", "Hello.", "# Note"]), max_size=4),
)
def test_moving_lines_never_changes_fingerprints(lines: list[str], extra: list[str]) -> None:
    """Lines added above (blank, sentences, headings) keep every fingerprint."""
    from servicecheck.inputs import document_from_text

    auditor = api.Auditor(POLICIES, "en")

    def prints(text: str) -> list[str]:
        result = auditor.check(document_from_text(text, "x.md", "template"))
        return sorted(e["fingerprint"] for e in entries_of(result) if e["policy"] == "demo.no-deflection")

    assert prints("\n".join(["# T", *lines])) == prints("\n".join(["# T", *extra, *lines]))
