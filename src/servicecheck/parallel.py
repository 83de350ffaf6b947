"""Audit and lint on several processes, streaming, with results in exactly the order of one process.

Layout (ENGINE.md: the C engine holds the GIL, so threads gain nothing, and one
durable ``Host`` per process is the verified set-up): a pool of ``jobs`` worker
processes, started with ``spawn`` (no engine state is inherited), each building
one :class:`~servicecheck.auditor.Auditor` from the pickled PolicySet at start-up.

The parent splits the input into *units* and keeps at most ``jobs * INFLIGHT``
of them submitted, yielding each unit's results as soon as it and every unit
before it are done, so output order equals ``--jobs 1`` and memory stays bounded:

* a streamable JSONL file (:mod:`servicecheck.inputs.stream`) becomes blocks of
  :data:`BLOCK_LINES` lines that the workers parse themselves (the parent only
  splits lines, it never parses JSON);
* any other file is one unit, read and audited by one worker;
* standard input is read by the parent (it cannot be re-opened by a worker) and
  its conversations are sent in blocks.

Conversations without an id are named ``<file>#<n>``, where ``n`` counts the
conversations of the file before them. A block is parsed with a provisional
count (one conversation per line); when the count it started from proves wrong
(a line held a list of conversations), that block is parsed again with the right
one, so generated ids are the same as with one process.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from servicecheck.model import Conversation, InputProblem, Result

__all__ = ["BLOCK_LINES", "INFLIGHT", "Rendered", "audit_parallel", "default_jobs", "lint_parallel"]

BLOCK_LINES = 200  # JSONL lines per unit: large enough to hide the hand-over, small enough to stream
BLOCK_CONVERSATIONS = 100  # conversations per unit read from standard input
INFLIGHT = 3  # units submitted per worker ahead of the one being consumed

Item = Result | InputProblem


def default_jobs() -> int:
    """The number of CPUs this process may use (``--jobs 0``)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(os.cpu_count() or 1, 1)


class Rendered:
    """A result a worker already rendered for a streaming format (``render=`` of :func:`audit_parallel`).

    It carries what the command line needs and nothing else: the text to write,
    the most severe finding (for the exit code) and the score. The parent then
    neither unpickles the conversation nor renders it: with two workers on two
    cores, that work in the parent was what kept ``--jobs 2`` under 1.8 times.
    """

    __slots__ = ("findings", "id", "rendered", "score")

    def __init__(self, ident: str, rendered: str, findings: tuple[Any, ...], score: float | None) -> None:
        self.id = ident
        self.rendered = rendered
        self.findings = findings
        self.score = score

    def __reduce__(self) -> tuple[Any, ...]:
        return (Rendered, (self.id, self.rendered, self.findings, self.score))

    def __repr__(self) -> str:
        return f"<Rendered {self.id!r}>"


def _reducers() -> dict[type, Any]:
    """Pickle the model's frozen dataclasses as constructor calls (several times faster to load)."""
    import copyreg
    import dataclasses

    from servicecheck import model

    def reducer(cls: type) -> Any:
        names = [f.name for f in dataclasses.fields(cls)]
        return lambda obj: (cls, tuple(getattr(obj, n) for n in names))

    table = dict(copyreg.dispatch_table)
    for cls in (model.Turn, model.Conversation, model.Finding, model.Span, model.Location, model.PolicyStatus,
                model.Result, model.InputProblem):
        table[cls] = reducer(cls)
    return table


def _dumps(value: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    table = _worker.get("reducers")
    if table is None:
        table = _worker["reducers"] = _reducers()
    pickler.dispatch_table = table
    pickler.dump(value)
    return buffer.getvalue()


# ---------------------------------------------------------------- worker side

_worker: dict[str, Any] = {}


def _init(policyset_bytes: bytes, language: str | None, read: dict[str, Any], render: str | None) -> None:
    from servicecheck.auditor import Auditor

    policyset = pickle.loads(policyset_bytes)
    formatter = None
    if render is not None:
        from servicecheck.formatters import get

        formatter = get(render)
    _worker.update(policyset=policyset, auditor=Auditor(policyset, language), read=read, formatter=formatter)


def _run(unit: _Unit) -> tuple[bytes, int]:
    """Run one unit in a worker: its items (pickled fast, or rendered) and the file's count after it."""
    items, count = _items(unit)
    formatter = _worker.get("formatter")
    if formatter is not None:
        items = [_rendered(formatter, item) for item in items]
    return _dumps(items), count


def _rendered(formatter: Any, item: Item) -> Any:
    if isinstance(item, InputProblem):
        return item
    worst = max(item.findings, key=lambda f: f.severity, default=None)
    return Rendered(item.id, formatter.render_result(item), (worst,) if worst is not None else (), item.score)


@dataclass(frozen=True)
class _Unit:
    """One piece of work: ``kind`` is ``file``, ``doc``, ``lines`` or ``convs``."""

    kind: str
    path: str
    lines: tuple[tuple[int, str, int], ...] = ()
    conversations: tuple[Conversation | InputProblem, ...] = ()
    count: int = 0  # conversations of the file before this block (``lines``)
    file: int = 0  # which input this unit belongs to (a path given twice is read twice)


def _items(unit: _Unit) -> tuple[list[Item], int]:
    """Audit (or lint) one unit in a worker; return its results and the file's count after it."""
    from servicecheck.auditor import audit_file, lint_file

    auditor = _worker["auditor"]
    read = _worker["read"]
    if unit.kind == "file":
        return list(audit_file(unit.path, auditor, **read)), 0
    if unit.kind == "doc":
        return list(lint_file(unit.path, auditor)), 0
    if unit.kind == "convs":
        return [c if isinstance(c, InputProblem) else auditor.check_or_problem(c) for c in unit.conversations], 0
    from servicecheck.inputs.stream import convert_jsonl_line

    ctx = _context(unit.path, read, unit.count)
    out: list[Item] = []
    for number, text, stop in unit.lines:
        for item in convert_jsonl_line(ctx, number, text, stop):
            out.append(item if isinstance(item, InputProblem) else auditor.check_or_problem(item))
    return out, ctx.count


def _context(path: str, read: Mapping[str, Any], count: int) -> Any:
    from servicecheck.inputs.common import ReadContext
    from servicecheck.inputs.speakers import SpeakerMap

    return ReadContext(path, SpeakerMap(read.get("speakers"), read.get("agent_speaker")), read.get("agent_speaker"),
                       read.get("csv_columns"), explicit_format=read.get("input_format") is not None, count=count)


# ---------------------------------------------------------------- parent side


def _transcript_units(paths: Iterable[str], read: Mapping[str, Any]) -> Iterator[_Unit]:
    from servicecheck.inputs import read_transcripts
    from servicecheck.inputs.stream import jsonl_lines, streamable_jsonl

    input_format = read.get("input_format")
    for number, path in enumerate(paths):
        if path == "-":
            block: list[Conversation | InputProblem] = []
            for item in read_transcripts("-", **read):
                block.append(item)
                if len(block) >= BLOCK_CONVERSATIONS:
                    yield _Unit("convs", path, conversations=tuple(block))
                    block = []
            if block:
                yield _Unit("convs", path, conversations=tuple(block))
            continue
        codec = streamable_jsonl(path, input_format) if input_format in (None, "jsonl") else None
        if codec is None:
            yield _Unit("file", path)
            continue
        lines: list[tuple[int, str, int]] = []
        for line in jsonl_lines(path, codec):
            lines.append(line)
            if len(lines) >= BLOCK_LINES:
                yield _Unit("lines", path, lines=tuple(lines), file=number)
                lines = []
        if lines:
            yield _Unit("lines", path, lines=tuple(lines), file=number)


def _can_fork() -> bool:
    """Whether workers may be forked: Linux (fork is safe there), and no rules engine in this process.

    The parent of a ``--jobs`` run never audits, so it holds no durable-rules host (its
    timer threads and sessions must not be copied); a library caller that audited in
    this process before gets spawned workers, as before.
    """
    import sys

    from servicecheck import engine

    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods() and engine._host is None


def _pool(jobs: int, policyset: Any, language: str | None, read: dict[str, Any],
          render: str | None) -> ProcessPoolExecutor:
    if _can_fork():
        # Fork: the workers inherit the pack compiled here once (rulesets, the signal matcher with
        # its prefilter databases and the models), instead of each unpickling and rebuilding it.
        from servicecheck.auditor import Auditor

        formatter = None
        if render is not None:
            from servicecheck.formatters import get

            formatter = get(render)
        auditor = Auditor(policyset, language)
        auditor.warm()
        _worker.update(policyset=policyset, auditor=auditor, read=read, formatter=formatter)
        return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))
    # spawn: a worker must not inherit a parent's engine (its sessions, its threads).
    context = multiprocessing.get_context("spawn")
    blob = pickle.dumps(policyset, protocol=pickle.HIGHEST_PROTOCOL)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init,
                               initargs=(blob, language, read, render))


def _ordered(units: Iterable[_Unit], jobs: int, policyset: Any, language: str | None,
             read: dict[str, Any], render: str | None = None) -> Iterator[Any]:
    """Run ``units`` on the pool; yield their results in unit order, a bounded number in flight."""
    pending: deque[tuple[_Unit, Future[tuple[bytes, int]]]] = deque()
    # Per JSONL input: conversations counted so far (true), lines handed out, and the offset
    # between the true count and one-per-line, which gives later blocks a good provisional count.
    true_count: dict[int, int] = {}
    lines_seen: dict[int, int] = {}
    offset: dict[int, int] = {}
    source = iter(units)
    pool = _pool(jobs, policyset, language, read, render)
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < jobs * INFLIGHT:
                unit = next(source, None)
                if unit is None:
                    exhausted = True
                    break
                if unit.kind == "lines":
                    start = lines_seen.get(unit.file, 0) + offset.get(unit.file, 0)
                    lines_seen[unit.file] = lines_seen.get(unit.file, 0) + len(unit.lines)
                    unit = replace(unit, count=start)
                pending.append((unit, pool.submit(_run, unit)))
            if not pending:
                return
            unit, future = pending.popleft()
            items, count_after = _result(future)
            if unit.kind == "lines":
                truth = true_count.get(unit.file, 0)
                if unit.count != truth:  # a line held several conversations: redo with the right count
                    items, count_after = _result(pool.submit(_run, replace(unit, count=truth)))
                true_count[unit.file] = count_after
                later = sum(len(u.lines) for u, _f in pending if u.file == unit.file and u.kind == "lines")
                offset[unit.file] = count_after - (lines_seen[unit.file] - later)
            yield from pickle.loads(items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        _worker.clear()  # what forked workers inherited; a later run builds its own


def _result(future: Future[tuple[bytes, int]]) -> tuple[bytes, int]:
    from concurrent.futures.process import BrokenProcessPool

    from servicecheck.errors import EngineError

    try:
        return future.result()
    except BrokenProcessPool as exc:  # a worker died (killed, or a crash in the C engine)
        raise EngineError(f"a worker process stopped unexpectedly: {exc}") from exc


def audit_parallel(
    paths: Iterable[str],
    policyset: Any,
    *,
    jobs: int,
    language: str | None = None,
    input_format: str | None = None,
    speakers: Mapping[str, str] | None = None,
    agent_speaker: str | None = None,
    csv_columns: Mapping[str, str] | None = None,
    render: str | None = None,
) -> Iterator[Any]:
    """:func:`servicecheck.api.audit` on ``jobs`` processes; same results, same order.

    ``paths`` must already be files (or ``-``), as ``api.expand_paths`` gives them.
    With ``render`` (the name of a streaming formatter, e.g. ``jsonl``) the workers
    render every result and :class:`Rendered` items come out instead of Results.

    Raises:
        ValueError: ``speakers`` maps a name to something that is not a role (before any work).
    """
    from servicecheck.inputs.speakers import SpeakerMap

    SpeakerMap(speakers, agent_speaker)  # a bad table fails here, as it would with one process
    read = {"input_format": input_format, "speakers": dict(speakers) if speakers else None,
            "agent_speaker": agent_speaker, "csv_columns": dict(csv_columns) if csv_columns else None}
    yield from _ordered(_transcript_units(paths, read), jobs, policyset, language, read, render)


def lint_parallel(paths: Iterable[str], policyset: Any, *, jobs: int, language: str | None = None,
                  render: str | None = None) -> Iterator[Any]:
    """:func:`servicecheck.api.lint` on ``jobs`` processes (one file per unit); same results, same order."""
    yield from _ordered((_Unit("doc", p) for p in paths), jobs, policyset, language, {}, render)
