"""The ``json`` and ``jsonl`` formats: the report as data (schema: docs/report-schema.json)."""

from __future__ import annotations

import json
import math
from typing import Any

from servicecheck.formatters._common import (
    JSON_REPORT_VERSION,
    conversation_dict,
    document_dict,
    document_groups,
    error_dict,
    groups_dict,
    is_document,
    policy_info,
    summarise,
    summary_dict,
    tool_dict,
)
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import InputProblem, Report, Result

# The jsonl line encoder, made once (json.dumps makes one a call when given options). The
# lines are plain data the formatter has just built (JSON-read metadata, rule details), never
# circular, so the encoder does not track every container to find a cycle (≈ 12 % of a line).
_LINE_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False,
                                 check_circular=False)


def _dumps(obj: Any, *, indent: int | None = None) -> str:
    # Metadata and finding details come from inputs and rules: never let an odd
    # value (a date, a set) crash the report, print it as text instead.
    if indent is None:
        return _LINE_ENCODER.encode(obj)
    separators = None if indent else (",", ":")
    return json.dumps(obj, ensure_ascii=False, indent=indent, separators=separators, default=str, allow_nan=False)


def report_dict(report: Report) -> dict[str, Any]:
    """The whole report as the plain data the ``json`` format prints.

    Args:
        report: the report to convert.

    Returns:
        A JSON-serialisable dict, keys in a fixed order.
    """
    return {
        "version": JSON_REPORT_VERSION,
        "tool": tool_dict(),
        "summary": summary_dict(summarise(report)),
        "policies": list(policy_info(report).values()),
        "conversations": [conversation_dict(r) for r in report.conversations],
        "documents": [document_dict(path, units) for path, units in document_groups(report)],
        "errors": [error_dict(e) for e in report.errors],
        "groups": groups_dict(report),
    }


def _dumps_finite(obj: Any, *, indent: int | None = None) -> str:
    """:func:`_dumps` of ``obj`` with NaN and infinities as null; the copy is made only when one is there."""
    try:
        return _dumps(obj, indent=indent)
    except ValueError:  # allow_nan=False met a NaN or an infinity
        return _dumps(_finite(obj), indent=indent)


def _finite(obj: Any) -> Any:
    """Replace NaN and infinities (which JSON cannot carry) by None."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


class JsonFormatter(BaseFormatter):
    """The whole report as one indented JSON document."""

    name = "json"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render the report as JSON (``color`` is ignored)."""
        return _dumps_finite(report_dict(report), indent=2) + "\n"


class JsonlFormatter(BaseFormatter):
    """One JSON object a line: a conversation, a document unit or an input error."""

    name = "jsonl"
    streams = True

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render every result, then every error, one line each."""
        parts = [self.render_result(r) for r in (*report.conversations, *report.documents)]
        parts.append(self.render_errors(report.errors))
        return "".join(parts)

    def render_result(self, result: Result, *, color: bool = False) -> str:
        """One line for one conversation (``"type": "conversation"``) or document unit (``"document"``)."""
        return _dumps_finite(result_line(result)) + "\n"

    def render_errors(self, errors: list[InputProblem]) -> str:
        """One ``{"type": "error", ...}`` line per unreadable input."""
        return "".join(_dumps({"type": "error", **error_dict(e)}) + "\n" for e in errors)


def result_line(result: Result) -> dict[str, Any]:
    """The object of one jsonl line: the json format's conversation or document shape plus ``type``."""
    if not is_document(result):
        return conversation_dict(result, "conversation")
    doc = document_dict(result.conversation.source.path, [result])
    unit = doc["units"][0]
    return {
        "type": "document",
        "path": doc["path"],
        **unit,
        "findings": doc["findings"],
    }
