"""servicecheck.heap: the heap thresholds of long streaming runs."""

from __future__ import annotations

import platform
import subprocess
import sys


def test_steady_sets_glibc_thresholds_once_and_says_so() -> None:
    # in a child process: the setting is process-wide, and this one belongs to the test runner
    code = "from servicecheck import heap; a = heap.steady(); b = heap.steady(); print(a, b)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    expected = str(sys.platform == "linux" and platform.libc_ver()[0] == "glibc")
    assert out == [expected, expected]
