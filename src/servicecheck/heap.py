"""The process heap of a long streaming run (``audit``, ``annotate`` and their workers).

glibc raises its mmap threshold each time a large block is freed (up to 32 MB), so that later
large, short-lived buffers (RE2's DFA state caches, the reading and rendering buffers of each
conversation) come from the main heap instead of their own mappings, where they fragment it and
stay counted in the resident set after they are freed. Setting the trim threshold fixes both
thresholds at their defaults: on the 20,000-conversation benchmark peak RSS went 210 -> 201 MB
(``/usr/bin/time``), CPU time unchanged (docs/performance.md).
"""

from __future__ import annotations

import sys

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_TRIM_THRESHOLD = 128 * 1024  # glibc's default value; setting it at all turns the dynamic adjustment off

_done: list[bool] = []


def steady() -> bool:
    """Fix glibc's trim and mmap thresholds for this process (once); ``False`` where there is no glibc."""
    if _done:
        return _done[0]
    ok = False
    if sys.platform == "linux":
        try:
            import ctypes
            import platform

            if platform.libc_ver()[0] == "glibc":
                ok = bool(ctypes.CDLL(None).mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
        except (OSError, AttributeError, ValueError):  # pragma: no cover - an unusual libc
            ok = False
    _done.append(ok)
    return ok
