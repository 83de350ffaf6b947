"""The ``html`` format: one self-contained page with charts, scorecards and highlighted turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from servicecheck import i18n
from servicecheck.formatters._common import (
    JSON_REPORT_VERSION,
    TOOL_NAME,
    PolicyTally,
    Summary,
    document_groups,
    finding_location,
    format_score,
    iter_results,
    metadata_text,
    policy_ids,
    policy_info,
    scorecard,
    severity_name,
    shown_metadata,
    sorted_findings,
    summarise,
    tool_version,
    unit_name,
)
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import Finding, GroupRollup, Report, Result, Span, Turn

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
    gain: float = 0.0  # score_if_fixed - score: what fixing this finding alone is worth
    if_fixed: str = ""  # "57 → 86 if fixed", when fixing it raises the score


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
    metadata: list[tuple[str, str]] = field(default_factory=list)
    total_turns: int = 0  # the unit's turns, when only the flagged ones are in ``turns``
    filters: dict[str, str] = field(default_factory=dict)  # data-* attributes the filter script reads
    failed: list[str] = field(default_factory=list)  # titles of the failed policies (index table)


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


def _finding_view(result: Result, f: Finding, anchor: str, titles: dict[str, str], lang: str) -> FindingView:
    numbers = {t.number for t in result.conversation.turns}
    notes = []
    if f.window is not None:
        notes.append(i18n.t(lang, "html.searched", first=f.window[0], last=f.window[1]))
    if f.near_miss is not None and f.near_miss.text:
        if f.near_miss_turn is not None:
            notes.append(i18n.t(lang, "html.closest_turn", text=f.near_miss.text, turn=f.near_miss_turn))
        else:
            notes.append(i18n.t(lang, "html.closest", text=f.near_miss.text))
    if f.related:
        notes.append(i18n.t(lang, "html.see_turns", turns=", ".join(str(t) for t in f.related)))
    gain = 0.0
    if_fixed = ""
    if result.score is not None and f.score_if_fixed is not None:
        gain = round(f.score_if_fixed - result.score, 1)
        if gain > 0:
            if_fixed = i18n.t(lang, "html.if_fixed", score=format_score(result.score), fixed=format_score(f.score_if_fixed))
    return FindingView(
        severity=severity_name(f.severity),
        policy=f.policy,
        title=titles.get(f.policy, "") or f.policy,
        message=f.message,
        where=str(finding_location(result, f)),
        turn=f.turn,
        speaker=f.speaker,
        turn_anchor=f"{anchor}-t{f.turn}" if f.turn in numbers else None,
        evidence=f.evidence.text if f.evidence is not None and f.evidence.text else None,
        template=unit_name(result, f) if result.conversation.kind != "transcript" else None,
        notes=notes,
        suggestion=f.suggestion,
        gain=gain,
        if_fixed=if_fixed,
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


def unit_view(result: Result, anchor: str, titles: dict[str, str], lang: str = "en", *, brief: bool = False,
              codes: dict[str, str] | None = None, group_key: str | None = None) -> UnitView:
    """Everything the template shows about one conversation or document unit.

    ``brief``: only the turns the findings point at (big reports). ``codes``: the short
    codes of policy ids in the filter script's ``data-*`` attributes.
    """
    conv = result.conversation
    findings = sorted_findings(result)
    marks = _turn_marks(result, findings)
    severities = [severity_name(f.severity) for f in findings]
    worst = max(severities, key=lambda s: SEVERITY_RANK.get(s, 0)) if severities else "clean"
    label = conv.id if conv.kind == "transcript" else (conv.name or conv.source.path)
    views = [_finding_view(result, f, anchor, titles, lang) for f in findings]
    views.sort(key=lambda v: -v.gain)  # the largest coaching gain first (stable: place order among equals)
    turns = conv.turns
    if brief:
        wanted = {n for f in findings for n in (f.turn, f.near_miss_turn, *f.related) if n is not None}
        turns = tuple(t for t in conv.turns if t.number in wanted)
    statuses = scorecard(result)
    codes = codes or {}

    def coded(status: str) -> str:
        return " ".join(codes.get(pid, pid) for pid, s in statuses if s == status)

    filters = {"fail": coded("fail"), "pass": coded("pass"), "na": coded("n/a"),
               "sev": " ".join(sorted(set(severities))), "status": "fail" if findings or result.auto_failed else "pass"}
    if group_key is not None:
        value = conv.metadata.get(group_key)
        filters["group"] = "" if value in (None, "") else metadata_text(value)
    return UnitView(
        anchor=anchor,
        id=conv.id,
        label=label,
        kind=i18n.t(lang, f"html.kind_{conv.kind}") if f"html.kind_{conv.kind}" in i18n.TABLES["en"] else conv.kind,
        where=str(conv.source),
        language=conv.language,
        channel=conv.channel,
        score=format_score(result.score),
        auto_failed=result.auto_failed,
        statuses=[(pid, status, titles.get(pid, "") or pid) for pid, status in statuses],
        findings=views,
        turns=[_turn_view(t, anchor, marks.get(t.number, [])) for t in turns],
        worst=worst,
        metadata=shown_metadata(result),
        total_turns=len(conv.turns),
        filters=filters,
        failed=[titles.get(pid, "") or pid for pid, status in statuses if status == "fail"],
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
                "title": titles.get(t.id, "") or t.id,
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


GROUP_CHART_MAX = 40  # bars in a group chart: past it, the lowest mean scores (the table has them all)


def group_chart(rollups: list[GroupRollup], no_value: str) -> dict[str, Any]:
    """Mean score per group value, one horizontal bar each (0..100), lowest first when capped."""
    label_w, bar_w, row_h, pad = 200, 360, 22, 6
    scored = [g for g in rollups if g.mean_score is not None]
    if len(scored) > GROUP_CHART_MAX:
        scored = sorted(scored, key=lambda g: g.mean_score or 0)[:GROUP_CHART_MAX]
    rows = []
    for i, g in enumerate(scored):
        y = pad + i * row_h
        rows.append({"label": g.value if g.value is not None else no_value, "y": y, "text_y": y + row_h / 2 + 4,
                     "w": round(bar_w * (g.mean_score or 0) / 100, 1), "score": format_score(g.mean_score),
                     "n": g.conversations})
    return {"width": label_w + bar_w + 80, "height": 2 * pad + row_h * len(rows), "label_w": label_w,
            "bar_w": bar_w, "bar_h": row_h - 6, "rows": rows, "capped": len(scored) < len(
                [g for g in rollups if g.mean_score is not None])}


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


# A report of more than FULL_LIMIT conversations and document units is a big run: there,
# results without findings are counted and listed by id, not rendered turn by turn; the
# WORST_SHOWN lowest-scoring results with findings get their findings and the turns those
# point at; every other result with findings is one row of the index table. The page of a
# 20,000-conversation run then stays under a few MB (docs/output.md, benchmarks/html_size.py).
FULL_LIMIT = 200
WORST_SHOWN = 300


@cache
def script() -> tuple[str, str]:
    """The filter and sort script, and its CSP source (``'sha256-...'``): the page's only script."""
    import base64
    import hashlib
    from importlib.resources import files

    text = files("servicecheck.formatters").joinpath("templates", "report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"'sha256-{digest}'"


def relevant_policies(report: Report) -> list[str]:
    """The policies that apply to what was checked (in a scorecard of some result), in report order."""
    seen = {pid for r in iter_results(report) for pid, _ in scorecard(r)}
    return [pid for pid in policy_ids(report) if pid in seen]


def context(report: Report) -> dict[str, Any]:
    """The template's variables for ``report``."""
    import markupsafe

    lang = report.ui_language if report.ui_language in i18n.TABLES else "en"

    def tr(name: str, /, **values: Any) -> str:
        return i18n.t(lang, name, **values)

    info = policy_info(report)
    titles = {pid: str(p.get("title") or "") for pid, p in info.items()}
    summary: Summary = summarise(report)
    relevant = relevant_policies(report)
    codes = {pid: f"p{i}" for i, pid in enumerate(relevant)}
    group_key = next(iter(report.groups), None)
    results = list(iter_results(report))
    big = len(results) > FULL_LIMIT
    detailed: set[int] = set()
    clean: list[Result] = []
    if big:
        flagged = [r for r in results if r.findings or r.auto_failed]
        clean = [r for r in results if not (r.findings or r.auto_failed)]
        worst = sorted(flagged, key=lambda r: (r.score is None, r.score if r.score is not None else 0))[:WORST_SHOWN]
        detailed = {id(r) for r in worst}
    kw = {"codes": codes, "group_key": group_key, "brief": big}

    def view(r: Result, anchor: str) -> UnitView:
        return unit_view(r, anchor, titles, lang, **kw)  # type: ignore[arg-type]

    conversations, index_rows = [], []
    for i, r in enumerate(report.conversations, 1):
        if big and not (r.findings or r.auto_failed):
            continue
        v = view(r, f"conv-{i}")
        index_rows.append(v)
        if not big or id(r) in detailed:
            conversations.append(v)
    documents: list[dict[str, Any]] = []
    for i, (path, units) in enumerate(document_groups(report), 1):
        views = []
        for j, u in enumerate(units, 1):
            if big and not (u.findings or u.auto_failed):
                continue
            v = view(u, f"doc-{i}-{j}")
            index_rows.append(v)
            if not big or id(u) in detailed:
                views.append(v)
        if views:
            documents.append({"anchor": f"doc-{i}", "path": path, "units": views})
    detailed_anchors = {v.anchor for v in conversations} | {v.anchor for d in documents for v in d["units"]}
    scored = report.conversations or report.documents
    scores = [r.score for r in scored if r.score is not None]
    no_value = tr("text.no_value")
    groups: list[dict[str, Any]] = []
    for key, rollups in report.groups.items():
        groups.append({
            "key": key,
            "rows": [{"value": g.value if g.value is not None else no_value, "raw": g.value or "",
                      "conversations": g.conversations, "mean_score": format_score(g.mean_score),
                      "mean_sort": -1 if g.mean_score is None else g.mean_score, "auto_failed": g.auto_failed,
                      "findings": g.findings,
                      "policies": [g.policies.get(pid, {"pass": 0, "fail": 0, "n/a": 0}) for pid in relevant]}
                     for g in rollups],
            "chart": group_chart(rollups, no_value),
        })
    text, csp_source = script()
    tallies = [t for t in summary.policies if t.id in set(relevant)] if results else summary.policies
    return {
        "tool": {"name": TOOL_NAME, "version": tool_version(), "schema": JSON_REPORT_VERSION},
        "lang": lang,
        "tr": tr,
        "summary": summary,
        "score_subject": tr("html.subject_conversations") if report.conversations else tr("html.subject_units"),
        "pass_chart": pass_rate_chart(tallies, titles),
        "histogram": histogram(scores),
        "conversations": conversations,
        "documents": documents,
        "index_rows": index_rows,
        "detailed": detailed_anchors,
        "big": big,
        "full_limit": FULL_LIMIT,
        "worst_shown": WORST_SHOWN,
        "clean": [r.id for r in clean],
        "errors": report.errors,
        "policies": [info[pid] for pid in relevant if pid in info] if results else list(info.values()),
        "relevant": [(pid, codes[pid], titles.get(pid, "") or pid) for pid in relevant],
        "groups": groups,
        "group_key": group_key,
        "group_values": [g["raw"] for g in groups[0]["rows"] if g["raw"]] if groups else [],
        "script": markupsafe.Markup(text),
        "csp_script": markupsafe.Markup(csp_source),
        "format_score": format_score,
    }


class HtmlFormatter(BaseFormatter):
    """A single self-contained HTML page: inline CSS, SVG and one hashed inline script; no network."""

    name = "html"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render the report as one HTML page."""
        return environment().get_template("report.html.j2").render(**context(report))
