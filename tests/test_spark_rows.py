"""The Spark adapter's row function without Spark: every row gets its scorecard, in order, bad rows included."""

from __future__ import annotations

import json
from pathlib import Path

from servicecheck import api
from servicecheck.inputs import parse_json_transcript
from servicecheck.policy.loader import load_policies
from servicecheck.spark import audit_rows

ROOT = Path(__file__).resolve().parents[1]


def test_audit_rows_scores_each_row_in_order_as_one_check_would() -> None:
    convs = []
    for path in sorted(ROOT.glob("corpus/en/*.jsonl"))[:2]:
        if not path.name.endswith(".labels.jsonl"):
            convs += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:30]]
    rows = [(c["id"], c.get("language"), json.dumps(c["turns"])) for c in convs]
    rows.insert(3, ("bad-speaker", "en", json.dumps([{"speaker": "", "text": "hello"}])))
    rows.insert(40, ("bad-json", None, "[{"))
    auditor = api.Auditor(load_policies([], include_default=True))

    out = list(audit_rows(rows, auditor))
    cards = [r for r in out if r["kind"] == "scorecard"]
    assert [c["id"] for c in cards] == [str(r[0]) for r in rows]  # one scorecard a row, in the rows' order
    errors = {c["id"]: c["error"] for c in cards if c["error"]}
    assert set(errors) == {"bad-speaker", "bad-json"}
    alone = {c["id"]: auditor.check_or_problem(parse_json_transcript(json.dumps(c), path=c["id"])[0]) for c in convs}
    for card in cards:
        if card["id"] in alone:
            result = alone[card["id"]]
            assert card["score"] == result.score
            assert card["finding_count"] == len(result.findings)
    findings = [(r["id"], r["policy"], r["turn"]) for r in out if r["kind"] == "finding"]
    assert findings == [(c["id"], f.policy, f.turn) for c in convs for f in alone[c["id"]].findings]
    assert findings  # the rows do fire policies
