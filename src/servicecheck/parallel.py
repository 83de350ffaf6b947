"""Audit and lint on several processes, streaming, with results in exactly the order of one process.

Layout (ENGINE.md: the C engine holds the GIL, so threads gain nothing, and one
durable ``Host`` per process is the verified set-up): a pool of ``jobs`` worker
processes. On Linux, when this process holds no rules engine, they are forked after
the pack was built here once (see :func:`_pool`); else spawned, each building one
:class:`~servicecheck.auditor.Auditor` from the pickled PolicySet at start-up.

The parent splits the input into *units* and keeps at most ``jobs * INFLIGHT``
of them submitted, yielding each unit's results as soon as it and every unit
before it are done, so output order equals ``--jobs 1`` and memory stays bounded:

* a streamable JSONL file (:mod:`servicecheck.inputs.stream`) becomes byte ranges
  of about :data:`RANGE_BYTES`, cut just after a ``\n``, that the workers read,
  parse and audit themselves: the parent reads the bytes only to find the cuts and
  count the lines before each (the line numbers of messages and locations);
* any other file is one unit, read and audited by one worker;
* standard input is read by the parent (it cannot be re-opened by a worker) and
  its conversations are sent in blocks.

With ``render`` (a streaming format), a worker sends back the text of a unit's
results joined in one :class:`Rendered` block (with the worst finding and the lowest
score, all the exit code needs), so the parent only writes text.

A worker that dies (killed, or a crash in native code) takes the units in flight with the
pool: a new pool runs them again, in order, up to :data:`MAX_RESTARTS` times a run, with a
note on standard error; the output is the same as without the death.

Conversations without an id are named ``<file>#<n>``, where ``n`` counts the
conversations of the file before them. A range is parsed with a provisional
count (one conversation per non-blank line); when the count it started from proves
wrong (a line held a list of conversations), that range is parsed again with the
right one, so generated ids are the same as with one process.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from servicecheck.model import Conversation, InputProblem, Result

__all__ = ["INFLIGHT", "RANGE_BYTES", "Rendered", "audit_parallel", "default_jobs", "lint_parallel"]

RANGE_BYTES = 1 << 17  # bytes of a JSONL file per unit (≈ 200 conversations of the benchmark corpus)
BLOCK_CONVERSATIONS = 100  # conversations per unit read from standard input
INFLIGHT = 3  # units submitted per worker ahead of the one being consumed
MAX_RESTARTS = 2  # worker deaths one run survives: the pool is rebuilt and the units in flight run again

Item = Result | InputProblem


def default_jobs() -> int:
    """The number of CPUs this process may use (``--jobs 0``)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(os.cpu_count() or 1, 1)


class Rendered:
    """Results a worker already rendered for a streaming format (``render=`` of :func:`audit_parallel`).

    One block stands for ``results`` consecutive results of a unit and carries what
    the command line needs and nothing else: their text, joined; the most severe of
    their findings (for the exit code) and the lowest score. The parent then neither
    unpickles the conversations nor renders them: with two workers on two cores,
    that work in the parent was what kept ``--jobs 2`` under 1.8 times.
    """

    __slots__ = ("findings", "id", "rendered", "results", "score")

    def __init__(self, ident: str, rendered: str, findings: tuple[Any, ...], score: float | None,
                 results: int = 1) -> None:
        self.id = ident  # the first result's
        self.rendered = rendered
        self.findings = findings
        self.score = score
        self.results = results

    def __reduce__(self) -> tuple[Any, ...]:
        return (Rendered, (self.id, self.rendered, self.findings, self.score, self.results))

    def __repr__(self) -> str:
        return f"<Rendered {self.id!r} ({self.results} results)>"


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
        return _dumps(_blocks(formatter, items)), count
    return _dumps(items), count


def _blocks(formatter: Any, items: list[Item]) -> list[Any]:
    """``items`` rendered: each run of results between input problems joined in one :class:`Rendered`."""
    out: list[Any] = []
    texts: list[str] = []
    first = ""
    worst: Any = None
    score: float | None = None
    for item in items:
        if isinstance(item, InputProblem):
            if texts:
                out.append(Rendered(first, "".join(texts), (worst,) if worst is not None else (), score, len(texts)))
                texts, worst, score = [], None, None
            out.append(item)
            continue
        if not texts:
            first = item.id
        texts.append(formatter.render_result(item))
        for finding in item.findings:
            if worst is None or finding.severity > worst.severity:
                worst = finding
        if item.score is not None and (score is None or item.score < score):
            score = item.score
    if texts:
        out.append(Rendered(first, "".join(texts), (worst,) if worst is not None else (), score, len(texts)))
    return out


@dataclass(frozen=True)
class _Unit:
    """One piece of work: ``kind`` is ``file``, ``doc``, ``range`` or ``convs``.

    A ``range`` is the lines of a JSONL file from byte ``start`` (just after a ``\n``, or 0),
    the first numbered ``line``: ``lines`` of them, or all to the end of the file (``-1``);
    ``estimate`` is its number of conversations if each non-blank line holds one.
    """

    kind: str
    path: str
    conversations: tuple[Conversation | InputProblem, ...] = ()
    codec: str = "utf-8"
    start: int = 0
    line: int = 1
    lines: int = -1
    estimate: int = 0
    count: int = 0  # conversations of the file before this range
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
        return list(auditor.check_each(unit.conversations)), 0
    from servicecheck.inputs.stream import convert_jsonl_line, jsonl_lines

    ctx = _context(unit.path, read, unit.count)
    out: list[Item] = []
    last = unit.line + unit.lines - 1 if unit.lines >= 0 else None
    lines = jsonl_lines(unit.path, unit.codec, unit.start, unit.line)

    def conversations() -> Iterator[Conversation | InputProblem]:
        for number, text, stop in lines:
            if last is not None and number > last:
                break
            yield from convert_jsonl_line(ctx, number, text, stop)

    try:
        for item in auditor.check_each(conversations()):
            out.append(item)  # noqa: PERF402 - one at a time: what came before a read error is kept
    except OSError as err:  # the file went away or broke since the parent split it
        out.append(ctx.problem(f"cannot read: {err.strerror or err}"))
    finally:
        lines.close()
    return out, ctx.count


def _context(path: str, read: Mapping[str, Any], count: int) -> Any:
    from servicecheck.inputs.common import ReadContext
    from servicecheck.inputs.speakers import SpeakerMap

    return ReadContext(path, SpeakerMap(read.get("speakers"), read.get("agent_speaker")), read.get("agent_speaker"),
                       read.get("csv_columns"), explicit_format=read.get("input_format") is not None, count=count)


# ---------------------------------------------------------------- parent side


def _transcript_units(paths: Iterable[str], read: Mapping[str, Any]) -> Iterator[_Unit]:
    from servicecheck.inputs import read_transcripts
    from servicecheck.inputs.stream import streamable_jsonl

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
        yield from _ranges(path, codec, number)


_PIECE = 1 << 20  # bytes read at a time past a range's size, looking for its line's end


def _ranges(path: str, codec: str, file: int) -> Iterator[_Unit]:
    """The ``range`` units of a streamable JSONL file: about :data:`RANGE_BYTES` each, cut after a ``\n``.

    Lines are counted as the text reader splits them (``\n``, ``\r\n`` and a lone
    ``\r`` each end one), so each range knows the number of its first line. Memory
    stays bounded: a very long line is read in pieces of :data:`_PIECE` bytes.
    """
    start, line = 0, 1
    try:
        with open(path, "rb") as fh:
            while True:
                data = fh.read(RANGE_BYTES)
                if not data:
                    return
                ends, blank, last = _line_ends(data, b"")
                while last != b"\n":  # read on to the end of the range's last line
                    piece = fh.readline(_PIECE)
                    if not piece:
                        break
                    more, more_blank, last = _line_ends(piece, last)
                    ends, blank = ends + more, blank + more_blank
                if last != b"\n":  # the end of the file: the last range, read to the end
                    estimate = ends + (last != b"\r") - blank
                    yield _Unit("range", path, codec=codec, start=start, line=line, estimate=estimate, file=file)
                    return
                yield _Unit("range", path, codec=codec, start=start, line=line, lines=ends, estimate=ends - blank,
                            file=file)
                start, line = fh.tell(), line + ends
    except OSError:  # the rest as one range: its worker meets the error and reports it
        yield _Unit("range", path, codec=codec, start=start, line=line, file=file)


def _line_ends(data: bytes, before: bytes) -> tuple[int, int, bytes]:
    """Line ends in ``data`` (``before``: the byte that preceded it), a guess at its blank lines, its last byte."""
    ends = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")
    if before == b"\r" and data.startswith(b"\n"):
        ends -= 1  # the \r\n across the cut was counted twice
    blank = data.count(b"\n\n") + data.count(b"\n\r\n")
    return ends, blank, data[-1:]


def _can_fork() -> bool:
    """Whether workers may be forked: Linux (fork is safe there), and no rules engine in this process.

    The parent of a ``--jobs`` run never audits, so it holds no durable-rules host (its
    timer threads and sessions must not be copied); a library caller that audited in
    this process before gets spawned workers, as before.
    """
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
        # What exists now is kept for the whole run: out of the collector's reach, the workers'
        # collections neither walk it nor write to its pages (which fork shares until written).
        if not gc.get_freeze_count():  # (a caller's own frozen objects stay frozen)
            gc.freeze()
            _worker["unfreeze"] = True
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
    # Per JSONL input: conversations counted so far (true), estimated conversations handed out, and
    # the offset between the true count and the estimate, which gives later ranges a good provisional count.
    true_count: dict[int, int] = {}
    lines_seen: dict[int, int] = {}
    offset: dict[int, int] = {}
    source = iter(units)
    pool = _pool(jobs, policyset, language, read, render)
    restarts = 0
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < jobs * INFLIGHT:
                unit = next(source, None)
                if unit is None:
                    exhausted = True
                    break
                if unit.kind == "range":
                    start = lines_seen.get(unit.file, 0) + offset.get(unit.file, 0)
                    lines_seen[unit.file] = lines_seen.get(unit.file, 0) + unit.estimate
                    unit = replace(unit, count=start)
                pending.append((unit, _submit(pool, unit)))
            if not pending:
                return
            unit, future = pending.popleft()
            try:
                items, count_after = _result(future)
                if unit.kind == "range" and unit.count != true_count.get(unit.file, 0):
                    # a line held several conversations: redo with the right count
                    items, count_after = _result(_submit(pool, replace(unit, count=true_count.get(unit.file, 0))))
            except _WorkerDied as exc:
                # A worker died (killed, or a crash in native code): every unit in flight is lost with the
                # pool. Units are pure (they name their input, not a state), so a new pool runs them again.
                if restarts >= MAX_RESTARTS:
                    from servicecheck.errors import EngineError

                    raise EngineError(f"a worker process stopped unexpectedly {restarts + 1} times: {exc}") from exc
                restarts += 1
                sys.stderr.write(f"servicecheck: a worker process stopped unexpectedly ({exc}); "
                                 f"running its units again on new workers ({restarts} of {MAX_RESTARTS})\n")
                pool.shutdown(wait=True, cancel_futures=True)
                pool = _pool(jobs, policyset, language, read, render)
                again = [unit, *(u for u, _f in pending)]
                pending.clear()
                pending.extend((u, _submit(pool, u)) for u in again)
                continue
            if unit.kind == "range":
                true_count[unit.file] = count_after
                later = sum(u.estimate for u, _f in pending if u.file == unit.file and u.kind == "range")
                offset[unit.file] = count_after - (lines_seen[unit.file] - later)
            yield from pickle.loads(items)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if _worker.get("unfreeze"):
            gc.unfreeze()
        _worker.clear()  # what forked workers inherited; a later run builds its own


class _WorkerDied(Exception):
    """A worker process of the pool stopped while units were in flight."""


def _submit(pool: ProcessPoolExecutor, unit: _Unit) -> Future[tuple[bytes, int]]:
    """Submit ``unit``; a pool that broke before taking it gives a future holding that error (see :func:`_result`)."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return pool.submit(_run, unit)
    except BrokenProcessPool as exc:
        failed: Future[tuple[bytes, int]] = Future()
        failed.set_exception(exc)
        return failed


def _result(future: Future[tuple[bytes, int]]) -> tuple[bytes, int]:
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool as exc:  # a worker died (killed, or a crash in the C engine)
        raise _WorkerDied(str(exc)) from exc


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
