"""`servicecheck evaluate` and `servicecheck train`: scores from labels, a retrained pack that scores better."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from servicecheck.cli import main
from servicecheck.errors import UsageError
from servicecheck.evaluate import expected_findings, read_labels
from servicecheck.detect.linear import LinearModel
from servicecheck.train import DEFAULT_WEIGHT, TRAINING_DATA, TurnExample, set_model_block, train_signal, write_training_data

ROOT = Path(__file__).resolve().parents[1]

TINY_PACK = {
    "pack.yaml": "name: tiny\nversion: '1'\n",
    "signals/thank.yaml": "speaker: agent\ndescription: thanks\npatterns: {en: [thank you, thanks]}\n",
    "signals/complaint.yaml": "speaker: customer\ndescription: complaint\npatterns: {en: [never arrived, still waiting]}\n",
    "always-thank.yaml": (
        "title: Thank\nseverity: warning\nweight: 1\napplies-to: [transcript]\n"
        "rule: {kind: require, signal: thank, speaker: agent}\nmessage: no thanks\n"
    ),
}

CONVERSATIONS = [
    {"id": "c1", "language": "en", "turns": [
        {"speaker": "customer", "text": "My parcel never arrived."},
        {"speaker": "agent", "text": "Thank you, I am checking."}]},
    {"id": "c2", "language": "en", "turns": [
        {"speaker": "customer", "text": "Where is my order? It is late."},
        {"speaker": "agent", "text": "Let me look."}]},
    {"id": "c3", "language": "en", "turns": [
        {"speaker": "customer", "text": "Hello"},
        {"speaker": "agent", "text": "Thanks for waiting."}]},
]
LABELS = [
    {"id": "c1", "turns": [["COMPLAINT"], ["THANK", "SOLVE"]]},
    {"id": "c2", "turns": [["COMPLAINT"], ["SOLVE"]]},
    {"id": "c3", "turns": [[], []]},
]


def _write_pack(root: Path) -> Path:
    for rel, text in TINY_PACK.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_evaluate_json_counts_signals_and_policies(tmp_path: Path) -> None:
    pack = _write_pack(tmp_path / "tiny")
    convs = _jsonl(tmp_path / "c.jsonl", CONVERSATIONS)
    labels = _jsonl(tmp_path / "c.labels.jsonl", LABELS)
    res = CliRunner().invoke(main, ["evaluate", convs, "--labels", labels, "--policies", str(pack),
                                    "--no-default-pack", "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    # THANK: detected in c1 and c3, labelled in c1 only; COMPLAINT: detected in c1, labelled in c1 and c2
    assert out["signals"]["THANK"] | {} == {"tp": 1, "fp": 1, "fn": 0, "precision": 0.5, "recall": 1.0,
                                            "f1": 0.6667}
    assert (out["signals"]["COMPLAINT"]["tp"], out["signals"]["COMPLAINT"]["fn"]) == (1, 1)
    assert "SOLVE" not in out["signals"]  # the pack has no such signal
    # always-thank: expected for c2 and c3 (c3's "Thanks for waiting." is labelled without THANK);
    # reported for c2 only (the pattern sees thanks in c3)
    assert out["policies"]["always-thank"] | {} == {"tp": 1, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.5,
                                                    "f1": 0.6667}
    assert out["macro_f1"] == {"signals": 0.6667, "policies": 0.6667}
    assert (out["conversations"], out["turns"]) == (3, 6)


def test_evaluate_text_lists_misses_and_reports_unknown_ids(tmp_path: Path) -> None:
    pack = _write_pack(tmp_path / "tiny")
    convs = _jsonl(tmp_path / "c.jsonl", CONVERSATIONS)
    labels = _jsonl(tmp_path / "c.labels.jsonl", LABELS + [{"id": "ghost", "turns": [[]]}])
    res = CliRunner().invoke(main, ["evaluate", convs, "--labels", labels, "--policies", str(pack),
                                    "--no-default-pack", "--show", "5"])
    assert res.exit_code == 3  # a labelled conversation was not found: reported, the rest scored
    assert "c.labels.jsonl:4: conversation 'ghost' is labelled but was not found" in res.output
    assert "miss  c2 turn 1: Where is my order? It is late." in res.output
    assert "macro-F1 signals 0.667  policies 0.667" in res.output


@pytest.mark.parametrize(
    "line, message",
    [
        ("not json", "c.labels.jsonl:1: invalid JSON"),
        ('{"id": "c1", "turns": [["COMPLAIN"]]}', "c.labels.jsonl:1: unknown tag 'COMPLAIN'"),
        ('{"id": "c1", "turns": "x"}', "c.labels.jsonl:1: expected"),
    ],
)
def test_bad_labels_are_a_located_usage_error(tmp_path: Path, line: str, message: str) -> None:
    convs = _jsonl(tmp_path / "c.jsonl", CONVERSATIONS)
    labels = tmp_path / "c.labels.jsonl"
    labels.write_text(line + "\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["evaluate", convs, "--labels", str(labels)])
    assert res.exit_code == 2 and message in res.output


def test_a_turn_count_mismatch_is_reported_and_left_out(tmp_path: Path) -> None:
    pack = _write_pack(tmp_path / "tiny")
    convs = _jsonl(tmp_path / "c.jsonl", CONVERSATIONS)
    labels = _jsonl(tmp_path / "c.labels.jsonl", [{"id": "c1", "turns": [[]]}, *LABELS[1:]])
    res = CliRunner().invoke(main, ["evaluate", convs, "--labels", labels, "--policies", str(pack),
                                    "--no-default-pack", "--format", "json"])
    assert res.exit_code == 3 and "conversation 'c1' has 2 turns but 1 label lists; left out" in res.output


def test_expected_findings_follow_the_labelling_guide() -> None:
    speakers = ["customer", "agent", "customer", "agent", "agent"]
    tags = [["COMPLAINT", "INCIVILITY"], ["REFUSAL"], ["INCIVILITY"], ["DEFLECTION"], ["APOLOGY", "JUSTIFICATION"]]
    exp = expected_findings("x", speakers, tags)
    assert exp["incivility-never-ignored"] == {("x", 1)}  # turn 3 is answered by turn 5's apology
    assert exp["refusal-explained"] == {("x", 2)}  # the next agent turn (4) has no justification
    assert exp["no-deflection"] == {("x", 4)}
    assert exp["always-thank"] == {("x", None)}
    assert exp["least-complaint-handling"] == {("x", None)}  # apology but no solve


def test_read_labels_refuses_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text('{"id": "a", "turns": []}\n{"id": "a", "turns": []}\n', encoding="utf-8")
    with pytest.raises(UsageError, match="l.jsonl:2: conversation 'a' is labelled twice"):
        read_labels(str(path))


@pytest.mark.parametrize(
    "before, after",
    [
        ("speaker: agent\nexamples:\n  match: [a]\n",
         "speaker: agent\nmodel:\n  en: {file: models/s.en.json, threshold: 0.4}\nexamples:\n  match: [a]\n"),
        ("speaker: agent\nmodel:\n  en: {file: old.json, threshold: 0.9}\n  fr: {file: x, threshold: 0.5}\n"
         "# kept\nexamples: {}\n",
         "speaker: agent\nmodel:\n  en: {file: models/s.en.json, threshold: 0.4}\n# kept\nexamples: {}\n"),
        ("speaker: agent\n", "speaker: agent\nmodel:\n  en: {file: models/s.en.json, threshold: 0.4}\n"),
    ],
)
def test_set_model_block_rewrites_only_the_block(before: str, after: str) -> None:
    assert set_model_block(before, {"en": ("models/s.en.json", 0.4)}) == after
    assert yaml.safe_load(set_model_block(before, {}))["model"] is False


QA_TEAM = ROOT / "examples" / "qa-team" / "calls.jsonl"


def test_train_on_one_half_raises_macro_f1_on_the_other(tmp_path: Path) -> None:
    """The README's worked example: a QA team trains on 30 of its labelled calls and scores the other 30."""
    convs = [json.loads(x) for x in QA_TEAM.read_text(encoding="utf-8").splitlines() if x.strip()]
    labs = [json.loads(x) for x in QA_TEAM.with_name("calls.labels.jsonl").read_text(encoding="utf-8").splitlines()
            if x.strip()]
    assert len(convs) == len(labs) == 60
    a = _jsonl(tmp_path / "a.jsonl", convs[:30])
    a_labels = _jsonl(tmp_path / "a.labels.jsonl", labs[:30])
    b = _jsonl(tmp_path / "b.jsonl", convs[30:])
    b_labels = _jsonl(tmp_path / "b.labels.jsonl", labs[30:])
    runner = CliRunner()
    before = runner.invoke(main, ["evaluate", b, "--labels", b_labels, "--format", "json"])
    assert before.exit_code == 0, before.output
    out = tmp_path / "pack"
    trained = runner.invoke(main, ["train", a, "--labels", a_labels, "--output", str(out)])
    assert trained.exit_code == 0, trained.output
    assert (out / "pack.yaml").is_file() and (out / "models" / "training-data.jsonl.gz").is_file()
    after = runner.invoke(main, ["evaluate", b, "--labels", b_labels, "--policies", str(out), "--format", "json"])
    assert after.exit_code == 0, after.output
    gain = json.loads(after.output)["macro_f1"]["signals"] - json.loads(before.output)["macro_f1"]["signals"]
    assert gain >= 0.02, (json.loads(before.output)["macro_f1"], json.loads(after.output)["macro_f1"])


def test_train_refuses_a_non_empty_output_and_unlabelled_inputs(tmp_path: Path) -> None:
    convs = _jsonl(tmp_path / "c.jsonl", CONVERSATIONS)
    labels = _jsonl(tmp_path / "l.jsonl", [{"id": "other", "turns": []}])
    res = CliRunner().invoke(main, ["train", convs, "--labels", labels, "--output", str(tmp_path / "out")])
    assert res.exit_code == 2 and "no conversation of the inputs has labels here" in res.output
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x", encoding="utf-8")
    labels = _jsonl(tmp_path / "l2.jsonl", LABELS)
    res = CliRunner().invoke(main, ["train", convs, "--labels", labels, "--output", str(busy)])
    assert res.exit_code == 2 and "exists and is not an empty folder" in res.output


def test_train_retrains_only_the_languages_labelled_and_keeps_the_others_detectors(tmp_path: Path) -> None:
    """A French team's calls say nothing of the English detectors: their files and thresholds stay the base's."""
    base = _write_pack(tmp_path / "base")
    (base / "signals/complaint.yaml").write_text(
        "speaker: customer\ndescription: complaint\n"
        "patterns: {en: [never arrived], fr: [jamais arrive]}\n"
        "model:\n  en: {file: models/complaint.en.json, threshold: 0.65}\n", encoding="utf-8")
    LinearModel("complaint", "en", {"late": 1.5, "refund": 0.5}, -1.0).save(base / "models/complaint.en.json")
    shipped = [TurnExample(f"s{i}", lang, "customer", text, tags)
               for i, (lang, text, tags) in enumerate([("en", "my order is late", ("COMPLAINT",)),
                                                       ("fr", "bonjour", ())] * 20)]
    write_training_data(base / TRAINING_DATA, shipped)
    rows = [({"id": f"f{i}", "language": "fr", "turns": [{"speaker": "customer", "text": text}]},
             {"id": f"f{i}", "turns": [tags]})
            for i, (text, tags) in enumerate([("le colis est en retard", ["COMPLAINT"]),
                                              ("une question sur la taille", [])] * 20)]
    convs = _jsonl(tmp_path / "fr.jsonl", [c for c, _ in rows])
    labels = _jsonl(tmp_path / "fr.labels.jsonl", [lab for _, lab in rows])
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["train", convs, "--labels", labels, "--no-default-pack", "--policies", str(base),
                                    "--output", str(out)])
    assert res.exit_code == 0, res.output
    reported = [line.split()[:2] for line in res.output.splitlines()[2:] if line.strip()]
    assert reported and all(lang == "fr" for _signal, lang in reported), res.output
    block = yaml.safe_load((out / "signals/complaint.yaml").read_text(encoding="utf-8"))["model"]
    assert block["en"] == {"file": "models/complaint.en.json", "threshold": 0.65}
    assert (out / "models/complaint.en.json").read_bytes() == (base / "models/complaint.en.json").read_bytes()
    assert "fr" in block and (out / block["fr"]["file"]).is_file()  # 20 French positives, weighted: a French model


def test_train_help_gives_the_default_weight() -> None:
    help_text = " ".join(CliRunner().invoke(main, ["train", "--help"]).output.split())
    assert f"[default: {DEFAULT_WEIGHT}]" in help_text


def test_a_pinned_threshold_switches_on_a_model_the_out_of_fold_rule_keeps_off() -> None:
    """Patterns that already find every positive leave the model nothing to add out of fold: off, unless
    the threshold is pinned (chosen on held-out text); the report then gives the out-of-fold F1 at it."""
    texts = [("you lot are clowns", True), ("where is my parcel", False)] * 40
    examples = [TurnExample(f"c{i}", "en", "customer", text, ("INCIVILITY",) if rude else ())
                for i, (text, rude) in enumerate(texts)]
    hits = [rude for _, rude in texts]
    free = train_signal("incivility", "en", examples, hits)
    assert free.threshold is None and free.model is None and free.f1_patterns == free.f1_combined == 1.0
    pinned = train_signal("incivility", "en", examples, hits, pinned=0.9)
    assert pinned.threshold == 0.9 and pinned.model is not None
    assert pinned.model.probability(["clowns"]) > pinned.model.probability(["parcel"])
    assert pinned.f1_patterns == 1.0 and 0.0 < pinned.f1_combined <= 1.0
