"""The corpus scripts' own logic: label agreement, and the corpus files every script relies on."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from servicecheck.evaluate import TAG_SPEAKER

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"corpus_{name}", CORPUS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(CORPUS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(CORPUS))
    return module


agreement = _script("agreement")


@pytest.mark.parametrize(
    ("both", "only_a", "only_b", "neither", "kappa"),
    [
        (10, 0, 0, 10, 1.0),  # perfect agreement
        (5, 5, 5, 5, 0.0),  # what chance alone gives
        (20, 5, 5, 70, 0.7333),  # observed 0.9, chance 0.625 -> 0.275 / 0.375
        (0, 10, 10, 0, -1.0),  # systematic disagreement
    ],
)
def test_cohens_kappa(both: int, only_a: int, only_b: int, neither: int, kappa: float) -> None:
    assert agreement.kappa(both, only_a, only_b, neither) == pytest.approx(kappa, abs=1e-4)


def test_agreement_report_counts_turns_and_implied_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    turns = [{"speaker": "customer", "text": "a"}, {"speaker": "agent", "text": "b"}]
    convs = tmp_path / "c.jsonl"
    convs.write_text("".join(json.dumps({"id": f"c{i}", "turns": turns}) + "\n" for i in range(2)), encoding="utf-8")
    first = tmp_path / "first.labels.jsonl"
    second = tmp_path / "second.labels.jsonl"
    first.write_text(json.dumps({"id": "c0", "turns": [["COMPLAINT"], ["APOLOGY", "SOLVE"]]}) + "\n"
                     + json.dumps({"id": "c1", "turns": [[], ["DEFLECTION"]]}) + "\n", encoding="utf-8")
    # the second pass drops the deflection and the apology
    second.write_text(json.dumps({"id": "c0", "turns": [["COMPLAINT"], ["SOLVE"]]}) + "\n"
                      + json.dumps({"id": "c1", "turns": [[], []]}) + "\n", encoding="utf-8")
    assert agreement.main([str(convs), str(first), str(second)]) == 0
    out = capsys.readouterr().out
    assert "2 conversations, 4 turns compared" in out
    assert "| DEFLECTION | 0 | 1 | 0 |" in out
    assert "| SOLVE | 1 | 0 | 0 | 1.00 | 1.00 |" in out
    assert "| APOLOGY | 0 | 1 | 0 | 0.00 | 0.00 |" in out
    # no apology any more: the second pass implies a least-complaint-handling finding the first does not
    assert "| least-complaint-handling | 0 | 0 | 1 | 0.00 |" in out
    assert "| no-deflection | 0 | 1 | 0 | 0.00 |" in out


def test_build_models_refuses_the_blind_split() -> None:
    build_models = _script("build_models")
    with pytest.raises(SystemExit, match="blind"):
        build_models.train_examples(frozenset({"train", "test"}))


def test_build_models_leaves_the_held_out_conversations_out_of_the_fit() -> None:
    build_models = _script("build_models")
    labelled = {json.loads(line)["id"] for f in CORPUS.glob("*/*.labels.jsonl")
                for line in f.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert build_models.HELD_OUT_IDS, "corpus/held_out_ids.txt lists no conversation"
    assert build_models.HELD_OUT_IDS <= labelled, "held_out_ids.txt names conversations the corpus does not label"
    if build_models.HELD_OUT:  # by id prefix: the sets a release measures before fitting them (none between releases)
        assert any(i.startswith(build_models.HELD_OUT) for i in labelled)
    fitted = {ex.conversation for ex in build_models.train_examples(frozenset({"train", "dev"}))}
    assert fitted
    assert not fitted & build_models.HELD_OUT_IDS
    assert not [c for c in fitted if c.startswith(build_models.HELD_OUT)]


def _pairs() -> list[tuple[Path, Path]]:
    files = sorted(p for p in CORPUS.glob("*/*.jsonl") if not p.name.endswith(".labels.jsonl"))
    return [(f, f.with_name(f.name[: -len(".jsonl")] + ".labels.jsonl")) for f in files]


@pytest.mark.parametrize(("conv_file", "label_file"), _pairs(), ids=lambda p: p.name)
def test_every_corpus_file_has_valid_labels_in_the_same_order(conv_file: Path, label_file: Path) -> None:
    convs = [json.loads(line) for line in conv_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    labels = [json.loads(line) for line in label_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [c["id"] for c in convs] == [lab["id"] for lab in labels]
    for conv, lab in zip(convs, labels):
        assert conv["metadata"]["split"] in ("train", "dev", "test"), conv["id"]
        assert len(conv["turns"]) == len(lab["turns"]), conv["id"]
        for turn, tags in zip(conv["turns"], lab["turns"]):
            assert all(TAG_SPEAKER[tag] == turn["speaker"] for tag in tags), (conv["id"], tags)
        if conv["metadata"].get("translated"):
            # a translation is trained on, never scored: its original is in the train split
            assert conv["metadata"]["split"] == "train", conv["id"]
        if "written" in conv.get("source", "") and conv["source"] != "freemobilachat+written":
            # text written whole is training or tuning data; only written replies to a real
            # tweet follow that tweet into the blind split
            assert conv["metadata"]["split"] != "test", conv["id"]


split = _script("split")


def test_a_labels_file_without_its_conversations_is_an_ids_only_source_with_a_rebuild_script() -> None:
    """Labels kept without their text are those of a source that may not be redistributed; each
    names its tweets by id, one customer turn each, and the script that rebuilds them exists."""
    orphans = sorted(
        f"{p.parent.name}/{p.name[: -len('.labels.jsonl')]}.jsonl"
        for lang in ("en", "fr")
        for p in (CORPUS / lang).glob("*.labels.jsonl")
        if not p.with_name(p.name[: -len(".labels.jsonl")] + ".jsonl").is_file()
    )
    assert set(orphans) <= set(split.IDS_ONLY), orphans
    for rel, command in split.IDS_ONLY.items():
        script = CORPUS.parent / command.split()[1]
        assert script.is_file(), command
        labels = [json.loads(line) for line in (CORPUS / rel.replace(".jsonl", ".labels.jsonl")).read_text(
            encoding="utf-8").splitlines() if line.strip()]
        ids = [lab["id"] for lab in labels]
        assert len(ids) == len(set(ids)) >= 1000
        prefix = ids[0].split(":")[0] + ":"
        for lab in labels:
            assert lab["id"].startswith(prefix) and lab["id"][len(prefix):].isdigit(), lab["id"]
            assert len(lab["turns"]) == 1 and all(TAG_SPEAKER[tag] == "customer" for tag in lab["turns"][0]), lab
