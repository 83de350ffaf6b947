"""Scoring: weights, critical auto-fail, n/a per rule kind, --min-score, and docs/scoring.md's worked example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from servicecheck import api
from servicecheck.api import score_of
from servicecheck.cli import main
from servicecheck.errors import ExitCode
from servicecheck.inputs import parse_json_transcript, parse_text_transcript
from servicecheck.model import PolicyStatus

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "demo-pack"
DOC = ROOT / "docs" / "scoring.md"
POLICIES = api.load_policies([DEMO], include_default=False)
AUDITOR = api.Auditor(POLICIES, "en")


def check(text: str):  # noqa: ANN201
    (conversation,) = parse_text_transcript(text, "call.txt")
    return AUDITOR.check(conversation)


def statuses(result) -> dict[str, str]:  # noqa: ANN001
    return {p.id.split(".", 1)[1]: p.status for p in result.policies}


# ---------------------------------------------------------------- the documented example


def _doc_example() -> tuple[str, list[tuple[str, float, str]], tuple[float, float, float]]:
    text = DOC.read_text(encoding="utf-8")
    transcript = re.search(r"<!-- worked-example: transcript -->\s*```text\n(.*?)```", text, re.S).group(1)
    after = text.split("<!-- worked-example: scorecard -->", 1)[1].strip().splitlines()
    table = after[: next(i for i, x in enumerate(after) if not x.startswith("|"))]
    rows = []
    for line in table[2:]:  # past the header and its rule
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((cells[0].strip("`"), float(cells[1]), cells[2]))
    score = re.search(r"<!-- worked-example: score -->\s*\*\*score = 100 × (\d+) / (\d+) = ([\d.]+)\*\*", text)
    return transcript, rows, (float(score.group(1)), float(score.group(2)), float(score.group(3)))


def test_the_worked_example_in_the_docs_is_what_servicecheck_computes() -> None:
    transcript, rows, (passed, applicable, score) = _doc_example()
    result = check(transcript)
    assert {p.id: p.status for p in result.policies} == {pid: status for pid, _, status in rows}
    assert {p.id: p.weight for p in result.policies} == {pid: weight for pid, weight, _ in rows}
    # The arithmetic the page shows, from its own table:
    assert passed == sum(w for _, w, s in rows if s == "pass")
    assert applicable == sum(w for _, w, s in rows if s in ("pass", "fail"))
    assert score == round(100 * passed / applicable, 1)
    assert (result.score, result.auto_failed) == (score, False)


def test_the_worked_example_with_an_insult_auto_fails() -> None:
    transcript, _, _ = _doc_example()
    result = check(transcript.replace("Thank you for your patience", "Are you stupid? Thank you for your patience"))
    assert statuses(result)["no-insult"] == "fail"
    assert (result.score, result.auto_failed) == (0.0, True)


def test_the_worked_example_through_the_cli_and_min_score(tmp_path: Path) -> None:
    transcript, _, (_, _, score) = _doc_example()
    path = tmp_path / "call.txt"
    path.write_text(transcript, encoding="utf-8")
    base = ["audit", str(path), "--no-config", "--no-default-pack", "--policies", str(DEMO), "--fail-on", "never"]
    assert f"score {score:g}" in CliRunner().invoke(main, base + ["--no-color"]).stdout
    assert CliRunner().invoke(main, base + ["--min-score", "60"]).exit_code == ExitCode.FINDINGS
    assert CliRunner().invoke(main, base + ["--min-score", "50"]).exit_code == ExitCode.OK
    assert CliRunner().invoke(main, base[:-2] + ["--min-score", "50"]).exit_code == ExitCode.FINDINGS  # the error


# ---------------------------------------------------------------- n/a per rule kind

NA_CASES = [
    # rule kind -> policy, transcript, expected status
    ("forbid is never n/a", "no-deflection", "Customer: Hello?\n", "pass"),
    ("require: the speaker never speaks", "always-thank", "Customer: Hello? Anyone?\n", "n/a"),
    ("require: the speaker speaks", "always-thank", "Customer: Hello?\nAgent: Hi.\n", "fail"),
    ("respond: nothing triggers", "apologise-on-complaint", "Customer: Hello.\nAgent: Hi.\n", "n/a"),
    ("respond: triggered and answered", "apologise-on-complaint", "Customer: It is broken.\nAgent: Sorry!\n", "pass"),
    ("respond: triggered, unanswered", "apologise-on-complaint", "Customer: It is broken.\nAgent: Number?\n", "fail"),
    ("limit interruptions: no timing", "no-interruption", "Customer: Hello.\nAgent: Hi.\n", "n/a"),
]


@pytest.mark.parametrize(("name", "policy", "text", "status"), NA_CASES, ids=[c[0] for c in NA_CASES])
def test_status_by_rule_kind(name: str, policy: str, text: str, status: str) -> None:
    assert statuses(check(text))[policy] == status


@pytest.mark.parametrize(("agent_start", "status"), [(5000, "pass"), (1000, "fail")])
def test_limit_applies_with_timing(agent_start: int, status: str) -> None:
    (conversation,) = parse_json_transcript(
        '{"id": "t", "turns": [{"speaker": "customer", "text": "Hello there.", "start_ms": 0, "end_ms": 4000},'
        f' {{"speaker": "agent", "text": "Thank you.", "start_ms": {agent_start}, "end_ms": 7000}}]}}'
    )
    assert statuses(AUDITOR.check(conversation))["no-interruption"] == status


def test_sequence_is_n_a_without_its_trigger_and_reports_credit(tmp_path: Path) -> None:
    pack = tmp_path / "seq"
    (pack / "signals").mkdir(parents=True)
    (pack / "pack.yaml").write_text("name: seq\nversion: '1'\n")
    for name, speaker, words in (("complaint", "customer", "broken"), ("apology", "agent", "sorry"),
                                 ("solve", "agent", "replace")):
        (pack / "signals" / f"{name}.yaml").write_text(
            f"speaker: {speaker}\ndescription: {name}\npatterns:\n  en: [{words}]\n")
    (pack / "least.yaml").write_text(
        "title: L.E.A.S.T.\nseverity: warning\nrule:\n  kind: sequence\n  trigger: {speaker: customer, signal: complaint}\n"
        "  stages:\n    - {name: apologize, speaker: agent, signal: apology}\n"
        "    - {name: solve, speaker: agent, signal: solve}\nmessage: m\n")
    policies = api.load_policies([pack], include_default=False)
    auditor = api.Auditor(policies, "en")
    (calm,) = parse_text_transcript("Customer: Hello.\nAgent: Hi.\n")
    assert [p.status for p in auditor.check(calm).policies] == ["n/a"]
    assert auditor.check(calm).score is None  # nothing applies: the score is n/a too
    (half,) = parse_text_transcript("Customer: It is broken.\nAgent: Sorry.\n")
    result = auditor.check(half)
    (status,) = result.policies
    assert (status.status, status.detail["credit"]) == ("fail", 0.5)
    assert result.score == 0.0  # partial credit is detail, not score


def test_policies_that_do_not_apply_to_the_target_are_not_in_the_scorecard(tmp_path: Path) -> None:
    path = tmp_path / "reply.md"
    path.write_text("# Reply\nThank you, it is done.\n")
    (result,) = api.lint([str(path)], POLICIES, auditor=AUDITOR)
    assert sorted(statuses(result)) == ["always-thank", "no-deflection"]  # transcript-only policies are absent
    assert result.score == 100.0


# ---------------------------------------------------------------- score_of


def st_(pid: str, status: str, weight: float = 1.0, critical: bool = False) -> PolicyStatus:
    return PolicyStatus(pid, status, weight, critical)


@pytest.mark.parametrize(
    ("statuses_", "expected"),
    [
        ([st_("a", "pass", 3), st_("b", "fail", 1)], (75.0, False)),
        ([st_("a", "pass", 1), st_("b", "fail", 2)], (33.3, False)),
        ([st_("a", "pass", 2), st_("b", "n/a", 5)], (100.0, False)),
        ([st_("a", "n/a"), st_("b", "n/a")], (None, False)),
        ([], (None, False)),
        ([st_("a", "pass", 0), st_("b", "fail", 0)], (None, False)),  # weight 0 is informational
        ([st_("a", "pass", 0), st_("b", "fail", 1)], (0.0, False)),
        ([st_("a", "pass", 9), st_("b", "fail", 1, critical=True)], (0.0, True)),
        ([st_("a", "pass", 9), st_("b", "pass", 1, critical=True)], (100.0, False)),
        ([st_("a", "pass", 1), st_("b", "n/a", 1, critical=True)], (100.0, False)),  # n/a never auto-fails
    ],
)
def test_score_of(statuses_: list[PolicyStatus], expected: tuple[float | None, bool]) -> None:
    assert score_of(statuses_) == expected


STATUS = st.builds(st_, st.sampled_from("abcdef"), st.sampled_from(["pass", "fail", "n/a"]),
                   st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), st.booleans())


@given(st.lists(STATUS, max_size=8))
def test_score_invariants(items: list[PolicyStatus]) -> None:
    score, auto_failed = score_of(items)
    assert auto_failed == any(s.critical and s.status == "fail" for s in items)
    if auto_failed:
        assert score == 0.0
    elif score is not None:
        assert 0.0 <= score <= 100.0
    # n/a statuses never change anything
    assert score_of([s for s in items if s.status != "n/a"]) == (score, auto_failed)


@given(st.lists(STATUS, max_size=8), st.sampled_from([0.5, 1.0, 4.0]))
def test_one_more_passing_policy_never_lowers_the_score(items: list[PolicyStatus], weight: float) -> None:
    before, _ = score_of(items)
    after, _ = score_of([*items, st_("z", "pass", weight)])
    if before is not None:
        assert after is not None and after >= before


def test_deltas_stamped_in_place_only_on_the_findings_check_made() -> None:
    from servicecheck.auditor import _stamp_deltas, coaching_deltas
    from servicecheck.model import Finding, Severity

    statuses = [st_("a", "fail", 1), st_("b", "pass", 1)]
    mine = Finding("a", Severity.ERROR, "made by check")
    foreign = Finding("a", Severity.ERROR, "held elsewhere")
    out = _stamp_deltas([mine, foreign], statuses, 50.0, {id(mine): mine})
    assert out == coaching_deltas([Finding("a", Severity.ERROR, "made by check"), foreign], statuses, 50.0)
    assert out[0] is mine and mine.score_if_fixed == 50.0  # two findings of "a": fixing one changes nothing
    assert out[1] is not foreign and foreign.score_if_fixed is None  # a finding check did not make is copied


def test_shared_statuses_keep_the_weight_as_written() -> None:
    from dataclasses import replace

    from servicecheck.auditor import Auditor
    from servicecheck.policy.cache import load_policies_cached

    auditor = Auditor(load_policies_cached())
    policy = auditor._rulesets["transcript"].policies[0]
    as_int = replace(policy, weight=1)
    as_float = replace(policy, weight=1.0)
    assert type(auditor._status(as_int, "pass").weight) is int
    assert type(auditor._status(as_float, "pass").weight) is float
    assert auditor._status(as_float, "pass") is auditor._status(as_float, "pass")
