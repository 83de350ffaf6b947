"""The progress line: only on a terminal, never in pipes, CI or with --quiet; erased when done."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from servicecheck import progress
from servicecheck.cli import main
from servicecheck.errors import ExitCode

DEMO = Path(__file__).resolve().parent / "data" / "demo-pack"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "env", "quiet", "expected"),
    [
        (True, {}, False, True),
        (False, {}, False, False),  # a pipe or a file
        (True, {"CI": "true"}, False, False),
        (True, {"CI": "1"}, False, False),
        (True, {"CI": "false"}, False, True),
        (True, {"CI": ""}, False, True),
        (True, {"TERM": "dumb"}, False, False),
        (True, {}, True, False),  # --quiet
    ],
)
def test_wanted(tty: bool, env: dict[str, str], quiet: bool, expected: bool) -> None:
    stream = Tty() if tty else io.StringIO()
    assert progress.wanted(stream, env, quiet) is expected


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_draws_after_a_delay_and_erases_itself() -> None:
    out, clock = Tty(), Clock()
    bar = progress.Progress(out, 4, "auditing", True, clock)
    files = bar.over_files(["a", "b", "c", "d"])
    next(files)
    next(files)  # one file done, but the run is young: nothing yet
    assert out.getvalue() == ""
    clock.now = 2.0
    list(bar.over_results([1, 2, 3]))
    assert out.getvalue().startswith("\rauditing [#####---------------] 1/4 files, 1 results")
    for _ in files:
        clock.now += 1
    assert bar.line() == "auditing [####################] 4/4 files, 3 results"
    bar.close()
    assert out.getvalue().endswith("\r" + " " * len(bar.line()) + "\r")


def test_disabled_progress_writes_nothing() -> None:
    out, clock = Tty(), Clock()
    bar = progress.Progress(out, 2, "linting", False, clock)
    clock.now = 10
    assert list(bar.over_results(bar.over_files(["a", "b"]))) == ["a", "b"]
    bar.close()
    assert out.getvalue() == ""


def test_redraws_are_throttled() -> None:
    out, clock = Tty(), Clock()
    bar = progress.Progress(out, None, "auditing", True, clock)
    clock.now = 1.0
    list(bar.over_results(range(1000)))  # the clock stands still: one draw
    assert out.getvalue().count("\r") == 1
    assert "0 files, 1 results" in out.getvalue()


def test_the_cli_draws_nothing_in_a_pipe(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    for i in range(3):
        (calls / f"c{i}.txt").write_text("Customer: Hi.\nAgent: Thanks, done.\n")
    result = CliRunner().invoke(main, ["audit", str(calls), "--no-config", "--no-default-pack", "--policies", str(DEMO)])
    assert result.exit_code == ExitCode.OK
    assert "\r" not in result.stderr and "files" not in result.stderr


def test_the_cli_on_a_terminal_draws_on_stderr_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = tmp_path / "calls"
    calls.mkdir()
    for i in range(3):
        (calls / f"c{i}.txt").write_text("Customer: Hi.\nAgent: Not my department.\n")
    monkeypatch.setattr(progress, "wanted", lambda *args, **kwargs: True)
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    monkeypatch.setattr(progress, "REDRAW_S", 0.0)
    args = ["audit", str(calls), "--no-config", "--no-default-pack", "--policies", str(DEMO), "-f", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == ExitCode.FINDINGS
    assert "\rauditing [" in result.stderr and "3/3 files, 3 results" in result.stderr
    assert result.stderr.endswith("\r")  # erased before the report
    assert result.stdout.startswith("{")
