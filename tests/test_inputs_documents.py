"""Tests for read_document: devset templates, sentence lines, kinds and directives."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicecheck.inputs import read_document
from servicecheck.inputs.documents import guess_kind, split_sentences
from servicecheck.model import Document, InputProblem

DATA = Path(__file__).parent / "data" / "inputs"
DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"
TEMPLATES = DEVSET / "templates"
needs_devset = pytest.mark.skipif(not TEMPLATES.is_dir(), reason="../shared/devset not present")

# EXPECTED.md: guidelines, charters and memos are not customer-facing.
GUIDELINES = {
    "fr_consignes_plateau.md", "fr_charte_relation_client.md", "fr_guide_incivilites.md", "en_floor_guidelines.md",
    "en_service_charter.md", "en_incivility_playbook.md", "en_kpi_memo.md",
}
# EXPECTED.md's "missing thanks" line ranges of named templates.
RANGES = {
    ("fr_macros_sav.yaml", "demande_informations"): (21, 28),
    ("fr_macros_banque.yaml", "virement_international"): (20, 25),
    ("fr_reponses_reseaux_sociaux.yaml", "colis_marque_livre"): (9, 11),
    ("fr_macros_transport.yaml", "indemnisation_refus_sans_motif"): (5, 10),
    ("en_support_macros.yaml", "checkout_error"): (19, 24),
    ("en_billing_macros.yaml", "payment_declined"): (20, 25),
    ("en_billing_macros.yaml", "request_details"): (26, 31),
    ("en_social_replies.yaml", "delivered_not_received"): (8, 10),
}
# EXPECTED.md's reported lines: each must start a sentence of the document.
REPORTED_LINES = {
    "fr_consignes_plateau.md": [6, 7, 8, 9, 10, 11],
    "en_kpi_memo.md": [6, 8, 9, 10, 11, 12],
    "fr_macros_sav.yaml": [18, 34],
    "fr_script_escalade_n1.txt": [3, 4, 5, 6],
    "en_tier1_escalation.txt": [3, 4, 5, 6],
    "en_support_macros.yaml": [16, 22],
    "fr_macro_remboursement_refus.md": [10],
}


def doc(path: Path) -> Document:
    result = read_document(str(path))
    assert isinstance(result, Document), result
    return result


def _files() -> list[Path]:
    return sorted(p for p in TEMPLATES.iterdir() if p.name != "EXPECTED.md") if TEMPLATES.is_dir() else []


@needs_devset
def test_devset_kinds_all_files() -> None:
    wrong = []
    for path in _files():
        for unit in doc(path).units:
            expected = "guideline" if path.name in GUIDELINES else "template"
            if unit.kind != expected:
                wrong.append((path.name, unit.name, unit.kind))
    assert wrong == [] and len(_files()) == 30


@needs_devset
def test_devset_unit_names_and_ranges() -> None:
    for (name, template), (first, last) in RANGES.items():
        unit = next(u for u in doc(TEMPLATES / name).units if u.name == template)
        assert (unit.source.line, unit.end_line) == (first, last), (name, template)
        assert unit.id == f"{TEMPLATES / name}#{template}"
    banque = doc(TEMPLATES / "fr_macros_banque.yaml")
    assert [u.name for u in banque.units] == ["plafond_refus", "plafond_refus_motive", "virement_international", "opposition_carte"]
    assert banque.language == "fr" and banque.units[0].channel == "messagerie_securisee"
    whole = doc(TEMPLATES / "en_macro_refund_denied.md").units[0]
    assert whole.name is None and whole.id == str(TEMPLATES / "en_macro_refund_denied.md")
    assert (whole.source.line, whole.end_line) == (1, 15)


@needs_devset
def test_devset_sentences_map_to_their_lines_and_columns() -> None:
    for path in _files():
        lines = path.read_text(encoding="utf-8").split("\n")
        d = doc(path)
        starts = {t.line for u in d.units for t in u.turns}
        assert 1 not in starts, path.name  # the SYNTHETIC marker comment is not text
        for unit in d.units:
            for turn in unit.turns:
                line, col = turn.locate(0)
                assert lines[line - 1][col - 1 :].startswith(turn.text[:6]), (path.name, turn)  # type: ignore[index, operator]
        for line in REPORTED_LINES.get(path.name, []):
            assert line in starts, (path.name, line)


@needs_devset
def test_devset_counter_examples_are_marked() -> None:
    assert doc(TEMPLATES / "fr_guide_incivilites.md").units[0].metadata["counter_example_lines"][:3] == [15, 16, 17]
    assert doc(TEMPLATES / "en_incivility_playbook.md").units[0].metadata["counter_example_lines"][:3] == [15, 16, 17]


def test_markdown_markup_directives_and_counter_examples() -> None:
    (unit,) = doc(DATA / "playbook.md").units
    texts = [t.text for t in unit.turns]
    assert texts[0] == "Team playbook: chat etiquette" and unit.kind == "guideline"
    assert "See the wiki for details." in texts
    assert "Late parcel" in texts and "I'm sorry, I'll chase it now." in texts
    assert not any("code" in t for t in texts)
    assert "Log the contact, e.g. in the CRM." in texts and "Then close it." in texts
    assert unit.metadata["suppress"] == [
        {"policy": "no-empty-injunctions", "line": 1, "scope": "file", "target": 1},
        {"policy": "no-deflection", "line": 14, "scope": "next-line", "target": 16},
    ]
    assert unit.metadata["counter_example_lines"] == [20, 21]
    wiki = next(t for t in unit.turns if t.text.startswith("See"))
    assert wiki.locate(wiki.text.index("wiki")) == (4, 50)


def test_front_matter_directive_wins() -> None:
    d = doc(DATA / "memo_front_matter.md")
    (unit,) = d.units
    assert unit.kind == "template" and d.language == "fr" and unit.turns[0].line == 5


def test_yaml_list_folded_quoted_and_per_template_kind() -> None:
    d = doc(DATA / "list_templates.yaml")
    assert [u.name for u in d.units] == ["folded_reply", "quoted_reply", "staff_note"]
    folded, quoted, staff = d.units
    assert [(t.text, t.line) for t in folded.turns] == [
        ("Hi {{first_name}}, thanks for your patience.", 6), ("We have shipped a new parcel today.", 7), ("Kind regards,", 9)]
    assert [(t.line, t.locate(0)[1]) for t in quoted.turns] == [(11, 12), (11, 32)]
    assert staff.kind == "guideline" and folded.kind == "template"
    assert {"policy": "no-pressure-exhortations", "line": 14, "scope": "next-line", "target": 15} in staff.metadata["suppress"]
    assert all(s["policy"] != "no-pressure-exhortations" for s in folded.metadata["suppress"])
    assert folded.metadata["suppress"][0]["policy"] == "always-thank"


def test_plain_yaml_map_and_json_map() -> None:
    plain = doc(DATA / "plain_map.yaml")
    assert [(u.name, u.source.line, u.end_line) for u in plain.units] == [("greeting", 2, 2), ("closing", 3, 5)]
    js = doc(DATA / "macros.json")
    refund, short = js.units
    assert [t.text for t in refund.turns] == ["Thank you for your message.", "We can’t refund this order because it is past 30 days."]
    assert refund.turns[1].locate(refund.turns[1].text.index("refund")) == (4, 68)
    assert short.turns[0].text == "Thanks!" and js.language == "en"


def test_text_comments_are_directives_not_text() -> None:
    (unit,) = doc(DATA / "script_directives.txt").units
    assert [t.line for t in unit.turns] == [2, 4, 5, 5]
    assert [s["policy"] for s in unit.metadata["suppress"]] == ["no-deflection", "refusal-explained"]
    assert all(s["target"] == 4 for s in unit.metadata["suppress"])


@pytest.mark.parametrize(
    ("name", "content", "message", "line"),
    [
        ("bad.yaml", "templates:\n  a: {body: [unclosed\n", "invalid YAML", 3),
        ("nobody.yaml", "templates:\n  a:\n    subject: hi\n", "has no body", 2),
        ("bad.json", '{"templates": {"a": }}', "invalid JSON", 1),
        ("deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n", "", None),
    ],
)
def test_document_problems(tmp_path: Path, name: str, content: str, message: str, line: int | None) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = read_document(str(path))
    assert isinstance(result, (InputProblem, Document))
    if message:
        assert isinstance(result, InputProblem) and message in result.message and result.line == line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bonjour. Comment allez-vous ? Très bien !", ["Bonjour.", "Comment allez-vous ?", "Très bien !"]),
        ("« Merci d’avoir patienté. » Au revoir.", ["« Merci d’avoir patienté. »", "Au revoir."]),
        ("Hi {{ customer.first_name }}. Version 2.5 is out, e.g. today.", ["Hi {{ customer.first_name }}.", "Version 2.5 is out, e.g. today."]),
        ("Line one\nline two", ["Line one", "line two"]),
        ("Wait... what?!", ["Wait...", "what?!"]),
    ],
)
def test_sentence_splitting(text: str, expected: list[str]) -> None:
    assert [s for s, _ in split_sentences(text, ((0, 1, 1),))] == expected


def test_kind_heuristic_from_content_alone() -> None:
    memo = ["Team,", "Answer every call within 3 rings.", "Never keep customers waiting.", "Treat customers well."]
    reply = ["Bonjour {{customer_name}},", "Merci pour votre message.", "Cordialement,"]
    assert guess_kind("", "a.md", memo) == "guideline"
    assert guess_kind("", "b.md", reply) == "template"
    assert guess_kind("Charte qualité", "c.md", reply[:1]) == "guideline"


def test_document_from_text_for_policy_examples() -> None:
    from servicecheck.errors import InputError
    from servicecheck.inputs import document_from_text

    unit = document_from_text("# Macro\n- Ce n'est pas possible. Merci !", path="p.yaml#fail[0]", kind="templates")
    assert unit.kind == "template" and unit.id == "p.yaml#fail[0]"
    assert [(t.text, t.line) for t in unit.turns] == [("Macro", 1), ("Ce n'est pas possible.", 2), ("Merci !", 2)]
    with pytest.raises(InputError):
        document_from_text("<!-- nothing -->", kind="guideline")
