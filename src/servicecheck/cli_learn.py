"""The ``evaluate`` and ``train`` commands: measure a pack on labelled conversations, and retrain its detectors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from servicecheck.errors import ExitCode, UsageError

_INPUT_FORMATS = ["json", "jsonl", "text", "csv", "vtt", "srt", "aws", "ccai", "genesys", "hvb"]


def _policy_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--policies", "policy_dirs", multiple=True, type=click.Path(file_okay=False, path_type=str),
                     help="A policy pack folder to use; a pack named like the default one (e.g. the output of "
                     "`servicecheck train`) replaces it. Repeatable.")(f)
    f = click.option("--no-default-pack", is_flag=True, help="Do not load the default pack.")(f)
    f = click.option("--lang", type=click.Choice(["auto", "fr", "en"]), default="auto", show_default=True)(f)
    f = click.option("--input-format", type=click.Choice(_INPUT_FORMATS), default=None,
                     help="Force the input format (default: from the extension and the content).")(f)
    f = click.option("--labels", "labels", required=True, type=click.Path(exists=True, dir_okay=False, path_type=str),
                     help="Labels: one JSON line per conversation, {\"id\", \"turns\": [[TAG, ...], ...]} "
                     "(LABELING.md).")(f)
    return f


def _load(policy_dirs: tuple[str, ...], no_default_pack: bool) -> Any:
    from servicecheck.policy.cache import load_policies_cached

    return load_policies_cached(list(policy_dirs), include_default=not no_default_pack)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@_policy_options
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--show", type=click.IntRange(min=0), default=0, show_default=True,
              help="List up to N misses and false alarms under each row (text format).")
@click.pass_context
def evaluate(ctx: click.Context, paths: tuple[str, ...], labels: str, policy_dirs: tuple[str, ...],
             no_default_pack: bool, lang: str, input_format: str | None, fmt: str, show: int) -> None:
    """Score detection against labelled conversations: precision, recall, F1 per signal and per policy.

    \b
    Signals are scored turn by turn; policy outcomes are derived from the labels
    as LABELING.md says, and compared with the findings the pack reports.
    macro-F1 averages the tags present in the labels, and the policies with an
    expected or reported finding.
    Example: servicecheck evaluate calls.jsonl --labels calls.labels.jsonl
    """
    from servicecheck.evaluate import evaluate as run
    from servicecheck.evaluate import render_text

    policyset = _load(policy_dirs, no_default_pack)
    ev = run(paths, labels, policyset, language=None if lang == "auto" else lang, input_format=input_format)
    for problem in ev.problems:
        click.echo(f"servicecheck: {problem}", err=True)
    if ev.conversations == 0:
        raise UsageError(f"{labels}: no conversation of the inputs has labels here (ids must match)")
    if fmt == "json":
        click.echo(json.dumps(ev.to_dict(), indent=1, ensure_ascii=False))
    else:
        click.echo(render_text(ev, show), nl=False)
    ctx.exit(ExitCode.UNREADABLE if ev.problems else ExitCode.OK)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@_policy_options
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False, path_type=str),
              help="The pack folder to write (new or empty).")
@click.option("--base", "base", type=click.Path(exists=True, file_okay=False, path_type=str), default=None,
              help="The pack to retrain (default: the shipped service-standards pack, or the one --policies gives).")
@click.option("--weight", type=click.IntRange(min=1), default=None,
              help="How many shipped training turns one of these labelled turns is worth  [default: 8].")
@click.pass_context
def train(ctx: click.Context, paths: tuple[str, ...], labels: str, policy_dirs: tuple[str, ...],
          no_default_pack: bool, lang: str, input_format: str | None, output: str, base: str | None,
          weight: int | None) -> None:
    """Retrain the pack's detectors on its shipped training data plus these labelled conversations.

    \b
    Writes a copy of the base pack to --output with new model files and thresholds
    (chosen out of fold; a model that adds under 0.005 F1 to the patterns is switched off)
    in the languages of these conversations; other languages keep the base's detectors.
    Use it with --policies OUTPUT: it has the base pack's name, so it replaces it.
    Example: servicecheck train calls.jsonl --labels calls.labels.jsonl -o my-pack
    """
    from servicecheck.policy.loader import default_pack_root, find_packs
    from servicecheck.train import DEFAULT_WEIGHT
    from servicecheck.train import train as run

    policyset = _load(policy_dirs, no_default_pack)
    if base is None:
        candidates = [p for d in policy_dirs for p in find_packs(Path(d))] or find_packs(default_pack_root())
        if len(candidates) != 1:
            raise UsageError("several packs are loaded: name the one to retrain with --base")
        base = str(candidates[0])
    reports, problems, count = run(paths, labels, output, policyset, base, weight=weight or DEFAULT_WEIGHT,
                                   language=None if lang == "auto" else lang, input_format=input_format)
    for problem in problems:
        click.echo(f"servicecheck: {problem}", err=True)
    click.echo(f"trained on {count} new labelled turns; wrote {output}")
    click.echo(f"{'signal':<28} {'lang':<4} {'turns':>6} {'pos':>5} {'F1 patterns':>12} {'F1 +model':>10}  threshold")
    for r in reports:
        state = f"{r.threshold:.2f}" if r.threshold is not None else "off"
        click.echo(f"{r.label:<28} {r.language:<4} {r.turns:>6} {r.positives:>5} {r.f1_patterns:>12.3f} "
                   f"{r.f1_combined:>10.3f}  {state}")
    ctx.exit(ExitCode.UNREADABLE if problems else ExitCode.OK)
