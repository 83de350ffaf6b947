"""Suggestions: a better phrasing per policy and language, carried by findings into every report."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from servicecheck import api
from servicecheck.cli import main
from servicecheck.errors import PolicyError
from servicecheck.inputs import document_from_text, parse_text_transcript
from servicecheck.policy.loader import Policy

FR_TEMPLATE = "Bonjour {{prenom}},\nMerci pour votre message.\nAh ça, c'est le service commercial, pas nous.\nCordialement\n"
EN_TEMPLATE = "Hello {{name}},\nThank you for your message.\nThat's not our department, you'll need to contact your bank.\n"


@pytest.fixture(scope="module")
def policyset() -> api.PolicySet:
    return api.load_policies()


def test_every_default_policy_suggests_a_phrasing_in_both_languages(policyset: api.PolicySet) -> None:
    for policy in policyset.policies:
        assert set(policy.suggestion) == {"fr", "en"}, policy.id
        assert all(text.strip() for text in policy.suggestion.values()), policy.id


def test_each_suggestion_satisfies_its_own_policy_and_breaks_no_forbid(policyset: api.PolicySet) -> None:
    """A suggestion said as it stands is no deflection, slogan, pressure or incivility, and fixes its policy."""
    auditor = api.Auditor(policyset)
    forbids = {p.id for p in policyset.policies if p.kind == "forbid"}
    for policy in policyset.policies:
        for lang, text in policy.suggestion.items():
            kinds = [k for k in policy.applies_to if k != "transcript"]
            if kinds:
                conv = document_from_text(text, path=f"{policy.short_id}.{lang}", kind=kinds[0])
            else:
                conv = parse_text_transcript(f"Agent: {text}", path=f"{policy.short_id}.{lang}")[0]
            result = auditor.check(replace(conv, language=lang))
            bad = [f.policy for f in result.findings if f.policy == policy.id or f.policy in forbids]
            assert not bad, (policy.id, lang, text, bad)


def test_the_deflection_suggestion_owns_the_problem_and_says_what_happens_next(policyset: api.PolicySet) -> None:
    fr = policyset.get("no-deflection").suggestion["fr"]
    assert "je transmets votre demande au service commercial et je vous rappelle demain" in fr
    refusal = policyset.get("refusal-explained").suggestion
    assert " car " in refusal["fr"] and "because" in refusal["en"]  # the reason, then an alternative


def _policy(suggestion: dict[str, str]) -> Policy:
    return Policy("p.x", "p", "t", api.Severity.ERROR, {"kind": "forbid", "signal": "s"}, "m", "x.yaml",
                  suggestion=suggestion)


def test_suggestion_for_picks_the_language_then_the_plain_text() -> None:
    both = _policy({"fr": "Merci.", "en": "Thanks."})
    assert both.suggestion_for("fr") == "Merci." and both.suggestion_for("en") == "Thanks."
    assert _policy({"*": "Thanks."}).suggestion_for("fr") == "Thanks."
    assert _policy({"en": "Thanks."}).suggestion_for("fr") is None  # never the other language's words
    assert _policy({"en": "Thanks."}).suggestion_for(None) == "Thanks."
    assert _policy({}).suggestion_for("fr") is None


def _lint_json(tmp_path: Path, name: str, text: str, *extra: str) -> dict:
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["lint", str(tmp_path / name), "--format", "json", "--no-config", *extra])
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_lint_json_findings_carry_the_suggestion_in_the_documents_language(
        tmp_path: Path, policyset: api.PolicySet) -> None:
    policy = policyset.get("no-deflection")
    for name, text, lang in (("modele.md", FR_TEMPLATE, "fr"), ("template.md", EN_TEMPLATE, "en")):
        report = _lint_json(tmp_path, name, text)
        findings = [f for d in report["documents"] for f in d["findings"] if f["policy"] == policy.id]
        assert len(findings) == 1, report
        assert findings[0]["suggestion"] == policy.suggestion[lang]
        assert findings[0]["location"]["line"] == 3


def test_text_sarif_and_html_show_the_suggestion(tmp_path: Path, policyset: api.PolicySet) -> None:
    (tmp_path / "modele.md").write_text(FR_TEMPLATE, encoding="utf-8")
    fr = policyset.get("no-deflection").suggestion["fr"]
    runner = CliRunner()
    text = runner.invoke(main, ["lint", str(tmp_path / "modele.md"), "--no-config", "--no-color"]).stdout
    assert f"suggestion: « {fr} »" in text
    sarif = json.loads(runner.invoke(main, ["lint", str(tmp_path / "modele.md"), "--no-config", "-f", "sarif"]).stdout)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"].endswith("no-deflection"))
    assert result["properties"]["suggestion"] == fr and fr in result["message"]["text"]
    html = runner.invoke(main, ["lint", str(tmp_path / "modele.md"), "--no-config", "-f", "html"]).stdout
    assert 'class="suggestion"' in html and "je transmets votre demande au service commercial" in html


def test_explain_lists_the_suggestions() -> None:
    out = CliRunner().invoke(main, ["explain", "refusal-explained", "--no-config"]).stdout
    assert "suggestion (fr): Je ne peux pas" in out and "suggestion (en): I can't" in out


def _pack(tmp_path: Path, suggestion: str) -> Path:
    pack = tmp_path / "pack"
    (pack / "signals").mkdir(parents=True)
    (pack / "pack.yaml").write_text("name: mine\nversion: '1'\n", encoding="utf-8")
    (pack / "no-nope.yaml").write_text(
        "title: No nope\nseverity: error\nrule: {kind: forbid, signal: deflection}\nmessage: m\n" + suggestion,
        encoding="utf-8")
    return pack


def test_a_plain_string_suggestion_serves_every_language(tmp_path: Path) -> None:
    policyset = api.load_policies([_pack(tmp_path, "suggestion: Say what you will do.\n")])
    assert policyset.get("mine.no-nope").suggestion_for("fr") == "Say what you will do."


def test_the_schema_refuses_an_unknown_language_in_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as err:
        api.load_policies([_pack(tmp_path, "suggestion: {de: Sagen Sie es besser.}\n")])
    assert any("no-nope.yaml:5:" in p and "$.suggestion" in p for p in err.value.problems), err.value.problems
