"""The ``sarif`` format: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from servicecheck.formatters._common import (
    TOOL_NAME,
    evidence_end,
    finding_context,
    finding_location,
    fingerprints,
    iter_results,
    policy_ids,
    policy_info,
    severity_name,
    shown_metadata,
    sorted_findings,
    tool_version,
    unit_name,
)
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import Finding, InputProblem, Location, Report, Result

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "suggestion": "note"}
# Names fingerprints so that a change of algorithm can ship as a new version.
FINGERPRINT_KEY = "servicecheck/v1"
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:/")


def artifact_uri(path: str) -> dict[str, Any]:
    """An artifactLocation for a report path: relative paths stay relative to the source root."""
    posix = path.replace("\\", "/")
    if posix.startswith("/") or _WINDOWS_DRIVE.match(posix):
        prefix = "file://" if posix.startswith("/") else "file:///"
        return {"uri": prefix + quote(posix, safe="/:")}
    while posix.startswith("./"):
        posix = posix[2:]
    return {"uri": quote(posix, safe="/"), "uriBaseId": "%SRCROOT%"}


def _region(location: Location, end: tuple[int, int] | None = None) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(location.line or 1, 1)}
    if location.column is not None and location.column >= 1:
        region["startColumn"] = location.column
        if end is not None:
            region["endLine"], region["endColumn"] = end
    return region


def _rule(pid: str, info: dict[str, Any] | None) -> dict[str, Any]:
    info = info or {}
    title = str(info.get("title") or pid).strip()
    rationale = str(info.get("rationale") or "").strip() or title
    help_lines = [rationale]
    help_lines.append(f"Run `servicecheck explain {pid}` for examples and parameters.")
    level = LEVELS.get(severity_name(info.get("severity")), "warning")
    tags = [TOOL_NAME]
    if info.get("kind"):
        tags.append(str(info["kind"]))
    rule: dict[str, Any] = {
        "id": pid,
        "name": pid.rsplit(".", 1)[-1],
        "shortDescription": {"text": title},
        "fullDescription": {"text": rationale},
        "help": {"text": "\n\n".join(help_lines)},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": tags},
    }
    if info.get("weight") is not None:
        rule["properties"]["weight"] = info["weight"]
    link = str(info.get("link") or "")
    if re.match(r"^https?://", link):
        rule["helpUri"] = link
    return rule


def _result(result: Result, finding: Finding, fingerprint: str, rule_index: int) -> dict[str, Any]:
    location = finding_location(result, finding)
    region = _region(location, evidence_end(result, finding, location))
    physical: dict[str, Any] = {"artifactLocation": artifact_uri(location.path), "region": region}
    if finding.evidence is not None and finding.evidence.text:
        physical["region"]["snippet"] = {"text": finding.evidence.text}
    # A logical location names the conversation or template, which line numbers alone do not.
    logical = {"name": unit_name(result, finding) or result.id, "fullyQualifiedName": result.id}
    text = f"{finding.message} {finding_context(result, finding)}"
    properties: dict[str, Any] = {"conversation": result.id, "turn": finding.turn, "speaker": finding.speaker}
    if finding.suggestion:
        # A textual suggestion, not a SARIF ``fixes`` edit: the better phrasing is a model
        # to adapt (names, delays, departments), not a replacement a tool should apply blindly.
        text += f"\nSuggestion: {finding.suggestion}"
        properties["suggestion"] = finding.suggestion
    template = unit_name(result, finding)
    if template:
        properties["template"] = template
    if finding.window is not None:
        properties["window"] = list(finding.window)
    if finding.score_if_fixed is not None:
        properties["score"] = result.score
        properties["score_if_fixed"] = finding.score_if_fixed
    metadata = shown_metadata(result)
    if metadata:
        properties["metadata"] = dict(metadata)
    return {
        "ruleId": finding.policy,
        "ruleIndex": rule_index,
        "level": LEVELS.get(severity_name(finding.severity), "warning"),
        "message": {"text": text},
        "locations": [{"physicalLocation": physical, "logicalLocations": [logical]}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": properties,
    }


def _notification(problem: InputProblem) -> dict[str, Any]:
    location = Location(problem.path, problem.line, problem.column)
    return {
        "level": "error",
        "message": {"text": problem.message},
        "locations": [
            {"physicalLocation": {"artifactLocation": artifact_uri(problem.path), "region": _region(location)}}
        ],
    }


def sarif_log(report: Report) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log (one run).

    Args:
        report: the report to convert.

    Returns:
        A JSON-serialisable dict valid against the SARIF 2.1.0 schema.
    """
    info = policy_info(report)
    ids = policy_ids(report)
    for f in report.all_findings():
        if f.policy not in ids:
            ids.append(f.policy)
    index = {pid: i for i, pid in enumerate(ids)}
    results = []
    for result in iter_results(report):
        findings = sorted_findings(result)
        for finding, fp in zip(findings, fingerprints(result, findings), strict=True):
            results.append(_result(result, finding, fp, index[finding.policy]))
    version = tool_version()
    driver: dict[str, Any] = {
        "name": TOOL_NAME,
        "version": version,
        "rules": [_rule(pid, info.get(pid)) for pid in ids],
    }
    if re.fullmatch(r"\d+\.\d+\.\d+([-+].*)?", version):
        driver["semanticVersion"] = version
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [_notification(e) for e in report.errors],
                    }
                ],
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The directory servicecheck ran in."}}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


class SarifFormatter(BaseFormatter):
    """SARIF 2.1.0, one run, a rule per policy and a result per finding."""

    name = "sarif"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render the report as an indented SARIF log."""
        return json.dumps(sarif_log(report), ensure_ascii=False, indent=2, default=str) + "\n"
