"""Exit codes and the errors that carry a location to the user."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit codes (SPEC section 6)."""

    OK = 0
    FINDINGS = 1  # findings at or above --fail-on, or a score under --min-score
    USAGE = 2  # usage, config or policy error: nothing was audited
    UNREADABLE = 3  # some inputs could not be read; the rest were audited


def did_you_mean(word: str, candidates: object) -> str:
    """``did you mean 'x'? `` for a misspelt name close to one of ``candidates`` (difflib), else ``""``."""
    import difflib

    names = [str(c) for c in candidates] if isinstance(candidates, (list, tuple, set, frozenset, dict)) else []
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


class ServicecheckError(Exception):
    """Base class: every error the user may see, as one line."""

    exit_code = ExitCode.USAGE


class UsageError(ServicecheckError):
    """A bad command line or project configuration."""


class PolicyError(ServicecheckError):
    """A policy pack that cannot be used; ``problems`` holds one line per error."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class InputError(ServicecheckError):
    """An input file (or part of one) that cannot be read."""

    exit_code = ExitCode.UNREADABLE

    def __init__(self, path: str, message: str, line: int | None = None, column: int | None = None) -> None:
        where = path + (f":{line}" if line is not None else "") + (f":{column}" if line is not None and column is not None else "")
        super().__init__(f"{where}: {message}")
        self.path = path
        self.message = message
        self.line = line
        self.column = column


class EngineError(ServicecheckError):
    """An error raised inside the rules engine (never swallowed)."""

    exit_code = ExitCode.USAGE
