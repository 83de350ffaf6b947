"""The library entry points: load policies, audit transcripts, lint documents, annotate turns."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from servicecheck import i18n
from servicecheck.auditor import MAX_TURNS, Auditor, audit_file, contexts_of, lint_file, score_of
from servicecheck.compiler import compile_policies
from servicecheck.errors import ExitCode
from servicecheck.model import (
    INTERNAL_METADATA,
    Conversation,
    Finding,
    GroupRollup,
    InputProblem,
    Report,
    Result,
    Severity,
    Turn,
)
from servicecheck.policy.loader import PolicySet, load_policies

if TYPE_CHECKING:
    from servicecheck.inputs.walk import SkipHandler

__all__ = [
    "MAX_TURNS", "Auditor", "annotate", "audit", "check_runnable", "collect", "contexts_of", "exit_code", "finding_turn",
    "lint", "lint_text", "load_policies", "policy_summaries", "published_schema", "rollup", "score_of",
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


def lint_text(
    text: str, path: str, policyset: PolicySet, *, language: str | None = None, auditor: Auditor | None = None,
) -> list[Result | InputProblem]:
    """Lint a document held in memory (an editor's buffer), read as the file ``path`` would be, never from disk.

    ``path`` names the document in findings and chooses its syntax by extension
    (``.md``, ``.txt``, ``.yaml``...); the file need not exist. Units come out in order,
    as from :func:`lint`; a document that cannot be read is one InputProblem.
    """
    from servicecheck.inputs import read_document

    auditor = auditor or Auditor(policyset, language)
    doc = read_document(path, text=text)
    if isinstance(doc, InputProblem):
        return [doc]
    return [auditor.check_or_problem(replace(unit, language=unit.language or doc.language)) for unit in doc.units]


def finding_turn(result: Result, finding: Finding) -> Turn | None:
    """The turn a finding points at; for a document, the sentence holding its evidence (None for whole-unit findings).

    Document findings carry no turn number (sentences are not turns to show people), so the
    sentence is the one whose text at the evidence offsets is the evidence and whose start
    maps to the finding's location.
    """
    turns = result.conversation.turns
    if finding.turn is not None:
        return next((t for t in turns if t.number == finding.turn), None)
    ev, loc = finding.evidence, finding.location
    if ev is None or loc is None or loc.line is None:
        return None
    for t in turns:
        if t.text[ev.start:ev.end] == ev.text and t.locate(ev.start) == (loc.line, loc.column):
            return t
    return None


def collect(
    items: Iterable[Result | InputProblem],
    policyset: PolicySet,
    *,
    group_by: Iterable[str] = (),
    ui_language: str | None = None,
) -> Report:
    """Gather a stream of results into one Report, with what formatters only render.

    Args:
        items: results and input problems, in input order.
        policyset: the policies that were run.
        group_by: metadata keys to roll the results up by (``--group-by``).
        ui_language: ``fr`` or ``en`` for the report chrome; None: the inputs' majority language.
    """
    report = Report()
    for item in items:
        if isinstance(item, InputProblem):
            report.errors.append(item)
        elif item.conversation.kind == "transcript":
            report.conversations.append(item)
        else:
            report.documents.append(item)
    results = [*report.conversations, *report.documents]
    report.ui_language = ui_language or i18n.majority(r.conversation.language for r in results)
    report.policies = policy_summaries(policyset, report.ui_language)
    keys: dict[str, None] = {}
    for r in results:
        keys.update((k, None) for k in r.conversation.metadata if k not in INTERNAL_METADATA)
    report.metadata_keys = list(keys)
    report.groups = {key: rollup(results, key) for key in group_by}
    return report


def metadata_value(result: Result, key: str) -> str | None:
    """A result's metadata value for ``key`` as text (None when missing or empty)."""
    value = result.conversation.metadata.get(key)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def rollup(results: list[Result], key: str) -> list[GroupRollup]:
    """One GroupRollup per value of metadata ``key`` (sorted; conversations without it last, as None)."""
    by_value: dict[str | None, list[Result]] = {}
    for r in results:
        by_value.setdefault(metadata_value(r, key), []).append(r)
    ids: dict[str, None] = {}
    for r in results:
        ids.update((s.id, None) for s in r.policies)
    out = []
    for value in sorted(by_value, key=lambda v: (v is None, (v or "").casefold(), v or "")):
        members = by_value[value]
        scores = [r.score for r in members if r.score is not None]
        policies = {pid: {"pass": 0, "fail": 0, "n/a": 0} for pid in ids}
        for r in members:
            for s in r.policies:
                policies[s.id][s.status if s.status in ("pass", "fail") else "n/a"] += 1
        out.append(GroupRollup(
            value=value,
            conversations=len(members),
            mean_score=round(sum(scores) / len(scores), 1) if scores else None,
            auto_failed=sum(1 for r in members if r.auto_failed),
            findings=sum(len(r.findings) for r in members),
            policies=policies,
        ))
    return out


def policy_summaries(policyset: PolicySet, language: str | None = None) -> list[dict[str, Any]]:
    """What formatters need to know of each enabled policy; ``title`` and ``message`` in ``language``."""
    return [
        {
            "id": p.id,
            "title": p.title_in(language),
            "titles": {code: p.title_in(code) for code in i18n.LANGUAGES},
            "severity": str(p.severity),
            "weight": p.weight,
            "critical": p.critical,
            "kind": p.kind,
            "rationale": p.rationale,
            "message": p.message_in(language),
            "applies_to": list(p.applies_to),
            "link": p.link,
            "suggestion": dict(p.suggestion),
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
