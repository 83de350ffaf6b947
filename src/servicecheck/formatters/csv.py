"""The ``csv`` format: a scorecard, one row per conversation or document unit."""

from __future__ import annotations

import csv
import io

from servicecheck.formatters._common import iter_results, policy_ids, scorecard
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import Report

FIXED_COLUMNS = ("id", "path", "language", "score", "auto_failed")
# Spreadsheets run a cell that starts with one of these as a formula; ids and
# paths come from untrusted files, so such cells get a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str | None) -> str:
    """A text cell that a spreadsheet will not evaluate."""
    if not text:
        return ""
    if text.startswith(_FORMULA_START) and text != "-":
        return "'" + text
    return text


def format_number(value: float | None) -> str:
    """A score cell: empty when there is none, at most two decimals."""
    if value is None:
        return ""
    return f"{round(value, 2):g}"


class CsvFormatter(BaseFormatter):
    """Scorecard CSV: id, path, language, score, auto_failed, one column per policy, findings."""

    name = "csv"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render the scorecard; a policy a row does not cover reads ``n/a``."""
        ids = policy_ids(report)
        buffer = io.StringIO()
        # RFC 4180 line ends: the writer then also quotes a lone CR inside a
        # cell, which it leaves bare with "\n" (Python 3.11).  Write the result
        # without newline translation (open(..., newline="")).
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([*FIXED_COLUMNS, *ids, "findings"])
        for result in iter_results(report):
            statuses = dict(scorecard(result))
            conv = result.conversation
            writer.writerow(
                [
                    safe_cell(conv.id),
                    safe_cell(conv.source.path),
                    safe_cell(conv.language),
                    format_number(result.score),
                    "true" if result.auto_failed else "false",
                    *(statuses.get(pid, "n/a") for pid in ids),
                    str(len(result.findings)),
                ]
            )
        return buffer.getvalue()
