"""The ``github`` format: GitHub Actions workflow commands that annotate files."""

from __future__ import annotations

from servicecheck.formatters._common import (
    TOOL_NAME,
    evidence_end,
    finding_context,
    finding_location,
    iter_results,
    one_line,
    printable,
    severity_name,
    sorted_findings,
)
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import Finding, Report, Result

COMMANDS = {"error": "error", "warning": "warning", "suggestion": "notice"}


def escape_data(text: str) -> str:
    """Escape a workflow command's message (GitHub's rules: ``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property value (the data rules plus ``:`` and ``,``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: str | int | None) -> str:
    """One ``::kind key=value,...::message`` line (properties that are None are left out)."""
    props = ",".join(f"{k}={escape_property(printable(str(v)))}" for k, v in properties.items() if v is not None)
    return f"::{kind} {props}::{escape_data(message)}" if props else f"::{kind}::{escape_data(message)}"


def _message(result: Result, finding: Finding) -> str:
    text = f"{finding.message} {finding_context(result, finding)}"
    if finding.evidence is not None and finding.evidence.text:
        text += f": « {finding.evidence.text} »"
    # Annotations are one line each: fold every kind of line break, not just CR and LF.
    return one_line(text)


def _annotation(result: Result, finding: Finding) -> str:
    where = finding_location(result, finding)
    end = evidence_end(result, finding, where)
    col, end_col = where.column, end[1] if end else None
    if end is not None and end[0] != where.line:
        # The runner rejects columns on an annotation that spans several lines.
        col = end_col = None
    return command(
        COMMANDS.get(severity_name(finding.severity), "warning"),
        _message(result, finding),
        file=where.path,
        line=where.line,
        endLine=end[0] if end else None,
        col=col,
        endColumn=end_col,
        title=finding.policy,
    )


class GithubFormatter(BaseFormatter):
    """One workflow command per finding (error, warning, notice for suggestions) and per input error."""

    name = "github"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render annotations; empty when there is nothing to annotate."""
        lines = [_annotation(r, f) for r in iter_results(report) for f in sorted_findings(r)]
        lines.extend(
            command(
                "error",
                one_line(e.message),
                file=e.path,
                line=e.line,
                col=e.column,
                title=f"{TOOL_NAME}: unreadable input",
            )
            for e in report.errors
        )
        return "\n".join(lines) + "\n" if lines else ""
