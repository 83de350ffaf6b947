"""The command line through Click's runner: commands, formats and exact exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from servicecheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

FR_DEFLECTION = "Client : Ma facture est fausse.\nConseiller : Ah ça, c'est le service comptabilité, pas nous.\n"
EN_CLEAN = "Customer: Hi, can you update my address?\nAgent: Thanks for calling! I've updated your address.\n"


def run(*args: str, input: str | bytes | None = None):  # noqa: A002, ANN201
    return CliRunner().invoke(main, list(args), input=input)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in {"fr.txt": FR_DEFLECTION, "en.txt": EN_CLEAN}.items():
        out[name] = tmp_path / name
        out[name].write_text(text, encoding="utf-8")
    return out


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("audit", "lint", "annotate", "policies", "explain"):
        assert command in result.output


def test_audit_clean_exits_0(files: dict[str, Path]) -> None:
    result = run("audit", str(files["en.txt"]))
    assert result.exit_code == 0, result.output


def test_audit_error_finding_exits_1_and_quotes_evidence(files: dict[str, Path]) -> None:
    result = run("audit", str(files["fr.txt"]), "--no-color")
    assert result.exit_code == 1
    assert "no-deflection" in result.stdout
    assert "c'est le service" in result.stdout
    assert f"{files['fr.txt']}:2" in result.stdout


def test_fail_on_never_exits_0(files: dict[str, Path]) -> None:
    assert run("audit", str(files["fr.txt"]), "--fail-on", "never").exit_code == 0


def test_min_score(files: dict[str, Path]) -> None:
    assert run("audit", str(files["fr.txt"]), "--fail-on", "never", "--min-score", "99").exit_code == 1
    assert run("audit", str(files["en.txt"]), "--min-score", "99").exit_code == 0


def test_json_report_shape(files: dict[str, Path]) -> None:
    result = run("audit", str(files["fr.txt"]), str(files["en.txt"]), "--format", "json")
    report = json.loads(result.stdout)
    assert report["tool"]["name"] == "servicecheck"
    assert [c["source"]["path"] for c in report["conversations"]] == [str(files["fr.txt"]), str(files["en.txt"])]
    fr = report["conversations"][0]
    assert fr["language"] == "fr"
    finding = next(f for f in fr["findings"] if f["policy"].endswith("no-deflection"))
    assert finding["turn"] == 2 and finding["speaker"] == "agent"
    assert finding["location"]["line"] == 2
    assert "service" in finding["evidence"]["text"]
    statuses = {p["id"].split(".")[-1]: p["status"] for p in fr["policies"]}
    assert statuses["no-deflection"] == "fail"
    assert statuses["listen-no-interruption"] == "n/a"  # no timing


def test_jsonl_streams_one_line_per_conversation(files: dict[str, Path]) -> None:
    result = run("audit", str(files["fr.txt"]), str(files["en.txt"]), "--format", "jsonl", "--fail-on", "never")
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(lines) == 2
    assert result.exit_code == 0


def test_stdin(files: dict[str, Path]) -> None:
    result = run("audit", "-", "--format", "json", input=FR_DEFLECTION.encode())
    report = json.loads(result.stdout)
    assert len(report["conversations"]) == 1
    assert result.exit_code == 1


def test_unreadable_input_exits_3_and_the_rest_is_audited(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok", "turns": [{"speaker": "agent", "text": "Thanks for calling."}]}\n{"id": \n',
                   encoding="utf-8")
    result = run("audit", str(bad), str(files["fr.txt"]), "--format", "json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert [c["id"] for c in report["conversations"]][0] == "ok"
    assert len(report["conversations"]) == 2
    assert report["errors"] and report["errors"][0]["path"] == str(bad) and report["errors"][0]["line"] == 2
    assert f"{bad}:2" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_exits_3(tmp_path: Path, files: dict[str, Path]) -> None:
    result = run("audit", str(tmp_path / "nope.txt"), str(files["en.txt"]))
    assert result.exit_code == 3
    assert "nope.txt" in result.stderr


def test_output_file_is_written_atomically(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = run("audit", str(files["fr.txt"]), "--format", "json", "--output", str(out))
    assert result.exit_code == 1
    assert json.loads(out.read_text(encoding="utf-8"))["conversations"]
    assert result.stdout == ""
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


def test_inputs_are_never_modified(files: dict[str, Path]) -> None:
    import hashlib

    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files.values()}
    run("audit", *map(str, files.values()), "--format", "json")
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files.values()}


def test_lint_is_quiet_on_success(tmp_path: Path) -> None:
    ok = tmp_path / "ok.md"
    ok.write_text("Bonjour {{prenom}},\nMerci pour votre message. Votre colis part demain.\n", encoding="utf-8")
    result = run("lint", str(ok))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_lint_template_finding_maps_to_its_line(tmp_path: Path) -> None:
    doc = tmp_path / "macro.md"
    doc.write_text("Hello {{name}},\n\nThanks for your message.\nThat's not our department, please contact the seller.\n",
                   encoding="utf-8")
    result = run("lint", str(doc), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    (document,) = report["documents"]
    lines = {f["policy"].split(".")[-1]: f["location"]["line"] for f in document["findings"]}
    assert lines == {"no-deflection": 4}


def test_annotate_jsonl(files: dict[str, Path]) -> None:
    result = run("annotate", str(files["fr.txt"]), "--format", "jsonl")
    assert result.exit_code == 0
    (row,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert [t["turn"] for t in row["turns"]] == [1, 2]
    assert "deflection" in row["turns"][1]["signals"]


def test_annotate_explain_names_the_pattern(files: dict[str, Path]) -> None:
    result = run("annotate", str(files["fr.txt"]), "--explain")
    assert result.exit_code == 0
    assert "deflection" in result.stdout and "pattern" in result.stdout


def test_policies_list_show_explain() -> None:
    listed = run("policies", "list")
    assert listed.exit_code == 0
    assert len(listed.stdout.splitlines()) == 10
    shown = run("policies", "show", "no-deflection")
    assert shown.exit_code == 0 and "kind: forbid" in shown.stdout
    explained = run("explain", "incivility-never-ignored")
    assert explained.exit_code == 0
    assert "respond" in explained.stdout and "example" in explained.stdout
    assert run("explain", "no-such-policy").exit_code == 2


def test_policies_validate_and_test_default_pack() -> None:
    assert run("policies", "validate").exit_code == 0
    result = run("policies", "test")
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip().endswith(" 0 failed")


def test_usage_error_exits_2() -> None:
    assert run("audit").exit_code == 2
    assert run("audit", "x.txt", "--format", "pdf").exit_code == 2


def test_shipped_examples_fire_and_pass_every_policy() -> None:
    audit = json.loads(run("audit", str(EXAMPLES / "transcripts"), "--format", "json").stdout)
    lint = json.loads(run("lint", str(EXAMPLES / "scripts"), str(EXAMPLES / "templates"), "--format", "json").stdout)
    statuses: dict[str, set[str]] = {}
    for c in audit["conversations"]:
        for p in c["policies"]:
            statuses.setdefault(p["id"].split(".")[-1], set()).add(p["status"])
    fired = {f["policy"].split(".")[-1] for d in lint["documents"] for f in d["findings"]}
    fired |= {f["policy"].split(".")[-1] for c in audit["conversations"] for f in c["findings"]}
    assert len(fired) == 10, fired
    transcript_policies = {k for k, v in statuses.items()}
    for name in transcript_policies:
        assert "pass" in statuses[name] and "fail" in statuses[name], (name, statuses[name])


def test_input_format_choices_match_the_readers() -> None:
    from servicecheck import cli, inputs

    assert tuple(cli.INPUT_FORMATS) == inputs.FORMATS
