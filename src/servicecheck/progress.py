"""A progress line on standard error for long runs on a terminal (never in pipes, CI or --quiet)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, TypeVar

T = TypeVar("T")

# A run that ends before this shows nothing: short lints stay silent, as pre-commit wants.
DELAY_S = 0.5
REDRAW_S = 0.1
_FALSE = ("", "0", "false", "no")


def wanted(stream: IO[str], env: Mapping[str, str] | None = None, quiet: bool = False) -> bool:
    """True when a progress line may be drawn on ``stream``.

    Not with ``--quiet``, not when ``CI`` is set (GitHub Actions, GitLab, Travis and
    most runners set it), not on a dumb terminal, and only when ``stream`` is a terminal.
    """
    env = os.environ if env is None else env
    if quiet or env.get("CI", "").strip().lower() not in _FALSE or env.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or fake stream
        return False


class Progress:
    """Counts files and results and redraws one line: ``auditing [####------] 12/40 files, 350 results``.

    Args:
        stream: where to draw (standard error).
        total: the number of files, when known.
        label: the verb shown first (``auditing``, ``linting``).
        enabled: draw at all; when false every method is a cheap pass-through.
        clock: the time source (tests pass a fake one).
    """

    def __init__(self, stream: IO[str], total: int | None, label: str, enabled: bool,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.total = total
        self.label = label
        self.enabled = enabled
        self.clock = clock
        self.files = 0
        self.results = 0
        self._start = clock()
        self._drawn_at: float | None = None
        self._width = 0

    def line(self) -> str:
        """The text of the progress line."""
        parts = [self.label]
        if self.total:
            filled = int(20 * min(self.files, self.total) / self.total)
            parts.append(f"[{'#' * filled}{'-' * (20 - filled)}] {self.files}/{self.total} files")
        else:
            parts.append(f"{self.files} files")
        return " ".join(parts) + f", {self.results} results"

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self._start < DELAY_S and not force:
            return
        if not force and self._drawn_at is not None and now - self._drawn_at < REDRAW_S:
            return
        text = self.line()
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)
        self._drawn_at = now

    def over_files(self, paths: Iterable[T]) -> Iterator[T]:
        """Yield ``paths``, counting one file done each time the next one is asked for."""
        for path in paths:
            yield path
            self.files += 1
            self._draw()

    def over_results(self, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items``, counting each (a block of rendered results, ``--jobs``, counts its ``results``)."""
        for item in items:
            self.results += getattr(item, "results", 1)
            self._draw()
            yield item

    def close(self) -> None:
        """Erase the line, if one was drawn."""
        if self.enabled and self._drawn_at is not None:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._drawn_at = None
