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

from servicecheck.errors import UsageError
from servicecheck.formatters.base import BaseFormatter, Formatter
from servicecheck.formatters.csv import CsvFormatter
from servicecheck.formatters.github import GithubFormatter
from servicecheck.formatters.html import HtmlFormatter
from servicecheck.formatters.json import JsonFormatter, JsonlFormatter
from servicecheck.formatters.junit import JunitFormatter
from servicecheck.formatters.sarif import SarifFormatter
from servicecheck.formatters.text import TextFormatter

__all__ = ["FORMATTERS", "BaseFormatter", "Formatter", "get", "register"]

FORMATTERS: dict[str, Formatter] = {}


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


for _formatter in (
    TextFormatter(),
    JsonFormatter(),
    JsonlFormatter(),
    SarifFormatter(),
    JunitFormatter(),
    CsvFormatter(),
    GithubFormatter(),
    HtmlFormatter(),
):
    register(_formatter)
del _formatter
