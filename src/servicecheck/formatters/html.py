"""The ``html`` format: one self-contained page with charts, scorecards and highlighted turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from servicecheck.formatters._common import (
    JSON_REPORT_VERSION,
    TOOL_NAME,
    PolicyTally,
    Summary,
    document_groups,
    finding_location,
    format_score,
    policy_info,
    scorecard,
    severity_name,
    sorted_findings,
    summarise,
    tool_version,
    unit_name,
)
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import Finding, Report, Result, Span, Turn

if TYPE_CHECKING:
    import jinja2

SEVERITY_RANK = {"suggestion": 1, "warning": 2, "error": 3}
BINS = 10  # score histogram: ten bins of ten points over 0..100


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment: package templates, autoescaping always on."""
    # Imported here: only html needs Jinja2, and lint start-up time matters.
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("servicecheck.formatters", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@dataclass(slots=True)
class Mark:
    """A highlighted stretch of a turn and the findings that point at it."""

    start: int
    end: int
    severity: str
    policy: str
    near_miss: bool = False


@dataclass(slots=True)
class Segment:
    """A run of turn text, highlighted when ``css`` is set."""

    text: str
    css: str = ""
    title: str = ""


@dataclass(slots=True)
class TurnView:
    """One turn ready for the template."""

    number: int
    speaker: str
    anchor: str
    time: str
    line: int | None
    segments: list[Segment]
    flagged: bool


@dataclass(slots=True)
class FindingView:
    """One finding ready for the template."""

    severity: str
    policy: str
    title: str
    message: str
    where: str
    turn: int | None
    speaker: str | None
    turn_anchor: str | None
    evidence: str | None
    template: str | None
    notes: list[str] = field(default_factory=list)
    suggestion: str | None = None


@dataclass(slots=True)
class UnitView:
    """A conversation or document unit: header, scorecard, findings, turns."""

    anchor: str
    id: str
    label: str
    kind: str
    where: str
    language: str | None
    channel: str | None
    score: str
    auto_failed: bool
    statuses: list[tuple[str, str, str]]
    findings: list[FindingView]
    turns: list[TurnView]
    worst: str


def clock(ms: int | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a start time in milliseconds."""
    if ms is None:
        return ""
    seconds = max(ms, 0) // 1000
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def locate_span(text: str, span: Span) -> tuple[int, int] | None:
    """Where ``span`` lies in ``text``: its own offsets when they fit, else where its text occurs."""
    if 0 <= span.start < span.end <= len(text) and (not span.text or text[span.start : span.end] == span.text):
        return span.start, span.end
    if span.text:
        at = text.find(span.text)
        if at >= 0:
            return at, at + len(span.text)
    return None


def segments(text: str, marks: list[Mark]) -> list[Segment]:
    """Cut ``text`` at every mark boundary; overlapping marks merge and show the worst severity."""
    if not marks:
        return [Segment(text)]
    cuts = sorted({0, len(text), *(m.start for m in marks), *(m.end for m in marks)})
    out = []
    for a, b in pairwise(cuts):
        covering = [m for m in marks if m.start <= a and m.end >= b]
        if not covering:
            out.append(Segment(text[a:b]))
            continue
        findings = [m for m in covering if not m.near_miss]
        if findings:
            worst = max(findings, key=lambda m: SEVERITY_RANK.get(m.severity, 0)).severity
            css = f"sev-{worst}"
        else:
            css = "near-miss"
        names = sorted({m.policy + (" (closest match)" if m.near_miss else "") for m in covering})
        out.append(Segment(text[a:b], css, ", ".join(names)))
    return out


def _turn_marks(result: Result, findings: list[Finding]) -> dict[int, list[Mark]]:
    marks: dict[int, list[Mark]] = {}
    turns = {t.number: t for t in result.conversation.turns}
    for f in findings:
        for number, span, near in ((f.turn, f.evidence, False), (f.near_miss_turn, f.near_miss, True)):
            if number is None or span is None or number not in turns:
                continue
            where = locate_span(turns[number].text, span)
            if where is not None:
                marks.setdefault(number, []).append(Mark(*where, severity_name(f.severity), f.policy, near))
    return marks


def _finding_view(result: Result, f: Finding, anchor: str, titles: dict[str, str]) -> FindingView:
    numbers = {t.number for t in result.conversation.turns}
    notes = []
    if f.window is not None:
        notes.append(f"searched turns {f.window[0]}–{f.window[1]}")
    if f.near_miss is not None and f.near_miss.text:
        where = f" (turn {f.near_miss_turn})" if f.near_miss_turn is not None else ""
        notes.append(f"closest: « {f.near_miss.text} »{where}")
    if f.related:
        notes.append("see turns " + ", ".join(str(t) for t in f.related))
    return FindingView(
        severity=severity_name(f.severity),
        policy=f.policy,
        title=titles.get(f.policy, ""),
        message=f.message,
        where=str(finding_location(result, f)),
        turn=f.turn,
        speaker=f.speaker,
        turn_anchor=f"{anchor}-t{f.turn}" if f.turn in numbers else None,
        evidence=f.evidence.text if f.evidence is not None and f.evidence.text else None,
        template=unit_name(result, f) if result.conversation.kind != "transcript" else None,
        notes=notes,
        suggestion=f.suggestion,
    )


def _turn_view(turn: Turn, anchor: str, marks: list[Mark]) -> TurnView:
    return TurnView(
        number=turn.number,
        speaker=turn.speaker,
        anchor=f"{anchor}-t{turn.number}",
        time=clock(turn.start_ms),
        line=turn.line,
        segments=segments(turn.text, marks),
        flagged=any(not m.near_miss for m in marks),
    )


def unit_view(result: Result, anchor: str, titles: dict[str, str]) -> UnitView:
    """Everything the template shows about one conversation or document unit."""
    conv = result.conversation
    findings = sorted_findings(result)
    marks = _turn_marks(result, findings)
    severities = [severity_name(f.severity) for f in findings]
    worst = max(severities, key=lambda s: SEVERITY_RANK.get(s, 0)) if severities else "clean"
    label = conv.id if conv.kind == "transcript" else (conv.name or conv.source.path)
    return UnitView(
        anchor=anchor,
        id=conv.id,
        label=label,
        kind=conv.kind,
        where=str(conv.source),
        language=conv.language,
        channel=conv.channel,
        score=format_score(result.score),
        auto_failed=result.auto_failed,
        statuses=[(pid, status, titles.get(pid, "")) for pid, status in scorecard(result)],
        findings=[_finding_view(result, f, anchor, titles) for f in findings],
        turns=[_turn_view(t, anchor, marks.get(t.number, [])) for t in conv.turns],
        worst=worst,
    )


# ---- charts: geometry computed here, drawn by the template as inline SVG ------------


def pass_rate_chart(tallies: list[PolicyTally], titles: dict[str, str]) -> dict[str, Any]:
    """Horizontal bars, one per policy: pass share in green, fail share in red."""
    label_w, bar_w, row_h, pad = 300, 360, 26, 8
    rows = []
    for i, t in enumerate(tallies):
        applied = t.passed + t.failed
        y = pad + i * row_h
        pass_w = round(bar_w * t.passed / applied, 1) if applied else 0
        rows.append(
            {
                "id": t.id,
                "title": titles.get(t.id, ""),
                "y": y,
                "text_y": y + row_h / 2 + 4,
                "pass_w": pass_w,
                "fail_x": label_w + pass_w,
                "fail_w": round(bar_w - pass_w, 1) if applied else 0,
                "applied": applied,
                "label": (
                    f"{round(100 * t.rate)}% ({t.passed}/{applied})"
                    if t.rate is not None
                    else f"n/a ({t.not_applicable})"
                ),
            }
        )
    return {
        "width": label_w + bar_w + 140,
        "height": 2 * pad + row_h * len(rows),
        "label_w": label_w,
        "bar_w": bar_w,
        "bar_h": row_h - 8,
        "rows": rows,
    }


def histogram(scores: list[float]) -> dict[str, Any]:
    """Score distribution over ten bins of 0..100 (100 falls in the last bin)."""
    counts = [0] * BINS
    for s in scores:
        counts[min(max(int(s // (100 / BINS)), 0), BINS - 1)] += 1
    left, top, plot_w, plot_h, bottom = 40, 20, 600, 160, 40
    step = plot_w / BINS
    peak = max(counts) or 1
    bars = []
    for i, n in enumerate(counts):
        h = round(plot_h * n / peak, 1)
        bars.append(
            {
                "x": round(left + i * step + 3, 1),
                "w": round(step - 6, 1),
                "y": round(top + plot_h - h, 1),
                "h": h,
                "count": n,
                "cx": round(left + i * step + step / 2, 1),
                "label": f"{i * 10}–{i * 10 + 10}",
            }
        )
    return {
        "width": left + plot_w + 20,
        "height": top + plot_h + bottom,
        "left": left,
        "top": top,
        "plot_w": plot_w,
        "plot_h": plot_h,
        "base": top + plot_h,
        "bars": bars,
        "peak": peak,
        "total": len(scores),
    }


def context(report: Report) -> dict[str, Any]:
    """The template's variables for ``report``."""
    info = policy_info(report)
    titles = {pid: str(p.get("title") or "") for pid, p in info.items()}
    summary: Summary = summarise(report)
    conversations = [unit_view(r, f"conv-{i}", titles) for i, r in enumerate(report.conversations, 1)]
    documents = []
    for i, (path, units) in enumerate(document_groups(report), 1):
        views = [unit_view(u, f"doc-{i}-{j}", titles) for j, u in enumerate(units, 1)]
        documents.append({"anchor": f"doc-{i}", "path": path, "units": views})
    scored = report.conversations or report.documents
    scores = [r.score for r in scored if r.score is not None]
    return {
        "tool": {"name": TOOL_NAME, "version": tool_version(), "schema": JSON_REPORT_VERSION},
        "summary": summary,
        "score_subject": "conversations" if report.conversations else "document units",
        "pass_chart": pass_rate_chart(summary.policies, titles),
        "histogram": histogram(scores),
        "conversations": conversations,
        "documents": documents,
        "errors": report.errors,
        "policies": list(info.values()),
        "format_score": format_score,
    }


class HtmlFormatter(BaseFormatter):
    """A single self-contained HTML page: no scripts, no network, inline CSS and SVG."""

    name = "html"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render the report as one HTML page."""
        return environment().get_template("report.html.j2").render(**context(report))
