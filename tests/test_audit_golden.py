"""The speed work changes no result: ``audit --format json`` gives the bytes of the unoptimised code.

The reference reports (``tests/golden/audit_*.json.gz``) were written by the code before
issue 11's changes (``tools/audit_golden.py`` runs that commit's ``src/`` on the current
pack). When the lexicons or model files change, run ``python tools/audit_golden.py``.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from servicecheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import audit_golden

STALE = ("the default pack or the inputs changed since tests/golden/audit_*.json.gz were written: "
         "run `python tools/audit_golden.py` (it uses the reference code path)")


def _findings(report: dict) -> list[tuple]:
    return [(c["id"], f["policy"], f.get("turn"), json.dumps(f, sort_keys=True))
            for c in report["conversations"] for f in c["findings"]]


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("case", sorted(audit_golden.CASES))
def test_json_report_is_byte_identical_to_the_reference(case: str, jobs: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    files = audit_golden.CASES[case]
    if not all(f.is_file() for f in files):
        pytest.skip(f"inputs of {case} not found (../shared/devset beside the checkout)")
    stamp = json.loads(audit_golden.STAMP.read_text())
    current = audit_golden.stamp()
    assert stamp["pack"] == current["pack"], STALE
    for f in files:
        assert stamp["inputs"].get(f.name) == current["inputs"][f.name], STALE
    for f in files:
        shutil.copyfile(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    if jobs == "1":  # the Hyperscan prefilter from the first turn (--jobs 2: the RE2 probes first)
        monkeypatch.setenv("SERVICECHECK_PREFILTER_AFTER", "1")
    result = CliRunner().invoke(main, ["audit", "--no-config", "-q", "--format", "json", "--jobs", jobs,
                                       *[f.name for f in files], "-o", "report.json"])
    assert result.exit_code in (0, 1), result.output
    got = (tmp_path / "report.json").read_bytes()
    want = gzip.decompress((audit_golden.GOLDEN / f"audit_{case}.json.gz").read_bytes())
    if got != want:
        got_f, want_f = _findings(json.loads(got)), _findings(json.loads(want))
        assert got_f == want_f, "findings differ from the reference"
        assert got == want, "same findings, but the report's bytes differ from the reference"


def test_forked_workers_give_the_reference_bytes(tmp_path: Path) -> None:
    """--jobs 2 in a fresh process forks its workers from a parent that built the pack (Linux)."""
    import os
    import subprocess

    files = audit_golden.CASES["devset"]
    if not all(f.is_file() for f in files):
        pytest.skip("no dev set beside the checkout")
    for f in files:
        shutil.copyfile(f, tmp_path / f.name)
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "servicecheck", "audit", "--no-config", "-q", "--format", "json",
                           "--jobs", "2", *[f.name for f in files], "-o", "report.json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    want = gzip.decompress((audit_golden.GOLDEN / "audit_devset.json.gz").read_bytes())
    assert (tmp_path / "report.json").read_bytes() == want


def test_the_reference_patch_applies_to_the_reference_commit(tmp_path: Path) -> None:
    """tools/audit_golden.py applies main's meaning changes to the reference's src/; the patch must apply."""
    import subprocess

    archive = subprocess.run(["git", "-C", str(ROOT), "archive", audit_golden.REFERENCE, "src"],
                             capture_output=True, check=False)
    if archive.returncode:
        pytest.skip(f"reference commit {audit_golden.REFERENCE} not in this checkout's history")
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive.stdout, check=True)
    applied = subprocess.run(["git", "apply", "-p1", str(audit_golden.PATCH)], cwd=tmp_path,
                             capture_output=True, text=True, check=False)
    assert applied.returncode == 0, applied.stderr
    patched = (tmp_path / "src" / "servicecheck" / "signals.py").read_text(encoding="utf-8")
    assert "NEGATION_STOPS" in patched
