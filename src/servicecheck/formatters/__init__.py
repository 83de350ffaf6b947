"""The registry of output formatters (SPEC section 7): name -> Formatter.

Usage::

    from servicecheck.formatters import get
    fmt = get("json")
    click.echo(fmt.render(report), nl=False)

Streaming formatters (``fmt.streams``, i.e. ``jsonl``) are instead fed one
result at a time with ``render_result`` and the unreadable inputs with
``render_errors``.  Every method returns text that ends with a newline, or
``""`` when there is nothing to print (``text`` and ``github`` on a clean lint).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

from servicecheck.errors import UsageError
from servicecheck.formatters.base import BaseFormatter, Formatter

__all__ = ["FORMATTERS", "BaseFormatter", "Formatter", "get", "register"]

# The built-in formatters, in registry order: name -> (module, class). A module is
# imported the first time its formatter is looked up, so a run pays only for the
# format it prints (``lint`` start-up matters to pre-commit hooks).
_BUILTIN: dict[str, tuple[str, str]] = {
    "text": ("servicecheck.formatters.text", "TextFormatter"),
    "json": ("servicecheck.formatters.json", "JsonFormatter"),
    "jsonl": ("servicecheck.formatters.json", "JsonlFormatter"),
    "sarif": ("servicecheck.formatters.sarif", "SarifFormatter"),
    "junit": ("servicecheck.formatters.junit", "JunitFormatter"),
    "csv": ("servicecheck.formatters.csv", "CsvFormatter"),
    "github": ("servicecheck.formatters.github", "GithubFormatter"),
    "html": ("servicecheck.formatters.html", "HtmlFormatter"),
    "csv-findings": ("servicecheck.formatters.csv_findings", "CsvFindingsFormatter"),
}


class _Registry(MutableMapping[str, Formatter]):
    """A name -> Formatter mapping whose built-in entries are imported on first access."""

    def __init__(self, lazy: dict[str, tuple[str, str]]) -> None:
        self._lazy = dict(lazy)
        self._loaded: dict[str, Formatter] = {}
        self._order: list[str] = list(lazy)

    def __getitem__(self, name: str) -> Formatter:
        found = self._loaded.get(name)
        if found is not None:
            return found
        spec = self._lazy.get(name)
        if spec is None:
            raise KeyError(name)
        formatter = getattr(importlib.import_module(spec[0]), spec[1])()
        self._loaded[name] = formatter
        del self._lazy[name]
        return formatter

    def __setitem__(self, name: str, formatter: Formatter) -> None:
        if name not in self._order:
            self._order.append(name)
        self._lazy.pop(name, None)
        self._loaded[name] = formatter

    def __delitem__(self, name: str) -> None:
        if name not in self._order:
            raise KeyError(name)
        self._order.remove(name)
        self._lazy.pop(name, None)
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._lazy or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __repr__(self) -> str:
        return f"<formatters {', '.join(self._order)}>"


FORMATTERS: MutableMapping[str, Formatter] = _Registry(_BUILTIN)


def register(formatter: Formatter) -> Formatter:
    """Add a formatter under its ``name``.

    Args:
        formatter: an object satisfying the Formatter protocol.

    Returns:
        The formatter, so that registration can be chained.

    Raises:
        ValueError: a formatter with that name is already registered.
    """
    if formatter.name in FORMATTERS:
        raise ValueError(f"duplicate formatter name {formatter.name!r}")
    FORMATTERS[formatter.name] = formatter
    return formatter


def get(name: str) -> Formatter:
    """Return the formatter called ``name``.

    Raises:
        UsageError: no formatter has that name (the message lists the known ones).
    """
    try:
        return FORMATTERS[name]
    except KeyError:
        known = ", ".join(FORMATTERS)
        raise UsageError(f"unknown output format {name!r}; choose from {known}") from None
