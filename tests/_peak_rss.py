"""Peak resident memory of a real process, for the tests that bound servicecheck's (by wait4, never a time).

The measured process is started by a small fresh interpreter, not by pytest itself: on Linux a child's
``ru_maxrss`` counts the memory image it was spawned from before exec, and pytest grows to hundreds of MB,
so a child of pytest reports pytest's own peak whatever it used itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

_MEASURE = """
import os, subprocess, sys
with open(sys.argv[1], "rb") as i, open(sys.argv[2], "wb") as o, open(sys.argv[3], "wb") as e:
    proc = subprocess.Popen(sys.argv[4:], stdin=i, stdout=o, stderr=e)
    _pid, status, usage = os.wait4(proc.pid, 0)
sys.stdout.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_with_peak_rss(command: Sequence[str], *, stdin: str | Path = os.devnull, stdout: str | Path = os.devnull,
                      stderr: str | Path = os.devnull, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                      timeout: float | None = None) -> tuple[int, int]:
    """Run ``command`` with its standard streams on those files; return its exit code and peak RSS in bytes.

    Raises:
        subprocess.TimeoutExpired: after ``timeout`` seconds (the command is killed first).
    """
    proc = subprocess.Popen([sys.executable, "-c", _MEASURE, str(stdin), str(stdout), str(stderr), *command],
                            stdout=subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)
    try:
        report, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    code, maxrss = report.decode().split()
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    return int(code), int(maxrss) * (1 if sys.platform == "darwin" else 1024)
