"""Tests of the output formatters: golden files for every format, then each format's contract.

Regenerate the golden files after an intended change with
``SERVICECHECK_UPDATE_GOLDEN=1 python -m pytest tests/test_formatters.py`` and review the diff.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicecheck.errors import UsageError
from servicecheck.formatters import FORMATTERS, BaseFormatter, Formatter, _common, get, register
from servicecheck.formatters.csv import safe_cell
from servicecheck.formatters.github import escape_data, escape_property
from servicecheck.formatters.html import Mark, locate_span, segments
from servicecheck.formatters.json import report_dict
from servicecheck.formatters.junit import xml_text
from servicecheck.formatters.sarif import artifact_uri, sarif_log
from servicecheck.model import (
    Conversation,
    Finding,
    InputProblem,
    Location,
    PolicyStatus,
    Report,
    Result,
    Severity,
    Span,
    Turn,
)

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
REPO = HERE.parent
REPORT_SCHEMA = json.loads((REPO / "docs" / "report-schema.json").read_text(encoding="utf-8"))
SARIF_SCHEMA_PATH = REPO.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
UPDATE = os.environ.get("SERVICECHECK_UPDATE_GOLDEN") == "1"

NO_DEFLECTION = "service-standards.no-deflection"
INCIVILITY = "service-standards.incivility-never-ignored"
THANK = "service-standards.always-thank"
LISTEN = "service-standards.listen-no-interruption"
INJUNCTIONS = "service-standards.no-empty-injunctions"

POLICIES: list[dict[str, Any]] = [
    {
        "id": NO_DEFLECTION,
        "title": "Own the customer's problem",
        "severity": "error",
        "weight": 2,
        "kind": "forbid",
        "rationale": "« C'est le service commercial » frustre instantanément : on assume tout ce qui arrive au client.",
        "message": "The agent pushed the problem to another party.",
    },
    {
        "id": INCIVILITY,
        "title": "Incivility is never ignored",
        "severity": "error",
        "weight": 3,
        "critical": True,
        "kind": "respond",
        "applies_to": ["transcript"],
        "link": "https://example.org/least#incivility",
        "rationale": "Les incivilités ne peuvent être ni tolérées, ni ignorées.",
        "message": "Customer incivility at turn {trigger.turn} was not acknowledged by the agent.",
    },
    {
        "id": THANK,
        "title": "Always thank the customer",
        "severity": "warning",
        "weight": 1,
        "kind": "require",
        "rationale": "Thank the customer for raising the issue (L.E.A.S.T.).",
        "message": "The agent never thanked the customer.",
    },
    {
        "id": LISTEN,
        "title": "Listen: do not interrupt",
        "severity": "warning",
        "weight": 1,
        "kind": "limit",
        "rationale": "Let the customer speak.",
        "message": "The agent interrupted the customer {count} times.",
    },
    {
        "id": INJUNCTIONS,
        "title": "No empty injunctions",
        "severity": "suggestion",
        "weight": 1,
        "kind": "forbid",
        "rationale": "A slogan is not an instruction an agent can act on.",
        "message": "Slogan without means: say what the agent should do.",
    },
]


def turn(number: int, speaker: str, text: str, line: int, column: int = 1, start_ms: int | None = None) -> Turn:
    """A turn whose text starts at ``line:column`` and stays on that line."""
    end_ms = None if start_ms is None else start_ms + 2000
    return Turn(number, speaker, text, start_ms, end_ms, ((0, line, column),))


def evidence(t: Turn, words: str) -> tuple[Span, Location]:
    """The span of ``words`` in turn ``t`` and its file location (path filled in by the caller)."""
    start = t.text.index(words)
    line, column = t.locate(start)
    return Span(words, start, start + len(words)), Location("", line, column)


def at(path: str, loc: Location) -> Location:
    """``loc`` in file ``path``."""
    return dataclasses.replace(loc, path=path)


def sample_report() -> Report:
    """Two conversations (fr, en), one document with two templates, one input error."""
    # Conversation 1: a French chat in a JSONL file, every turn on line 1.
    path1 = "calls/chats.jsonl"
    t1 = (
        turn(1, "customer", "Ma commande n'est jamais arrivée. Vous êtes des incapables !", 1, 60),
        turn(2, "agent", "Ah ça, c'est le service commercial, voyez avec eux.", 1, 160),
        turn(3, "customer", "C'est une blague ?", 1, 250),
        turn(4, "agent", "Votre numéro de commande ?", 1, 310),
    )
    ev_deflect, loc_deflect = evidence(t1[1], "c'est le service commercial")
    ev_incivil, loc_incivil = evidence(t1[0], "Vous êtes des incapables")
    conv1 = Conversation("chat-fr-001", t1, Location(path1, 1), "fr", "chat", {"queue": "livraison"})
    r1 = Result(
        conv1,
        (
            Finding(NO_DEFLECTION, Severity.ERROR, "The agent pushed the problem to another party.", 2, "agent",
                    ev_deflect, at(path1, loc_deflect), score_if_fixed=0.0,
                    suggestion="Je transmets votre demande au service commercial et je vous rappelle demain."),
            Finding(INCIVILITY, Severity.ERROR, "Customer incivility at turn 1 was not acknowledged by the agent.",
                    1, "customer", ev_incivil, at(path1, loc_incivil), window=(2, 4), score_if_fixed=50.0),
            Finding(THANK, Severity.WARNING, "The agent never thanked the customer.", window=(1, 4), score_if_fixed=0.0),
        ),
        (
            PolicyStatus(NO_DEFLECTION, "fail", 2.0),
            PolicyStatus(INCIVILITY, "fail", 3.0, critical=True),
            PolicyStatus(THANK, "fail", 1.0),
            PolicyStatus(LISTEN, "n/a", 1.0),
        ),
        score=0.0,
        auto_failed=True,
    )
    # Conversation 2: an English call in a plain-text transcript, one turn a line, timed.
    path2 = "calls/call-en-002.txt"
    t2 = (
        turn(1, "agent", "Thanks for calling Harper Valley Bank, how can I help?", 1, 16, 0),
        turn(2, "customer", "I was charged twice <script>alert('x')</script> & this is ridiculous.", 2, 19, 4000),
        turn(3, "agent", "That's not my department, you'll need to contact billing.", 3, 16, 9000),
        turn(4, "agent", "Sorry? Thanks for your patience.", 4, 16, 15000),
    )
    ev_en, loc_en = evidence(t2[2], "That's not my department")
    conv2 = Conversation("call-en-002", t2, Location(path2, 1), "en", "voice")
    r2 = Result(
        conv2,
        (Finding(NO_DEFLECTION, Severity.ERROR, "The agent pushed the problem to another party.", 3, "agent",
                 ev_en, at(path2, loc_en), score_if_fixed=100.0),),
        (
            PolicyStatus(NO_DEFLECTION, "fail", 2.0),
            PolicyStatus(INCIVILITY, "pass", 3.0, critical=True),
            PolicyStatus(THANK, "pass", 1.0),
            PolicyStatus(LISTEN, "pass", 1.0),
        ),
        score=71.4,
        auto_failed=False,
    )
    # One document, two templates.
    doc = "templates/macros.yaml"
    u1_turns = (
        turn(1, "agent", "We cannot refund this order.", 2, 5),
        turn(2, "agent", "Contact your bank for anything else.", 3, 5),
    )
    ev_u1, loc_u1 = evidence(u1_turns[1], "Contact your bank")
    unit1 = Conversation(f"{doc}#refund-denied", u1_turns, Location(doc, 1), "en", kind="template",
                         name="refund-denied", end_line=3)
    d1 = Result(
        unit1,
        (
            Finding(NO_DEFLECTION, Severity.ERROR, "The agent pushed the problem to another party.", 2, "agent",
                    ev_u1, at(doc, loc_u1), template="refund-denied", score_if_fixed=50.0,
                    suggestion="I'm passing this to our billing team & I'll call you back <tomorrow>."),
            Finding(THANK, Severity.WARNING, "The reply never thanks the customer.", template="refund-denied",
                    score_if_fixed=25.0),
        ),
        (PolicyStatus(NO_DEFLECTION, "fail", 2.0), PolicyStatus(THANK, "fail", 1.0), PolicyStatus(INJUNCTIONS, "pass")),
        score=0.0,
        auto_failed=False,
    )
    u2_turns = (
        turn(1, "agent", "Le client est au centre de nos préoccupations.", 6, 5),
        turn(2, "agent", "Merci pour votre confiance !", 7, 5),
    )
    ev_u2, loc_u2 = evidence(u2_turns[0], "Le client est au centre de nos préoccupations")
    unit2 = Conversation(f"{doc}#welcome", u2_turns, Location(doc, 5), "fr", kind="template", name="welcome",
                         end_line=7)
    d2 = Result(
        unit2,
        (Finding(INJUNCTIONS, Severity.SUGGESTION, "Slogan without means: say what the agent should do.", 1,
                 "agent", ev_u2, at(doc, loc_u2), template="welcome", score_if_fixed=100.0),),
        (PolicyStatus(NO_DEFLECTION, "pass", 2.0), PolicyStatus(THANK, "pass", 1.0), PolicyStatus(INJUNCTIONS, "fail")),
        score=75.0,
        auto_failed=False,
    )
    problem = InputProblem("calls/broken.json", "invalid JSON: Expecting ',' delimiter", 3, 17)
    # metadata_keys as api.collect computes them (the first conversation has a queue).
    return Report(conversations=[r1, r2], documents=[d1, d2], errors=[problem], policies=POLICIES, metadata_keys=["queue"])


@pytest.fixture(autouse=True)
def pinned_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """Golden files must not change with every release."""
    monkeypatch.setattr(_common, "TOOL_VERSION", "0.0.0")


@pytest.fixture()
def report() -> Report:
    return sample_report()


# ---- golden files --------------------------------------------------------------------

GOLDEN_CASES = [
    ("text", False, "report.txt"),
    ("text", True, "report.color.txt"),
    ("json", False, "report.json"),
    ("jsonl", False, "report.jsonl"),
    ("sarif", False, "report.sarif"),
    ("junit", False, "report.junit.xml"),
    ("csv", False, "report.csv"),
    ("csv-findings", False, "report.findings.csv"),
    ("github", False, "report.github.txt"),
    ("html", False, "report.html"),
]


@pytest.mark.parametrize(("name", "color", "filename"), GOLDEN_CASES)
def test_golden(report: Report, name: str, color: bool, filename: str) -> None:
    out = get(name).render(report, color=color)
    path = GOLDEN / filename
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(out.encode("utf-8"))
    assert path.exists(), f"missing golden file {path}: run with SERVICECHECK_UPDATE_GOLDEN=1"
    assert out == path.read_bytes().decode("utf-8"), f"{filename} changed; review, then regenerate"


# ---- registry --------------------------------------------------------------------------


def test_registry_has_every_format() -> None:
    assert list(FORMATTERS) == ["text", "json", "jsonl", "sarif", "junit", "csv", "github", "html", "csv-findings"]
    for name, fmt in FORMATTERS.items():
        assert isinstance(fmt, Formatter)
        assert fmt.name == name
        assert fmt.streams == (name == "jsonl")
        assert get(name) is fmt


def test_duplicate_registration_raises() -> None:
    class Dup(BaseFormatter):
        name = "json"

    with pytest.raises(ValueError, match="duplicate formatter name 'json'"):
        register(Dup())
    assert type(FORMATTERS["json"]).__name__ == "JsonFormatter"


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"unknown output format 'xml'.*text, json"):
        get("xml")


@pytest.mark.parametrize("name", list(FORMATTERS))
def test_output_ends_with_one_newline_or_is_empty(report: Report, name: str) -> None:
    for rep in (report, Report(), Report(errors=report.errors)):
        out = get(name).render(rep)
        assert out == "" or (out.endswith("\n") and not out.endswith("\n\n")), (name, out[-20:])


@pytest.mark.parametrize("name", list(FORMATTERS))
def test_render_result_and_errors_work_for_every_format(report: Report, name: str) -> None:
    fmt = get(name)
    assert "chat-fr-001" in fmt.render_result(report.conversations[0])
    assert "refund-denied" in fmt.render_result(report.documents[0]) or name in ("csv",)
    # The two CSV formats are tables of results: input errors go to standard error only.
    assert "calls/broken.json" in fmt.render_errors(report.errors) or name in ("csv", "csv-findings")


# ---- text ----------------------------------------------------------------------------

FINDING_LINE = re.compile(
    r"^    (?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|suggestion) (?P<policy>\S+)"
    r"( turn (?P<turn>\d+) \((?P<speaker>\w+)\))?( \[[^]]+\])?: (?P<msg>.+)$"
)


def test_text_finding_lines(report: Report) -> None:
    lines = get("text").render(report).splitlines()
    parsed = [m.groupdict() for line in lines if (m := FINDING_LINE.match(line))]
    assert len(parsed) == len(report.all_findings())
    first = parsed[0]
    assert (first["path"], first["line"], first["col"], first["turn"]) == ("calls/chats.jsonl", "1", "1", None)
    assert {p["policy"] for p in parsed} == {NO_DEFLECTION, INCIVILITY, THANK, INJUNCTIONS}
    deflection = next(p for p in parsed if p["turn"] == "2" and p["path"] == "calls/chats.jsonl")
    assert deflection["speaker"] == "agent"
    idx = lines.index(next(line for line in lines if FINDING_LINE.match(line) and "turn 2 (agent)" in line))
    assert lines[idx + 1].strip() == "« c'est le service commercial »"


def test_text_groups_by_file_then_conversation(report: Report) -> None:
    lines = get("text").render(report).splitlines()
    files = [line for line in lines if line and not line.startswith(" ")]
    assert files[:4] == ["calls/chats.jsonl", "calls/call-en-002.txt", "templates/macros.yaml", "input errors"]
    assert "  chat-fr-001 (fr, score 0, auto-failed)" in lines
    assert "  refund-denied (template, en, score 0)" in lines


def test_text_summary_line(report: Report) -> None:
    last = get("text").render(report).splitlines()[-1]
    assert last == (
        "7 findings (4 errors, 2 warnings, 1 suggestion) in 2 of 2 conversations and 1 of 1 document (2 units); "
        "1 input error; score mean 35.7, min 0, max 71.4; 1 auto-failed"
    )


def test_text_colour_only_when_asked(report: Report) -> None:
    plain = get("text").render(report, color=False)
    coloured = get("text").render(report, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[31m\x1b[1merror" in coloured  # red, bold
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


@pytest.mark.parametrize("name", ["text", "github"])
def test_control_characters_never_reach_the_terminal(report: Report, name: str) -> None:
    r = report.conversations[1]
    conv = dataclasses.replace(r.conversation, id="call\x1b[2J", source=Location("calls/\x1b]0;x\x07.txt", 1))
    f = dataclasses.replace(r.findings[0], message="bad\x1b[31m news\nsecond line",
                            evidence=Span("That's\x9b not", 0, 11), location=Location("a\x1b.txt", 3, 1))
    out = get(name).render(Report(conversations=[dataclasses.replace(r, conversation=conv, findings=(f,))]))
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", out)
    assert "\\x1b[31m news second line" in out and "\\x9b" in out


def test_text_is_quiet_on_a_clean_lint(report: Report) -> None:
    clean = [dataclasses.replace(r, findings=(), auto_failed=False) for r in report.documents]
    assert get("text").render(Report(documents=clean, policies=POLICIES)) == ""
    assert get("text").render(Report(documents=clean, errors=report.errors)) != ""


def test_text_clean_audit_still_prints_a_summary(report: Report) -> None:
    clean = [dataclasses.replace(r, findings=(), auto_failed=False) for r in report.conversations]
    out = get("text").render(Report(conversations=clean))
    assert out.startswith("0 findings in 0 of 2 conversations; score mean 35.7")


# ---- json / jsonl -------------------------------------------------------------------


def report_validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)
    return jsonschema.Draft202012Validator(REPORT_SCHEMA, format_checker=jsonschema.FormatChecker())


def jsonl_validator() -> jsonschema.Draft202012Validator:
    line_schema = {**REPORT_SCHEMA, "$ref": "#/$defs/jsonlLine"}
    for key in ("type", "required", "properties", "additionalProperties"):
        line_schema.pop(key)
    return jsonschema.Draft202012Validator(line_schema)


def test_json_validates_against_the_published_schema(report: Report) -> None:
    data = json.loads(get("json").render(report))
    errors = sorted(report_validator().iter_errors(data), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_json_shape(report: Report) -> None:
    data = json.loads(get("json").render(report))
    assert list(data) == ["version", "tool", "summary", "policies", "conversations", "documents", "errors", "groups"]
    assert data["version"] == "1" and data["tool"] == {"name": "servicecheck", "version": "0.0.0"}
    conv = data["conversations"][0]
    assert conv["id"] == "chat-fr-001" and conv["source"] == {"path": "calls/chats.jsonl", "line": 1}
    assert conv["language"] == "fr" and conv["score"] == 0.0 and conv["auto_failed"] is True
    assert {"id": LISTEN, "status": "n/a", "weight": 1.0, "critical": False} in conv["policies"]
    deflection = next(f for f in conv["findings"] if f["policy"] == NO_DEFLECTION)
    assert deflection["evidence"] == {"text": "c'est le service commercial", "start": 7, "end": 34}
    assert deflection["location"] == {"path": "calls/chats.jsonl", "line": 1, "column": 167}
    assert deflection["turn"] == 2 and deflection["speaker"] == "agent"
    # A finding without a location points at the conversation's start.
    thank = next(f for f in conv["findings"] if f["policy"] == THANK)
    assert thank["location"] == {"path": "calls/chats.jsonl", "line": 1, "column": None}
    assert thank["window"] == [1, 4]
    assert data["errors"] == [
        {"path": "calls/broken.json", "line": 3, "column": 17, "message": "invalid JSON: Expecting ',' delimiter"}
    ]
    assert data["summary"]["by_severity"] == {"error": 4, "warning": 2, "suggestion": 1}


def test_json_groups_document_units_by_path(report: Report) -> None:
    docs = json.loads(get("json").render(report))["documents"]
    assert len(docs) == 1 and docs[0]["path"] == "templates/macros.yaml"
    assert [u["name"] for u in docs[0]["units"]] == ["refund-denied", "welcome"]
    assert [(f["template"], f["unit"], f["policy"]) for f in docs[0]["findings"]] == [
        ("refund-denied", "templates/macros.yaml#refund-denied", THANK),
        ("refund-denied", "templates/macros.yaml#refund-denied", NO_DEFLECTION),
        ("welcome", "templates/macros.yaml#welcome", INJUNCTIONS),
    ]
    thank = next(f for f in docs[0]["findings"] if f["policy"] == THANK)
    assert thank["location"]["line"] == 1  # no turn: the unit's first line


def test_json_survives_odd_metadata(report: Report) -> None:
    odd = dataclasses.replace(
        report.conversations[0],
        conversation=dataclasses.replace(report.conversations[0].conversation, metadata={"when": {1, 2}}),
        score=float("nan"),
    )
    data = json.loads(get("json").render(Report(conversations=[odd])))
    assert data["conversations"][0]["metadata"] == {"when": "{1, 2}"}
    assert data["conversations"][0]["score"] is None


def test_jsonl_streams_one_object_per_result(report: Report) -> None:
    fmt = get("jsonl")
    out = fmt.render(report)
    lines = out.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["conversation", "conversation", "document", "document",
                                                            "error"]
    streamed = "".join(fmt.render_result(r) for r in (*report.conversations, *report.documents))
    assert streamed + fmt.render_errors(report.errors) == out
    validator = jsonl_validator()
    for line in lines:
        errors = list(validator.iter_errors(json.loads(line)))
        assert not errors, [e.message for e in errors]
    doc = json.loads(lines[2])
    assert doc["path"] == "templates/macros.yaml" and doc["name"] == "refund-denied"
    assert all(f["template"] == "refund-denied" for f in doc["findings"])


def test_json_and_jsonl_carry_the_same_conversations(report: Report) -> None:
    data = json.loads(get("json").render(report))
    first = json.loads(get("jsonl").render_result(report.conversations[0]))
    assert first.pop("type") == "conversation"
    assert first == data["conversations"][0]


# ---- sarif ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator() -> Any:
    if not SARIF_SCHEMA_PATH.exists():
        pytest.skip(f"SARIF schema not found at {SARIF_SCHEMA_PATH}")
    schema = json.loads(SARIF_SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft4Validator
    return cls(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_is_valid(report: Report, sarif_validator: Any) -> None:
    log = json.loads(get("sarif").render(report))
    errors = list(sarif_validator.iter_errors(log))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_sarif_rules_and_results(report: Report) -> None:
    run = sarif_log(report)["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "servicecheck" and driver["version"] == "0.0.0" and "informationUri" not in driver  # no home page yet
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [p["id"] for p in POLICIES]
    thank = rules[2]
    assert thank["shortDescription"]["text"] == "Always thank the customer"
    assert thank["fullDescription"]["text"].startswith("Thank the customer")
    assert thank["defaultConfiguration"]["level"] == "warning"
    assert rules[4]["defaultConfiguration"]["level"] == "note"
    assert rules[1]["helpUri"] == "https://example.org/least#incivility" and "helpUri" not in rules[0]
    results = run["results"]
    assert len(results) == 7
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert set(res["partialFingerprints"]) == {"servicecheck/v1"}
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"] == {"uri": "calls/chats.jsonl", "uriBaseId": "%SRCROOT%"}
    assert first["region"]["startLine"] >= 1
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"].startswith("invalid JSON")


def _shift_lines(report: Report, by: int) -> Report:
    """The same report as if ``by`` lines had been inserted at the top of every file."""

    def loc(location: Location | None) -> Location | None:
        if location is None or location.line is None:
            return location
        return dataclasses.replace(location, line=location.line + by)

    def result(r: Result) -> Result:
        conv = r.conversation
        turns = tuple(
            dataclasses.replace(t, origin=tuple((o, ln + by, c) for o, ln, c in t.origin)) for t in conv.turns
        )
        conv = dataclasses.replace(conv, turns=turns, source=loc(conv.source) or conv.source)
        findings = tuple(dataclasses.replace(f, location=loc(f.location)) for f in r.findings)
        return dataclasses.replace(r, conversation=conv, findings=findings)

    return dataclasses.replace(
        report,
        conversations=[result(r) for r in report.conversations],
        documents=[result(r) for r in report.documents],
    )


def _fingerprints(report: Report) -> list[str]:
    return [r["partialFingerprints"]["servicecheck/v1"] for r in sarif_log(report)["runs"][0]["results"]]


@given(by=st.integers(min_value=1, max_value=10_000))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_sarif_fingerprints_survive_lines_added_above(report: Report, by: int) -> None:
    shifted = _shift_lines(report, by)
    assert _fingerprints(shifted) == _fingerprints(report)
    assert sarif_log(shifted) != sarif_log(report)  # the lines did move


def test_fingerprints_are_distinct_and_tell_duplicates_apart(report: Report) -> None:
    fps = _fingerprints(report)
    assert len(set(fps)) == len(fps)
    r = report.conversations[1]
    twice = dataclasses.replace(r, findings=r.findings * 2)
    a, b = _common.fingerprints(twice, twice.findings)
    assert a != b
    # Case and spacing of the evidence do not matter; its words do.
    f = r.findings[0]
    louder = dataclasses.replace(f, evidence=Span("THAT'S  not my\ndepartment", 0, 5))
    other = dataclasses.replace(f, evidence=Span("not our problem", 0, 5))
    assert _common.fingerprints(r, [louder]) == _common.fingerprints(r, [f])
    assert _common.fingerprints(r, [other]) != _common.fingerprints(r, [f])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("calls/a.json", {"uri": "calls/a.json", "uriBaseId": "%SRCROOT%"}),
        ("./calls/a b.json", {"uri": "calls/a%20b.json", "uriBaseId": "%SRCROOT%"}),
        ("calls\\win.txt", {"uri": "calls/win.txt", "uriBaseId": "%SRCROOT%"}),
        ("/abs/é.txt", {"uri": "file:///abs/%C3%A9.txt"}),
        ("C:\\data\\x.txt", {"uri": "file:///C:/data/x.txt"}),
    ],
)
def test_sarif_artifact_uris(path: str, expected: dict[str, str]) -> None:
    assert artifact_uri(path) == expected


# ---- junit ---------------------------------------------------------------------------


def test_junit_one_testcase_per_unit_and_policy(report: Report) -> None:
    root = ET.fromstring(get("junit").render(report))
    cases = root.findall(".//testcase")
    policy_cases = [c for c in cases if c.get("name") != "read input"]
    assert len(policy_cases) == sum(len(r.policies) for r in (*report.conversations, *report.documents))
    by_key = {(c.get("classname"), c.get("name")): c for c in cases}
    failed = by_key[("chat-fr-001", NO_DEFLECTION)].find("failure")
    assert failed is not None and "c'est le service commercial" in (failed.text or "")
    assert failed.get("message") == "The agent pushed the problem to another party."
    assert by_key[("chat-fr-001", LISTEN)].find("skipped") is not None
    passed = by_key[("call-en-002", THANK)]
    assert list(passed) == []
    assert by_key[("calls/broken.json", "read input")].find("error") is not None
    assert root.get("tests") == str(len(cases))
    assert root.get("failures") == str(sum(1 for c in cases if c.find("failure") is not None))
    assert root.get("skipped") == "1" and root.get("errors") == "1"
    assert [s.get("name") for s in root.findall("testsuite")] == [
        "calls/chats.jsonl", "calls/call-en-002.txt", "templates/macros.yaml", "calls/broken.json"
    ]


def test_junit_strips_characters_xml_cannot_carry(report: Report) -> None:
    r = report.conversations[0]
    bad = dataclasses.replace(r, findings=(dataclasses.replace(r.findings[0], message="bip\x07 \x00nul \ud800"),))
    root = ET.fromstring(get("junit").render(Report(conversations=[bad])))
    failure = root.find(".//failure")
    assert failure is not None and failure.get("message") == "bip\ufffd \ufffdnul \ufffd"
    assert xml_text("tab\tok\nline") == "tab\tok\nline"


# ---- csv -----------------------------------------------------------------------------


def test_csv_scorecard(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(get("csv").render(report))))
    header = list(rows[0])
    # The metadata columns come last (the sample's first conversation has a queue).
    assert header == ["id", "path", "language", "score", "auto_failed", *[p["id"] for p in POLICIES], "findings", "queue"]
    assert [r["id"] for r in rows] == [
        "chat-fr-001", "call-en-002", "templates/macros.yaml#refund-denied", "templates/macros.yaml#welcome"
    ]
    first = rows[0]
    assert (first["language"], first["score"], first["auto_failed"], first["findings"]) == ("fr", "0", "true", "3")
    assert first[LISTEN] == "n/a" and first[NO_DEFLECTION] == "fail" and first["queue"] == "livraison"
    assert rows[1]["score"] == "71.4" and rows[1][THANK] == "pass"
    assert rows[2][INCIVILITY] == "n/a"  # not a template policy


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("+1", "'+1"), ("@x", "'@x"), ("-", "-"), ("a=b", "a=b"), (None, "")],
)
def test_csv_cells_are_not_formulas(cell: str | None, expected: str) -> None:
    assert safe_cell(cell) == expected


# ---- github --------------------------------------------------------------------------

ANNOTATION = re.compile(
    r"^::(error|warning|notice) file=[^,:]+,line=\d+(,endLine=\d+)?(,col=\d+)?(,endColumn=\d+)?,title=[^,:]+::[^\r\n]+$"
)


def test_github_annotations(report: Report) -> None:
    lines = get("github").render(report).splitlines()
    assert len(lines) == len(report.all_findings()) + len(report.errors)
    assert all(ANNOTATION.match(line) for line in lines), lines
    assert lines[1] == (
        "::error file=calls/chats.jsonl,line=1,endLine=1,col=94,endColumn=118,"
        "title=service-standards.incivility-never-ignored::"
        "Customer incivility at turn 1 was not acknowledged by the agent. (chat-fr-001, turn 1, customer): "
        "« Vous êtes des incapables »"
    )
    assert lines[4].endswith("::The reply never thanks the customer. (refund-denied)")
    assert sum(line.startswith("::notice ") for line in lines) == 1
    assert lines[-1].startswith("::error file=calls/broken.json,line=3,col=17,title=servicecheck%3A unreadable input::")


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("50% off", "50%25 off", "50%25 off"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
        ("%0A", "%250A", "%250A"),
    ],
)
def test_github_escaping(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def _unescape(text: str) -> str:
    for code, char in (("%2C", ","), ("%3A", ":"), ("%0A", "\n"), ("%0D", "\r"), ("%25", "%")):
        text = text.replace(code, char)
    return text


@given(st.text())
def test_github_escaping_round_trips(text: str) -> None:
    for escaped in (escape_data(text), escape_property(text)):
        assert "\n" not in escaped and "\r" not in escaped
        assert _unescape(escaped) == text
    assert ":" not in escape_property(text) and "," not in escape_property(text)


def _two_line_result() -> Result:
    """A finding whose evidence runs from line 10 onto line 11."""
    t = Turn(1, "agent", "first line\nsecond line", origin=((0, 10, 5), (11, 11, 1)))
    f = Finding(NO_DEFLECTION, Severity.ERROR, "m", 1, "agent", Span("line\nsecond", 6, 17), Location("a.txt", 10, 11))
    conv = Conversation("c", (t,), Location("a.txt", 10))
    return Result(conv, (f,), (PolicyStatus(NO_DEFLECTION, "fail"),), 0, False)


def test_evidence_end_spans_lines_in_sarif_and_github() -> None:
    rep = Report(conversations=[_two_line_result()])
    region = sarif_log(rep)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endLine"], region["endColumn"]) == (10, 11, 11, 7)
    # GitHub refuses columns on multi-line annotations: keep the lines only.
    assert get("github").render(rep).startswith("::error file=a.txt,line=10,endLine=11,title=")


def test_github_is_empty_without_findings() -> None:
    assert get("github").render(Report()) == ""


# ---- html ----------------------------------------------------------------------------

REMOTE = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(""", re.I)


def assert_only_our_script(page: str) -> None:
    """The page's one script is the shipped filter/sort script, allowed by its hash: input text never adds one.

    (Until the report had filters and sortable tables, the page had no script at all.)
    """
    from servicecheck.formatters.html import script

    text, source = script()
    assert page.lower().count("<script") == 1 and page.count(f"<script>{text}</script>") == 1
    assert f"script-src {source}\">" in page and "src=" not in page.lower().split("<script", 1)[1][:20]


def test_html_escapes_input_text(report: Report) -> None:
    page = get("html").render(report)
    assert_only_our_script(page)
    assert "I was charged twice &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; this is ridiculous." in page


def test_html_is_self_contained(report: Report) -> None:
    page = get("html").render(report)
    assert not REMOTE.search(page)
    # A URL may appear only as plain text (a policy's link), never as something to load or follow.
    urls = [m.start() for m in re.finditer(r"https?://", page)]
    assert urls and all(page[i - 6 : i] == "more: " for i in urls)
    assert "<style>" in page and "<svg" in page


def test_html_shows_every_turn_and_highlights_evidence(report: Report) -> None:
    page = get("html").render(report)
    for r in (*report.conversations, *report.documents):
        assert r.id in page
    mark = '<mark class="sev-error" title="service-standards.no-deflection">c&#39;est le service commercial</mark>'
    assert mark in page
    assert '<mark class="sev-suggestion" title="service-standards.no-empty-injunctions">' in page
    assert page.count('<li class="turn ') == sum(len(r.conversation.turns) for r in (*report.conversations,
                                                                                   *report.documents))
    assert page.count("<mark ") == 5  # every finding with evidence, once
    assert 'id="conv-1-t2"' in page and 'href="#conv-1-t2"' in page


def test_html_charts(report: Report) -> None:
    page = get("html").render(report)
    # one bar row per policy, and the pass rates it states
    assert page.count('<rect class="track"') == len(POLICIES)
    assert "50% (1/2)" in page  # incivility: 1 pass, 1 fail, the n/a excluded
    assert "25% (1/4)" in page  # no-deflection passed only in the welcome template
    assert page.count('<rect class="bin"') == 10
    assert "Score distribution (2 conversations)" in page


def test_html_handles_an_empty_report() -> None:
    page = get("html").render(Report())
    assert "No scores." in page and "No policy outcomes." in page


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("abc def", Span("def", 4, 7), (4, 7)),
        ("abc def", Span("def", 0, 3), (4, 7)),  # stale offsets: found by text
        ("abc def", Span("xyz", 0, 3), None),
        ("abc", Span("", 0, 9), None),
    ],
)
def test_locate_span(text: str, span: Span, expected: tuple[int, int] | None) -> None:
    assert locate_span(text, span) == expected


def test_overlapping_marks_merge_at_worst_severity() -> None:
    segs = segments("aaaa bbbb cccc", [Mark(0, 9, "suggestion", "p1"), Mark(5, 14, "error", "p2")])
    assert [(s.text, s.css, s.title) for s in segs] == [
        ("aaaa ", "sev-suggestion", "p1"),
        ("bbbb", "sev-error", "p1, p2"),
        (" cccc", "sev-error", "p2"),
    ]


@given(
    text=st.text(max_size=40),
    raw=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.sampled_from(["error", "warning"])), max_size=5),
)
def test_segments_cover_the_text_exactly(text: str, raw: list[tuple[int, int, str]]) -> None:
    marks = [Mark(min(a, b, len(text)), min(max(a, b), len(text)), sev, "p") for a, b, sev in raw]
    marks = [m for m in marks if m.start < m.end]
    segs = segments(text, marks)
    assert "".join(s.text for s in segs) == text
    covered = {i for m in marks for i in range(m.start, m.end)}
    pos = 0
    for s in segs:
        assert bool(s.css) == (pos in covered) or not s.text
        pos += len(s.text)


# ---- every format on arbitrary reports -----------------------------------------------

SPEAKERS = st.sampled_from(["agent", "customer", "system", "bot"])
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=30)


@st.composite
def results(draw: st.DrawFn, kind: str = "transcript") -> Result:
    path = draw(st.sampled_from(["a.json", "dir/b c.txt", "<stdin>", "x,y:z.csv"]))
    n = draw(st.integers(1, 4))
    turns = tuple(
        Turn(i, draw(SPEAKERS), draw(TEXT), origin=((0, i, draw(st.integers(1, 5))),)) for i in range(1, n + 1)
    )
    policies = draw(st.lists(st.sampled_from([p["id"] for p in POLICIES] + ["other.pack"]), unique=True, max_size=4))
    findings = []
    for pid in draw(st.lists(st.sampled_from(policies), max_size=4)) if policies else []:
        t = draw(st.sampled_from(turns))
        a, b = sorted(draw(st.tuples(st.integers(0, len(t.text)), st.integers(0, len(t.text)))))
        span = Span(t.text[a:b], a, b) if draw(st.booleans()) else None
        findings.append(
            Finding(pid, draw(st.sampled_from(list(Severity))), draw(TEXT), t.number, t.speaker, span,
                    Location(path, t.line, draw(st.none() | st.integers(1, 9))) if draw(st.booleans()) else None,
                    template=draw(st.none() | TEXT) if kind != "transcript" else None)
        )
    statuses = tuple(PolicyStatus(pid, draw(st.sampled_from(["pass", "fail", "n/a"]))) for pid in policies)
    name = draw(TEXT) if kind != "transcript" else None
    conv = Conversation(draw(TEXT), turns, Location(path, draw(st.none() | st.integers(1, 9))),
                        draw(st.none() | st.sampled_from(["fr", "en"])), kind=kind, name=name)
    score = draw(st.none() | st.floats(0, 100))
    return Result(conv, tuple(findings), statuses, score, draw(st.booleans()))


REPORTS = st.builds(
    Report,
    conversations=st.lists(results(), max_size=3),
    documents=st.lists(results("template"), max_size=2),
    errors=st.lists(st.builds(InputProblem, st.sampled_from(["a.json", "b"]), TEXT, st.none() | st.integers(1, 9)),
                    max_size=2),
    policies=st.just(POLICIES),
)


@given(REPORTS)
@settings(max_examples=40, deadline=None)
def test_every_format_renders_any_report(rep: Report) -> None:
    for name, fmt in FORMATTERS.items():
        out = fmt.render(rep)
        assert out == "" or out.endswith("\n"), name
    errors = list(report_validator().iter_errors(report_dict(rep)))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
    ET.fromstring(get("junit").render(rep))
    rows = list(csv.reader(io.StringIO(get("csv").render(rep))))
    assert len(rows) == 1 + len(rep.conversations) + len(rep.documents)
    annotations = get("github").render(rep).split("\n")
    assert len(annotations) == len(rep.all_findings()) + len(rep.errors) + bool(annotations[-1] == "")
    page = get("html").render(rep)
    assert_only_our_script(page)
    if not any(f.evidence and f.evidence.text for f in rep.all_findings()):
        assert "<mark " not in page


@given(REPORTS)
@settings(max_examples=15, deadline=None)
def test_sarif_of_any_report_is_valid(rep: Report) -> None:
    if not SARIF_SCHEMA_PATH.exists():
        pytest.skip("SARIF schema absent")
    schema = json.loads(SARIF_SCHEMA_PATH.read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(sarif_log(rep)))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]
