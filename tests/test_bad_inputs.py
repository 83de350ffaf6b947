"""Bad input never crashes, never hangs and never loses a conversation (SPEC section 9, issue 7).

One table of cases drives the command line (Click's runner): each bad input is audited
(or linted) next to a good conversation, and must give the documented exit code, one
``servicecheck: path[:line[:column]]: message`` line per problem on standard error, no
traceback, and a JSON report in which the good conversation is still audited.  The big
inputs (a 6 MB turn, JSON nested 100,000 deep, a 1 MB adversarial turn) are generated
here, never committed.  Real ``python -m servicecheck`` runs check the time and memory
bounds in a separate process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _peak_rss import run_with_peak_rss
from click.testing import CliRunner

from servicecheck.cli import main

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
GOOD = CORPUS / "good.json"  # one French conversation with a deflection: audited, one finding
GOOD_ID = "good-fr"
GOOD_DOC = CORPUS / "good.md"
ROOT = Path(__file__).resolve().parents[1]

MB = 1 << 20


# --------------------------------------------------------------------------- generated inputs


def corpus(name: str) -> Callable[[Path], Path]:
    """A committed corpus file, used in place (the runs must not modify it)."""
    return lambda _tmp: CORPUS / name


def deep_json(tmp: Path) -> Path:
    """A JSON file nested 100,000 arrays deep (the stdlib parser would hit RecursionError)."""
    path = tmp / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    return path


def deep_jsonl(tmp: Path) -> Path:
    """A JSONL file whose first line nests 30,000 deep, then a good line (format sniffing recursed)."""
    path = tmp / "deep_first_line.json"
    good = json.dumps({"id": "after-deep", "turns": [{"speaker": "agent", "text": "Merci pour votre appel."}]})
    path.write_text("[" * 30_000 + "]" * 30_000 + "\n" + good + "\n", encoding="utf-8")
    return path


def huge_turn(tmp: Path, size: int = 6 * MB) -> Path:
    """One conversation whose agent turn is ``size`` characters of ordinary French."""
    sentence = "Merci pour votre patience, votre colis part demain matin du dépôt de Lyon. "
    path = tmp / "huge_turn.json"
    text = (sentence * (size // len(sentence) + 1))[:size]
    doc = {"id": "huge", "language": "fr", "turns": [{"speaker": "customer", "text": "Bonjour"},
                                                     {"speaker": "agent", "text": text}]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _pattern_prefixes() -> list[str]:
    """The first words of every pattern of the default pack, as plain text."""
    from servicecheck.api import load_policies

    prefixes = {"c'est le service", "je ne", "sorry", "not my", "je ne suis pas désolé 😀", "merci de"}
    for sig in load_policies().signals.values():
        for table in (sig.patterns, sig.exceptions):
            for sources in table.values():
                for source in sources:
                    words = re.sub(r"[()|*{}~\\]|regex:", " ", source).split()
                    if words:
                        prefixes.add(" ".join(words[:3]))
    return sorted(prefixes)


def adversarial_turn(tmp: Path, size: int = MB) -> Path:
    """A ``size``-character agent turn and customer turn made of repeated pattern prefixes.

    Every prefix starts a match attempt that fails a word later ("c'est le service c'est
    le service ..."), the worst case for a backtracking matcher; some blocks are
    non-ASCII, which takes the byte-to-character mapping path.
    """
    blocks = [(p + " ") * 200 for p in _pattern_prefixes()]
    text = "".join(blocks)
    text = (text * (size // len(text) + 1))[:size]
    doc = {"id": "adversarial", "language": "fr", "turns": [{"speaker": "agent", "text": text},
                                                            {"speaker": "customer", "text": text}]}
    path = tmp / "adversarial.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Case:
    """One bad input: how to get it, and what the run must say and do."""

    name: str
    make: Callable[[Path], Path]
    exit: int
    # (line or None, fragment): a stderr line "servicecheck: <path>[:<line>]..." containing the fragment.
    errors: tuple[tuple[int | None, str], ...] = ()
    audited: tuple[str, ...] = ()  # conversations of the bad file itself that must still be reported
    command: str = "audit"
    pack: str | None = None  # a pack under bad_inputs/packs given with --policies, and its file at fault


CASES = [
    Case("empty file", corpus("empty.json"), 3, ((None, "empty file"),)),
    Case("binary file", corpus("binary.json"), 3, ((None, "binary file"),)),
    Case("truncated JSON", corpus("truncated.json"), 3, ((2, "invalid JSON: Unterminated string"),)),
    Case("wrong types", corpus("wrong_types.json"), 3, (
        (4, "$[0].turns: expected an array, got string"),
        (11, "$[1].turns[0].text: expected a string, got number"),
        (19, "$[2].turns[0].speaker: expected a string, got array"),
        (32, "$[3].turns[0].start_ms: expected a number, got string"),
        (36, "$[4]: expected a conversation object, got number"),
    ), audited=("wt-ok",)),
    Case("unknown speaker role (JSON)", corpus("unknown_roles.json"), 3, ((10, "unknown speaker 'Zorglub'"),)),
    Case("unknown speaker role (CSV)", corpus("unknown_roles.csv"), 3, ((3, "unknown speaker 'Zorglub'"),),
         audited=("c2",)),
    Case("JSONL with good and bad lines", corpus("mixed.jsonl"), 3, (
        (2, "invalid JSON"),
        (4, "$.turns[0].text: expected a string, got null"),
        (6, "not a known transcript format"),
    ), audited=("ok-1", "ok-3", "ok-7")),
    Case("UTF-8 BOM and CRLF", corpus("bom_crlf.txt"), 0, audited=("bom_crlf.txt#1",)),
    Case("Latin-1 text", corpus("latin1.txt"), 0, audited=("latin1.txt#1",)),
    Case("NUL bytes", corpus("nul.txt"), 3, ((None, "binary file (it contains NUL bytes)"),)),
    Case("bad WebVTT cue", corpus("bad_cue.vtt"), 3, ((6, "invalid WebVTT cue timing"),)),
    Case("truncated CSV", corpus("truncated.csv"), 3, ((2, "unterminated quoted field"),)),
    Case("JSON nested 100,000 deep", deep_json, 3, ((1, "nested deeper than 1000 levels"),)),
    Case("JSONL whose first line nests 30,000 deep", deep_jsonl, 3, ((1, "nested deeper than 1000 levels"),),
         audited=("after-deep",)),
    Case("1 MB adversarial turns of pattern prefixes", adversarial_turn, 0, audited=("adversarial",)),
    Case("missing file", lambda tmp: tmp / "no-such-file.json", 3, ((None, "no such file"),)),
    Case("pack with a YAML alias bomb", corpus("good.json"), 2, ((1, "alias bomb"),),
         pack="alias-bomb/laughs.yaml"),
    Case("pack with an unknown signal", corpus("good.json"), 2, ((7, "unknown signal 'no-such-signal'"),),
         pack="unknown-signal/uses-unknown.yaml"),
    Case("pack with an unpaired surrogate escape", corpus("good.json"), 2, ((9, "unpaired surrogate escape"),),
         pack="surrogate-escape/half-emoji.yaml"),
    Case("lint: binary document", corpus("binary.md"), 3, ((None, "binary file"),), command="lint"),
    Case("lint: truncated YAML templates", corpus("truncated.yaml"), 3, ((3, "invalid YAML"),), command="lint"),
]


def _runner() -> CliRunner:
    try:  # Click < 8.2 mixes stderr into output unless told not to
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def _error_lines(stderr: str) -> list[str]:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    for ln in lines:
        assert ln.startswith("servicecheck: "), f"stray stderr line: {ln!r}"
    return lines


def _assert_located(lines: list[str], path: Path | str, line: int | None, fragment: str) -> None:
    where = f"servicecheck: {path}" + (f":{line}:" if line is not None else ":")
    hits = [ln for ln in lines if ln.startswith(where) and fragment in ln]
    assert hits, f"no stderr line starting {where!r} with {fragment!r} in:\n" + "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no project configuration is found above a temporary folder
    bad = case.make(tmp_path)
    good = GOOD_DOC if case.command == "lint" else GOOD
    out = tmp_path / "report.json"
    args = [case.command, str(bad), str(good), "--format", "json", "--output", str(out), "--fail-on", "never"]
    if case.pack:
        args += ["--policies", str((CORPUS / "packs" / case.pack).parent)]
    result = _runner().invoke(main, args)

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exit_code == case.exit, result.stderr
    lines = _error_lines(result.stderr)
    problem_path = CORPUS / "packs" / case.pack if case.pack else bad
    for line, fragment in case.errors:
        _assert_located(lines, problem_path, line, fragment)
    if case.exit == 0:
        assert not lines

    if case.exit == 2:  # a pack or usage error: nothing audited, no report left behind
        assert not out.exists()
        return
    report = json.loads(out.read_text(encoding="utf-8"))
    assert len(report["errors"]) == len(lines)
    assert all(e["path"] == str(bad) for e in report["errors"])
    if case.command == "lint":
        assert [d["path"] for d in report["documents"]] == [str(GOOD_DOC)]
        return
    by_id = {c["id"]: c for c in report["conversations"]}
    assert set(case.audited) | {GOOD_ID} == set(by_id)
    good_conv = by_id[GOOD_ID]
    assert good_conv["policies"], "the good conversation was not audited"
    assert any(f["policy"].endswith("no-deflection") for f in good_conv["findings"])


def test_bom_crlf_and_latin1_keep_lines_and_accents(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = _runner().invoke(main, ["audit", str(CORPUS / "bom_crlf.txt"), str(CORPUS / "latin1.txt"),
                                     "-f", "json", "-o", str(out), "--fail-on", "never"])
    assert result.exit_code == 0, result.stderr
    convs = {c["id"]: c for c in json.loads(out.read_text(encoding="utf-8"))["conversations"]}
    crlf = [f for f in convs["bom_crlf.txt#1"]["findings"] if f["policy"].endswith("no-deflection")]
    assert crlf and crlf[0]["location"]["line"] == 2  # a CRLF is one line end, the BOM is no character
    assert "c'est le service" in crlf[0]["evidence"]["text"]
    latin = [f for f in convs["latin1.txt#1"]["findings"] if f["policy"].endswith("no-deflection")]
    assert latin and latin[0]["location"]["line"] == 2
    from servicecheck.inputs import read_transcripts

    (conv,) = read_transcripts(str(CORPUS / "latin1.txt"))
    assert conv.turns[1].text == "Désolé, c'est le service comptabilité."  # decoded, not mangled


FORMATS = ["text", "json", "jsonl", "sarif", "junit", "csv", "html", "github"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_odd_characters_reach_every_format(fmt: str, tmp_path: Path) -> None:
    """Lone surrogate escapes, NUL, ESC, BEL, bidi overrides and emoji in turns: every report is written."""
    out = tmp_path / f"report.{fmt}"
    result = _runner().invoke(main, ["audit", str(CORPUS / "odd_text.json"), "-f", fmt, "-o", str(out)])
    assert result.exit_code == 1, result.stderr  # read and audited: the deflection is found
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    text = out.read_text(encoding="utf-8")  # valid UTF-8: the lone surrogates became U+FFFD
    if fmt in ("json", "sarif"):
        json.loads(text)
    if fmt == "junit":
        import xml.dom.minidom

        xml.dom.minidom.parseString(text.encode("utf-8"))


def test_bad_input_from_stdin_is_one_error_exit_3() -> None:
    result = _runner().invoke(main, ["audit", "-", str(GOOD), "-f", "json", "--fail-on", "never"],
                              input=b"\x00\x01\x02binary")
    assert result.exit_code == 3
    assert _error_lines(result.stderr) == ["servicecheck: <stdin>: binary file (it contains NUL bytes)"]
    assert [c["id"] for c in json.loads(result.stdout)["conversations"]] == [GOOD_ID]


def test_output_to_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = _runner().invoke(main, ["audit", str(GOOD), "-o", str(tmp_path / "nope" / "report.json")])
    assert result.exit_code == 2
    target = tmp_path / "nope" / "report.json"
    assert _error_lines(result.stderr) == [f"servicecheck: cannot write {target}: No such file or directory"]


# --------------------------------------------------------------------------- real processes


def _run_measured(args: list[str], timeout: float, cwd: Path) -> tuple[int, str, str, int | None]:
    """Run ``python -m servicecheck args``; return code, stdout, stderr and peak RSS in bytes (None if unknown)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    command = [sys.executable, "-m", "servicecheck", *args]
    if not hasattr(os, "wait4"):  # pragma: no cover - Windows
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            code = subprocess.run(command, stdout=out, stderr=err, cwd=cwd, env=env, timeout=timeout,
                                  check=False).returncode
        return code, out_path.read_text("utf-8"), err_path.read_text("utf-8"), None
    try:
        code, rss = run_with_peak_rss(command, stdout=out_path, stderr=err_path, cwd=cwd, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"servicecheck {' '.join(args)} did not finish in {timeout} s (a hang)")
    return code, out_path.read_text("utf-8"), err_path.read_text("utf-8"), rss


def test_subprocess_6mb_turn_is_audited_in_bounded_memory(tmp_path: Path) -> None:
    big = huge_turn(tmp_path)
    code, _out, err, rss = _run_measured(
        ["audit", str(big), str(GOOD), "-f", "json", "-o", "report.json", "--fail-on", "never"], 120, tmp_path)
    assert code == 0, err
    assert not err.strip() and "Traceback" not in err
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert {c["id"] for c in report["conversations"]} == {"huge", GOOD_ID}
    if rss is not None:
        # Generous: the 6 MB turn costs ≈ 400-450 MB (its tokens, cold pack cache); a per-character blow-up would not fit.
        assert rss < 600 * MB, f"peak RSS {rss / MB:.0f} MB"


def test_subprocess_whole_corpus_folder(tmp_path: Path) -> None:
    """A folder of bad and good files: every readable conversation is reported, exit 3, no traceback."""
    code, out, err, _rss = _run_measured(["audit", str(CORPUS), "-f", "jsonl", "--fail-on", "never"], 120, tmp_path)
    assert code == 3, err
    assert "Traceback" not in err
    lines = _error_lines(err)
    for name in ("empty.json", "binary.json", "truncated.json", "wrong_types.json", "unknown_roles.json",
                 "unknown_roles.csv", "mixed.jsonl", "nul.txt", "bad_cue.vtt", "truncated.csv"):
        assert any(ln.startswith(f"servicecheck: {CORPUS / name}") for ln in lines), name
    ids = {json.loads(ln).get("id") for ln in out.splitlines() if ln.strip()}
    assert {GOOD_ID, "wt-ok", "c2", "ok-1", "ok-3", "ok-7", "bom_crlf.txt#1", "latin1.txt#1", "odd-text"} <= ids


def test_subprocess_lint_whole_corpus_folder(tmp_path: Path) -> None:
    """``lint`` over the same folder: a directive comment that made ``re`` backtrack for hours included."""
    code, out, err, _rss = _run_measured(["lint", str(CORPUS), "-f", "jsonl", "--fail-on", "never"], 60, tmp_path)
    assert code == 3, err
    assert "Traceback" not in err
    lines = _error_lines(err)
    for name in ("binary.md", "truncated.yaml", "empty.json"):
        assert any(ln.startswith(f"servicecheck: {CORPUS / name}") for ln in lines), name
    linted = {json.loads(ln)["path"] for ln in out.splitlines() if ln.strip() and '"type":"document"' in ln}
    assert {str(CORPUS / "good.md"), str(CORPUS / "backtracking_directive.md")} <= linted


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_subprocess_ascii_only_stdout_never_crashes(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard output that cannot encode « or 😀 (LC_ALL=C, a cp1252 console): text escapes, JSON is UTF-8."""
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")
    code, _out, err, _rss = _run_measured(["audit", str(CORPUS / "odd_text.json"), "-f", fmt], 60, tmp_path)
    assert code == 1, err
    assert "Traceback" not in err
    raw = (tmp_path / "stdout.txt").read_bytes()
    if fmt == "json":
        assert json.loads(raw.decode("utf-8"))["conversations"][0]["id"] == "odd-text"
    else:
        assert b"\\xab" in raw  # « written as an escape, not a crash


def test_subprocess_nasty_user_patterns_finish_on_adversarial_text(tmp_path: Path) -> None:
    """Catastrophic-backtracking shapes in a user pack run in linear time (RE2): no hang."""
    text = "a" * 300_000 + "! " + "a " * 150_000 + "x " * 100_000
    doc = {"id": "nasty", "language": "en", "turns": [{"speaker": "agent", "text": text}]}
    path = tmp_path / "nasty.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, _out, err, _rss = _run_measured(
        ["audit", str(path), "--no-default-pack", "--policies", str(CORPUS / "packs" / "nasty-patterns"),
         "-f", "json", "-o", "report.json", "--fail-on", "never"], 60, tmp_path)
    assert code == 0, err
    report: dict[str, Any] = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert [c["id"] for c in report["conversations"]] == ["nasty"]
