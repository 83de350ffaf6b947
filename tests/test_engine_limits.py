"""Packs of any reasonable size run: rulesets are cut under the engine's measured limits, validate and audit agree."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from servicecheck import api, compiler
from servicecheck.cli import main
from servicecheck.compiler import PART_BUDGET, compile_policies, engine_rules, partition
from servicecheck.errors import EngineError
from servicecheck.policy.loader import load_policies

ROOT = Path(__file__).resolve().parents[1]
SIGNALS = ["thank", "apology", "empathy", "solve", "justification", "boundary"]
COMPLAINT = "Customer: This is ridiculous, my parcel never arrived.\n"
ANSWERED = COMPLAINT + "Agent: I am so sorry, thank you for your patience, I send a replacement today.\n"
IGNORED = COMPLAINT + "Agent: Order number?\n"


def sequence_pack(folder: Path, policies: int, stages: int = 20) -> Path:
    folder.mkdir(parents=True)
    (folder / "pack.yaml").write_text('name: big\nversion: "1.0.0"\nlanguages: [en]\n', encoding="utf-8")
    for p in range(policies):
        lines = [f"    - {{name: s{i}, speaker: agent, any-signal: [{SIGNALS[i % 6]}, {SIGNALS[(i + 1) % 6]}]}}"
                 for i in range(stages)]
        (folder / f"seq{p:02d}.yaml").write_text(
            f"title: Sequence {p}\nseverity: warning\napplies-to: [transcript]\nrule:\n  kind: sequence\n"
            "  trigger: {speaker: customer, signal: complaint}\n  stages:\n" + "\n".join(lines) + "\n"
            'message: "Complaint at turn {trigger.turn}: {stages}."\n', encoding="utf-8")
    return folder


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(main, [*args, "--no-config"] if args[0] == "audit" else list(args))


def statuses(result: Any) -> list[dict[str, str]]:
    return [{p["id"]: p["status"] for p in c["policies"]} for c in json.loads(result.stdout)["conversations"]]


@pytest.mark.parametrize("policies", [12, 50])
def test_a_pack_of_20_stage_sequences_validates_and_audits(tmp_path: Path, policies: int) -> None:
    pack = sequence_pack(tmp_path / "big", policies)
    validated = run("policies", "validate", str(pack))
    assert validated.exit_code == 0, validated.output
    (tmp_path / "answered.txt").write_text(ANSWERED, encoding="utf-8")
    (tmp_path / "ignored.txt").write_text(IGNORED, encoding="utf-8")
    audited = run("audit", "--policies", str(pack), "--format", "json", "--fail-on", "never",
                  str(tmp_path / "answered.txt"), str(tmp_path / "ignored.txt"))
    assert audited.exit_code == 0, audited.stderr
    answered, ignored = statuses(audited)
    ours = [f"big.seq{p:02d}" for p in range(policies)]
    assert [ignored[p] for p in ours] == ["fail"] * policies
    findings = json.loads(audited.stdout)["conversations"][1]["findings"]
    assert sorted(f["policy"] for f in findings if f["policy"].startswith("big.")) == ours
    # The same policy reached the same stages whatever ruleset it ran in.
    assert len({answered[p] for p in ours}) == 1


def test_the_50_policy_pack_is_cut_into_rulesets_under_the_budget(tmp_path: Path) -> None:
    policyset = load_policies([str(sequence_pack(tmp_path / "big", 50))])
    ruleset = compile_policies(policyset)["transcript"]
    parts = partition(ruleset)
    assert len(parts) > 1
    for part in parts:
        size = sum(engine_rules(r) for name, r in part.rules.items() if name != compiler.DONE_RULE)
        assert size <= PART_BUDGET or len(part.policies) == 1
    assert [p.id for part in parts for p in part.policies] == [p.id for p in ruleset.policies]
    assert sorted(n for part in parts for n in part.rules if n != compiler.DONE_RULE) == sorted(
        n for n in ruleset.rules if n != compiler.DONE_RULE)


def test_the_default_pack_stays_one_ruleset_per_target() -> None:
    for ruleset in compile_policies(load_policies()).values():
        assert partition(ruleset) == [ruleset]


def test_cutting_the_default_pack_per_policy_gives_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    examples = [str(p) for p in sorted((ROOT / "examples" / "transcripts").iterdir())]
    whole = list(api.audit(examples, load_policies()))
    monkeypatch.setattr(compiler, "PART_BUDGET", 8)  # several rulesets of a few policies each
    policyset = load_policies()
    assert len(partition(compile_policies(policyset)["transcript"])) > 1
    cut = list(api.audit(examples, policyset))
    assert cut == whole and len(whole) > 5


def test_a_policy_the_engine_cannot_run_fails_validate_and_audit_with_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = sequence_pack(tmp_path / "big", 2)
    monkeypatch.setattr(compiler, "SHARED_TEST_BUDGET", 40)  # a 20-stage sequence has 61 rules on its seq fact
    (tmp_path / "c.txt").write_text(ANSWERED, encoding="utf-8")
    for result in (run("policies", "validate", str(pack)), run("audit", "--policies", str(pack), str(tmp_path / "c.txt"))):
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines()[0] == (
            f"servicecheck: {pack / 'seq00.yaml'}: big.seq00: 61 engine rules on one condition; at most 40 can run "
            "(split the policy)")


@pytest.mark.parametrize("cut", [True, False])
def test_the_engine_limit_the_budget_was_measured_on(tmp_path: Path, cut: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pins durable-rules' own limit: two 20-stage sequences in one ruleset fail on an agent turn
    # carrying two signals; cut in two, they run. If an engine upgrade lifts it, the budget may grow.
    from servicecheck import engine
    from servicecheck.facts import conversation_facts
    from servicecheck.inputs import parse_text_transcript

    pack = sequence_pack(tmp_path / "two", 2)
    policyset = load_policies([str(pack)])
    ruleset = compile_policies(policyset)["transcript"]
    ruleset = dataclasses.replace(ruleset, name=f"limit_probe_{cut}")
    if not cut:
        monkeypatch.setattr(engine, "partition", lambda rs: [rs])
    conversation = parse_text_transcript(ANSWERED, "c.txt")[0]
    signals = [["complaint"], ["apology", "thank"]]
    facts = conversation_facts(conversation, signals)
    if cut:
        assert len(engine.partition(ruleset)) > 1
        assert engine.Session(ruleset).run(facts)
    else:
        with pytest.raises(EngineError, match="error code: 303"):
            engine.Session(ruleset).run(facts)
