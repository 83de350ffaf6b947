"""The ``text`` format: findings for people, grouped by file and conversation."""

from __future__ import annotations

from typing import Any

import click

from servicecheck.formatters._common import (
    Summary,
    display_location,
    finding_location,
    format_score,
    iter_results,
    one_line,
    plural,
    printable,
    severity_name,
    sorted_findings,
    summarise,
    unit_name,
)
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import Finding, InputProblem, Location, Report, Result

SEVERITY_STYLES: dict[str, dict[str, Any]] = {
    "error": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow", "bold": True},
    "suggestion": {"fg": "cyan"},
}
EVIDENCE_MAX = 160
SUGGESTION_MAX = 240


def quote(text: str, limit: int = EVIDENCE_MAX) -> str:
    """Quote evidence on one line, cut at ``limit`` characters."""
    flat = one_line(text)
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"« {flat} »"


class TextFormatter(BaseFormatter):
    """Human-readable findings, one line each, evidence quoted below, summary at the end."""

    name = "text"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render the report; empty for a lint report with no findings and no errors."""

        def style(text: str, **kw: Any) -> str:
            return click.style(text, **kw) if color else text

        if not report.conversations and not report.all_findings() and not report.errors:
            return ""
        lines: list[str] = []
        groups: dict[str, list[Result]] = {}
        for result in iter_results(report):
            if result.findings or result.auto_failed:
                groups.setdefault(result.conversation.source.path, []).append(result)
        for path, results in groups.items():
            lines.append(style(printable(path), bold=True, underline=True))
            for result in results:
                lines.append("  " + self._header(result, style))
                for finding in sorted_findings(result):
                    lines.extend("    " + line for line in self._finding(result, finding, style))
        if report.errors:
            lines.append(style("input errors", bold=True, underline=True))
            lines.extend("  " + self._error(e, style) for e in report.errors)
        summary = summarise(report)
        lines.append(style(self._summary(summary), bold=True))
        return "\n".join(lines) + "\n"

    @staticmethod
    def _header(result: Result, style: Any) -> str:
        conv = result.conversation
        facts = []
        if conv.kind != "transcript":
            facts.append(conv.kind)
        if conv.language:
            facts.append(conv.language)
        if result.score is not None:
            facts.append(f"score {format_score(result.score)}")
        if result.auto_failed:
            facts.append(style("auto-failed", fg="red", bold=True))
        # A document unit is named by its template; a file linted as one unit, as such.
        label = printable(conv.id if conv.kind == "transcript" else (conv.name or "whole file"))
        return f"{style(label, bold=True)} ({', '.join(facts)})" if facts else style(label, bold=True)

    @staticmethod
    def _finding(result: Result, finding: Finding, style: Any) -> list[str]:
        sev = severity_name(finding.severity)
        where = printable(display_location(finding_location(result, finding))) + ":"
        head = f"{where} {style(sev, **SEVERITY_STYLES.get(sev, {}))} {finding.policy}"
        if finding.turn is not None:
            head += f" turn {finding.turn}"
            if finding.speaker:
                head += f" ({printable(finding.speaker)})"
        template = unit_name(result, finding)
        if template and template != result.conversation.name:
            head += f" [{printable(template)}]"
        out = [f"{head}: {one_line(finding.message)}"]
        if finding.evidence is not None and finding.evidence.text:
            out.append("  " + style(quote(finding.evidence.text), dim=True))
        if finding.suggestion:
            out.append("  " + style("suggestion:", fg="green") + " " + quote(finding.suggestion, SUGGESTION_MAX))
        extra = []
        if finding.window is not None:
            first, last = finding.window
            extra.append(f"searched turns {first}-{last}")
        if finding.near_miss is not None and finding.near_miss.text:
            where = f" (turn {finding.near_miss_turn})" if finding.near_miss_turn is not None else ""
            extra.append(f"closest {quote(finding.near_miss.text)}{where}")
        if finding.related:
            extra.append("see turns " + ", ".join(str(t) for t in finding.related))
        if extra:
            out.append("  " + style("; ".join(extra), dim=True))
        return out

    @staticmethod
    def _error(problem: InputProblem, style: Any) -> str:
        where = printable(str(Location(problem.path, problem.line, problem.column)))
        return f"{where}: {style('error', **SEVERITY_STYLES['error'])} {one_line(problem.message)}"

    @staticmethod
    def _summary(s: Summary) -> str:
        counts = [plural(n, sev) for sev, n in s.by_severity.items() if n]
        head = plural(s.findings, "finding") + (f" ({', '.join(counts)})" if counts else "")
        where = []
        if s.conversations:
            where.append(f"{s.conversations_with_findings} of {plural(s.conversations, 'conversation')}")
        if s.documents:
            units = f" ({plural(s.units, 'unit')})" if s.units != s.documents else ""
            where.append(f"{s.documents_with_findings} of {plural(s.documents, 'document')}{units}")
        parts = [head + (" in " + " and ".join(where) if where else "")]
        if s.errors:
            parts.append(plural(s.errors, "input error"))
        if s.score_mean is not None:
            parts.append(
                f"score mean {format_score(s.score_mean)}, min {format_score(s.score_min)}, "
                f"max {format_score(s.score_max)}"
            )
        if s.auto_failed:
            parts.append(f"{s.auto_failed} auto-failed")
        return "; ".join(parts)
