"""servicecheck.spark in Spark local mode: the same findings and scores as the library, per row."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'servicecheck[spark]')")
pytest.importorskip("pandas", reason="pandas is not installed (pip install 'servicecheck[spark]')")
pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'servicecheck[spark]')")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Java is not installed: Spark needs a JVM (Java 17)", allow_module_level=True)

from servicecheck import api  # noqa: E402
from servicecheck.policy.loader import PolicySet, load_policies  # noqa: E402
from servicecheck.spark import FINDING_COLUMNS, SCORECARD_COLUMNS, audit_dataframe  # noqa: E402

DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"
PACK = {
    "pack.yaml": 'name: sparktest\nversion: "1.0.0"\ndescription: Pack for the Spark tests.\nlanguages: [fr, en]\n',
    "signals/thank.yaml": "speaker: agent\ndescription: Thanks.\npatterns:\n  en: [\"(thanks|thank you)\"]\n"
                          "  fr: [\"merci\"]\n",
    "signals/sorry.yaml": "speaker: agent\ndescription: Sorry.\npatterns:\n  en: [\"sorry\"]\n  fr: [\"desole\"]\n",
    "always-thank.yaml": "title: Thank\nseverity: warning\n"
                         "rule: {kind: require, signal: thank, speaker: agent}\nmessage: \"No thanks ({window}).\"\n",
    "no-sorry.yaml": "title: Never apologise (a test rule)\nseverity: error\n"
                     "rule: {kind: forbid, signal: sorry, speaker: agent}\nmessage: \"Apology: {evidence}\"\n",
}


@pytest.fixture(scope="module")
def spark() -> Any:
    from pyspark.sql import SparkSession

    # The executors' Python must be this one (with servicecheck installed).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]").appName("servicecheck-test")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    root = tmp_path_factory.mktemp("pack")
    for name, text in PACK.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return load_policies([str(root)], include_default=False)


def conversations() -> list[dict[str, Any]]:
    rows = [
        {"id": "c1", "language": "en", "turns": [{"speaker": "customer", "text": "Hi"},
                                                  {"speaker": "agent", "text": "Sorry, thanks for waiting"}]},
        {"id": "c2", "language": "fr", "turns": [{"speaker": "agent", "text": "Bonjour", "start_ms": 0, "end_ms": 10},
                                                  {"speaker": "customer", "text": "Oui"}]},
        {"id": "c3", "language": None, "turns": [{"speaker": "Marie", "text": "?"}]},  # unreadable
    ]
    path = DEVSET / "synthetic_conversations.jsonl"
    if path.is_file():
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:30]]
    return rows


def expected(pack: PolicySet, rows: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    auditor = api.Auditor(pack)
    findings, scores = [], {}
    from servicecheck.errors import InputError
    from servicecheck.inputs import parse_json_transcript

    for row in rows:
        doc = {k: v for k, v in row.items() if k in ("id", "language", "turns") and v is not None}
        try:
            (conv,) = parse_json_transcript(json.dumps(doc), path=row["id"])
        except InputError:
            scores[row["id"]] = "error"
            continue
        result = auditor.check(conv)
        scores[result.id] = result.score
        findings += [(result.id, f.policy, f.turn, f.message) for f in result.findings]
    return findings, scores


def test_struct_turns(spark: Any, pack: PolicySet) -> None:
    from pyspark.sql import types as T

    turn = T.StructType([T.StructField("speaker", T.StringType()), T.StructField("text", T.StringType()),
                         T.StructField("start_ms", T.LongType()), T.StructField("end_ms", T.LongType())])
    schema = T.StructType([T.StructField("id", T.StringType()), T.StructField("language", T.StringType()),
                           T.StructField("turns", T.ArrayType(turn))])
    rows = conversations()
    data = [(r["id"], r.get("language"), [(t["speaker"], t["text"], t.get("start_ms"), t.get("end_ms"))
                                          for t in r["turns"]]) for r in rows]
    df = spark.createDataFrame(data, schema).repartition(3)
    audit = audit_dataframe(df, pack)
    audit.results.cache()
    assert audit.findings.columns == FINDING_COLUMNS and audit.scorecards.columns == SCORECARD_COLUMNS
    want_findings, want_scores = expected(pack, rows)
    got = sorted(((r.id, r.policy, r.turn, r.message) for r in audit.findings.collect()), key=repr)
    assert got == sorted(want_findings, key=repr) and got
    cards = {r.id: r for r in audit.scorecards.collect()}
    assert set(cards) == set(want_scores)
    for ident, score in want_scores.items():
        if score == "error":
            assert cards[ident].error and "Marie" in cards[ident].error
        else:
            assert cards[ident].score == score and cards[ident].error is None
    assert cards["c1"].statuses == {"sparktest.always-thank": "pass", "sparktest.no-sorry": "fail"}


def test_json_turns_column(spark: Any, pack: PolicySet) -> None:
    rows = conversations()[:2]
    df = spark.createDataFrame([(r["id"], json.dumps(r["turns"])) for r in rows], "id string, turns string")
    audit = audit_dataframe(df, pack, language_col=None)
    got = sorted(((r.id, r.policy, r.turn) for r in audit.findings.collect()), key=repr)
    assert got == sorted(((f[0], f[1], f[2]) for f in expected(pack, rows)[0]), key=repr) and got
