"""Conversation metadata: extra CSV columns (remappable in the configuration) and vendor fields."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from servicecheck.cli import main
from servicecheck.inputs import read_transcripts
from servicecheck.model import Conversation

DATA = Path(__file__).parent / "data" / "inputs"


def _one(path: Path, **kw: object) -> Conversation:
    items = [i for i in read_transcripts(str(path), **kw) if isinstance(i, Conversation)]  # type: ignore[arg-type]
    assert len(items) == 1, items
    return items[0]


def test_extra_csv_columns_become_metadata(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("conversation_id,speaker,text,Agent Name,team,Site\n"
                    "c1,customer,Bonjour,Alice,bleue,\n"
                    "c1,agent,Merci pour votre appel,Alice,bleue,Lyon\n", encoding="utf-8")
    conv = _one(path)
    # agent_name is an alias of the logical "agent" column; other columns keep their folded header name.
    assert conv.metadata == {"agent": "Alice", "team": "bleue", "site": "Lyon"}


def test_metadata_columns_are_remapped_by_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "calls.csv").write_text("call,who,said,Conseiller,Pole\nX,agent,Bonjour,Léa,Facturation\n",
                                        encoding="utf-8")
    (tmp_path / ".servicecheck.yaml").write_text(
        "csv-columns: {conversation_id: call, speaker: who, text: said, agent: Conseiller, team: Pole}\n",
        encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", str(tmp_path / "calls.csv"), "-f", "json", "--config",
                                       str(tmp_path / ".servicecheck.yaml"), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    (conv,) = json.loads(result.stdout)["conversations"]
    assert conv["id"] == "X" and conv["metadata"] == {"agent": "Léa", "team": "Facturation"}


def test_a_mapped_metadata_column_missing_from_the_header_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text("conversation_id,speaker,text\nX,agent,Bonjour\n", encoding="utf-8")
    (problem,) = list(read_transcripts(str(path), csv_columns={"agent": "Conseiller"}))
    assert not isinstance(problem, Conversation) and "'Conseiller' (for agent)" in problem.message


def test_vendor_agent_fields() -> None:
    chat = _one(DATA / "contact_lens_chat.json")
    assert chat.metadata["agent"] == "Léa" and chat.metadata["date"] == "2023-05-02"
    entries = _one(DATA / "ccai_entries.json")
    assert entries.metadata["agent_id"] == "2" and entries.metadata["agent"] == "2"


def test_ccai_resource_and_genesys_participants(tmp_path: Path) -> None:
    resource = json.loads((DATA / "ccai_conversation.json").read_text(encoding="utf-8"))
    resource["agentId"] = "agent-77"
    resource["qualityMetadata"] = {"agentInfo": [{"agentId": "agent-77", "displayName": "Sam", "team": "Care"}]}
    (tmp_path / "ccai.json").write_text(json.dumps(resource), encoding="utf-8")
    conv = _one(tmp_path / "ccai.json")
    assert {k: conv.metadata[k] for k in ("agent", "agent_id", "team")} == {"agent": "Sam", "agent_id": "agent-77",
                                                                            "team": "Care"}
    genesys = json.loads((DATA / "genesys.json").read_text(encoding="utf-8"))
    genesys["participants"] = [{"participantPurpose": "external"},
                               {"participantPurpose": "internal", "userId": "u-9", "participantName": "Nora",
                                "queueName": "Box"}]
    (tmp_path / "genesys.json").write_text(json.dumps(genesys), encoding="utf-8")
    conv = _one(tmp_path / "genesys.json")
    assert (conv.metadata["agent"], conv.metadata["agent_id"], conv.metadata["queue"]) == ("Nora", "u-9", "Box")
    assert conv.metadata["date"] == "2023-06-29"


def test_pca_agent_field() -> None:
    pca = Path("/work/shared/devset/raw/aws/aws_pca_parsed_output_testfile.json")
    if not pca.exists():  # pragma: no cover - the shared dev set is outside the repository
        return
    conv = _one(pca)
    assert "agent" not in conv.metadata  # "Agent": "None" means unknown
    assert conv.metadata["date"].startswith("2021-11-25")
