"""The ``text`` format: findings for people, grouped by file and conversation."""

from __future__ import annotations

from typing import Any

import click

from servicecheck import i18n
from servicecheck.formatters._common import (
    Summary,
    display_location,
    finding_location,
    format_score,
    iter_results,
    one_line,
    printable,
    severity_name,
    shown_metadata,
    sorted_findings,
    summarise,
    unit_name,
)
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import Finding, GroupRollup, InputProblem, Location, Report, Result

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
        lang = report.ui_language
        lines: list[str] = []
        groups: dict[str, list[Result]] = {}
        for result in iter_results(report):
            if result.findings or result.auto_failed:
                groups.setdefault(result.conversation.source.path, []).append(result)
        for path, results in groups.items():
            lines.append(style(printable(path), bold=True, underline=True))
            for result in results:
                lines.append("  " + self._header(result, style, lang))
                metadata = shown_metadata(result) if result.conversation.kind == "transcript" else []
                if metadata:  # agent, team, queue...: on their own line, under the conversation's name
                    lines.append("    " + style(" · ".join(f"{printable(k)}: {v}" for k, v in metadata), dim=True))
                for finding in sorted_findings(result):
                    lines.extend("    " + line for line in self._finding(result, finding, style, lang))
        if report.errors:
            lines.append(style(i18n.t(lang, "text.input_errors"), bold=True, underline=True))
            lines.extend("  " + self._error(e, style) for e in report.errors)
        for key, rollups in report.groups.items():
            lines.extend(self._groups(key, rollups, style, lang))
        summary = summarise(report)
        lines.append(style(self._summary(summary, lang), bold=True))
        return "\n".join(lines) + "\n"

    @staticmethod
    def _groups(key: str, rollups: list[GroupRollup], style: Any, lang: str) -> list[str]:
        """A table of one ``--group-by`` rollup: value, conversations, mean score, auto-fails, findings, failed policies."""
        heads = [printable(key), *(i18n.t(lang, f"group.{c}") for c in (
            "conversations", "mean_score", "auto_failed", "findings", "policies_failed"))]
        rows = []
        for g in rollups:
            failed = sorted(((c["fail"], pid.split(".", 1)[-1]) for pid, c in g.policies.items() if c["fail"]),
                            key=lambda x: (-x[0], x[1]))
            rows.append([one_line(g.value) if g.value is not None else i18n.t(lang, "text.no_value"),
                         str(g.conversations), format_score(g.mean_score), str(g.auto_failed), str(g.findings),
                         ", ".join(f"{name} {n}" for n, name in failed) or "-"])
        widths = [max(len(r[i]) for r in [heads, *rows]) for i in range(len(heads) - 1)]
        numeric = (False, True, True, True, True)

        def line(cells: list[str]) -> str:
            parts = [c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))]
            return "  " + "  ".join(parts) + "  " + cells[-1]

        title = style(i18n.t(lang, "text.groups", key=printable(key)), bold=True, underline=True)
        return [title, style(line(heads), bold=True), *(line(r) for r in rows)]

    @staticmethod
    def _header(result: Result, style: Any, lang: str = "en") -> str:
        conv = result.conversation
        facts = []
        if conv.kind != "transcript":
            facts.append(conv.kind)
        if conv.language:
            facts.append(conv.language)
        if result.score is not None:
            facts.append(i18n.t(lang, "text.score", score=format_score(result.score)))
        if result.auto_failed:
            facts.append(style(i18n.t(lang, "text.auto_failed"), fg="red", bold=True))
        # A document unit is named by its template; a file linted as one unit, as such.
        label = printable(conv.id if conv.kind == "transcript" else (conv.name or i18n.t(lang, "text.whole_file")))
        return f"{style(label, bold=True)} ({', '.join(facts)})" if facts else style(label, bold=True)

    @staticmethod
    def _finding(result: Result, finding: Finding, style: Any, lang: str = "en") -> list[str]:
        sev = severity_name(finding.severity)
        where = printable(display_location(finding_location(result, finding))) + ":"
        head = f"{where} {style(sev, **SEVERITY_STYLES.get(sev, {}))} {finding.policy}"
        if finding.turn is not None:
            head += " " + i18n.t(lang, "text.turn", turn=finding.turn)
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
            extra.append(i18n.t(lang, "text.searched", first=first, last=last))
        if finding.near_miss is not None and finding.near_miss.text:
            if finding.near_miss_turn is not None:
                extra.append(i18n.t(lang, "text.closest_turn", quote=quote(finding.near_miss.text),
                                    turn=finding.near_miss_turn))
            else:
                extra.append(i18n.t(lang, "text.closest", quote=quote(finding.near_miss.text)))
        if finding.related:
            extra.append(i18n.t(lang, "text.see_turns", turns=", ".join(str(t) for t in finding.related)))
        if result.score is not None and finding.score_if_fixed is not None and finding.score_if_fixed > result.score:
            extra.append(i18n.t(lang, "text.if_fixed", score=format_score(result.score),
                                fixed=format_score(finding.score_if_fixed)))
        if extra:
            out.append("  " + style("; ".join(extra), dim=True))
        return out

    @staticmethod
    def _error(problem: InputProblem, style: Any) -> str:
        where = printable(str(Location(problem.path, problem.line, problem.column)))
        return f"{where}: {style('error', **SEVERITY_STYLES['error'])} {one_line(problem.message)}"

    @staticmethod
    def _summary(s: Summary, lang: str = "en") -> str:
        counts = [i18n.tn(lang, f"summary.{sev}", n) for sev, n in s.by_severity.items() if n]
        head = i18n.tn(lang, "summary.findings", s.findings) + (f" ({', '.join(counts)})" if counts else "")
        where = []
        if s.conversations:
            where.append(i18n.tn(lang, "summary.of_conversations", s.conversations, k=s.conversations_with_findings))
        if s.documents:
            units = i18n.tn(lang, "summary.units", s.units) if s.units != s.documents else ""
            where.append(i18n.tn(lang, "summary.of_documents", s.documents, k=s.documents_with_findings) + units)
        parts = [head + (i18n.t(lang, "summary.in") + f" {i18n.t(lang, 'and')} ".join(where) if where else "")]
        if s.errors:
            parts.append(i18n.tn(lang, "summary.input_errors", s.errors))
        if s.score_mean is not None:
            parts.append(i18n.t(lang, "summary.score", mean=format_score(s.score_mean), min=format_score(s.score_min),
                                max=format_score(s.score_max)))
        if s.auto_failed:
            parts.append(i18n.tn(lang, "summary.auto_failed", s.auto_failed))
        return "; ".join(parts)
