"""The ``csv-findings`` format: one row per finding, for spreadsheets and BI tools (SPEC section 10).

Columns: conversation id, path, line, turn, speaker, policy id, policy title, severity,
message, evidence, score, score_if_fixed, then one column per metadata key (agent, team...).
The title is in the finding's language, as its message is.  UTF-8 with RFC 4180 quoting;
``--bom`` adds a byte-order mark for Excel.
"""

from __future__ import annotations

import io

from servicecheck.formatters._common import finding_location, iter_results, severity_name, sorted_findings
from servicecheck.formatters.base import BaseFormatter
from servicecheck.formatters.csv import format_number, metadata_cells, safe_cell, writer_for
from servicecheck.model import Report

COLUMNS = ("conversation_id", "path", "line", "turn", "speaker", "policy", "title", "severity", "message",
           "evidence", "score", "score_if_fixed")


class CsvFindingsFormatter(BaseFormatter):
    """One CSV row per finding, metadata columns last."""

    name = "csv-findings"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render every finding of the report, conversations then documents, in order."""
        keys = list(report.metadata_keys)
        titles = {str(p.get("id")): p.get("titles") or {"en": p.get("title") or ""} for p in report.policies}
        buffer = io.StringIO()
        writer = writer_for(buffer)
        writer.writerow([*COLUMNS, *(safe_cell(k) for k in keys)])
        for result in iter_results(report):
            conv = result.conversation
            for f in sorted_findings(result):
                where = finding_location(result, f)
                names = titles.get(f.policy, {})
                title = names.get(conv.language or "") or names.get("en") or ""
                writer.writerow([
                    safe_cell(conv.id),
                    safe_cell(where.path),
                    "" if where.line is None else str(where.line),
                    "" if f.turn is None else str(f.turn),
                    safe_cell(f.speaker),
                    safe_cell(f.policy),
                    safe_cell(title),
                    severity_name(f.severity),
                    safe_cell(f.message),
                    safe_cell(f.evidence.text if f.evidence else ""),
                    format_number(result.score),
                    format_number(f.score_if_fixed),
                    *metadata_cells(result, keys),
                ])
        return buffer.getvalue()
