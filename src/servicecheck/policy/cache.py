"""Cache the validated PolicySet on disk, keyed by the content of every pack file, so runs skip YAML and schemas.

Loading the default pack parses about 25 YAML files, validates them against JSON
Schemas and compiles every signal pattern once to check it: most of what a
``lint`` of one file costs. The result, a :class:`~servicecheck.policy.loader.PolicySet`,
is pickled under the user cache folder and served again while nothing it was
built from has changed.

The key is a SHA-256 of: the servicecheck version, the Python version, a stamp of
servicecheck's own modules (name, size, modification time: an edited checkout
never reads a pickle its code cannot trust), whether the default pack is loaded,
and, for every pack folder in load order, the path and the bytes of every file the
loader reads (``pack.yaml``, ``lexicon.yaml``, ``*.yaml``, ``signals/*.yaml``). A
file added, removed, renamed or edited gives a new key, so a stale entry is never
served. Only valid packs are cached: a pack with errors is loaded (and reported)
afresh every time.

Where: ``$SERVICECHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/servicecheck``, else
``~/.cache/servicecheck``. ``SERVICECHECK_NO_CACHE=1`` turns the cache off. A cache
that cannot be read or written is ignored (the pack is then loaded as usual); the
folder is the user's own, and what it holds is only ever read back by this module.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servicecheck import __version__
from servicecheck.bytecache import cache_dir, write_entry

if TYPE_CHECKING:
    from servicecheck.policy.loader import PolicySet
    from servicecheck.signals import SignalMatcher

__all__ = ["KEEP", "cache_dir", "cache_key", "load_policies_cached", "signal_matcher"]

KEEP = 16  # cache entries kept; older ones are pruned when a new one is written
_PREFIX = "policyset-"
_MATCHER_PREFIX = "matcher-"
_SUFFIX = ".pickle"
_FORMAT = 3  # bump when the layout of a cache file changes


def _code_stamp(digest: Any) -> None:
    """Feed the name, size and mtime of servicecheck's modules (a stat each: cheap)."""
    digest.update(_code_stamp_bytes())


@functools.cache
def _code_stamp_bytes() -> bytes:
    """The stamp of the code this process loaded, taken once (the pack key and the matcher key both use it)."""
    root = Path(__file__).resolve().parents[1]
    parts = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".py"):
                full = os.path.join(dirpath, name)
                st = os.stat(full)
                parts.append(f"{os.path.relpath(full, root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return b"".join(parts)


def _pack_files(directory: Path) -> list[Path]:
    """Every file the loader reads from one pack folder, in a fixed order."""
    files = sorted(directory.glob("*.yaml"))
    signals = directory / "signals"
    if signals.is_dir():
        files += sorted(signals.glob("*.yaml"))
    return files


def cache_key(directories: Iterable[str | os.PathLike[str]], include_default: bool) -> str | None:
    """The content key of a load, or ``None`` when some folder cannot be read (no caching then)."""
    from servicecheck.policy.loader import default_pack_root, find_packs

    digest = hashlib.sha256()
    digest.update(f"servicecheck {__version__} format {_FORMAT} python {sys.version_info[:3]}\n".encode())
    digest.update(f"default {include_default}\n".encode())
    _code_stamp(digest)
    roots = ([default_pack_root()] if include_default else []) + [Path(d) for d in directories]
    try:
        for root in roots:
            digest.update(f"root {root}\n".encode())
            if not root.is_dir():
                return None
            for pack in find_packs(root):
                digest.update(f"pack {pack}\n".encode())
                for file in _pack_files(pack):
                    data = file.read_bytes()
                    digest.update(f"file {file} {len(data)}\n".encode())
                    digest.update(data)
                models = pack / "models"
                for file in sorted(models.glob("*")) if models.is_dir() else ():
                    st = file.stat()  # model files are large: their size and time stand for their bytes
                    digest.update(f"model {file} {st.st_size} {st.st_mtime_ns}\n".encode())
    except OSError:
        return None
    return digest.hexdigest()


def _read(path: Path, key: str) -> object | None:
    try:
        with open(path, "rb") as fh:
            stored_key, value = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a truncated or foreign file: ignore it, it is rewritten below
        return None
    return value if stored_key == key else None


class _LazyRegex:
    """An RE2 regex restored from the cache and compiled only when first used.

    A matcher holds one regex per pattern (kept by the pattern compiler, used only
    for ``regex:`` patterns) and one alternation per signal and language; a short
    run touches a fraction of them, so compiling all at unpickling time would be
    most of the cost of a cache hit. After the first use the regex's methods are
    stored on the proxy, so the hot path is a plain attribute lookup.
    """

    def __init__(self, cls: type, state: Any) -> None:
        self.__dict__["_build"] = (cls, state)

    def _compiled(self) -> Any:
        real = self.__dict__.get("_real")
        if real is None:
            cls, state = self.__dict__["_build"]
            real = cls.__new__(cls)
            real.__setstate__(state)
            self.__dict__["_real"] = real
        return real

    def __getattr__(self, name: str) -> Any:  # called only for names not yet on the proxy
        if name.startswith("__") or name in ("_build", "_real"):
            raise AttributeError(name)
        value = getattr(self._compiled(), name)
        self.__dict__[name] = value
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_LazyRegex, self.__dict__["_build"])


def _re2_type() -> type | None:
    try:
        import re2
    except ImportError:  # pragma: no cover - a dependency
        return None
    return type(re2.compile("a"))


class _LazySignal:
    """One signal of a cached matcher in one language (its ``CompiledSignal``), unpickled when first used.

    A matcher holds ≈ 1,500 patterns; a ``lint`` of a small template searches a few
    signals, so unpickling all of them (≈ 10 ms) was most of reading the matcher cache.
    Each signal is stored as its own pickle and read on first attribute access; the
    attributes are then stored on the proxy (a plain lookup on the hot path).
    """

    def __init__(self, blob: bytes) -> None:
        self.__dict__["_blob"] = blob

    def __getattr__(self, name: str) -> Any:  # called only for names not yet on the proxy
        if name.startswith("__") or name in ("_blob", "_real"):
            raise AttributeError(name)
        real = self.__dict__.get("_real")
        if real is None:
            real = self.__dict__["_real"] = pickle.loads(self.__dict__["_blob"])
        value = getattr(real, name)
        self.__dict__[name] = value
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return (_LazySignal, (self.__dict__["_blob"],))


class _Single(dict):  # type: ignore[type-arg]
    """A cached matcher's ``_single`` (each signal's patterns, for ``explain``), taken from its signals when asked."""

    def __init__(self, compiled: Any) -> None:
        super().__init__()
        self.compiled = compiled

    def __missing__(self, key: Any) -> Any:
        value = self[key] = list(self.compiled[key].patterns.patterns)
        return value


def _matcher_from(state: dict[str, Any]) -> SignalMatcher:
    """A ``SignalMatcher`` from its cached state (without ``_single``, which repeats its signals' patterns)."""
    from servicecheck.signals import SignalMatcher

    matcher = SignalMatcher.__new__(SignalMatcher)
    matcher.__dict__.update(state)
    matcher.__dict__["_single"] = _Single(state["_compiled"])
    return matcher


class _Pickler(pickle.Pickler):
    """Stores RE2 regexes as :class:`_LazyRegex` (source and options; compiled on first use), and a
    matcher's signals as :class:`_LazySignal` (unpickled on first use)."""

    regex_type = _re2_type()
    lazy_signals = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        signals, prefilter = sys.modules.get("servicecheck.signals"), sys.modules.get("servicecheck.detect.prefilter")
        self._matcher_type = getattr(signals, "SignalMatcher", None)
        self._signal_type = getattr(prefilter, "CompiledSignal", None) if self.lazy_signals else None

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if self.regex_type is not None and kind is self.regex_type:
            try:
                reduced = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
                cls, state = reduced[1][0], reduced[2]
            except Exception:  # noqa: BLE001 - an object that does not reduce: pickle it the usual way
                return NotImplemented
            if cls is self.regex_type and hasattr(cls, "__setstate__"):
                return (_LazyRegex, (cls, state))
        elif kind is self._signal_type:
            buffer = io.BytesIO()
            _SignalPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
            return (_LazySignal, (buffer.getvalue(),))
        elif kind is self._matcher_type:
            state = {k: v for k, v in obj.__getstate__().items() if k != "_single"}
            return (_matcher_from, (state,))
        return NotImplemented


class _SignalPickler(_Pickler):
    """The pickler of one signal's own blob (its regexes lazy, the signal itself not wrapped again)."""

    lazy_signals = False


def _write(folder: Path, path: Path, key: str, value: object, prefix: str = _PREFIX) -> None:
    try:
        write_entry(folder, path, prefix, _SUFFIX, KEEP,
                    lambda fh: _Pickler(fh, protocol=pickle.HIGHEST_PROTOCOL).dump((key, value)))
    except Exception:  # noqa: BLE001 - a read-only home, a full disk, a pickling problem: run without the cache
        return


def load_policies_cached(
    directories: Iterable[str | os.PathLike[str]] = (),
    *,
    include_default: bool = True,
) -> PolicySet:
    """:func:`~servicecheck.policy.loader.load_policies`, served from the cache when the packs are unchanged.

    Args:
        directories: extra pack folders, as for ``load_policies``.
        include_default: load the default pack first.

    Returns:
        The PolicySet, equal to what ``load_policies`` returns for the same files.

    Raises:
        PolicyError: as ``load_policies`` (invalid packs are never cached).
    """
    from servicecheck.policy.loader import PolicySet, load_policies

    dirs = list(directories)
    folder = cache_dir()
    key = cache_key(dirs, include_default) if folder is not None else None
    if folder is None or key is None:
        return load_policies(dirs, include_default=include_default)
    path = folder / f"{_PREFIX}{key[:32]}{_SUFFIX}"
    cached = _read(path, key)
    if isinstance(cached, PolicySet):
        return cached
    policyset = load_policies(dirs, include_default=include_default)
    _write(folder, path, key, policyset)
    cached = _read(path, key)  # read back, as signal_matcher does: regexes compiled when first used
    return cached if isinstance(cached, PolicySet) else policyset


def signal_matcher(signals: Any, spellings: Any = None, negators: Any = None) -> SignalMatcher:
    """A :class:`~servicecheck.signals.SignalMatcher` for these signals, unpickled from the cache when possible.

    Building a matcher compiles every pattern of every signal (a few hundred RE2
    regexes built by a Python compiler); unpickling one only recompiles the RE2
    alternations. The key is a digest of the pickled inputs (the signal
    definitions, spellings and negators) with the same version and code stamp as
    :func:`cache_key`, so any change to a lexicon builds a new matcher.

    Raises:
        PatternError: as ``SignalMatcher`` (a matcher that fails to build is never cached).
    """
    from servicecheck.signals import SignalMatcher

    folder = cache_dir()
    if folder is None:
        return SignalMatcher(signals, spellings, negators)
    try:
        digest = hashlib.sha256()
        digest.update(f"servicecheck {__version__} format {_FORMAT} python {sys.version_info[:3]}\n".encode())
        _code_stamp(digest)
        digest.update(pickle.dumps((signals, spellings, negators), protocol=pickle.HIGHEST_PROTOCOL))
        key = digest.hexdigest()
    except Exception:  # noqa: BLE001 - inputs that do not pickle (a caller's own objects): no caching
        return SignalMatcher(signals, spellings, negators)
    path = folder / f"{_MATCHER_PREFIX}{key[:32]}{_SUFFIX}"
    cached = _read(path, key)
    if isinstance(cached, SignalMatcher):
        return cached
    matcher = SignalMatcher(signals, spellings, negators)
    # The literal strings each pattern needs (servicecheck.literals), read off its regex now
    # and kept in the cached matcher, so a lint of a small file compiles only what can match.
    from servicecheck.literals import DocumentFilter

    matcher.__dict__["_document_filter"] = DocumentFilter(matcher._compiled)
    _write(folder, path, key, matcher, _MATCHER_PREFIX)
    # The entry just written, read back: its regexes are compiled when first used (_LazyRegex),
    # where the matcher built here holds every one compiled, most of them never searched
    # (about 20 MB of a cold run's peak; docs/performance.md, sixteenth round).
    cached = _read(path, key)
    return cached if isinstance(cached, SignalMatcher) else matcher

