"""The ``csv`` format: a scorecard, one row per conversation or document unit."""

from __future__ import annotations

import csv
import io
from typing import Any

from servicecheck.formatters._common import STATUSES, iter_results, metadata_text, policy_ids, scorecard
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import Report, Result

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


def metadata_cells(result: Result, keys: list[str]) -> list[str]:
    """The result's metadata values for ``keys``, as safe text cells (empty when missing)."""
    metadata = result.conversation.metadata
    return [safe_cell(metadata_text(metadata.get(k))) for k in keys]


def writer_for(buffer: io.StringIO) -> Any:
    """A CSV writer with RFC 4180 line ends.

    The writer then also quotes a lone CR inside a cell, which it leaves bare with "\n"
    (Python 3.11). Write the result without newline translation (open(..., newline="")).
    """
    return csv.writer(buffer, lineterminator="\r\n")


class CsvFormatter(BaseFormatter):
    """Scorecard CSV: id, path, language, score, auto_failed, one column per policy, findings, then metadata.

    With ``--group-by``, the rollup instead: one row per key and value (conversations,
    mean score, auto-fails, findings, then pass / fail / n/a columns per policy).
    """

    name = "csv"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render the scorecard; a policy a row does not cover reads ``n/a``."""
        if report.groups:
            return self._rollup(report)
        ids = policy_ids(report)
        keys = list(report.metadata_keys)
        buffer = io.StringIO()
        writer = writer_for(buffer)
        writer.writerow([*FIXED_COLUMNS, *ids, "findings", *(safe_cell(k) for k in keys)])
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
                    *metadata_cells(result, keys),
                ]
            )
        return buffer.getvalue()

    @staticmethod
    def _rollup(report: Report) -> str:
        ids: dict[str, None] = {}
        for rollups in report.groups.values():
            for g in rollups:
                ids.update((pid, None) for pid in g.policies)
        buffer = io.StringIO()
        writer = writer_for(buffer)
        writer.writerow(["group", "value", "conversations", "mean_score", "auto_failed", "findings",
                         *(f"{pid} {status}" for pid in ids for status in STATUSES)])
        for key, rollups in report.groups.items():
            for g in rollups:
                counts = [str(g.policies.get(pid, {}).get(status, 0)) for pid in ids for status in STATUSES]
                writer.writerow([safe_cell(key), safe_cell(g.value), str(g.conversations), format_number(g.mean_score),
                                 str(g.auto_failed), str(g.findings), *counts])
        return buffer.getvalue()
