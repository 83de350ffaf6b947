"""Baselines: record the fingerprints of known findings, and drop them from later runs.

``--write-baseline FILE`` records every current finding; ``--baseline FILE`` drops
the findings recorded there, so CI fails only on new ones.  A finding's fingerprint
is the one the SARIF report publishes as ``partialFingerprints`` (one function,
:func:`servicecheck.formatters._common.fingerprints`): a hash of the policy id, the
file, the conversation id or template name and the normalised evidence text, plus a
rank among equal findings, never line numbers.  The path is first made stable
(relative to the working directory when it is below it, ``/`` separators, no
``./``), so that ``lint .`` and ``lint templates`` agree.

File format (version 1), sorted so that it diffs well::

    {
      "version": 1,
      "fingerprints": "servicecheck/v1",
      "findings": [
        {"policy": "service-standards.no-deflection", "path": "templates/refund.md",
         "fingerprint": "3f1c...", "hint": "refund.md: «c'est le service commercial»"}
      ]
    }

A policy whose findings are all in the baseline passes in the scorecard, and the
score is computed again, as for inline suppression.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path, PurePosixPath

from servicecheck.errors import UsageError
from servicecheck.model import Finding, InputProblem, Location, PolicyStatus, Result

__all__ = [
    "BASELINE_VERSION",
    "Baseline",
    "apply",
    "entries_of",
    "filter_result",
    "fingerprints_of",
    "load_baseline",
    "stable_path",
    "write_baseline",
]

BASELINE_VERSION = 1


def _algorithm() -> str:
    from servicecheck.formatters.sarif import FINGERPRINT_KEY

    return FINGERPRINT_KEY


def stable_path(path: str) -> str:
    """``path`` as fingerprints see it: relative to the working directory if below it, POSIX, normalised."""
    if path.startswith("<"):  # <stdin>, <example>
        return path
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(Path.cwd().resolve())
        except (ValueError, OSError):
            pass
    posix = PurePosixPath(os.path.normpath(str(p)).replace(os.sep, "/")).as_posix()
    return posix


def _with_stable_path(result: Result) -> Result:
    conversation = result.conversation
    path = stable_path(conversation.source.path)
    if path == conversation.source.path:
        return result
    source = Location(path, conversation.source.line, conversation.source.column)
    ident = conversation.id
    # Readers name whole-file units and unnamed conversations after the path ("x.md", "call.txt#2").
    if ident == conversation.source.path or ident.startswith(conversation.source.path + "#"):
        ident = path + ident[len(conversation.source.path):]
    return replace(result, conversation=replace(conversation, source=source, id=ident))


def _sorted(result: Result) -> list[Finding]:
    from servicecheck.formatters._common import sorted_findings

    return sorted_findings(result)


def fingerprints_of(result: Result, findings: Iterable[Finding] | None = None) -> list[tuple[Finding, str]]:
    """``(finding, fingerprint)`` for a result's findings, in the SARIF report's order.

    Args:
        result: one audited conversation or linted document unit.
        findings: the findings to fingerprint (default: all of the result's, sorted).
            Ranks among equal findings follow this order, so pass them sorted.
    """
    from servicecheck.formatters._common import fingerprints

    chosen = _sorted(result) if findings is None else list(findings)
    return list(zip(chosen, fingerprints(_with_stable_path(result), chosen), strict=True))


def _hint(result: Result, finding: Finding) -> str:
    """A line a person can recognise the finding by (no line numbers: they move)."""
    result = _with_stable_path(result)
    owner = finding.template or result.conversation.name or result.conversation.id
    what = finding.evidence.text if finding.evidence is not None and finding.evidence.text else finding.message
    what = " ".join(what.split())
    if len(what) > 120:
        what = what[:117] + "..."
    return f"{owner}: «{what}»" if finding.evidence is not None and finding.evidence.text else f"{owner}: {what}"


def entries_of(result: Result) -> list[dict[str, str]]:
    """The baseline entries of one result."""
    path = stable_path(result.conversation.source.path)
    return [
        {"policy": f.policy, "path": path, "fingerprint": fp, "hint": _hint(result, f)}
        for f, fp in fingerprints_of(result)
    ]


def write_baseline(path: str | os.PathLike[str], entries: Iterable[dict[str, str]]) -> int:
    """Write a baseline file atomically; returns the number of entries.

    Raises:
        UsageError: the file cannot be written.
    """
    rows = sorted(entries, key=lambda e: (e["path"], e["policy"], e["hint"], e["fingerprint"]))
    doc = {"version": BASELINE_VERSION, "fingerprints": _algorithm(), "findings": rows}
    import tempfile  # only when a baseline is written

    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or Path("."))
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the baseline: {exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            json.dump(doc, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(rows)


class Baseline:
    """The fingerprints of known findings (a set: ranks already tell equal findings apart)."""

    def __init__(self, fingerprints: Iterable[str] = (), path: str | None = None) -> None:
        self.fingerprints = set(fingerprints)
        self.path = path
        self.matched = 0  # findings dropped so far

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self.fingerprints

    def __len__(self) -> int:
        return len(self.fingerprints)


def load_baseline(path: str | os.PathLike[str]) -> Baseline:
    """Read a baseline file.

    Raises:
        UsageError: the file is missing, is not JSON, is not a baseline, or was
            written with another fingerprint algorithm (regenerate it then).
    """
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{shown}: cannot read the baseline: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{shown}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise UsageError(f"{shown}: $: not a servicecheck baseline (expected an object with 'findings')")
    if doc.get("version") != BASELINE_VERSION:
        raise UsageError(f"{shown}: $.version: unsupported baseline version {doc.get('version')!r} "
                         f"(this servicecheck reads {BASELINE_VERSION})")
    if doc.get("fingerprints", _algorithm()) != _algorithm():
        raise UsageError(f"{shown}: $.fingerprints: written with {doc['fingerprints']!r} fingerprints, this "
                         f"servicecheck computes {_algorithm()!r}: write it again with --write-baseline")
    found = []
    for i, entry in enumerate(doc["findings"]):
        fp = entry.get("fingerprint") if isinstance(entry, dict) else None
        if not isinstance(fp, str) or not fp:
            raise UsageError(f"{shown}: $.findings[{i}].fingerprint: expected a non-empty string")
        found.append(fp)
    return Baseline(found, shown)


def filter_result(result: Result, baseline: Baseline) -> Result:
    """``result`` without the findings in ``baseline``; emptied policies pass and the score is recomputed."""
    from servicecheck.api import score_of

    pairs = fingerprints_of(result)
    kept = [f for f, fp in pairs if fp not in baseline]
    dropped = len(pairs) - len(kept)
    if not dropped:
        return result
    baseline.matched += dropped
    failing = {f.policy for f in kept}
    statuses: list[PolicyStatus] = [
        replace(s, status="pass") if s.status == "fail" and s.id not in failing else s for s in result.policies
    ]
    score, auto_failed = score_of(statuses)
    return replace(result, findings=tuple(kept), policies=tuple(statuses), score=score, auto_failed=auto_failed)


def apply(
    items: Iterable[Result | InputProblem],
    baseline: Baseline | None = None,
    record: list[dict[str, str]] | None = None,
) -> Iterator[Result | InputProblem]:
    """Stream ``items`` through a baseline: record entries into ``record``, drop known findings.

    With ``record`` given (``--write-baseline``), every current finding is recorded
    and then treated as known, exactly as if the new baseline had been passed.
    """
    for item in items:
        if isinstance(item, InputProblem):
            yield item
            continue
        if record is not None:
            entries = entries_of(item)
            record.extend(entries)
            if entries:
                item = filter_result(item, Baseline(e["fingerprint"] for e in entries))
        if baseline is not None:
            item = filter_result(item, baseline)
        yield item

