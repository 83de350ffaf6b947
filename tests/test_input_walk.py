"""Nothing is skipped in silence: folder walks, skipped files, empty inputs and standard input, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from servicecheck.cli import main

TEXT = "Customer: Hello, my bill is wrong.\nAgent: Thanks for calling, I fix it right now.\n"
NDJSON = (
    '{"id": "b1", "turns": [{"speaker": "customer", "text": "Hi"}, {"speaker": "agent", "text": "Thanks!"}]}\n'
    '{"id": "b2", "turns": [{"speaker": "customer", "text": "Hi"}, {"speaker": "agent", "text": "Thank you."}]}\n'
)
VTT = ("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Customer>My card is blocked.\n\n"
       "00:00:05.000 --> 00:00:08.000\n<v Agent>Thanks for calling, I unblock it now.\n")
APP_LOG = "2024-05-01 12:00:01 INFO server started\n2024-05-01 12:00:02 WARN disk at 91%\n"


def run(*args: str, input: str | bytes | None = None):  # noqa: A002, ANN201
    return CliRunner().invoke(main, list(args), input=input)


def sources(result) -> list[str]:  # noqa: ANN001
    """The file of every conversation in a JSON report."""
    return [c["source"]["path"] for c in json.loads(result.stdout)["conversations"]]


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.log").write_text(TEXT, encoding="utf-8")
    (folder / "b.ndjson").write_text(NDJSON, encoding="utf-8")
    (folder / "C.VTT").write_text(VTT, encoding="utf-8")
    return folder


def test_a_mixed_folder_is_read_whole_whatever_the_extensions_case(mixed: Path) -> None:
    result = run("audit", str(mixed), "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    assert sorted(Path(p).name for p in sources(result)) == ["C.VTT", "a.log", "b.ndjson", "b.ndjson"]
    assert result.stderr == ""


def test_each_skipped_file_is_named_on_stderr_with_its_reason(mixed: Path) -> None:
    (mixed / "server.log").write_text(APP_LOG, encoding="utf-8")
    (mixed / "README.md").write_text("# Exports\nNightly exports of the chat platform.\n", encoding="utf-8")
    (mixed / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(40)))
    (mixed / "empty.dat").write_bytes(b"")
    (mixed / ".hidden.txt").write_text("not walked: hidden entries are never read", encoding="utf-8")
    result = run("audit", str(mixed), "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    assert len(sources(result)) == 4
    lines = result.stderr.splitlines()
    assert lines == [
        f"servicecheck: skipped {mixed / 'README.md'}: a .md file whose content is no transcript format servicecheck reads",
        f"servicecheck: skipped {mixed / 'empty.dat'}: a .dat file: empty file",
        f"servicecheck: skipped {mixed / 'logo.png'}: a .png file: binary file (it contains NUL bytes)",
        f"servicecheck: skipped {mixed / 'server.log'}: a .log file whose content is no transcript format "
        "servicecheck reads",
    ]


def test_a_transcript_without_a_known_extension_is_read_by_its_content(tmp_path: Path) -> None:
    (tmp_path / "call-0001").write_text(TEXT, encoding="utf-8")
    (tmp_path / "call-0002.export").write_text(NDJSON, encoding="utf-8")
    result = run("audit", str(tmp_path), "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    assert [Path(p).name for p in sources(result)] == ["call-0001", "call-0002.export", "call-0002.export"]


def test_quiet_keeps_the_skip_notes_off_stderr(mixed: Path) -> None:
    (mixed / "server.log").write_text(APP_LOG, encoding="utf-8")
    result = run("audit", str(mixed), "--format", "json", "--fail-on", "never", "--quiet")
    assert result.exit_code == 0
    assert "skipped" not in result.stderr


def test_an_empty_folder_is_no_input_exit_3_with_a_message(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("audit", str(empty))
    assert result.exit_code == 3
    assert f"servicecheck: {empty}: a directory with nothing to read in it" in result.stderr


def test_a_folder_whose_every_file_is_skipped_is_no_input(tmp_path: Path) -> None:
    (tmp_path / "server.log").write_text(APP_LOG, encoding="utf-8")
    result = run("audit", str(tmp_path))
    assert result.exit_code == 3
    assert f"skipped {tmp_path / 'server.log'}" in result.stderr
    assert f"{tmp_path}: a directory with nothing to read in it (it is empty, or every file in it was skipped)" in result.stderr


def test_an_empty_folder_beside_a_good_file_still_exits_3_and_the_file_is_audited(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    good = tmp_path / "good.txt"
    good.write_text(TEXT, encoding="utf-8")
    result = run("audit", str(tmp_path / "empty"), str(good), "--format", "json", "--fail-on", "never")
    assert result.exit_code == 3
    assert sources(result) == [str(good)]


@pytest.mark.parametrize(("content", "where"), [("[]", "1:1"), ('{"conversations": []}', "1:19"), ("  [ ]\n", "1:3")])
def test_an_empty_list_is_said(tmp_path: Path, content: str, where: str) -> None:
    export = tmp_path / "export.json"
    export.write_text(content, encoding="utf-8")
    result = run("audit", str(export))
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [f"servicecheck: {export}:{where}: an empty list: no conversation in it"]


def test_a_jsonl_line_holding_an_empty_list_is_said_and_the_other_lines_audited(tmp_path: Path) -> None:
    export = tmp_path / "export.jsonl"
    export.write_text(NDJSON + "[]\n", encoding="utf-8")
    for jobs in ("1", "2"):
        result = run("audit", str(export), "--format", "json", "--fail-on", "never", "--jobs", jobs)
        assert result.exit_code == 3
        assert sources(result) == [str(export)] * 2
        assert f"{export}:3:1: an empty list: no conversation in it" in result.stderr


def test_an_empty_file_is_said(tmp_path: Path) -> None:
    empty = tmp_path / "calls.json"
    empty.write_bytes(b"")
    result = run("audit", str(empty))
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [f"servicecheck: {empty}: empty file"]


def test_stdin_is_sniffed_like_a_file_a_timestamped_text_transcript(tmp_path: Path) -> None:
    text = "[00:00] Customer: Hello, my bill is wrong.\n[00:03] Agent: Thanks for calling, I fix it now.\n"
    piped = run("audit", "-", "--format", "json", "--fail-on", "never", input=text)
    assert piped.exit_code == 0, piped.stderr
    (tmp_path / "call").write_text(text, encoding="utf-8")
    named = run("audit", str(tmp_path / "call"), "--format", "json", "--fail-on", "never")
    assert named.exit_code == 0, named.stderr
    conversations = [json.loads(r.stdout)["conversations"][0] for r in (piped, named)]
    assert [c["turns"] for c in conversations] == [2, 2]
    assert [c["policies"] for c in conversations][0] == conversations[1]["policies"]


def test_stdin_json_is_still_json() -> None:
    result = run("audit", "-", "--format", "json", "--fail-on", "never", input=NDJSON.splitlines()[0])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["conversations"][0]["id"] == "b1"


def test_lint_walks_a_folder_in_any_case_and_names_what_it_skips(tmp_path: Path) -> None:
    (tmp_path / "REFUND.MD").write_text("Hello,\n\nThanks for your message, we refund you today.\n", encoding="utf-8")
    (tmp_path / "macro.Yaml").write_text("greeting: Thank you for contacting us, I am on it.\n", encoding="utf-8")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    result = run("lint", str(tmp_path), "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
    paths = sorted(Path(d["path"]).name for d in json.loads(result.stdout)["documents"])
    assert paths == ["REFUND.MD", "macro.Yaml"]
    assert result.stderr.splitlines() == [
        f"servicecheck: skipped {tmp_path / 'logo.png'}: a .png file: lint reads .json, .markdown, .md, .txt, "
        ".yaml, .yml"]


def test_lint_of_an_empty_folder_exits_3(tmp_path: Path) -> None:
    result = run("lint", str(tmp_path))
    assert result.exit_code == 3
    assert "a directory with nothing to read in it" in result.stderr


def test_annotate_walks_folders_alike_and_names_what_it_skips(mixed: Path) -> None:
    (mixed / "server.log").write_text(APP_LOG, encoding="utf-8")
    result = run("annotate", str(mixed), "--format", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 4
    assert result.stderr.splitlines() == [
        f"servicecheck: skipped {mixed / 'server.log'}: a .log file whose content is no transcript format "
        "servicecheck reads"]


def test_jsonl_on_stdin_reads_like_the_same_file_line_by_line(tmp_path: Path) -> None:
    content = NDJSON.replace("\n", "\r\n", 1) + "\n   \n" + '{"id": "bad", "turns": [\n' + NDJSON.splitlines()[0] + "\n"
    export = tmp_path / "calls.jsonl"
    export.write_text(content, encoding="utf-8")
    named = run("audit", str(export), "--format", "json", "--fail-on", "never")
    piped = run("audit", "-", "--format", "json", "--fail-on", "never", input=content.encode("utf-8"))
    assert named.exit_code == piped.exit_code == 3
    a, b = json.loads(named.stdout), json.loads(piped.stdout)
    assert [c["id"] for c in a["conversations"]] == [c["id"] for c in b["conversations"]] == ["b1", "b2", "b1"]
    assert [(e["line"], e["column"], e["message"]) for e in a["errors"]] == [
        (e["line"], e["column"], e["message"]) for e in b["errors"]]
