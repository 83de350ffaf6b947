"""The language server through a real LSP client: ``servicecheck lsp`` as a subprocess, JSON-RPC over stdio.

The client below is the protocol as an editor speaks it: ``Content-Length`` framed JSON-RPC
messages on the server's standard input and output, requests matched to responses by id,
notifications (publishDiagnostics) collected as they come. Every wait is bounded (a hung
server fails the test instead of hanging the suite); nothing asserts how long anything took.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

pytest.importorskip("pygls", reason="the language server needs pygls (extras 'lsp' and 'test')")

from servicecheck import api  # noqa: E402
from servicecheck.lsp import lint_buffer, Projects, wanted  # noqa: E402

WAIT = 120.0  # seconds before a missing message fails the test (a bound, not a measurement)

FR_TEMPLATE = (
    "# Réponse facture\n"
    "Bonjour {{prenom}},\n"
    "Merci pour votre message.\n"
    "Pour une erreur de facture, c'est le service commercial, pas nous.\n"
    "Cordialement\n"
)
DEFLECTION_LINE = 3  # 0-based, as LSP counts


class Client:
    """A minimal LSP client over a subprocess's stdio."""

    def __init__(self, cwd: Path) -> None:
        env = dict(os.environ)
        self.proc = subprocess.Popen([sys.executable, "-m", "servicecheck", "lsp", "--stdio"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            headers: dict[str, str] = {}
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            self.messages.put(json.loads(body.decode("utf-8")))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"method": method, "params": params})

    def wait_for(self, match: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        for message in self.seen:
            if match(message):
                self.seen.remove(message)
                return message
        while True:
            try:
                message = self.messages.get(timeout=WAIT)
            except queue.Empty:
                stderr = self._stderr()
                raise AssertionError(f"no {what} from the server; stderr:\n{stderr}") from None
            if match(message):
                return message
            if "id" in message and "method" in message:  # a request from the server (e.g. registerCapability)
                self.send({"id": message["id"], "result": None})
            else:
                self.seen.append(message)

    def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        self.next_id += 1
        ident = self.next_id
        self.send({"id": ident, "method": method, "params": params})
        reply = self.wait_for(lambda m: m.get("id") == ident and "method" not in m, f"reply to {method}")
        assert "error" not in reply, reply
        return reply.get("result")

    def diagnostics(self, uri: str, version: int) -> list[dict[str, Any]]:
        def match(m: dict[str, Any]) -> bool:
            p = m.get("params") or {}
            return (m.get("method") == "textDocument/publishDiagnostics" and p.get("uri") == uri
                    and p.get("version") == version)

        return list(self.wait_for(match, f"diagnostics of version {version}")["params"]["diagnostics"])

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode("utf-8", "replace")[-3000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def apply(text: str, edit: dict[str, Any]) -> str:
    """Apply one TextEdit (positions in UTF-16 units; these texts are all in the BMP, so characters)."""
    lines = text.split("\n")

    def offset(pos: dict[str, int]) -> int:
        return sum(len(line) + 1 for line in lines[: pos["line"]]) + pos["character"]

    rng = edit["range"]
    return text[: offset(rng["start"])] + edit["newText"] + text[offset(rng["end"]):]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    # The project's configuration is honoured: it lowers no-deflection to a warning.
    (tmp_path / ".servicecheck.yaml").write_text("policy:\n  no-deflection: {severity: warning}\n", encoding="utf-8")
    (tmp_path / "modeles").mkdir()
    (tmp_path / "modeles" / "facture.md").write_text(FR_TEMPLATE, encoding="utf-8")
    return tmp_path


def test_the_round_trip_of_an_editor(project: Path) -> None:
    doc = project / "modeles" / "facture.md"
    uri = doc.as_uri()
    policy = api.load_policies().get("no-deflection")
    client = Client(cwd=project.parent)  # not the project: the config is found from the document's folder
    try:
        init = client.request("initialize", {"processId": os.getpid(), "rootUri": project.as_uri(),
                                             "capabilities": {"textDocument": {"codeAction": {}, "publishDiagnostics":
                                                                                {"versionSupport": True}}}})
        caps = init["capabilities"]
        assert caps["codeActionProvider"] and caps["textDocumentSync"]
        client.notify("initialized", {})

        client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "markdown", "version": 1,
                                                                "text": FR_TEMPLATE}})
        diagnostics = client.diagnostics(uri, 1)
        ours = [d for d in diagnostics if d.get("code") == policy.id]
        assert len(ours) == 1, diagnostics
        diag = ours[0]
        assert diag["range"]["start"]["line"] == DEFLECTION_LINE and diag["source"] == "servicecheck"
        assert diag["severity"] == 2  # Warning: the project's configuration, not the pack's "error"
        start = diag["range"]["start"]["character"]
        line = FR_TEMPLATE.split("\n")[DEFLECTION_LINE]
        assert line[start:].startswith("c'est le service commercial")

        actions = client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": diag["range"], "context": {"diagnostics": [diag]}})
        fixes = [a for a in actions if a.get("kind") == "quickfix"]
        assert fixes, actions
        edit = fixes[0]["edit"]["changes"][uri][0]
        assert edit["newText"] == policy.suggestion["fr"]
        assert "je transmets votre demande au service commercial" in edit["newText"]
        assert edit["range"]["start"]["line"] == DEFLECTION_LINE == edit["range"]["end"]["line"]

        fixed = apply(FR_TEMPLATE, edit)
        assert "pas nous" not in fixed and fixed.split("\n")[DEFLECTION_LINE] == policy.suggestion["fr"]
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                                 "contentChanges": [{"text": fixed}]})
        after = client.diagnostics(uri, 2)
        assert not [d for d in after if d["range"]["start"]["line"] == DEFLECTION_LINE], after
        assert not [d for d in after if d.get("code") == policy.id], after

        assert client.request("shutdown") is None
        client.notify("exit")
        assert client.proc.wait(timeout=WAIT) == 0
    finally:
        client.close()


def test_a_template_missing_its_thanks_gets_an_insert_fix(tmp_path: Path) -> None:
    text = "Hello {{name}},\nYour order {order_id} has shipped.\nBest regards\n"
    problems = lint_buffer(Projects(), text, str(tmp_path / "shipped.md"), "markdown")
    thank = [p for p in problems if p.code == "service-standards.always-thank"]
    assert len(thank) == 1 and thank[0].fix is not None
    fix = thank[0].fix
    assert fix.title.startswith("Insert") and fix.edit[0] == fix.edit[1] == (1, 0)
    assert fix.new_text == api.load_policies().get("always-thank").suggestion["en"] + "\n"


def test_yaml_templates_get_escaped_rephrasings_and_no_blind_inserts(tmp_path: Path) -> None:
    text = "templates:\n  refund: 'We cannot refund this order. Contact your bank for anything else.'\n"
    problems = lint_buffer(Projects(), text, str(tmp_path / "macros.yaml"), "yaml")
    deflect = next(p for p in problems if p.code == "service-standards.no-deflection")
    assert deflect.fix is not None and deflect.start[0] == 1
    suggestion = api.load_policies().get("no-deflection").suggestion["en"]
    assert deflect.fix.new_text == suggestion.replace("'", "''")  # inside a single-quoted scalar
    assert all(p.fix is None or p.fix.title.startswith("Rephrase") for p in problems)


def test_configuration_errors_become_one_diagnostic(tmp_path: Path) -> None:
    (tmp_path / ".servicecheck.yaml").write_text("disable: [no-such-policy]\n", encoding="utf-8")
    problems = lint_buffer(Projects(), FR_TEMPLATE, str(tmp_path / "a.md"), "markdown")
    assert len(problems) == 1 and problems[0].severity == "error"
    assert "no-such-policy" in problems[0].message and problems[0].start == (0, 0)


def test_only_scripts_and_templates_are_linted(tmp_path: Path) -> None:
    pack = tmp_path / "packs" / "ours"
    (pack / "signals").mkdir(parents=True)
    (pack / "pack.yaml").write_text("name: ours\nversion: '1'\n", encoding="utf-8")
    assert wanted(str(tmp_path / "templates" / "a.md"), "markdown")
    assert wanted(str(tmp_path / "macros.yaml"), "yaml")
    assert wanted(None, "plaintext")
    for name in (".servicecheck.yaml", ".pre-commit-config.yaml", "packs/ours/pack.yaml", "packs/ours/rule.yaml",
                 "packs/ours/signals/s.yaml", "script.py"):
        assert not wanted(str(tmp_path / name), None), name


def test_a_yaml_rephrasing_is_offered_only_where_the_file_still_reads(tmp_path: Path) -> None:
    suggestion = api.load_policies().get("no-deflection").suggestion["en"]
    assert ": " in suggestion  # a plain YAML scalar cannot hold it
    block = "templates:\n  refund: |\n    We cannot refund this order.\n    Contact your bank for anything else.\n"
    deflect = next(p for p in lint_buffer(Projects(), block, str(tmp_path / "m.yaml"), "yaml")
                   if p.code == "service-standards.no-deflection")
    assert deflect.fix is not None and deflect.fix.new_text == suggestion and deflect.start[0] == 3
    plain = "templates:\n  refund: We cannot refund this order. Contact your bank for anything else.\n"
    deflect = next(p for p in lint_buffer(Projects(), plain, str(tmp_path / "m.yaml"), "yaml")
                   if p.code == "service-standards.no-deflection")
    assert deflect.fix is None and suggestion in deflect.message


def test_without_pygls_the_command_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from servicecheck.cli import main

    monkeypatch.setitem(sys.modules, "pygls", None)  # import pygls now raises ImportError
    result = CliRunner().invoke(main, ["lsp"])
    assert result.exit_code == 2
    assert "pip install 'servicecheck[lsp]'" in result.stderr
