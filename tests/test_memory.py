"""Any single input, however large, is read in bounded memory: real processes, peak RSS measured by wait4.

No timing is asserted (SPEC section 9): only the exit code, the message and the peak
resident memory of the servicecheck process, as the kernel reports it.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
from _peak_rss import run_with_peak_rss

LIMIT_MB = 400
TURNS = ("Customer: My invoice from March is wrong, I was charged twice for the same thing.\n"
         "Agent: Thank you for calling, I am looking at your account right now, one moment please.\n")
GOOD = json.dumps({"id": "ok", "turns": [{"speaker": "customer", "text": "Hello"},
                                          {"speaker": "agent", "text": "Thanks for calling."}]})

pytestmark = pytest.mark.skipif(not hasattr(os, "wait4"), reason="os.wait4 (peak RSS of a child) is POSIX-only")


def run(args: list[str], stdin: Path | None = None) -> tuple[int, str, float]:
    """Exit code, stderr and peak RSS (MB) of ``servicecheck ARGS`` in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        err = Path(tmp) / "stderr.txt"
        code, rss = run_with_peak_rss([sys.executable, "-m", "servicecheck", *args, "--no-config"],
                                      stdin=stdin or os.devnull, stderr=err)
        return code, err.read_text("utf-8", "replace"), rss / (1 << 20)


def write_text(path: Path, megabytes: float) -> Path:
    block = TURNS * 1000
    with open(path, "w", encoding="utf-8") as fh:
        for _ in range(int(megabytes * (1 << 20)) // len(block) + 1):
            fh.write(block)
    return path


def test_a_50_mb_single_conversation_text_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    big = write_text(tmp_path / "call.txt", 50)
    code, err, rss = run(["audit", str(big)])
    assert code == 3
    assert f"{big}: {big.stat().st_size / (1 << 20):.1f} MB, more than the 8 MB servicecheck reads as one piece" in err
    assert rss < LIMIT_MB


def test_50_mb_on_standard_input_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    big = write_text(tmp_path / "call.txt", 50)
    code, err, rss = run(["audit", "-"], stdin=big)
    assert code == 3
    assert "<stdin>: standard input holds more than the 8 MB servicecheck reads as one piece" in err
    assert rss < LIMIT_MB


def test_lint_refuses_a_50_mb_document_in_bounded_memory(tmp_path: Path) -> None:
    big = write_text(tmp_path / "script.md", 50)
    code, err, rss = run(["lint", str(big)])
    assert code == 3 and "more than the 8 MB" in err
    assert rss < LIMIT_MB


def test_a_jsonl_line_of_50_mb_is_refused_and_the_other_lines_audited(tmp_path: Path) -> None:
    export = tmp_path / "calls.jsonl"
    filler = "x" * (1 << 20)
    with open(export, "w", encoding="utf-8") as fh:
        fh.write(GOOD + "\n")
        fh.write('{"id": "huge", "turns": [{"speaker": "agent", "text": "')
        for _ in range(50):
            fh.write(filler)
        fh.write('"}]}\n')
        fh.write(GOOD + "\n")
    for jobs in ("1", "2"):
        code, err, rss = run(["audit", str(export), "--jobs", jobs, "-f", "jsonl", "--fail-on", "never"])
        assert code == 3
        assert err.splitlines() == [f"servicecheck: {export}:2: a line more than the 8 MB servicecheck reads as one "
                                    "piece: split it, or export JSONL (one conversation per line, read line by line "
                                    "whatever its size)"]
        assert rss < LIMIT_MB


def test_a_text_file_just_under_the_bound_is_read_and_its_100k_turns_refused_in_bounded_memory(
        tmp_path: Path) -> None:
    big = write_text(tmp_path / "call.txt", 7.8)
    assert big.stat().st_size < 8 << 20
    code, err, rss = run(["audit", str(big)])
    assert code == 3
    assert "turns, more than the 10000 servicecheck audits as one unit (split it)" in err
    assert rss < LIMIT_MB
