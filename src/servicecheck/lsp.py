"""The language server (``servicecheck lsp``): editor buffers in, ``api.lint_text``, diagnostics and quick fixes out.

A thin front end like ``cli.py``. The editor sends the text of Markdown, plain-text and
YAML scripts and templates; each buffer is linted as the file it is (its extension
picks the syntax) with the project configuration found from the document's own folder
upward (``.servicecheck.yaml`` or ``[tool.servicecheck]``: packs, enabled policies,
severities, language), as ``servicecheck lint`` run in that folder would. Diagnostics are
published on open and save at once, and on change after :data:`DEBOUNCE_S` seconds of
quiet, so typing does not lint every keystroke.

Code actions offer each finding's suggestion (the policy's better phrasing, in the
document's language):

- a finding that points at words (a deflection, a slogan, a refusal without a reason)
  gets a quick fix that *replaces the sentence* holding them with the suggestion: the
  sentence is the unit the policies judge, and the suggestion is a whole sentence;
  it is a model to adapt (a department, a delay), so the editor shows it for review;
- a finding about something missing from a whole template (no thanks) gets a quick
  fix that *inserts the suggestion as a new line* after the line the finding names;
  in YAML, where a bare line could break the file's structure, none is offered and
  the diagnostic's message carries the suggestion instead.

pygls (a maintained, typed LSP framework built on lsprotocol) does the JSON-RPC framing,
the protocol's life cycle and the incremental text sync, so this module is only the
mapping between findings and the protocol. It is the optional extra ``lsp``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from servicecheck import __version__

__all__ = ["DEBOUNCE_S", "build_server", "lsp_command"]

DEBOUNCE_S = 0.35
# The editor's language id -> the extension the buffer is read as when its path has none we know.
LANGUAGE_SUFFIX = {"markdown": ".md", "plaintext": ".txt", "text": ".txt", "yaml": ".yaml"}
SUFFIXES = (".md", ".markdown", ".txt", ".yaml", ".yml")
# Tool configuration and pack files are YAML but not templates (as in .pre-commit-hooks.yaml).
NOT_TEMPLATES = re.compile(r"(^|/)(\.pre-commit-(config|hooks)\.yaml|\.servicecheck\.ya?ml|pack\.yaml|lexicon\.yaml"
                           r"|\.github/.*|docker-compose\.ya?ml|mkdocs\.ya?ml)$")
SOURCE = "servicecheck"
INSTALL = "pip install 'servicecheck[lsp]'"




# ---------------------------------------------------------------- findings -> protocol (no pygls needed)


@dataclass(frozen=True)
class Fix:
    """A quick fix offered for one diagnostic: ranges are 0-based ``(line, column)`` in code points."""

    policy: str
    title: str
    diagnostic: tuple[tuple[int, int], tuple[int, int]]
    edit: tuple[tuple[int, int], tuple[int, int]]
    new_text: str


@dataclass(frozen=True)
class Problem:
    """One diagnostic to publish, in code points (the server converts to the client's units)."""

    start: tuple[int, int]
    end: tuple[int, int]
    severity: str  # error | warning | suggestion
    message: str
    code: str | None
    fix: Fix | None = None


_SCALAR_START = re.compile(r"^\s*(?:-\s+)?(?:[^\s'\"#][^:#]*:\s+)?(?P<quote>['\"]?)")


def _yaml_escape(text: str, line: str, column: int) -> str:
    """``text`` fit to stand at ``column`` (0-based) of a YAML ``line``: quoted scalars get their escapes."""
    m = _SCALAR_START.match(line)
    quote = m.group("quote") if m else ""
    inside = line[m.end():column] if m else ""
    if quote == "'" and inside.replace("''", "").count("'") == 0:
        return text.replace("'", "''")
    if quote == '"' and inside.replace('\\"', "").count('"') == 0:
        return text.replace("\\", "\\\\").replace('"', '\\"')
    return text


def _still_reads(lines: list[str], fix: Fix, path: str) -> bool:
    """Whether the document still reads once ``fix`` is applied (a plain YAML scalar cannot take every text)."""
    from servicecheck.inputs import read_document
    from servicecheck.model import InputProblem

    (a, b), (c, d) = fix.edit
    edited = lines[:a] + [lines[a][:b] + fix.new_text + lines[c][d:]] + lines[c + 1:]
    return not isinstance(read_document(path, text="\n".join(edited)), InputProblem)


def problems_of(items: list[Any], lines: list[str], path: str) -> list[Problem]:
    """The diagnostics of ``api.lint_text``'s results, each with the quick fix its suggestion allows."""
    from servicecheck import api
    from servicecheck.model import InputProblem

    yaml_file = path.lower().endswith((".yaml", ".yml"))
    out: list[Problem] = []
    for item in items:
        if isinstance(item, InputProblem):
            line = max((item.line or 1) - 1, 0)
            column = max((item.column or 1) - 1, 0)
            out.append(Problem((line, column), (line, len(lines[line]) if line < len(lines) else column), "error",
                               item.message, None))
            continue
        for finding in item.findings:
            problem = _problem(item, finding, lines, yaml_file, api.finding_turn(item, finding))
            if problem.fix is not None and yaml_file and not _still_reads(lines, problem.fix, path):
                problem = replace(problem, fix=None)  # the message still carries the suggestion
            out.append(problem)
    return out


def _problem(result: Any, finding: Any, lines: list[str], yaml_file: bool, turn: Any) -> Problem:
    message = finding.message
    if finding.suggestion:
        message += f"\nSuggestion: {finding.suggestion}"
    loc = finding.location if finding.location is not None and finding.location.line else result.conversation.source
    line = max((loc.line or 1) - 1, 0)
    text = lines[line] if line < len(lines) else ""
    start = (line, max((loc.column or 1) - 1, 0) if loc.column else len(text) - len(text.lstrip()))
    end = (line, len(text))
    ev = finding.evidence
    if turn is not None and ev is not None:
        e_line, e_col = turn.locate(ev.end)
        if e_line is not None and e_col is not None and (e_line - 1, e_col - 1) > start:
            end = (e_line - 1, e_col - 1)
    fix = None
    if finding.suggestion and turn is not None and ev is not None:
        (s_line, s_col), (f_line, f_col) = turn.locate(0), turn.locate(len(turn.text.rstrip()))
        if None not in (s_line, s_col, f_line, f_col):
            edit = ((s_line - 1, s_col - 1), (f_line - 1, f_col - 1))
            new = finding.suggestion
            if yaml_file:
                new = _yaml_escape(new, lines[edit[0][0]] if edit[0][0] < len(lines) else "", edit[0][1])
            fix = Fix(finding.policy, f"Rephrase: « {finding.suggestion} »", (start, end), edit, new)
    elif finding.suggestion and not yaml_file:
        indent = text[: len(text) - len(text.lstrip())]
        at = (line + 1, 0) if line + 1 < len(lines) else (line, len(text))
        new = f"{indent}{finding.suggestion}\n" if line + 1 < len(lines) else f"\n{indent}{finding.suggestion}"
        fix = Fix(finding.policy, f"Insert: « {finding.suggestion} »", (start, end), (at, at), new)
    return Problem(start, end, str(finding.severity), message, finding.policy, fix)


# ---------------------------------------------------------------- projects


class Projects:
    """The policies in force for a document: its folder's configuration and packs, compiled once until they change."""

    def __init__(self) -> None:
        self._auditors: dict[tuple[Any, ...], Any] = {}

    def auditor_for(self, folder: Path) -> Any:
        """The api.Auditor for documents in ``folder``.

        Raises:
            ServicecheckError: the configuration or a pack is invalid (the caller shows it).
        """
        from servicecheck import api, config
        from servicecheck.policy.cache import cache_key, load_policies_cached

        found = config.find_config(folder)
        cfg = config.load_config(found) if found is not None else None
        dirs = cfg.policy_dirs if cfg is not None else []
        include_default = not (cfg is not None and cfg.data.get("default-pack") is False)
        stamp = os.stat(found).st_mtime_ns if found is not None else None
        packs = cache_key(dirs, include_default)
        key = (str(found), stamp, packs)
        if packs is not None and key in self._auditors:
            return self._auditors[key]
        policyset = load_policies_cached(dirs, include_default=include_default)
        if cfg is not None:
            policyset = cfg.apply(policyset)
        language = cfg.data.get("language") if cfg is not None else None
        auditor = api.Auditor(policyset, None if language in (None, "auto") else language)
        if packs is not None:
            self._auditors = {key: auditor}  # one project at a time is the common case: keep memory flat
        return auditor


def lint_buffer(projects: Projects, text: str, path: str | None, language_id: str | None) -> list[Problem]:
    """Lint one editor buffer; configuration and pack errors come back as one diagnostic on line 1."""
    from servicecheck import api
    from servicecheck.errors import ServicecheckError

    name = path or f"untitled{LANGUAGE_SUFFIX.get(language_id or '', '.txt')}"
    if not name.lower().endswith(SUFFIXES):
        name += LANGUAGE_SUFFIX.get(language_id or "", ".txt")
    folder = Path(path).parent if path else Path.cwd()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    try:
        auditor = projects.auditor_for(folder)
    except ServicecheckError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        message = "servicecheck cannot lint this file:\n" + "\n".join(problems)
        return [Problem((0, 0), (0, len(lines[0])), "error", message, None)]
    return problems_of(api.lint_text(text, name, auditor.policyset, auditor=auditor), lines, name)


def wanted(path: str | None, language_id: str | None) -> bool:
    """Whether a document is a script or template to lint (not tool configuration, not a policy pack)."""
    if path is None:
        return language_id in LANGUAGE_SUFFIX
    posix = path.replace(os.sep, "/")
    if NOT_TEMPLATES.search(posix):
        return False
    if not posix.lower().endswith(SUFFIXES) and language_id not in LANGUAGE_SUFFIX:
        return False
    folder = Path(path).parent
    # A policy pack's own files (policies, signals) are validated by `servicecheck policies validate`.
    in_signals = folder.name == "signals" and (folder.parent / "pack.yaml").is_file()
    return not ((folder / "pack.yaml").is_file() or in_signals)


# ---------------------------------------------------------------- the server (pygls)


def build_server() -> Any:
    """The pygls LanguageServer with servicecheck's features registered."""
    import asyncio

    from lsprotocol import types as lsp
    from pygls.lsp.server import LanguageServer
    from pygls.uris import to_fs_path

    severities = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
                  "suggestion": lsp.DiagnosticSeverity.Information}
    server = LanguageServer("servicecheck", __version__)
    projects = Projects()
    fixes: dict[str, list[tuple[lsp.Diagnostic, Fix]]] = {}
    pending: dict[str, asyncio.TimerHandle] = {}  # the debounced lint of each changed buffer

    def rng(doc: Any, span: tuple[tuple[int, int], tuple[int, int]]) -> lsp.Range:
        (a, b), (c, d) = span
        return doc.range_to_client_units(lsp.Range(lsp.Position(a, b), lsp.Position(c, d)))

    def publish(uri: str) -> None:
        pending.pop(uri, None)
        doc = server.workspace.get_text_document(uri)
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if not wanted(path, doc.language_id):
            return
        diagnostics: list[lsp.Diagnostic] = []
        offered: list[tuple[lsp.Diagnostic, Fix]] = []
        for p in lint_buffer(projects, doc.source, path, doc.language_id):
            diag = lsp.Diagnostic(range=rng(doc, (p.start, p.end)), message=p.message, source=SOURCE,
                                  severity=severities.get(p.severity, lsp.DiagnosticSeverity.Warning), code=p.code)
            diagnostics.append(diag)
            if p.fix is not None:
                offered.append((diag, p.fix))
        fixes[uri] = offered
        server.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, version=doc.version, diagnostics=diagnostics))

    def later(uri: str) -> None:
        if uri in pending:
            pending.pop(uri).cancel()
        pending[uri] = asyncio.get_running_loop().call_later(DEBOUNCE_S, publish, uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: lsp.DidOpenTextDocumentParams) -> None:
        publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
        later(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: lsp.DidSaveTextDocumentParams) -> None:
        if params.text_document.uri in pending:
            pending.pop(params.text_document.uri).cancel()
        publish(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri in pending:
            pending.pop(uri).cancel()
        fixes.pop(uri, None)
        server.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
    def code_action(params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        uri = params.text_document.uri
        doc = server.workspace.get_text_document(uri)
        want = params.range
        actions = []
        for diag, fix in fixes.get(uri, []):
            r = diag.range
            if (r.end.line, r.end.character) < (want.start.line, want.start.character) or \
                    (want.end.line, want.end.character) < (r.start.line, r.start.character):
                continue
            edit = lsp.TextEdit(range=rng(doc, fix.edit), new_text=fix.new_text)
            actions.append(lsp.CodeAction(title=fix.title, kind=lsp.CodeActionKind.QuickFix, diagnostics=[diag],
                                          is_preferred=fix.title.startswith("Rephrase"),
                                          edit=lsp.WorkspaceEdit(changes={uri: [edit]})))
        return actions

    return server


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over standard input and output (the default and only transport; "
              "accepted because editors pass it).")
def lsp_command(stdio: bool) -> None:
    """Run the language server for editors (Markdown, text and YAML scripts and templates), over stdio.

    Needs the optional extra: pip install 'servicecheck[lsp]'. Set-up for VS Code and Neovim: README.
    """
    try:
        import pygls  # noqa: F401
    except ImportError:
        from servicecheck.errors import UsageError

        raise UsageError(f"the language server needs pygls: {INSTALL}") from None
    import logging

    logging.basicConfig(level=logging.WARNING, format="servicecheck lsp: %(message)s")  # stderr: stdout is the protocol
    build_server().start_io()
