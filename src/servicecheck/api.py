"""The library entry points: load policies, audit transcripts, lint documents, annotate turns."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from servicecheck.auditor import MAX_TURNS, Auditor, audit_file, lint_file, score_of
from servicecheck.compiler import compile_policies
from servicecheck.errors import ExitCode
from servicecheck.model import (
    Conversation,
    Finding,
    InputProblem,
    Report,
    Result,
    Severity,
)
from servicecheck.policy.loader import PolicySet, load_policies

if TYPE_CHECKING:
    from servicecheck.inputs.walk import SkipHandler

__all__ = [
    "MAX_TURNS", "Auditor", "annotate", "audit", "check_runnable", "exit_code", "lint", "load_policies", "policy_summaries",
    "published_schema", "score_of",
]


def published_schema(which: str) -> dict[str, Any]:
    """The JSON Schema of a pack file (``policy``, ``signal``, ``pack``, ``lexicon``) or of the project ``config``."""
    from servicecheck.config import config_schema
    from servicecheck.policy.schema import published

    return config_schema() if which == "config" else published(which)


def check_runnable(policyset: PolicySet) -> None:
    """Raise PolicyError for a policy the rules engine cannot run (``policies validate`` agrees with ``audit``)."""
    compile_policies(policyset)


# ---------------------------------------------------------------- entry points

def expand_paths(paths: Iterable[str], what: str = "transcript", on_skip: SkipHandler | None = None) -> Iterator[str]:
    """Files as given; folders walked for the files ``audit`` (``what="transcript"``) or ``lint`` (``"document"``) reads.

    Every file of a folder that is not read is named to ``on_skip(path, reason)``;
    a folder with nothing to read comes out as itself, and its reader reports it
    (servicecheck.inputs.walk).
    """
    from servicecheck.inputs.walk import document_files, transcript_files

    return (transcript_files if what == "transcript" else document_files)(paths, on_skip)


def audit(
    paths: Iterable[str],
    policyset: PolicySet,
    *,
    language: str | None = None,
    input_format: str | None = None,
    speakers: Mapping[str, str] | None = None,
    agent_speaker: str | None = None,
    auditor: Auditor | None = None,
    csv_columns: Mapping[str, str] | None = None,
    jobs: int = 1,
    render: str | None = None,
) -> Iterator[Result | InputProblem]:
    """Audit every conversation of every file, in order; unreadable parts come out as InputProblem.

    ``jobs`` > 1 audits on that many processes (0: one per CPU), with the same results
    in the same order (servicecheck.parallel); ``auditor`` is then not used. With
    ``jobs`` > 1, ``render`` names a streaming formatter: the workers render each result
    and ``servicecheck.parallel.Rendered`` items (text, worst finding, score) come out.
    """
    if jobs != 1:
        from servicecheck.parallel import audit_parallel, default_jobs  # lazy: multiprocessing costs start-up time

        yield from audit_parallel(expand_paths(paths, "transcript"), policyset, jobs=jobs or default_jobs(),
                                  language=language, input_format=input_format, speakers=speakers,
                                  agent_speaker=agent_speaker, csv_columns=csv_columns, render=render)
        return
    auditor = auditor or Auditor(policyset, language)
    for path in expand_paths(paths, "transcript"):
        yield from audit_file(path, auditor, input_format=input_format, speakers=speakers, agent_speaker=agent_speaker,
                              csv_columns=csv_columns)


def lint(
    paths: Iterable[str], policyset: PolicySet, *, language: str | None = None, auditor: Auditor | None = None,
    jobs: int = 1,
    render: str | None = None,
) -> Iterator[Result | InputProblem]:
    """Lint every document unit (named template or whole file) of every file; ``jobs``, ``render`` as for :func:`audit`."""
    if jobs != 1:
        from servicecheck.parallel import default_jobs, lint_parallel

        yield from lint_parallel(expand_paths(paths, "document"), policyset, jobs=jobs or default_jobs(),
                                 language=language, render=render)
        return
    auditor = auditor or Auditor(policyset, language)
    for path in expand_paths(paths, "document"):
        yield from lint_file(path, auditor)


def annotate(
    paths: Iterable[str],
    policyset: PolicySet,
    *,
    language: str | None = None,
    input_format: str | None = None,
    speakers: Mapping[str, str] | None = None,
    auditor: Auditor | None = None,
    on_skip: SkipHandler | None = None,
) -> Iterator[tuple[Conversation, list[dict[str, Any]]] | InputProblem]:
    """The signals found in every turn, with the hits that found them; ``on_skip`` as for :func:`expand_paths`."""
    from servicecheck.inputs import read_transcripts

    auditor = auditor or Auditor(policyset, language)
    for path in expand_paths(paths, "transcript", on_skip):
        for item in read_transcripts(path, input_format=input_format, speakers=speakers):
            if isinstance(item, InputProblem):
                yield item
                continue
            lang = auditor.language_of(item)
            yield replace(item, language=lang), auditor.hits(item, lang)


def collect(items: Iterable[Result | InputProblem], policyset: PolicySet) -> Report:
    """Gather a stream of results into one Report."""
    report = Report(policies=policy_summaries(policyset))
    for item in items:
        if isinstance(item, InputProblem):
            report.errors.append(item)
        elif item.conversation.kind == "transcript":
            report.conversations.append(item)
        else:
            report.documents.append(item)
    return report


def policy_summaries(policyset: PolicySet) -> list[dict[str, Any]]:
    """What formatters need to know of each enabled policy."""
    return [
        {
            "id": p.id,
            "title": p.title,
            "severity": str(p.severity),
            "weight": p.weight,
            "critical": p.critical,
            "kind": p.kind,
            "rationale": p.rationale,
            "message": p.message,
            "applies_to": list(p.applies_to),
            "link": p.link,
        }
        for p in policyset.policies
    ]


FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "suggestion": Severity.SUGGESTION, "never": None}


def exit_code(
    findings: Iterable[Finding],
    scores: Iterable[float | None],
    errors: int,
    fail_on: str = "error",
    min_score: float | None = None,
) -> ExitCode:
    """The exit code of a run: 3 if inputs were unreadable, else 1 on findings/low score, else 0."""
    if errors:
        return ExitCode.UNREADABLE
    threshold = FAIL_ON[fail_on]
    if threshold is not None and any(f.severity >= threshold for f in findings):
        return ExitCode.FINDINGS
    if min_score is not None and any(s is not None and s < min_score for s in scores):
        return ExitCode.FINDINGS
    return ExitCode.OK
