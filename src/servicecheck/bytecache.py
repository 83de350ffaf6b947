"""Where servicecheck keeps its cache files, and a store for bytes that are slow to build (keyed by their inputs).

The folder: ``$SERVICECHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/servicecheck``, else
``~/.cache/servicecheck``; ``SERVICECHECK_NO_CACHE=1`` turns caching off. The compiled
pack lives there too (``servicecheck.policy.cache``). This module imports nothing of
servicecheck's own but its version, so the signal matcher can keep its compiled
prefilter databases here without an import cycle through the pack loader.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servicecheck import __version__

__all__ = ["cache_dir", "cached_bytes", "write_entry"]

_PREFIX = "bytes-"
_SUFFIX = ".bin"
_KEEP = 16  # entries kept; older ones are pruned when a new one is written
_FORMAT = 1


def cache_dir() -> Path | None:
    """The folder cache files go to, or ``None`` when ``SERVICECHECK_NO_CACHE`` is set."""
    if os.environ.get("SERVICECHECK_NO_CACHE", "").strip() not in ("", "0"):
        return None
    explicit = os.environ.get("SERVICECHECK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "servicecheck"


def cached_bytes(what: str, key_material: bytes, build: Callable[[], bytes] | None) -> bytes | None:
    """``build()``, kept in the cache folder under a digest of ``what`` and ``key_material``.

    ``build=None``: only look (``None`` when the cache does not hold it). A cache that
    cannot be read or written is ignored: the bytes are then built every time.
    """
    folder = cache_dir()
    if folder is None:
        return bytes(build()) if build is not None else None
    digest = hashlib.sha256()
    digest.update(f"servicecheck {__version__} format {_FORMAT} {what}\n".encode())
    digest.update(key_material)
    key = digest.hexdigest().encode()
    path = folder / f"{_PREFIX}{key[:32].decode()}{_SUFFIX}"
    try:
        stored = path.read_bytes()
        head, _nl, body = stored.partition(b"\n")
        if head == key:
            return body
    except OSError:
        pass
    if build is None:
        return None
    value = bytes(build())
    try:
        write_entry(folder, path, _PREFIX, _SUFFIX, _KEEP, lambda fh: fh.write(key + b"\n" + value))
    except OSError:  # a read-only home, a full disk: run without the cache
        pass
    return value


def write_entry(folder: Path, path: Path, prefix: str, suffix: str, keep: int, write: Callable[[Any], object]) -> None:
    """Write one cache file atomically with ``write(file)``, then keep only the ``keep`` newest ``prefix*suffix`` files.

    A concurrent reader sees the old file or the new one, never a part. Errors propagate:
    each caller decides which ones mean "run without the cache".
    """
    import tempfile  # only when a cache file is written

    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    entries = sorted(folder.glob(prefix + "*" + suffix), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[keep:]:
        old.unlink(missing_ok=True)
