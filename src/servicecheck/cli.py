"""The Click command line: arguments -> api -> formatter -> exit code."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from servicecheck import __version__
from servicecheck.cli_report import collect_options, preamble, view_options
from servicecheck.errors import ExitCode, PolicyError, ServicecheckError, UsageError
from servicecheck.model import InputProblem, Report, Result

FORMATS = ["text", "json", "jsonl", "sarif", "junit", "csv", "github", "html", "csv-findings"]
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
    return _config_options(f)


# Project configuration (servicecheck.config): two eager options, processed before all
# others, load the file and hand its values to Click as the command's default_map, so
# any flag given on the command line wins over the configuration.
_CONFIG = "servicecheck.config"


def _config_callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    seen = ctx.meta.setdefault("servicecheck.config-args", {})
    seen[param.name] = value
    if len(seen) < 2:
        return  # the other option comes next
    if seen["no_config"] and seen["config_file"]:
        raise click.UsageError("--config and --no-config cannot be used together", ctx)
    if seen["no_config"]:
        ctx.meta[_CONFIG] = None
        return
    from servicecheck import config

    cfg = config.load_config(seen["config_file"]) if seen["config_file"] else config.discover()
    ctx.meta[_CONFIG] = cfg
    if cfg is not None:
        params = {p.name: p for p in ctx.command.params}
        keys = {param: key for key, param in config.CLI_NAMES.items()}
        defaults = {}
        for name, setting in cfg.cli_defaults().items():
            kind = params[name].type if name in params else None
            if isinstance(kind, click.Choice) and setting not in kind.choices:
                if name == "fmt":
                    continue  # annotate's --format is text|jsonl: a report format is not for it
                raise config.ConfigError([(f"{cfg.where(keys[name])}: {setting!r} is not accepted by "
                                          f"'{ctx.command_path}' (one of: {', '.join(map(str, kind.choices))})")])
            if kind is not None:
                defaults[name] = setting
        ctx.default_map = {**defaults, **(ctx.default_map or {})}


def _config_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--no-config", is_flag=True, is_eager=True, expose_value=False, callback=_config_callback,
                     help="Ignore project configuration files.")(f)
    f = click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=str),
                     is_eager=True, expose_value=False, callback=_config_callback,
                     help="Project configuration file (default: .servicecheck.yaml or [tool.servicecheck] in "
                     "pyproject.toml, found upward from the working directory).")(f)
    return f


def _config() -> Any:
    """The project configuration of the running command, or None."""
    return click.get_current_context().meta.get(_CONFIG)


def _store(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if key == "baseline" and value:
            from servicecheck.baseline import load_baseline

            value = load_baseline(value)  # a bad baseline is a usage error before anything runs
        ctx.meta["servicecheck." + key] = value
        return value

    return callback


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
            click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=str),
                         expose_value=False, callback=_store("baseline"),
                         help="Drop the findings recorded in FILE (see --write-baseline): report only new ones."),
            click.option("--write-baseline", type=click.Path(dir_okay=False, path_type=str), expose_value=False,
                         callback=_store("write_baseline"),
                         help="Record every current finding in FILE, then treat them as known."),
            click.option("--quiet", "-q", is_flag=True, expose_value=False, callback=_store("quiet"),
                         help="No progress line or notes on standard error (errors are still shown)."),
        ]
    ):
        f = opt(f)
    return _pack_options(view_options(f))


def _load(policy_dirs: Iterable[str], no_default_pack: bool) -> Any:
    # The validated pack is cached by content (servicecheck.policy.cache): most of a
    # short run's start-up is YAML parsing and schema validation.
    from servicecheck.policy.cache import load_policies_cached

    policyset = load_policies_cached(list(policy_dirs), include_default=not no_default_pack)
    cfg = _config()
    return cfg.apply(policyset) if cfg is not None else policyset


def _skipped(path: str, why: str) -> None:
    click.echo(f"servicecheck: skipped {path}: {why}", err=True)


def _files(paths: Iterable[str], what: str, label: str) -> Iterator[str]:
    """The input files (each file a folder walk skips named on stderr), counted by a progress line on a terminal."""
    from servicecheck import api, progress

    meta = click.get_current_context().meta
    quiet = bool(meta.get("servicecheck.quiet"))
    files = list(api.expand_paths(paths, what, None if quiet else _skipped))
    bar = progress.Progress(sys.stderr, len(files), label, progress.wanted(sys.stderr, quiet=quiet))
    meta["servicecheck.progress"] = bar
    return bar.over_files(files)


def _integrations(items: Iterable[Result | InputProblem], streams: bool, output: str | None
                  ) -> Iterator[Result | InputProblem]:
    """The result stream through the baseline (servicecheck.baseline) and the progress line."""
    from servicecheck import baseline

    meta = click.get_current_context().meta
    bar = meta.get("servicecheck.progress")
    if bar is not None:
        if streams and output is None and sys.stdout.isatty():
            bar.enabled = False  # redrawing would tear the lines streamed to the same terminal
        items = bar.over_results(items)
    known, target = meta.get("servicecheck.baseline"), meta.get("servicecheck.write_baseline")
    record: list[dict[str, str]] | None = [] if target else None
    for item in baseline.apply(items, known, record):
        if bar is not None and isinstance(item, InputProblem):
            bar.close()  # the error line is printed next; the bar comes back after it
        yield item
    if bar is not None:
        bar.close()
    quiet = meta.get("servicecheck.quiet")
    if record is not None:
        count = baseline.write_baseline(str(target), record)
        if not quiet:
            click.echo(f"servicecheck: wrote {count} known finding(s) to {target}", err=True)
    if known is not None and known.matched and not quiet:
        click.echo(f"servicecheck: {known.matched} known finding(s) hidden by the baseline {known.path}", err=True)


def _reconfigure_stdout(**settings: str) -> None:
    reconfigure = getattr(sys.stdout, "reconfigure", None)  # a TextIOWrapper; test runners may differ
    if reconfigure is not None:
        try:
            reconfigure(**settings)
        except (ValueError, OSError, LookupError):  # pragma: no cover - a stream that cannot change
            pass


@contextmanager
def _sink(output: str | None, utf8: bool = False) -> Iterator[IO[str]]:
    """Standard output, or a temporary file renamed over ``output`` only when all went well.

    ``utf8``: a machine-read format (JSON, SARIF, XML, CSV, HTML) goes to standard output
    as UTF-8 whatever the locale (``LC_ALL=C`` would make it ASCII, and the report unwritable).
    """
    if output is None:
        if utf8 and not (getattr(sys.stdout, "encoding", None) or "utf-8").lower().replace("_", "-").startswith("utf"):
            _reconfigure_stdout(encoding="utf-8")
        yield sys.stdout
        sys.stdout.flush()
        return
    import tempfile  # only for --output

    target = Path(output)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path("."))
    except OSError as err:  # a missing or read-only folder: a usage error, before anything is audited
        raise UsageError(f"cannot write {output}: {err.strerror or err}") from None
    try:
        # mkstemp makes the file private (0600); a report gets the mode a plain open() would give
        # it (or keeps the mode of the report it replaces), so CI artefacts stay readable.
        try:
            mode = target.stat().st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
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
    items = _integrations(items, formatter.streams, output)
    use_color = bool(color) if color is not None else (output is None and sys.stdout.isatty())
    findings: list[Any] = []
    scores: list[float | None] = []
    errors = 0
    with _sink(output, utf8=fmt != "text") as out:
        if formatter.streams:
            for item in items:
                if isinstance(item, InputProblem):
                    errors += 1
                    click.echo(f"servicecheck: {item}", err=True)
                    out.write(formatter.render_errors([item]))
                else:
                    # Streaming keeps memory flat: only what the exit code needs is kept,
                    # the most severe finding so far and the lowest score so far.
                    findings = [max((*findings, *item.findings), key=lambda f: f.severity)] if (
                        findings or item.findings) else []
                    scores = [min((s for s in (*scores, item.score) if s is not None), default=None)]
                    rendered = getattr(item, "rendered", None)  # rendered by a --jobs worker already
                    out.write(rendered if rendered is not None else formatter.render_result(item, color=use_color))
        else:
            report: Report = api.collect(_echo_errors(items), policyset, **collect_options())
            errors = len(report.errors)
            for r in (*report.conversations, *report.documents):
                findings.extend(r.findings)
                scores.append(r.score)
            out.write(preamble(fmt) + formatter.render(report, color=use_color))
    return api.exit_code(findings, scores, errors, fail_on, min_score)


def _echo_errors(items: Iterable[Result | InputProblem]) -> Iterator[Result | InputProblem]:
    for item in items:
        if isinstance(item, InputProblem):
            click.echo(f"servicecheck: {item}", err=True)
        yield item


# Sub-commands of other modules (name -> module:attribute), imported only when used: a ``lint``
# of one file does not import the language server or the learning commands.
_LAZY_COMMANDS = {
    "evaluate": "servicecheck.cli_learn:evaluate",
    "train": "servicecheck.cli_learn:train",
    "lsp": "servicecheck.lsp:lsp_command",  # the language server's body is servicecheck.lsp
}


class _Group(click.Group):
    """Turns our errors into one line on stderr and the documented exit code, never a traceback.

    The sub-commands of :data:`_LAZY_COMMANDS` are imported only when named or listed (``--help``).
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS and cmd_name not in self.commands:
            module, _, attribute = _LAZY_COMMANDS[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        if getattr(sys.stdout, "errors", None) in ("strict", "surrogateescape"):
            # A terminal or pipe that cannot show every character (ASCII under LC_ALL=C, a cp1252
            # console) prints an emoji of a turn as an escape, never raises UnicodeEncodeError.
            _reconfigure_stdout(errors="backslashreplace")
        try:
            return super().invoke(ctx)
        except PolicyError as exc:
            for line in exc.problems:
                click.echo(f"servicecheck: {line}", err=True)
            ctx.exit(ExitCode.USAGE)
        except ServicecheckError as exc:
            for line in getattr(exc, "problems", None) or [str(exc)]:  # a ConfigError has several
                click.echo(f"servicecheck: {line}", err=True)
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


def _jobs_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True,
                        expose_value=False, callback=_store("jobs"),
                        help="Worker processes (0: one per CPU); output order is the same as with 1.")(f)


def _jobs() -> int:
    """The running command's ``--jobs`` (0: one per CPU)."""
    value = click.get_current_context().meta.get("servicecheck.jobs")
    return 1 if value is None else int(value)


def _worker_render(fmt: str, output: str | None, color: bool | None) -> str | None:
    """With ``--jobs``, the streaming format the workers may render themselves (servicecheck.parallel.Rendered).

    Not with a baseline (it filters Results) nor with colour; else the parent would
    unpickle and render every result, the part of the work that does not parallelise.
    """
    from servicecheck.formatters import get

    meta = click.get_current_context().meta
    use_color = bool(color) if color is not None else (output is None and sys.stdout.isatty())
    if _jobs() == 1 or not get(fmt).streams or use_color:
        return None
    if meta.get("servicecheck.baseline") is not None or meta.get("servicecheck.write_baseline"):
        return None
    return fmt


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@_report_options
@_jobs_option
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
    cfg = _config()
    items = api.audit(_files(paths, "transcript", "auditing"), policyset,
                      language=None if lang == "auto" else lang, input_format=input_format,
                      agent_speaker=agent_speaker, speakers=cfg.speakers if cfg else None,
                      csv_columns=cfg.csv_columns if cfg else None, jobs=_jobs(),
                      render=_worker_render(fmt, output, color))
    ctx.exit(_emit(items, policyset, fmt, output, color, fail_on, min_score))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@_report_options
@_jobs_option
@click.pass_context
def lint(ctx: click.Context, paths: tuple[str, ...], fmt: str, output: str | None, fail_on: str,
         min_score: float | None, lang: str, color: bool | None, policy_dirs: tuple[str, ...],
         no_default_pack: bool) -> None:
    """Lint agent scripts, macros and response templates (.txt, .md, .yaml, .json); quiet on success."""
    from servicecheck import api

    policyset = _load(policy_dirs, no_default_pack)
    items = api.lint(_files(paths, "document", "linting"), policyset,
                     language=None if lang == "auto" else lang, jobs=_jobs(),
                     render=_worker_render(fmt, output, color))
    ctx.exit(_emit(items, policyset, fmt, output, color, fail_on, min_score))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True, path_type=str))
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True)
@click.option("--explain", is_flag=True, help="Show which pattern of which signal matched each turn, or for a "
              "learned detector its probability and the words that weighed most.")
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
    cfg = _config()
    for item in api.annotate(paths, policyset, input_format=input_format, auditor=auditor,
                             speakers=cfg.speakers if cfg else None, on_skip=_skipped):
        if isinstance(item, InputProblem):
            errors += 1
            click.echo(f"servicecheck: {item}", err=True)
            continue
        conv, hits = item
        explained = (
            [auditor.matcher.explain(t.text, t.speaker, conv.language, conv.kind, ctx)
             for t, ctx in zip(conv.turns, api.contexts_of(conv))]
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
                    how = x.pattern if x.pattern.startswith("model ") else f"pattern {x.pattern!r}"
                    click.echo(f"        {x.signal}: «{t.text[x.start:x.end]}» by {how} [{x.language}]")
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
        click.echo(f"{p.id:<48} {p.kind:<9} {p.severity!s:<10} w={p.weight:g} [{targets}]  {p.title}")


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
@click.argument("dirs", nargs=-1, type=click.Path(path_type=str))
@click.option("--files", "as_files", is_flag=True, help="The arguments are files (as pre-commit passes them): "
              "validate the packs holding them, ignore files outside any pack, print nothing on success.")
def policies_validate(dirs: tuple[str, ...], as_files: bool) -> None:
    """Validate packs (default: the default pack); exit 2 with every error if one is invalid."""
    if as_files:
        dirs = _packs_holding(dirs)
        if not dirs:
            return
    from servicecheck import api

    policyset = _load(dirs, no_default_pack=False)  # user packs may use the default pack's signals
    api.check_runnable(policyset)
    if not as_files:
        click.echo(f"ok: {len(policyset.policies)} policies, {len(policyset.signals)} signals in "
                   + ", ".join(p.name for p in policyset.packs))


def _packs_holding(files: Iterable[str]) -> tuple[str, ...]:
    """The pack folders (with a pack.yaml) that hold ``files``, looking up no higher than the working directory."""
    cwd = Path.cwd().resolve()
    found: list[str] = []
    for name in files:
        path = Path(name)
        folder = path if path.is_dir() else path.parent
        for candidate in (folder, *folder.parents):
            if (candidate / "pack.yaml").is_file():
                if str(candidate) not in found:
                    found.append(str(candidate))
                break
            if candidate.resolve() == cwd:
                break
    return tuple(found)


@policies.command("test")
@click.argument("dirs", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=str))
@click.option("--verbose", "-v", is_flag=True, help="List every example, not only failures.")
@click.pass_context
def policies_test(ctx: click.Context, dirs: tuple[str, ...], verbose: bool) -> None:
    """Run every policy's pass/fail examples and every signal's match/no-match examples."""
    from servicecheck.policy.loader import find_packs
    from servicecheck.testing import run_pack_examples

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
            click.echo(f"FAIL {case.where + ': ' if case.where else ''}{case.name}: {case.why}")
    click.echo(f"{passed} passed, {failed} failed")
    ctx.exit(ExitCode.FINDINGS if failed else ExitCode.OK)


@policies.command("schema")
@click.argument("which", type=click.Choice(["policy", "signal", "pack", "lexicon", "config"]), default="policy")
def policies_schema(which: str) -> None:
    """Print the JSON Schema of a pack file, or of the project config (for editors)."""
    from servicecheck.api import published_schema

    click.echo(json.dumps(published_schema(which), indent=2, ensure_ascii=False))


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
    for lang, text in p.suggestion.items():
        click.echo(f"suggestion{'' if lang == '*' else f' ({lang})'}: {text}")
    for kind in ("fail", "pass"):
        for ex in p.examples.get(kind, []):
            text = ex if isinstance(ex, str) else ex["text"]
            click.echo(f"\n{kind} example:\n  " + text.strip().replace("\n", "\n  "))
    if p.link:
        click.echo(f"\nmore: {p.link}")
    click.echo(f"\nfile: {p.path}")


if __name__ == "__main__":  # pragma: no cover
    main()
