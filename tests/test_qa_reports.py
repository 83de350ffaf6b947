"""QA leads' reports through the CLI: rollups by metadata, coaching deltas, per-finding CSV, French wording."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from servicecheck.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "transcripts"

# Six calls by three agents of two teams; c6 has no agent. Each call is one complaint and
# one answer, so that its score follows from which policies the answer satisfies.
GOOD_FR = ("Ma facture est fausse, c'est inadmissible.", "Je suis désolée, je vous rembourse aujourd'hui. Merci pour votre patience.")
BAD_FR = ("Ma facture est fausse, c'est inadmissible.", "Ah ça, c'est le service comptabilité, pas nous.")
GOOD_EN = ("My bill is wrong, this is ridiculous.", "I'm so sorry, I'm refunding you today. Thanks for your patience.")
CALLS = [("c1", "alice", "blue", GOOD_FR), ("c2", "alice", "blue", BAD_FR), ("c3", "bob", "blue", GOOD_EN),
         ("c4", "carol", "red", BAD_FR), ("c5", "carol", "red", BAD_FR), ("c6", "", "red", GOOD_EN)]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.stdout


@pytest.fixture
def calls_csv(tmp_path: Path) -> Path:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["conversation_id", "turn", "speaker", "text", "agent", "team"])
    for cid, agent, team, (customer, reply) in CALLS:
        writer.writerow([cid, 1, "customer", customer, agent, team])
        writer.writerow([cid, 2, "agent", reply, agent, team])
    path = tmp_path / "calls.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def scores_of(path: Path) -> dict[str, float]:
    _, out = run("audit", str(path), "-f", "json", "--fail-on", "never")
    return {c["id"]: c["score"] for c in json.loads(out)["conversations"]}


def test_group_by_agent_counts_and_mean_scores(calls_csv: Path) -> None:
    scores = scores_of(calls_csv)
    assert scores["c1"] > scores["c2"]  # the calls differ, so the means say something
    _, out = run("audit", str(calls_csv), "-f", "json", "--group-by", "agent", "--fail-on", "never")
    data = json.loads(out)
    groups = data["groups"]["agent"]
    assert [g["value"] for g in groups] == ["alice", "bob", "carol", None]
    assert [g["conversations"] for g in groups] == [2, 1, 2, 1]
    expected = {"alice": ["c1", "c2"], "bob": ["c3"], "carol": ["c4", "c5"], None: ["c6"]}
    for g in groups:
        ids = expected[g["value"]]
        assert g["mean_score"] == round(sum(scores[i] for i in ids) / len(ids), 1)
        findings = sum(len(c["findings"]) for c in data["conversations"] if c["id"] in ids)
        assert g["findings"] == findings
        deflection = g["policies"]["service-standards.no-deflection"]
        assert deflection == {"pass": sum(i in ("c1", "c3", "c6") for i in ids),
                              "fail": sum(i in ("c2", "c4", "c5") for i in ids), "n/a": 0}
    # The metadata is on every conversation, and the same rollup is in text and csv.
    assert data["conversations"][0]["metadata"] == {"agent": "alice", "team": "blue"}
    _, text = run("audit", str(calls_csv), "--group-by", "agent", "--fail-on", "never")
    assert "par agent" in text  # four calls of six are in French: the chrome is French
    _, text = run("audit", str(calls_csv), "--group-by", "agent", "--fail-on", "never", "--ui-lang", "en")
    assert "by agent" in text and "agent: alice · team: blue" in text
    carol = next(line for line in text.splitlines() if line.strip().startswith("carol"))
    assert carol.split()[1:3] == ["2", f"{groups[2]['mean_score']:g}"]
    _, table = run("audit", str(calls_csv), "-f", "csv", "--group-by", "team", "--fail-on", "never")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [(r["group"], r["value"], r["conversations"]) for r in rows] == [("team", "blue", "3"), ("team", "red", "3")]
    assert rows[1]["service-standards.no-deflection fail"] == "2"


def test_csv_scorecard_has_metadata_columns_last(calls_csv: Path) -> None:
    _, out = run("audit", str(calls_csv), "-f", "csv", "--fail-on", "never")
    header, first = list(csv.reader(io.StringIO(out)))[:2]
    assert header[-3:] == ["findings", "agent", "team"] and first[-2:] == ["alice", "blue"]


def every_finding(paths: list[str], command: str = "audit") -> list[tuple[float, dict[str, object]]]:
    _, out = run(command, *paths, "-f", "json", "--fail-on", "never")
    data = json.loads(out)
    units = {u["id"]: u["score"] for d in data["documents"] for u in d["units"]}
    found = [(c["score"], f) for c in data["conversations"] for f in c["findings"]]
    found += [(units[f["unit"]], f) for d in data["documents"] for f in d["findings"]]
    return found


def test_every_finding_has_a_score_if_fixed_between_its_score_and_100() -> None:
    found = every_finding([str(EXAMPLES)]) + every_finding([str(ROOT / "examples" / "templates")], "lint")
    assert len(found) > 10
    gains = 0
    for score, f in found:
        assert score is not None and f["score_if_fixed"] is not None, f
        assert score <= f["score_if_fixed"] <= 100, (score, f)
        gains += f["score_if_fixed"] > score
    assert gains > 5


def test_the_coaching_delta_is_shown_and_html_lists_the_largest_gain_first() -> None:
    path = str(EXAMPLES / "appel_facturation.txt")
    _, text = run("audit", path)
    assert "→" in text and "if fixed" not in text and "si corrigé" in text  # a French call: French chrome
    _, html = run("audit", path, "-f", "html", "--ui-lang", "en")
    assert "if fixed" in html
    ((score, _), *_) = every_finding([path])
    gains = [float(x) for x in __import__("re").findall(r'data-gain="([0-9.]+)"', html)]
    assert gains == sorted(gains, reverse=True) and gains


def test_csv_findings_has_one_row_per_finding(calls_csv: Path, tmp_path: Path) -> None:
    paths = [str(EXAMPLES), str(calls_csv)]
    found = every_finding(paths)
    _, out = run("audit", *paths, "-f", "csv-findings", "--fail-on", "never")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == len(found) > 10
    assert list(rows[0])[:12] == ["conversation_id", "path", "line", "turn", "speaker", "policy", "title", "severity",
                                  "message", "evidence", "score", "score_if_fixed"]
    assert list(rows[0])[-2:] == ["agent", "team"]
    assert [r["message"] for r in rows] == [f["message"] for _, f in found]
    assert {r["agent"] for r in rows if r["conversation_id"] == "c2"} == {"alice"}
    # --bom: a UTF-8 byte-order mark first, for Excel; the rows are the same.
    target = tmp_path / "findings.csv"
    CliRunner().invoke(main, ["audit", *paths, "-f", "csv-findings", "--bom", "-o", str(target)])
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))) == rows


def test_a_french_conversation_gets_french_messages_and_a_french_html_report(tmp_path: Path) -> None:
    call = tmp_path / "appel.txt"
    call.write_text("Client : Ma facture est fausse, c'est inadmissible.\n"
                    "Conseiller : Ah ça, c'est le service comptabilité, pas nous.\n", encoding="utf-8")
    _, out = run("audit", str(call), "-f", "json")
    messages = [f["message"] for c in json.loads(out)["conversations"] for f in c["findings"]]
    assert any(m.startswith("L'agent se dégage de sa responsabilité au lieu d'assumer le problème : « ") for m in messages)
    assert any("il manque l'empathie ou les excuses et une solution" in m for m in messages)
    assert not any("missing" in m or "turns" in m for m in messages)
    _, html = run("audit", str(call), "-f", "html")
    assert '<html lang="fr">' in html and "Synthèse" in html and "Assumer le problème" in html
    assert "Summary" not in html
    _, english = run("audit", str(call), "-f", "html", "--ui-lang", "en")
    assert '<html lang="en">' in english and "Summary" in english
    assert "L&#39;agent se dégage" in english  # the finding keeps its conversation's language


def test_policy_text_may_be_a_plain_string_or_per_language(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "pack.yaml").write_text("name: mine\nversion: '1'\n", encoding="utf-8")
    (pack / "no-blame.yaml").write_text(
        "title: {fr: Ne jamais blâmer, en: Never blame}\nseverity: error\napplies-to: [transcript]\n"
        "rule: {kind: forbid, signal: deflection}\nmessage: Deflection «{evidence}»\n", encoding="utf-8")
    (pack / "bad.yaml").write_text(
        "title: {de: Nein}\nseverity: error\nrule: {kind: forbid, signal: deflection}\nmessage: m\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["policies", "validate", str(pack)])
    assert result.exit_code == 2 and "bad.yaml" in result.stderr and "no-blame.yaml" not in result.stderr
    (pack / "bad.yaml").unlink()
    call = tmp_path / "c.txt"
    call.write_text("Client : Bonjour\nConseiller : Ah ça, c'est le service comptabilité.\n", encoding="utf-8")
    _, out = run("audit", str(call), "--policies", str(pack), "-f", "csv-findings")
    (row,) = [r for r in csv.DictReader(io.StringIO(out)) if r["policy"] == "mine.no-blame"]
    assert row["title"] == "Ne jamais blâmer" and row["message"].startswith("Deflection «")


def test_one_translation_table_per_language_with_the_same_keys_and_placeholders() -> None:
    import string

    from servicecheck import i18n

    en, fr = i18n.TABLES["en"], i18n.TABLES["fr"]
    assert set(en) == set(fr)
    for key in en:
        fields = [{f for _, f, _, _ in string.Formatter().parse(form) if f} for form in (en[key], fr[key])]
        assert fields[0] == fields[1], key
        assert ("|" in en[key]) == ("|" in fr[key]), key


def test_every_default_policy_is_worded_in_both_languages() -> None:
    from servicecheck.api import load_policies

    for policy in load_policies().policies:
        assert policy.title_in("fr") != policy.title_in("en"), policy.id
        assert policy.message_in("fr") != policy.message_in("en"), policy.id
        for stage in policy.rule.get("stages", []):
            assert set(stage["label"]) == {"fr", "en"}, policy.id
