"""What every reader shares: the reading context and the assembly of turns into a Conversation."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, BinaryIO

from ..model import Conversation, InputProblem, Location, Turn
from .speakers import SpeakerMap, guess_agent, normalise_name


class ReadError(Exception):
    """A part of an input that cannot be read: becomes one :class:`InputProblem`."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass
class ReadContext:
    """One file being read: its display path and the user's speaker settings."""

    path: str
    speakers: SpeakerMap
    agent_speaker: str | None = None
    csv_columns: Mapping[str, str] | None = None
    explicit_format: bool = False
    count: int = 0

    @cached_property
    def basename(self) -> str:
        """The file name used in generated conversation ids."""
        return os.path.basename(self.path) or self.path

    def next_id(self) -> str:
        """Count one more conversation in this file and return its generated id."""
        self.count += 1
        return f"{self.basename}#{self.count}"

    def problem(self, message: str, line: int | None = None, column: int | None = None) -> InputProblem:
        """An :class:`InputProblem` for this file."""
        return InputProblem(self.path, _one_line(message), line, column)


def _one_line(message: str) -> str:
    return " ".join(message.split())


@dataclass
class RawTurn:
    """A turn as a reader found it, before its speaker is resolved to a role."""

    speaker: str
    text: str
    origin: tuple[tuple[int, int, int], ...]
    start_ms: int | None = None
    end_ms: int | None = None
    role: str | None = None  # set by readers whose format names the role itself

    @property
    def line(self) -> int | None:
        """The file line where the turn starts."""
        return self.origin[0][1] if self.origin else None


@dataclass
class Draft:
    """A conversation being read: everything but resolved roles."""

    id: str
    line: int | None
    turns: list[RawTurn] = field(default_factory=list)
    language: str | None = None
    channel: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def put_metadata(draft: Draft, key: str, value: object) -> None:
    """Record a vendor field as metadata (``agent``, ``team``...), unless empty or already set."""
    if isinstance(value, bool) or value is None or key in draft.metadata:
        return
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, str) and value.strip() and value.strip().lower() not in ("none", "null"):
        draft.metadata[key] = value.strip()


def language_tag(code: object) -> str | None:
    """``"fr-FR"`` -> ``"fr"``; keeps only the primary subtag, lower case."""
    if not isinstance(code, str) or not code.strip():
        return None
    return code.strip().replace("_", "-").split("-")[0].lower()


def finish(ctx: ReadContext, draft: Draft, *, allow_empty: bool = False) -> Conversation | InputProblem:
    """Resolve every turn's speaker and build the Conversation, or say which speakers are unknown."""
    if not draft.turns and not allow_empty:
        return ctx.problem(f"conversation {draft.id!r}: no turns found", draft.line)
    unknown: dict[str, int | None] = {}
    roles: list[str] = []
    for raw in draft.turns:
        role = raw.role or ctx.speakers.resolve(raw.speaker)
        if role is None:
            unknown.setdefault(raw.speaker, raw.line)
            role = ""
        roles.append(role)
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        first_line = next(iter(unknown.values()))
        plural = "s" if len(unknown) > 1 else ""
        return ctx.problem(
            f"conversation {draft.id!r}: unknown speaker{plural} {names}: map {'them' if plural else 'it'} "
            "to agent, customer, system or bot in the speaker table",
            first_line,
        )
    turns = tuple(
        Turn(
            number=i,
            speaker=role,
            text=raw.text,
            start_ms=raw.start_ms,
            end_ms=raw.end_ms,
            origin=raw.origin,
        )
        for i, (raw, role) in enumerate(zip(draft.turns, roles), start=1)
    )
    return Conversation(
        id=draft.id,
        turns=turns,
        source=Location(ctx.path, draft.line),
        language=draft.language,
        channel=draft.channel,
        metadata=draft.metadata,
    )


def assign_unlabelled_roles(ctx: ReadContext, draft: Draft, labels_from: str = "") -> None:
    """Give roles to speaker labels that carry none (``spk_0``): the agent speaker, else the heuristic.

    Labels a speaker table names keep that role.  Otherwise ``--agent-speaker``
    picks the agent; without it, the speaker of the first greeting-like turn is the
    agent, else the first speaker (see :func:`speakers.guess_agent`).  Every other
    label is the customer.  How it was decided goes to ``metadata["roles_from"]``.
    """
    labels = [t.speaker for t in draft.turns]
    if ctx.agent_speaker:
        wanted = normalise_name(ctx.agent_speaker)
        if labels and wanted not in {normalise_name(label) for label in labels}:
            present = ", ".join(sorted(set(labels)))
            raise ReadError(f"agent speaker {ctx.agent_speaker!r} does not occur (speakers: {present})", draft.line)
        agent: str | None = next(label for label in labels if normalise_name(label) == wanted)
        how = "agent_speaker"
    else:
        agent, how = guess_agent((t.speaker, t.text) for t in draft.turns)
    for raw in draft.turns:
        if raw.role is None:
            table_role = ctx.speakers.lookup(raw.speaker)
            raw.role = table_role or ("agent" if raw.speaker == agent else "customer")
    draft.metadata["roles_from"] = how + (f" ({labels_from})" if labels_from else "")
    draft.metadata["agent_speaker"] = agent


# The largest input read as one piece (every format but a JSONL file, which is read line by
# line): parsing keeps positions for every value, which costs up to ~35 times the bytes for
# files of tiny turns (a CSV row or JSON turn of two words). 8 MiB keeps any single input
# under 400 MB (docs/performance.md, "Memory"; tests/test_memory.py measures it).
MAX_WHOLE_BYTES = 8 * 1024 * 1024


def too_large(what: str) -> str:
    """The message for an input over :data:`MAX_WHOLE_BYTES`."""
    return (f"{what} more than the {MAX_WHOLE_BYTES >> 20} MB servicecheck reads as one piece: split it, "
            "or export JSONL (one conversation per line, read line by line whatever its size)")


def read_input_bytes(ctx: ReadContext, path: str, stdin: BinaryIO | None) -> bytes | InputProblem:
    """The bytes of ``path`` (``"-"``: of ``stdin``), or the problem that stopped reading them.

    Refused without reading further: more than :data:`MAX_WHOLE_BYTES`.
    """
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        try:
            data = stream.read(MAX_WHOLE_BYTES + 1)
        except OSError as err:
            return ctx.problem(f"cannot read standard input: {err.strerror or err}")
        if len(data) > MAX_WHOLE_BYTES:
            return ctx.problem(too_large("standard input holds"))
        return data
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_WHOLE_BYTES:
                return ctx.problem(too_large(f"{size / (1 << 20):.1f} MB,"))
            data = handle.read(MAX_WHOLE_BYTES + 1)  # a pipe or a growing file: its size was no bound
            if len(data) > MAX_WHOLE_BYTES:
                return ctx.problem(too_large("the file holds"))
            return data
    except IsADirectoryError:
        # inputs.walk passes on a folder in which it found nothing to read.
        return ctx.problem("a directory with nothing to read in it (it is empty, or every file in it was skipped)")
    except FileNotFoundError:
        return ctx.problem("no such file")
    except OSError as err:
        return ctx.problem(f"cannot read: {err.strerror or err}")
