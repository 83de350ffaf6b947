"""The CLI options that shape a collected report: ``--group-by``, ``--ui-lang`` and ``--bom``.

Kept out of ``cli.py`` (which stays a thin translation of arguments): the options store
their values in the Click context, and :func:`collect_options` / :func:`preamble` hand
them to ``api.collect`` and to the output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

_META = "servicecheck.view."
BOM = "\ufeff"
BOM_FORMATS = ("csv", "csv-findings")


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        ctx.meta[_META + name] = value
        return value

    return callback


def view_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--group-by``, ``--ui-lang`` and ``--bom`` to a reporting command."""
    f = click.option("--bom", is_flag=True, expose_value=False, callback=_store("bom"),
                     help="Start csv and csv-findings output with a UTF-8 byte-order mark, so that Excel "
                     "shows accented text right when the file is opened by double-click.")(f)
    f = click.option("--ui-lang", type=click.Choice(["fr", "en"]), default=None, expose_value=False,
                     callback=_store("ui_lang"),
                     help="Language of the report's headings and labels (default: the inputs' majority "
                     "language); findings are always worded in their conversation's language.")(f)
    f = click.option("--group-by", "group_by", multiple=True, metavar="KEY", expose_value=False,
                     callback=_store("group_by"),
                     help="Roll the results up by this metadata key (agent, team, queue...) in text, json, "
                     "csv and html. Repeatable.")(f)
    return f


def collect_options() -> dict[str, Any]:
    """The keyword arguments of ``api.collect`` the running command was given."""
    meta = click.get_current_context().meta
    return {"group_by": tuple(meta.get(_META + "group_by") or ()), "ui_language": meta.get(_META + "ui_lang")}


def preamble(fmt: str) -> str:
    """What goes before the report: a byte-order mark for spreadsheet formats under ``--bom``."""
    return BOM if fmt in BOM_FORMATS and click.get_current_context().meta.get(_META + "bom") else ""
