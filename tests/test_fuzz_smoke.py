"""The atheris fuzz targets still start and run (a few seconds each); skipped without atheris.

Long fuzzing runs are documented in docs/fuzzing.md and are not part of the test suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("target", ["fuzz_readers.py", "fuzz_patterns.py"])
def test_fuzz_target_runs_clean_for_a_few_seconds(target: str, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "fuzz" / target), "-max_total_time=2", "-timeout=10", "-rss_limit_mb=2048"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done" in proc.stderr  # libFuzzer's last line: "Done N runs in S second(s)"
    assert not list(tmp_path.glob("crash-*")) and not list(tmp_path.glob("timeout-*"))
