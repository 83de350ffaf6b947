"""The data model every layer shares: conversations, documents, findings, reports."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

ROLES = ("agent", "customer", "system", "bot")
# Metadata readers keep for the runner (inline directives, counter-example lines), never shown in reports.
INTERNAL_METADATA = frozenset({"suppress", "counter_example_lines"})
Role = Literal["agent", "customer", "system", "bot"]


class Severity(IntEnum):
    """How serious a finding is; ordered so that ``>=`` means 'at least as serious'."""

    SUGGESTION = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, name: str) -> Severity:
        """Return the severity called ``name`` (``error``, ``warning``, ``suggestion``)."""
        return cls[name.upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Location:
    """A place in an input file; ``line`` and ``column`` start at 1."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker's utterance.

    ``origin`` maps offsets in ``text`` back to the file: a sorted tuple of
    ``(text_offset, line, column)`` segments, each saying that the character at
    ``text_offset`` stands at ``line:column`` and the following characters follow
    it on the same line until the next segment.  Readers fill it; rules never do.
    """

    number: int
    speaker: str
    text: str
    start_ms: int | None = None
    end_ms: int | None = None
    origin: tuple[tuple[int, int, int], ...] = ()

    @property
    def line(self) -> int | None:
        """The file line where the turn's text starts, if known."""
        return self.origin[0][1] if self.origin else None

    def locate(self, offset: int) -> tuple[int | None, int | None]:
        """Map an offset in ``text`` to ``(line, column)`` in the file."""
        origin = self.origin
        if not origin:
            return None, None
        if len(origin) == 1:  # most turns: one segment
            start, line, column = origin[0]
            return line, column + max(offset - start, 0)
        offsets = [seg[0] for seg in origin]
        i = max(bisect.bisect_right(offsets, offset) - 1, 0)
        start, line, column = self.origin[i]
        return line, column + max(offset - start, 0)


@dataclass(frozen=True, slots=True)
class Conversation:
    """One call or chat, or one lintable unit of a document (see ``kind``).

    ``kind`` is ``"transcript"`` for calls and chats; documents are audited as
    conversations of kind ``"template"`` (customer-facing: macros, call scripts)
    or ``"guideline"`` (addressed to staff: memos, charters, training guides),
    whose turns are the document's sentences, all spoken by ``agent``.
    """

    id: str
    turns: tuple[Turn, ...]
    source: Location
    language: str | None = None
    channel: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    kind: str = "transcript"
    name: str | None = None  # the template's name inside a multi-template document
    end_line: int | None = None  # last file line of a document unit

    @property
    def timed(self) -> bool:
        """True when every turn has a start time."""
        return bool(self.turns) and all(t.start_ms is not None for t in self.turns)


@dataclass(frozen=True, slots=True)
class Document:
    """A file to lint: one or more units (named templates or the whole file)."""

    path: str
    units: tuple[Conversation, ...]
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """Evidence: ``text[start:end]`` of the turn named by the finding (0-based offsets)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation of one policy.  The runner stamps ``policy``, ``severity`` and ``suggestion``."""

    policy: str
    severity: Severity
    message: str
    turn: int | None = None
    speaker: str | None = None
    evidence: Span | None = None
    location: Location | None = None
    window: tuple[int, int] | None = None  # first and last turn searched (absence findings)
    related: tuple[int, ...] = ()  # other turns involved
    near_miss: Span | None = None  # closest thing that almost satisfied a require
    near_miss_turn: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    template: str | None = None  # unit name inside a document
    suggestion: str | None = None  # a better phrasing, in the conversation's language (the runner stamps it)
    # The coaching delta: the conversation's score without this finding (None when unscored).
    score_if_fixed: float | None = None

    @property
    def sort_key(self) -> tuple[Any, ...]:
        """Order findings by place, then policy."""
        line = self.location.line if self.location and self.location.line else 0
        return (self.turn or 0, line, self.policy)




@dataclass(frozen=True, slots=True)
class PolicyStatus:
    """One policy's outcome for one conversation or document unit."""

    id: str
    status: str  # "pass" | "fail" | "n/a"
    weight: float = 1.0
    critical: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of auditing one conversation, or linting one document unit."""

    conversation: Conversation
    findings: tuple[Finding, ...]
    policies: tuple[PolicyStatus, ...]
    score: float | None
    auto_failed: bool

    @property
    def id(self) -> str:
        """The conversation id (for documents: the path, plus the template name)."""
        return self.conversation.id


@dataclass(frozen=True, slots=True)
class InputProblem:
    """An input that could not be read, or part of one; reported, never fatal."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return f"{Location(self.path, self.line, self.column)}: {self.message}"


@dataclass(frozen=True, slots=True)
class GroupRollup:
    """One value of a ``--group-by`` metadata key, rolled up over its conversations (SPEC section 10)."""

    value: str | None  # None: the conversations without that key
    conversations: int
    mean_score: float | None
    auto_failed: int
    findings: int
    policies: dict[str, dict[str, int]]  # policy id -> {"pass", "fail", "n/a"}


@dataclass(slots=True)
class Report:
    """What every formatter renders: results in input order, and the inputs that failed."""

    conversations: list[Result] = field(default_factory=list)
    documents: list[Result] = field(default_factory=list)
    errors: list[InputProblem] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)  # id, title, severity, … of the pack
    groups: dict[str, list[GroupRollup]] = field(default_factory=dict)  # --group-by KEY -> one rollup per value
    ui_language: str = "en"  # the language of the report's chrome (headings, labels)
    metadata_keys: list[str] = field(default_factory=list)  # every conversation metadata key shown, first-seen order

    def all_findings(self) -> list[Finding]:
        """Every finding, conversations first."""
        return [f for r in (*self.conversations, *self.documents) for f in r.findings]
