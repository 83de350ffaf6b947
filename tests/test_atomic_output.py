"""Reports are written atomically and inputs are never modified (SPEC section 9, issue 7).

``--output`` goes to a temporary file in the target's folder, renamed over the target
only when the whole report is written: a run that fails half-way leaves the previous
report as it was and no temporary file behind.  Every input, the bad-input corpus
included, has the same bytes after ``audit``, ``lint`` and ``annotate`` as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_bad_inputs import CORPUS, GOOD, adversarial_turn, deep_json, huge_turn

from servicecheck import api
from servicecheck.cli import main
from servicecheck.formatters.json import JsonlFormatter

OLD = "the previous report, complete\n"


def _runner() -> CliRunner:
    try:  # Click < 8.2 mixes stderr into output unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


@pytest.fixture
def old_report(tmp_path: Path) -> Path:
    out = tmp_path / "reports" / "report.out"
    out.parent.mkdir()
    out.write_text(OLD, encoding="utf-8")
    return out


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != "report.out")


def test_a_formatter_failing_mid_stream_leaves_the_old_report(old_report: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = JsonlFormatter.render_result

    def flaky(self: JsonlFormatter, result: object, *, color: bool = False) -> str:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")  # after two conversations were written to the temporary file
        return real(self, result, color=color)  # type: ignore[arg-type]

    monkeypatch.setattr(JsonlFormatter, "render_result", flaky)
    result = _runner().invoke(main, ["audit", str(CORPUS / "mixed.jsonl"), "-f", "jsonl", "-o", str(old_report),
                                     "--fail-on", "never"])
    assert isinstance(result.exception, RuntimeError)
    assert len(calls) == 3
    assert old_report.read_text(encoding="utf-8") == OLD
    assert _leftovers(old_report.parent) == []


def test_a_run_interrupted_while_auditing_leaves_the_old_report(old_report: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    real = api.Auditor.check

    def interrupted(self: api.Auditor, conversation: object) -> object:
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt  # Ctrl-C half-way: not an input problem, the run stops
        return real(self, conversation)  # type: ignore[arg-type]

    monkeypatch.setattr(api.Auditor, "check", interrupted)
    for fmt in ("json", "jsonl", "html"):
        seen.clear()
        result = _runner().invoke(main, ["audit", str(CORPUS / "mixed.jsonl"), "-f", fmt, "-o", str(old_report)])
        assert result.exit_code != 0, fmt
        assert old_report.read_text(encoding="utf-8") == OLD, fmt
        assert _leftovers(old_report.parent) == [], fmt


def test_a_successful_run_replaces_the_report_and_keeps_its_mode(old_report: Path) -> None:
    if os.name == "posix":
        old_report.chmod(0o640)
    result = _runner().invoke(main, ["audit", str(GOOD), "-f", "json", "-o", str(old_report), "--fail-on", "never"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(old_report.read_text(encoding="utf-8"))["conversations"][0]["id"] == "good-fr"
    assert _leftovers(old_report.parent) == []
    if os.name == "posix":
        assert stat.S_IMODE(old_report.stat().st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_new_report_gets_the_mode_of_a_plain_open(tmp_path: Path) -> None:
    out = tmp_path / "new.json"
    result = _runner().invoke(main, ["audit", str(GOOD), "-f", "json", "-o", str(out), "--fail-on", "never"])
    assert result.exit_code == 0, result.stderr
    plain = tmp_path / "plain"
    plain.write_text("x")
    # Not mkstemp's private 0600: a CI artefact must stay readable by the next job.
    assert stat.S_IMODE(out.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


# --------------------------------------------------------------------------- inputs never modified


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_inputs_are_never_modified(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for make in (deep_json, adversarial_turn):
        make(inputs)
    huge_turn(inputs, size=300_000)
    before_corpus, before_generated = _snapshot(CORPUS), _snapshot(inputs)
    out = tmp_path / "out"
    runs = [
        ["audit", str(CORPUS), str(inputs), "-f", "json", "-o", str(out)],
        ["audit", str(CORPUS), "-f", "jsonl"],
        ["audit", str(CORPUS), "-f", "html", "-o", str(out)],
        ["lint", str(CORPUS), "-f", "sarif", "-o", str(out)],
        ["annotate", str(CORPUS), "--explain"],
        ["audit", str(GOOD), "--policies", str(CORPUS / "packs" / "alias-bomb")],
        ["policies", "validate", str(CORPUS / "packs" / "unknown-signal")],
    ]
    for args in runs:
        result = _runner().invoke(main, args)
        assert "Traceback" not in result.stderr, args
        assert isinstance(result.exception, (type(None), SystemExit)), (args, result.exc_info)
    assert _snapshot(CORPUS) == before_corpus  # same files, same bytes: nothing written beside the inputs
    assert _snapshot(inputs) == before_generated
