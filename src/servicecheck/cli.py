"""The Click command line: arguments -> api -> formatter -> exit code."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

import click

from servicecheck import __version__
from servicecheck.errors import ExitCode, PolicyError, ServicecheckError, UsageError
from servicecheck.model import InputProblem, Report, Result

FORMATS = ["text", "json", "jsonl", "sarif", "junit", "csv", "html", "github"]
INPUT_FORMATS = ["json", "jsonl", "text", "csv", "vtt", "srt", "aws", "ccai", "genesys", "hvb"]  # inputs.FORMATS


# ---------------------------------------------------------------- shared options


def _pack_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--policies",
        "policy_dirs",
        multiple=True,
        type=click.Path(file_okay=False, path_type=str),
        help="A policy pack folder (or a folder of packs) to add; a pack named like the default one replaces it. "
        "Repeatable.",
    )(f)
    f = click.option("--no-default-pack", is_flag=True, help="Do not load the default pack.")(f)
    return f


def _report_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(
        [
            click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                         help="Output format."),
            click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=str),
                         help="Write the report to FILE (atomically) instead of standard output."),
            click.option("--fail-on", type=click.Choice(["error", "warning", "suggestion", "never"]), default="error",
                         show_default=True, help="Exit 1 when a finding is at least this severe."),
            click.option("--min-score", type=click.FloatRange(0, 100), default=None,
                         help="Exit 1 when a conversation scores under N (0-100)."),
            click.option("--lang", type=click.Choice(["auto", "fr", "en"]), default="auto", show_default=True,
                         help="Language to match in; auto = the input's own, else detected."),
            click.option("--color/--no-color", default=None, help="Colour the text output (default: on a terminal)."),
        ]
    ):
        f = opt(f)
    return _pack_options(f)


def _load(policy_dirs: Iterable[str], no_default_pack: bool) -> Any:
    from servicecheck.policy.loader import load_policies

    return load_policies(list(policy_dirs), include_default=not no_default_pack)


@contextmanager
def _sink(output: str | None) -> Iterator[IO[str]]:
    """Standard output, or a temporary file renamed over ``output`` only when all went well."""
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(output)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _emit(
    items: Iterable[Result | InputProblem],
    policyset: Any,
    fmt: str,
    output: str | None,
    color: bool | None,
    fail_on: str,
    min_score: float | None,
) -> ExitCode:
    """Render a stream of results; ``jsonl`` streams, the others render the collected report."""
    from servicecheck import api
    from servicecheck.formatters import get

    formatter = get(fmt)
    use_color = bool(color) if color is not None else (output is None and sys.stdout.isatty())
    findings: list[Any] = []
    scores: list[float | None] = []
    errors = 0
    with _sink(output) as out:
        if formatter.streams:
            for item in items:
                if isinstance(item, InputProblem):
                    errors += 1
                    click.echo(f"servicecheck: {item}", err=True)
                    out.write(formatter.render_errors([item]))
                else:
                    findings.extend(item.findings)
                    scores.append(item.score)
                    out.write(formatter.render_result(item, color=use_color))
        else:
            report: Report = api.collect(_echo_errors(items), policyset)
            errors = len(report.errors)
            for r in (*report.conversations, *report.documents):
                findings.extend(r.findings)
                scores.append(r.score)
            out.write(formatter.render(report, color=use_color))
    return api.exit_code(findings, scores, errors, fail_on, min_score)


def _echo_errors(items: Iterable[Result | InputProblem]) -> Iterator[Result | InputProblem]:
    for item in items:
        if isinstance(item, InputProblem):
            click.echo(f"servicecheck: {item}", err=True)
        yield item


class _Group(click.Group):
    """Turns our errors into one line on stderr and the documented exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PolicyError as exc:
            for line in exc.problems:
                click.echo(f"servicecheck: {line}", err=True)
            ctx.exit(ExitCode.USAGE)
        except ServicecheckError as exc:
            click.echo(f"servicecheck: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="servicecheck")
def main() -> None:
    """Check customer-service conversations and agent scripts against written service policies.

    \b
    Exit codes: 0 clean; 1 findings at or above --fail-on, or a score under --min-score;
    2 usage, config or policy error (nothing audited); 3 some inputs could not be read
    (the rest were audited and reported).
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@_report_options
@click.option("--input-format", type=click.Choice(INPUT_FORMATS), default=None,
              help="Force the transcript format (default: from extension and content).")
@click.option("--agent-speaker", default=None, help="For inputs without roles (plain Transcribe): the agent's label, "
              "e.g. spk_1.")
@click.pass_context
def audit(ctx: click.Context, paths: tuple[str, ...], fmt: str, output: str | None, fail_on: str,
          min_score: float | None, lang: str, color: bool | None, policy_dirs: tuple[str, ...],
          no_default_pack: bool, input_format: str | None, agent_speaker: str | None) -> None:
    """Audit call and chat transcripts (files, or - for standard input)."""
    from servicecheck import api

    policyset = _load(policy_dirs, no_default_pack)
    items = api.audit(paths, policyset, language=None if lang == "auto" else lang, input_format=input_format,
                      agent_speaker=agent_speaker)
    ctx.exit(_emit(items, policyset, fmt, output, color, fail_on, min_score))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@_report_options
@click.pass_context
def lint(ctx: click.Context, paths: tuple[str, ...], fmt: str, output: str | None, fail_on: str,
         min_score: float | None, lang: str, color: bool | None, policy_dirs: tuple[str, ...],
         no_default_pack: bool) -> None:
    """Lint agent scripts, macros and response templates (.txt, .md, .yaml, .json); quiet on success."""
    from servicecheck import api

    policyset = _load(policy_dirs, no_default_pack)
    items = api.lint(paths, policyset, language=None if lang == "auto" else lang)
    ctx.exit(_emit(items, policyset, fmt, output, color, fail_on, min_score))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--explain", is_flag=True, help="Show which pattern of which signal matched each turn.")
@click.option("--lang", type=click.Choice(["auto", "fr", "en"]), default="auto", show_default=True)
@click.option("--input-format", type=click.Choice(INPUT_FORMATS), default=None)
@_pack_options
@click.pass_context
def annotate(ctx: click.Context, paths: tuple[str, ...], fmt: str, explain: bool, lang: str,
             input_format: str | None, policy_dirs: tuple[str, ...], no_default_pack: bool) -> None:
    """Show the signals found in every turn (to debug and tune lexicons)."""
    from servicecheck import api

    policyset = _load(policy_dirs, no_default_pack)
    auditor = api.Auditor(policyset, None if lang == "auto" else lang)
    errors = 0
    for item in api.annotate(paths, policyset, input_format=input_format, auditor=auditor):
        if isinstance(item, InputProblem):
            errors += 1
            click.echo(f"servicecheck: {item}", err=True)
            continue
        conv, hits = item
        explained = (
            [auditor.matcher.explain(t.text, t.speaker, conv.language, conv.kind) for t in conv.turns]
            if explain else None
        )
        if fmt == "jsonl":
            turns = []
            for i, (t, h) in enumerate(zip(conv.turns, hits)):
                row: dict[str, Any] = {"turn": t.number, "speaker": t.speaker, "signals": sorted(h)}
                if explained is not None:
                    row["matches"] = [{"signal": x.signal, "pattern": x.pattern, "language": x.language,
                                       "text": t.text[x.start:x.end], "start": x.start, "end": x.end}
                                      for x in explained[i]]
                turns.append(row)
            click.echo(json.dumps({"id": conv.id, "language": conv.language, "turns": turns}, ensure_ascii=False))
        else:
            click.echo(click.style(f"{conv.source}  {conv.id}  [{conv.language or '?'}]", bold=True))
            for i, (t, h) in enumerate(zip(conv.turns, hits)):
                tags = " ".join(sorted(h)) or "-"
                click.echo(f"  {t.number:>3} {t.speaker:<8} {tags:<28} {t.text[:100]}")
                for x in (explained[i] if explained is not None else []):
                    click.echo(f"        {x.signal}: «{t.text[x.start:x.end]}» by pattern {x.pattern!r} [{x.language}]")
    ctx.exit(ExitCode.UNREADABLE if errors else ExitCode.OK)


@main.group()
def policies() -> None:
    """List, show, validate and test policy packs."""


@policies.command("list")
@_pack_options
def policies_list(policy_dirs: tuple[str, ...], no_default_pack: bool) -> None:
    """List the policies in force."""
    policyset = _load(policy_dirs, no_default_pack)
    for p in policyset.policies:
        targets = ",".join(p.applies_to)
        click.echo(f"{p.id:<48} {p.kind:<9} {str(p.severity):<10} w={p.weight:g} [{targets}]  {p.title}")


@policies.command("show")
@click.argument("ident")
@_pack_options
def policies_show(ident: str, policy_dirs: tuple[str, ...], no_default_pack: bool) -> None:
    """Print one policy's file."""
    policyset = _load(policy_dirs, no_default_pack)
    try:
        policy = policyset.get(ident)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    click.echo(f"# {policy.path}")
    click.echo(Path(policy.path).read_text(encoding="utf-8"), nl=False)


@policies.command("validate")
@click.argument("dirs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=str))
def policies_validate(dirs: tuple[str, ...]) -> None:
    """Validate packs (default: the default pack); exit 2 with every error if one is invalid."""
    policyset = _load(dirs, no_default_pack=False)  # user packs may use the default pack's signals
    click.echo(f"ok: {len(policyset.policies)} policies, {len(policyset.signals)} signals in "
               + ", ".join(p.name for p in policyset.packs))


@policies.command("test")
@click.argument("dirs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--verbose", "-v", is_flag=True, help="List every example, not only failures.")
@click.pass_context
def policies_test(ctx: click.Context, dirs: tuple[str, ...], verbose: bool) -> None:
    """Run every policy's pass/fail examples and every signal's match/no-match examples."""
    from servicecheck.testing import run_pack_examples

    from servicecheck.policy.loader import find_packs

    policyset = _load(dirs, no_default_pack=False)
    names = None
    if dirs:
        from servicecheck.yamlsource import load as load_yaml

        names = [load_yaml((p / "pack.yaml").read_text(encoding="utf-8")).data["name"]
                 for d in dirs for p in find_packs(Path(d))]
    passed = failed = 0
    for case in run_pack_examples(policyset, names):
        if case.ok:
            passed += 1
            if verbose:
                click.echo(f"ok   {case.name}")
        else:
            failed += 1
            click.echo(f"FAIL {case.name}: {case.why}")
    click.echo(f"{passed} passed, {failed} failed")
    ctx.exit(ExitCode.FINDINGS if failed else ExitCode.OK)


@policies.command("schema")
@click.argument("which", type=click.Choice(["policy", "signal", "pack", "lexicon"]), default="policy")
def policies_schema(which: str) -> None:
    """Print a pack file JSON Schema (for editors)."""
    from servicecheck.policy.schema import published

    click.echo(json.dumps(published(which), indent=2, ensure_ascii=False))


@main.command()
@click.argument("ident")
@_pack_options
def explain(ident: str, policy_dirs: tuple[str, ...], no_default_pack: bool) -> None:
    """Explain one policy: rationale, parameters and examples."""
    import yaml

    policyset = _load(policy_dirs, no_default_pack)
    try:
        p = policyset.get(ident)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    click.echo(click.style(f"{p.id} — {p.title}", bold=True))
    click.echo(f"kind: {p.kind}   severity: {p.severity}   weight: {p.weight:g}"
               f"{'   critical' if p.critical else ''}   applies to: {', '.join(p.applies_to)}")
    if p.rationale:
        click.echo(f"\n{p.rationale.strip()}")
    click.echo("\nrule:")
    click.echo("  " + yaml.safe_dump(p.rule, allow_unicode=True, sort_keys=False).strip().replace("\n", "\n  "))
    for sig in sorted({s for s in p.signal_speakers}):
        d = policyset.signals[sig]
        click.echo(f"\nsignal {sig} ({d.speaker}): {d.description.strip()}")
    click.echo(f"\nmessage: {p.message}")
    for kind in ("fail", "pass"):
        for ex in p.examples.get(kind, []):
            text = ex if isinstance(ex, str) else ex["text"]
            click.echo(f"\n{kind} example:\n  " + text.strip().replace("\n", "\n  "))
    if p.link:
        click.echo(f"\nmore: {p.link}")
    click.echo(f"\nfile: {p.path}")


if __name__ == "__main__":  # pragma: no cover
    main()
