"""Helpers every formatter shares: plain-data views of a Report, fingerprints, counts."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from servicecheck import __version__
from servicecheck.model import INTERNAL_METADATA, Finding, InputProblem, Location, Report, Result, Severity, Span, Turn

TOOL_NAME = "servicecheck"
# Read through tool_version() at render time so that golden tests can pin it.
TOOL_VERSION = __version__
JSON_REPORT_VERSION = "1"

STATUSES = ("pass", "fail", "n/a")
SEVERITIES = ("error", "warning", "suggestion")
# The fields of Report.policies entries that formatters publish, in output order.
POLICY_FIELDS = ("id", "title", "severity", "weight", "critical", "kind", "applies_to", "rationale", "message", "link")


def tool_version() -> str:
    """Return the version string formatters print (patched by golden tests)."""
    return TOOL_VERSION


_SEVERITY_NAMES = {s: str(s) for s in Severity}


def severity_name(value: Severity | str | None) -> str:
    """Return ``error``, ``warning`` or ``suggestion`` for a Severity or its name."""
    if value is None:
        return "warning"
    if isinstance(value, Severity):
        return _SEVERITY_NAMES[value]
    return str(value).strip().lower()


def is_document(result: Result) -> bool:
    """True when a result comes from a linted document rather than a transcript."""
    return result.conversation.kind != "transcript"


def sorted_findings(result: Result) -> list[Finding]:
    """The result's findings in a stable order: by turn, then line, then policy."""
    if len(result.findings) < 2:
        return list(result.findings)
    return sorted(result.findings, key=lambda f: f.sort_key)


def finding_location(result: Result, finding: Finding) -> Location:
    """The best file location for a finding.

    Absence findings (``require``) may carry no location: fall back to the
    start of the turn they name, then to where the conversation starts.
    """
    if finding.location is not None and finding.location.line is not None:
        return finding.location
    turn = find_turn(result, finding.turn)
    if turn is not None and turn.line is not None:
        line, column = turn.locate(finding.evidence.start) if finding.evidence else turn.locate(0)
        return Location(result.conversation.source.path, line, column)
    if finding.location is not None:
        return finding.location
    return result.conversation.source


def evidence_end(result: Result, finding: Finding, start: Location) -> tuple[int, int] | None:
    """``(line, column)`` just past the evidence, when it can be placed after ``start``.

    The column is exclusive, as SARIF's ``endColumn`` and GitHub's ``endColumn`` are.
    """
    turn = find_turn(result, finding.turn)
    if finding.evidence is None or turn is None or not turn.origin or start.line is None or start.column is None:
        return None
    line, column = turn.locate(finding.evidence.end)
    if line is None or column is None or (line, column) <= (start.line, start.column):
        return None
    return line, column


def display_location(location: Location) -> str:
    """``path:line:col`` for people and problem matchers.

    A finding about a whole conversation has a line but no column: editors
    expect both, so it points at the start of the line.
    """
    if location.line is not None and location.column is None:
        location = Location(location.path, location.line, 1)
    return str(location)


def find_turn(result: Result, number: int | None) -> Turn | None:
    """Return the turn numbered ``number`` (1-based), or None."""
    if number is None:
        return None
    turns = result.conversation.turns
    # Turn numbers are normally positions; search when a reader numbered otherwise.
    if 0 < number <= len(turns) and turns[number - 1].number == number:
        return turns[number - 1]
    return next((t for t in turns if t.number == number), None)


def unit_name(result: Result, finding: Finding | None = None) -> str | None:
    """The template name of a document unit (None for transcripts and whole files)."""
    if finding is not None and finding.template:
        return finding.template
    return result.conversation.name if is_document(result) else None


_WS = re.compile(r"\s+")
# C0 and C1 controls but tab and newline: an ESC in a transcript must not drive the terminal.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    r"""``text`` with control characters shown as ``\xNN`` instead of sent to the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def one_line(text: str) -> str:
    """``text`` on one printable line: runs of whitespace (line breaks too) become one space."""
    return printable(_WS.sub(" ", text).strip())


def normalise_evidence(text: str) -> str:
    """Fold evidence text so that fingerprints ignore case, width and spacing changes."""
    if text.isascii():  # NFKC leaves ASCII as it is, and casefold() folds it as lower() does
        return _WS.sub(" ", text.lower()).strip()
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def fingerprints(result: Result, findings: Iterable[Finding]) -> list[str]:
    """Stable fingerprints, one per finding, in the order given.

    The hash covers the policy, the file, the template name (or conversation
    id) and the normalised evidence text, never line numbers, so a finding
    keeps its fingerprint when lines are added above it.  Findings that would
    collide (the same words twice) are told apart by their rank among equals.
    """
    seen: dict[str, int] = {}
    out = []
    path = result.conversation.source.path
    for f in findings:
        owner = unit_name(result, f) or result.conversation.id
        evidence = normalise_evidence(f.evidence.text) if f.evidence else ""
        key = f"{f.policy}\0{path}\0{owner}\0{evidence}"
        rank = seen.get(key, 0)
        seen[key] = rank + 1
        out.append(hashlib.sha256(f"{key}\0{rank}".encode()).hexdigest()[:32])
    return out


def scorecard(result: Result) -> list[tuple[str, str]]:
    """``(policy id, status)`` for a result; a policy with findings but no status counts as failed."""
    rows = [(p.id, p.status) for p in result.policies]
    known = {pid for pid, _ in rows}
    for f in result.findings:
        if f.policy not in known:
            rows.append((f.policy, "fail"))
            known.add(f.policy)
    return rows


def policy_ids(report: Report) -> list[str]:
    """Every policy id the report mentions: the pack's order first, then the rest sorted."""
    ids = [str(p.get("id")) for p in report.policies if p.get("id") is not None]
    known = set(ids)
    extra = set()
    for result in (*report.conversations, *report.documents):
        for pid, _ in scorecard(result):
            if pid not in known:
                extra.add(pid)
    return ids + sorted(extra)


def policy_info(report: Report) -> dict[str, dict[str, Any]]:
    """The pack's policy entries by id, restricted to the published fields."""
    out: dict[str, dict[str, Any]] = {}
    for p in report.policies:
        if p.get("id") is None:
            continue
        entry = {k: p.get(k) for k in POLICY_FIELDS}
        entry["id"] = pid = str(p["id"])
        if entry["severity"] is not None:
            entry["severity"] = severity_name(entry["severity"])
        entry["critical"] = bool(entry["critical"])
        entry["applies_to"] = [str(t) for t in entry["applies_to"] or ()]
        out[pid] = entry
    return out


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 finding``, ``2 findings``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def format_score(score: float | None) -> str:
    """A score for people: at most one decimal, no trailing ``.0``."""
    if score is None:
        return "n/a"
    return f"{round(score, 1):g}"


@dataclass(frozen=True, slots=True)
class PolicyTally:
    """How often one policy passed, failed or did not apply across a report."""

    id: str
    passed: int = 0
    failed: int = 0
    not_applicable: int = 0

    @property
    def rate(self) -> float | None:
        """Pass rate over the results where the policy applied, or None."""
        applied = self.passed + self.failed
        return self.passed / applied if applied else None


@dataclass(frozen=True, slots=True)
class Summary:
    """Report-wide counts shared by text, json and html."""

    conversations: int
    conversations_with_findings: int
    documents: int
    documents_with_findings: int
    units: int
    findings: int
    by_severity: dict[str, int]
    errors: int
    auto_failed: int
    score_mean: float | None
    score_min: float | None
    score_max: float | None
    policies: list[PolicyTally]


def document_groups(report: Report) -> list[tuple[str, list[Result]]]:
    """Document results grouped by file path, in first-seen order."""
    groups: dict[str, list[Result]] = {}
    for result in report.documents:
        groups.setdefault(result.conversation.source.path, []).append(result)
    return list(groups.items())


def summarise(report: Report) -> Summary:
    """Count findings, scores and per-policy outcomes over the whole report."""
    by_severity = {s: 0 for s in SEVERITIES}
    for f in report.all_findings():
        name = severity_name(f.severity)
        by_severity[name] = by_severity.get(name, 0) + 1
    scores = [r.score for r in report.conversations if r.score is not None]
    tallies: dict[str, Counter[str]] = {pid: Counter() for pid in policy_ids(report)}
    for result in (*report.conversations, *report.documents):
        for pid, status in scorecard(result):
            tallies.setdefault(pid, Counter())[status] += 1
    groups = document_groups(report)
    return Summary(
        conversations=len(report.conversations),
        conversations_with_findings=sum(1 for r in report.conversations if r.findings),
        documents=len(groups),
        documents_with_findings=sum(1 for _, units in groups if any(u.findings for u in units)),
        units=len(report.documents),
        findings=sum(by_severity.values()),
        by_severity=by_severity,
        errors=len(report.errors),
        auto_failed=sum(1 for r in (*report.conversations, *report.documents) if r.auto_failed),
        score_mean=sum(scores) / len(scores) if scores else None,
        score_min=min(scores) if scores else None,
        score_max=max(scores) if scores else None,
        policies=[PolicyTally(pid, c["pass"], c["fail"], c["n/a"]) for pid, c in tallies.items()],
    )


def finding_context(result: Result, finding: Finding) -> str:
    """``(conversation, turn N, speaker)``: which conversation or template of the file, and where in it."""
    parts = [unit_name(result, finding) or result.id]
    if finding.turn is not None:
        parts.append(f"turn {finding.turn}")
        if finding.speaker:
            parts.append(finding.speaker)
    return "(" + ", ".join(parts) + ")"


# ---- plain-data views (json, jsonl) -------------------------------------------------


def span_dict(span: Span | None) -> dict[str, Any] | None:
    """``{"text", "start", "end"}`` or None."""
    if span is None:
        return None
    return {"text": span.text, "start": span.start, "end": span.end}


def location_dict(location: Location) -> dict[str, Any]:
    """``{"path", "line", "column"}``."""
    return {"path": location.path, "line": location.line, "column": location.column}


def finding_dict(result: Result, finding: Finding, fingerprint: str, *, document: bool) -> dict[str, Any]:
    """One finding as published in json and jsonl; documents add the unit it belongs to."""
    out: dict[str, Any] = {
        "policy": finding.policy,
        "severity": severity_name(finding.severity),
        "message": finding.message,
        "turn": finding.turn,
        "speaker": finding.speaker,
        "evidence": span_dict(finding.evidence),
        "location": location_dict(finding_location(result, finding)),
        "window": list(finding.window) if finding.window else None,
        "related": list(finding.related),
        "near_miss": span_dict(finding.near_miss),
        "near_miss_turn": finding.near_miss_turn,
        "template": unit_name(result, finding),
        "fingerprint": fingerprint,
        "detail": dict(finding.detail),
        "suggestion": finding.suggestion,
        "score_if_fixed": finding.score_if_fixed,
    }
    if document:
        out["unit"] = result.id
    return out


def findings_dicts(result: Result, *, document: bool) -> list[dict[str, Any]]:
    """The result's findings, sorted, as plain dicts."""
    findings = sorted_findings(result)
    return [
        finding_dict(result, f, fp, document=document)
        for f, fp in zip(findings, fingerprints(result, findings), strict=True)
    ]


def statuses_dicts(result: Result) -> list[dict[str, Any]]:
    """The scorecard as ``[{"id", "status", "weight", "critical"}]``."""
    known = {p.id: p for p in result.policies}
    out = []
    for pid, status in scorecard(result):
        p = known.get(pid)
        out.append({"id": pid, "status": status, "weight": p.weight if p else None,
                    "critical": p.critical if p else False})
    return out


def conversation_dict(result: Result, kind: str | None = None) -> dict[str, Any]:
    """One audited conversation as published in json and jsonl (``kind``: a leading ``"type"``, for jsonl)."""
    conv = result.conversation
    out: dict[str, Any] = {"type": kind} if kind is not None else {}
    out["id"] = conv.id
    out["source"] = {"path": conv.source.path, "line": conv.source.line}
    out["language"] = conv.language
    out["channel"] = conv.channel
    out["turns"] = len(conv.turns)
    out["timed"] = conv.timed
    out["metadata"] = dict(conv.metadata)
    out["score"] = result.score
    out["auto_failed"] = result.auto_failed
    out["policies"] = statuses_dicts(result)
    out["findings"] = findings_dicts(result, document=False)
    return out


def unit_dict(result: Result) -> dict[str, Any]:
    """One document unit's header and scorecard (its findings go to the document)."""
    conv = result.conversation
    return {
        "id": conv.id,
        "name": conv.name,
        "kind": conv.kind,
        "source": {"path": conv.source.path, "line": conv.source.line},
        "end_line": conv.end_line,
        "language": conv.language,
        "score": result.score,
        "auto_failed": result.auto_failed,
        "policies": statuses_dicts(result),
    }


def document_dict(path: str, units: list[Result]) -> dict[str, Any]:
    """One linted file: its units' scorecards and all their findings."""
    languages = {u.conversation.language for u in units if u.conversation.language}
    return {
        "path": path,
        # The file's language when its units agree; each unit carries its own.
        "language": languages.pop() if len(languages) == 1 else None,
        "units": [unit_dict(u) for u in units],
        "findings": [f for u in units for f in findings_dicts(u, document=True)],
    }


def error_dict(problem: InputProblem) -> dict[str, Any]:
    """``{"path", "line", "column", "message"}``."""
    return {"path": problem.path, "line": problem.line, "column": problem.column, "message": problem.message}


def summary_dict(summary: Summary) -> dict[str, Any]:
    """The summary block of the json report."""
    score = None
    if summary.score_mean is not None:
        score = {"mean": summary.score_mean, "min": summary.score_min, "max": summary.score_max}
    return {
        "conversations": summary.conversations,
        "documents": summary.documents,
        "units": summary.units,
        "findings": summary.findings,
        "by_severity": dict(summary.by_severity),
        "errors": summary.errors,
        "auto_failed": summary.auto_failed,
        "score": score,
        "policies": [
            {"id": t.id, "pass": t.passed, "fail": t.failed, "n/a": t.not_applicable, "pass_rate": t.rate}
            for t in summary.policies
        ],
    }


def groups_dict(report: Report) -> dict[str, list[dict[str, Any]]]:
    """``{KEY: [{"value", "conversations", "mean_score", "auto_failed", "findings", "policies"}]}`` (SPEC section 10)."""
    return {
        key: [
            {
                "value": g.value,
                "conversations": g.conversations,
                "mean_score": g.mean_score,
                "auto_failed": g.auto_failed,
                "findings": g.findings,
                "policies": {pid: dict(counts) for pid, counts in g.policies.items()},
            }
            for g in rollups
        ]
        for key, rollups in report.groups.items()
    }


# Metadata the readers record about the file format itself: kept in json and csv, not shown to people.
TECHNICAL_METADATA = frozenset({"input_format", "roles_from", "agent_speaker", "language_code", "version"})


def metadata_text(value: Any) -> str:
    """A metadata value as one cell of text (nested values as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def shown_metadata(result: Result) -> list[tuple[str, str]]:
    """``(key, value)`` of the metadata shown to people: not internal, not about the file format, not empty."""
    out = []
    for key, value in result.conversation.metadata.items():
        if key in INTERNAL_METADATA or key in TECHNICAL_METADATA or value in (None, "", [], {}):
            continue
        out.append((key, one_line(metadata_text(value))))
    return out


def tool_dict() -> dict[str, str]:
    """``{"name", "version"}``."""
    return {"name": TOOL_NAME, "version": tool_version()}


def iter_results(report: Report) -> Iterator[Result]:
    """Conversations then document units, in input order."""
    yield from report.conversations
    yield from report.documents
