"""The ``junit`` format: JUnit XML, one testcase per conversation (or document unit) and policy."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

from servicecheck.formatters._common import (
    TOOL_NAME,
    display_location,
    finding_location,
    iter_results,
    scorecard,
    severity_name,
    shown_metadata,
    sorted_findings,
)
from servicecheck.formatters.base import BaseFormatter
from servicecheck.model import Finding, Location, Report, Result

# XML 1.0 cannot carry most control characters, even escaped: drop them rather
# than write a file no CI server can parse.
_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return _XML_INVALID.sub("\ufffd", text)


def _finding_line(result: Result, finding: Finding) -> str:
    where = display_location(finding_location(result, finding))
    turn = f" turn {finding.turn}" + (f" ({finding.speaker})" if finding.speaker else "") if finding.turn else ""
    line = f"{where}: {severity_name(finding.severity)}{turn}: {finding.message}"
    if finding.evidence is not None and finding.evidence.text:
        line += f"\n    « {finding.evidence.text} »"
    return line


def _counts(element: ET.Element, tests: int, failures: int, skipped: int, errors: int) -> None:
    element.set("tests", str(tests))
    element.set("failures", str(failures))
    element.set("errors", str(errors))
    element.set("skipped", str(skipped))


class JunitFormatter(BaseFormatter):
    """JUnit XML: a testsuite per input file, a testcase per (conversation or unit) x policy."""

    name = "junit"
    streams = False

    def render(self, report: Report, *, color: bool = False) -> str:
        """Render the report as a ``<testsuites>`` document."""
        root = ET.Element("testsuites", {"name": TOOL_NAME})
        suites: dict[str, ET.Element] = {}
        tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # tests, failures, skipped, errors

        def suite(path: str) -> ET.Element:
            if path not in suites:
                suites[path] = ET.SubElement(root, "testsuite", {"name": xml_text(path)})
            return suites[path]

        for result in iter_results(report):
            path = result.conversation.source.path
            by_policy: dict[str, list[Finding]] = defaultdict(list)
            for f in sorted_findings(result):
                by_policy[f.policy].append(f)
            for pid, status in scorecard(result):
                case = ET.SubElement(
                    suite(path),
                    "testcase",
                    {"classname": xml_text(result.id), "name": xml_text(pid), "file": xml_text(path)},
                )
                if result.conversation.source.line is not None:
                    case.set("line", str(result.conversation.source.line))
                metadata = shown_metadata(result)
                if metadata:  # agent, team...: JUnit's per-testcase properties
                    props = ET.SubElement(case, "properties")
                    for key, value in metadata:
                        ET.SubElement(props, "property", {"name": xml_text(key), "value": xml_text(value)})
                tallies[path][0] += 1
                findings = by_policy.get(pid, [])
                if status == "fail":
                    tallies[path][1] += 1
                    first = findings[0].message if findings else f"{pid} failed"
                    kind = severity_name(findings[0].severity) if findings else "fail"
                    failure = ET.SubElement(case, "failure", {"message": xml_text(first), "type": kind})
                    failure.text = xml_text("\n".join(_finding_line(result, f) for f in findings) or first)
                elif status == "n/a":
                    tallies[path][2] += 1
                    ET.SubElement(case, "skipped", {"message": "not applicable"})
                elif findings:
                    # A passing policy can still carry findings below its failing
                    # threshold (suggestions): keep them visible in the output.
                    out = ET.SubElement(case, "system-out")
                    out.text = xml_text("\n".join(_finding_line(result, f) for f in findings))
        for problem in report.errors:
            path = xml_text(problem.path)
            case = ET.SubElement(
                suite(problem.path), "testcase", {"classname": path, "name": "read input", "file": path}
            )
            if problem.line is not None:
                case.set("line", str(problem.line))
            error = ET.SubElement(case, "error", {"message": xml_text(problem.message), "type": "input"})
            error.text = xml_text(f"{Location(problem.path, problem.line, problem.column)}: {problem.message}")
            tallies[problem.path][0] += 1
            tallies[problem.path][3] += 1
        totals = [0, 0, 0, 0]
        for path, element in suites.items():
            _counts(element, *tallies[path])
            totals = [a + b for a, b in zip(totals, tallies[path], strict=True)]
        _counts(root, *totals)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
