"""One pass over a turn for every signal of a language: which patterns and exceptions may match.

The matcher (:mod:`servicecheck.signals`) then searches a signal only with the
patterns this prefilter reports. Hyperscan when the wheel is installed, else one
RE2 probe per signal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from servicecheck.text.patterns import PatternSet, _compile_small


@dataclass
class CompiledSignal:
    """One signal in one language: its pattern set and its exception set."""

    patterns: PatternSet
    exceptions: PatternSet | None


_PROBE_MEM = (1 << 20, 64 << 20)  # RE2 budgets of a signal's probe: the first doubling of the small one that compiles
_GAP = re.compile(r"\{(\d+),(\d+)\}\?")


def hyperscan_module() -> Any:
    """The ``hyperscan`` module, or ``None`` when it is not installed (or turned off)."""
    if os.environ.get("SERVICECHECK_NO_HYPERSCAN", "").strip() not in ("", "0"):
        return None
    try:
        import hyperscan
    except ImportError:
        return None
    return hyperscan


def prefilter_after() -> int:
    """Turns matched in one language before its Hyperscan database is compiled (when not in the cache yet)."""
    try:
        return max(int(os.environ.get("SERVICECHECK_PREFILTER_AFTER", "") or 5000), 1)
    except ValueError:
        return 5000


def _approximate(body: str) -> str:
    """A pattern body loosened for the byte-level prefilter: it matches wherever the body does.

    ``{word}``/``{num}`` become any token and bounded gaps unbounded ones: the same
    language or a larger one, and far cheaper to compile. Tokens never hold a space
    byte, so ``[^ ]`` on UTF-8 bytes spans the same tokens as on characters.
    """
    body = body.replace("[\\pL\\pN]", "[^ ]").replace("\\pN", "[^ ]")
    return _GAP.sub(lambda m: "*" if m.group(1) == "0" else "+", body)


def _pieces(source: str) -> Iterator[tuple[int, int, bool]]:
    """A regex cut into ``(start, end, plain)``: ``plain`` for one character outside escapes and classes.

    An escape (``\\x``) and each member of a character class (``[:alpha:]`` whole) are
    pieces that are not plain: their ``^``, ``$`` and parentheses are no operators.
    """
    i, n = 0, len(source)
    in_class = False
    while i < n:
        c = source[i]
        if c == "\\":
            yield i, min(i + 2, n), False
            i += 2
            continue
        if in_class:
            end = source.find(":]", i + 2) + 2 if source.startswith("[:", i) else 0  # [[:alpha:]]
            step = end - i if end > i + 3 else 1
            in_class = step > 1 or c != "]"
            yield i, i + step, False
            i += step
            continue
        if c == "[":  # a class: "]" right after "[" or "[^" is a member, not its end
            j = i + 1 + (source.startswith("^", i + 1))
            j += source.startswith("]", j)
            yield i, j, False
            in_class = True
            i = j
            continue
        yield i, i + 1, True
        i += 1


def _pad_anchors(loose: str) -> str | None:
    """A loosened ``regex:`` pattern for the text padded with a space each side, as the token patterns scan it.

    ``^`` becomes ``(?:^ )`` and ``$`` becomes ``(?: $)``: the anchors take in the padding, so
    a match of the pattern in the text is a match in the padded text, one byte on (``\\b`` and
    ``\\B`` see a space where they saw an edge: both non-word; the text holds no newline for ``$``
    to stop before). ``None`` for a pattern with another anchor (``\\A``, ``\\z``, ``\\Z``, ``\\G``).
    """
    out: list[str] = []
    for i, j, plain in _pieces(loose):
        piece = loose[i:j]
        if piece in ("\\A", "\\z", "\\Z", "\\G"):
            return None
        out.append("(?:^ )" if plain and piece == "^" else "(?: $)" if plain and piece == "$" else piece)
    return "".join(out)


def _loosen_anchors(source: str) -> str:
    """A ``regex:`` pattern with its embedded anchors loosened, for the prefilter: it matches wherever the pattern does.

    Hyperscan refuses ``^`` and ``$`` inside a pattern, and the lexicons write word edges as
    ``(^| )`` and ``( |$)``: those groups become ``(| )`` and ``( |)`` (the empty string
    anywhere instead of at an edge: a larger language, group numbers unchanged). Escapes and
    character classes are copied as they are; anything else stays refused, and its signal
    searched in full as before. A leading ``^.*`` and a trailing ``.*$`` are dropped (any
    match of the pattern holds a match of the rest): with them, a database of several
    patterns missed matches that each pattern alone reports (the known multi-pattern bug
    of some Hyperscan builds with ``^.*`` patterns, gliwka/hyperscan-java#231).
    """
    out: list[str] = []
    skip = 0
    for i, j, plain in _pieces(source):
        if i < skip:
            continue
        if plain:
            for edge, loose in (("(^| )", "(| )"), ("( |$)", "( |)")):
                if source.startswith(edge, i):
                    out.append(loose)
                    skip = i + len(edge)
                    break
            else:
                out.append(source[i:j])
        else:
            out.append(source[i:j])
    loose = "".join(out)
    loose = loose.removeprefix("^.*")
    escapes = len(loose[:-3]) - len(loose[:-3].rstrip("\\"))
    if loose.endswith(".*$") and escapes % 2 == 0:  # an unescaped "." before "*$"
        loose = loose[:-3]
    return loose


def _build_database(hs: Any, exprs: list[bytes], flags: list[int]) -> bytes:
    """The cache entry of a Hyperscan database of ``exprs``: the JSON list of the ids it holds, a newline, its bytes.

    Hyperscan refuses some constructs (``(^| )``, look-arounds): those patterns are
    left out, and their signals searched in full.
    """
    import json

    def compile_(ids: list[int]) -> Any:
        db = hs.Database()
        db.compile(expressions=[exprs[i] for i in ids], ids=ids, elements=len(ids), flags=[flags[i] for i in ids])
        return db

    ids = list(range(len(exprs)))
    try:
        db = compile_(ids)
    except Exception:  # noqa: BLE001 - some pattern Hyperscan refuses: find which, keep the others
        good = []
        for i in ids:
            try:
                compile_([i])
                good.append(i)
            except Exception:  # noqa: BLE001, S110 - this one is refused: its signal is searched in full
                pass
        ids = good
        db = compile_(ids) if ids else None
    body = bytes(hs.dumpb(db)) if db is not None else b""
    return json.dumps(ids).encode() + b"\n" + body


def _split_entry(entry: bytes) -> tuple[list[int], bytes] | None:
    """The ids and the database bytes of a cache entry :func:`_build_database` wrote (``None``: not such an entry)."""
    import json

    head, newline, body = entry.partition(b"\n")
    try:
        ids = json.loads(head) if newline else None
    except ValueError:
        return None
    return (ids, body) if isinstance(ids, list) and all(type(i) is int for i in ids) else None


_CHILD = (  # argv: the file to write, then the folders to import from
    "import sys, pickle; sys.path[:0] = sys.argv[2:]; import hyperscan\n"
    "from servicecheck.detect.prefilter import _build_database\n"
    "entry = _build_database(hyperscan, *pickle.loads(sys.stdin.buffer.read()))\n"
    "with open(sys.argv[1], 'wb') as out: out.write(entry)\n"
)


def _build_in_child(exprs: list[bytes], flags: list[int]) -> bytes | None:
    """:func:`_build_database` in a short-lived child process; ``None`` when that cannot run (then build here).

    Compiling a database of a thousand patterns takes seconds and about 110 MB, which the
    allocator does not give back: in the audit's own process it stayed in its resident set
    for the rest of the run (a run whose cache is cold, as on a fresh CI machine, peaked at
    about 300 MB). In a child, that memory goes back to the system when the child exits.
    """
    import pickle
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    if not sys.executable or os.environ.get("SERVICECHECK_HYPERSCAN_IN_PROCESS", "").strip() not in ("", "0"):
        return None
    package_root = str(Path(__file__).resolve().parents[2])  # the folder that holds servicecheck/
    try:
        with tempfile.TemporaryDirectory(prefix="servicecheck-hs-") as tmp:
            out = Path(tmp) / "entry"  # a file, not stdout: whatever the child prints cannot corrupt the entry
            done = subprocess.run(  # this interpreter, our own code, no shell
                [sys.executable, "-I", "-c", _CHILD, str(out), package_root, *[p for p in sys.path if p]],
                input=pickle.dumps((exprs, flags)), capture_output=True, timeout=600, check=False)
            entry = out.read_bytes() if done.returncode == 0 else b""
    except (OSError, subprocess.SubprocessError):
        return None
    return entry if _split_entry(entry) is not None else None


# What may match of one signal: the indexes of its patterns, and of its exceptions, that may
# (``None``: unknown, any may); ``()``: none does.
Subset = tuple[tuple[int, ...] | None, tuple[int, ...] | None]
NOTHING: Subset = ((), ())
_NO_PATTERN: Subset = ((), None)  # an RE2 probe saw no token pattern, and there is no regex: one; exceptions unknown


class Prefilter:
    """One pass over a turn for every signal of one language: which patterns and exceptions may match.

    With Hyperscan (the ``hyperscan`` wheel), one database holds every pattern and
    every exception of every signal in the language, loosened (:func:`_approximate`)
    and matched on the padded text's UTF-8 bytes (``regex:`` ones too, as Unicode, their
    word-edge anchors loosened by :func:`_loosen_anchors` and their ``^``/``$`` made to take in
    the padding by :func:`_pad_anchors`: one scan a turn; a ``regex:`` pattern with another
    anchor is scanned on the text in a second database). A pattern it does not report has no match anywhere;
    a signal is then searched with an alternation of only the patterns reported, in
    their order (the same leftmost-first matches: the others never match), and its
    exceptions likewise, or not at all. The databases take seconds to compile, so
    they are kept in the servicecheck cache. Without Hyperscan, each signal gets a
    probe: its alternation without capture groups (RE2 then runs its DFA only, and
    the grouped search, with its submatches, only where there is a match).
    """

    def __init__(self, compiled: Mapping[str, CompiledSignal], build: bool = True) -> None:
        """Build the prefilter of one language's signals; ``build=False``: Hyperscan only if already cached."""
        self.owners: list[tuple[str, int, int]] = []  # (signal, 0 pattern / 1 exception, index)
        self.raw_owners: list[tuple[str, int, int]] = []
        exprs: list[bytes] = []
        unicode: list[bool] = []  # per expression: a regex: pattern (matched as UTF-8), else a token pattern (bytes)
        raw: list[bytes] = []  # regex: patterns whose anchors cannot take in the padding: a database of their own
        for name, c in compiled.items():
            sections = [c.patterns.patterns, c.exceptions.patterns if c.exceptions is not None else ()]
            for section, patterns in enumerate(sections):
                for i, pattern in enumerate(patterns):
                    if pattern.body is not None:
                        exprs.append((" (?:" + _approximate(pattern.body) + ")").encode("utf-8"))
                        unicode.append(False)
                        self.owners.append((name, section, i))
                        continue
                    loose = _loosen_anchors(str(pattern.raw))
                    padded = _pad_anchors(loose)
                    if padded is not None:  # one scan of the padded text for both kinds
                        exprs.append(padded.encode("utf-8"))
                        unicode.append(True)
                        self.owners.append((name, section, i))
                    else:
                        raw.append(loose.encode("utf-8"))
                        self.raw_owners.append((name, section, i))
        self._db: Any = None
        self._raw_db: Any = None
        self._probes: dict[str, Any] = {}
        self._probe_misses: dict[str, Subset] = {}  # per probed signal: what may match when its probe finds nothing
        self.unfiltered: set[str] = set()  # signals with a pattern Hyperscan refuses: always searched in full
        hs = hyperscan_module()
        if hs is not None and exprs:
            try:
                flags = [hs.HS_FLAG_UTF8 if u else 0 for u in unicode]  # regex: ones as Unicode (any RE2 syntax)
                self._db, kept = self._database(hs, exprs, flags, "tokens", build)
                self.unfiltered.update(self.owners[i][0] for i in set(range(len(exprs))) - set(kept))
                if raw:  # regex: patterns with other anchors, on the text itself
                    self._raw_db, kept = self._database(hs, raw, [hs.HS_FLAG_UTF8] * len(raw), "raw", build)
                    self.unfiltered.update(self.raw_owners[i][0] for i in set(range(len(raw))) - set(kept))
            except Exception:  # noqa: BLE001 - no usable database (a foreign cache entry, ...): use the probes
                self._db = self._raw_db = None
                self.unfiltered = set()
        if self._db is None:
            for name, c in compiled.items():
                bodies = [str(p.body) for p in c.patterns.patterns if p.body is not None]
                if not bodies:
                    continue  # regex: patterns only: no probe, always searched
                try:
                    self._probes[name] = _compile_small(" (?:" + "|".join(bodies) + ")", never_capture=True,
                                                        budgets=_PROBE_MEM)
                except Exception:  # noqa: BLE001, S112 - too large for one regex: search it without a probe
                    continue
                # The probe covers the token patterns; the regex: ones (on the text, not the tokens)
                # are searched whatever it says.
                regex_only = tuple(i for i, p in enumerate(c.patterns.patterns) if p.body is None)
                self._probe_misses[name] = (regex_only, None) if regex_only else _NO_PATTERN

    @staticmethod
    def _database(
        hs: Any, exprs: list[bytes], flag: list[int], what: str, build_it: bool = True
    ) -> tuple[Any, list[int]]:
        """The compiled database of ``exprs`` (from the cache when it can), and which of them it holds.

        Built by :func:`_build_database`, in a child process when one can run (:func:`_build_in_child`).
        """
        import json
        import platform

        from servicecheck.bytecache import cached_bytes

        flags = [hs.HS_FLAG_SINGLEMATCH | hs.HS_FLAG_PREFILTER | f for f in flag]  # one per expression

        def build() -> bytes:
            return _build_in_child(exprs, flags) or _build_database(hs, exprs, flags)

        what = f"hyperscan {getattr(hs, '__version__', '?')} {platform.machine()} prefilter v3 {what}"
        stored = cached_bytes(what, b"\0".join(exprs) + b"\0" + json.dumps(flags).encode(), build if build_it else None)
        if stored is None:
            raise LookupError("not built yet")
        parts = _split_entry(stored)
        if parts is None:
            raise ValueError(f"{what}: not a prefilter database entry")
        kept, body = parts
        if not kept:
            return None, []
        db = hs.loadb(body, hs.HS_MODE_BLOCK)
        db.scratch = hs.Scratch(db)  # a loaded database has no scratch space of its own
        return db, kept

    @property
    def scans(self) -> bool:
        """Whether :meth:`signals` scans a database (its answer is then the same whatever signals are asked)."""
        return not self._probes and (self._db is not None or self._raw_db is not None)

    @staticmethod
    def _on_match(index: int, _start: int, _end: int, _flags: int, found: list[int]) -> None:
        found.append(index)

    def signals(self, normalized_text: str, names: Collection[str]) -> dict[str, Subset | None]:
        """Of ``names``, those with a pattern or an exception that may match ``normalized_text``.

        Each comes with the indexes of its patterns and exceptions that may match
        (``None``: any may); a signal left out has none that matches.
        """
        padded = (" " + normalized_text + " ").encode("utf-8")
        if not self._probes and self._db is None and self._raw_db is None and not self.unfiltered:
            return {name: None for name in names}  # no prefilter at all
        if self._probes or (self._db is None and self._raw_db is None):
            probed: dict[str, Subset | None] = {}
            for name in names:
                probe = self._probes.get(name)
                probed[name] = None if probe is None or probe.search(padded) is not None else self._probe_misses[name]
            return probed
        found: list[int] = []
        if self._db is not None:
            self._db.scan(padded, match_event_handler=self._on_match, context=found)
        hits = [self.owners[i] for i in found]
        if self._raw_db is not None:
            found.clear()
            self._raw_db.scan(padded[1:-1], match_event_handler=self._on_match, context=found)
            hits += [self.raw_owners[i] for i in found]
        parts: dict[str, tuple[list[int], list[int]]] = {}
        for name, section, i in hits:
            parts.setdefault(name, ([], []))[section].append(i)
        out: dict[str, Subset | None] = {name: (tuple(sorted(p)), tuple(sorted(e))) for name, (p, e) in parts.items()}
        for name in self.unfiltered:
            out[name] = None
        return out
