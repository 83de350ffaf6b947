"""A counting rule over ``any-signal``, through the command line: it counts turns, never crashes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from servicecheck.cli import main

TURN = "Customer: My parcel is late.\nAgent: Sorry about that, and thank you for waiting.\n"


def write_pack(tmp_path: Path, maximum: int) -> Path:
    pack = tmp_path / "counting"
    pack.mkdir()
    (pack / "pack.yaml").write_text('name: counting\nversion: "1.0.0"\nlanguages: [en]\n', encoding="utf-8")
    (pack / "few-courtesies.yaml").write_text(
        "title: Few courtesies\nseverity: error\napplies-to: [transcript]\n"
        "rule:\n  kind: limit\n  metric: signal-count\n  speaker: agent\n"
        f"  any-signal: [apology, thank]\n  max: {maximum}\n"
        'message: "{count} courtesy turns (turns {turns}); at most {max}."\n',
        encoding="utf-8",
    )
    return pack


def audit(tmp_path: Path, maximum: int, text: str):  # noqa: ANN201
    conv = tmp_path / "call.txt"
    conv.write_text(text, encoding="utf-8")
    pack = write_pack(tmp_path, maximum)
    return CliRunner().invoke(main, ["audit", "--policies", str(pack), "--format", "json", "--fail-on", "never",
                                     str(conv)])


def test_one_turn_with_two_of_the_signals_is_one_turn_under_max_1(tmp_path: Path) -> None:
    result = audit(tmp_path, 1, TURN)
    assert result.exit_code == 0, result.output
    statuses = {p["id"]: p["status"] for p in json.loads(result.output)["conversations"][0]["policies"]}
    assert statuses["counting.few-courtesies"] == "pass"


def test_two_such_turns_over_max_1_are_one_finding_counting_two_turns(tmp_path: Path) -> None:
    result = audit(tmp_path, 1, TURN + "Agent: Sorry again, and thanks.\n")
    assert result.exit_code == 0, result.output
    findings = [f for f in json.loads(result.output)["conversations"][0]["findings"]
                if f["policy"] == "counting.few-courtesies"]
    assert [(f["turn"], f["message"]) for f in findings] == [(3, "2 courtesy turns (turns 2, 3); at most 1.")]
