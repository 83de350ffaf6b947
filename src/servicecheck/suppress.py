"""Inline suppression: ``servicecheck: disable=POLICY`` and ``disable-next-line=POLICY`` in documents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servicecheck.model import Finding
    from servicecheck.policy.loader import Policy


def _names(policy: Policy) -> set[str]:
    return {policy.id, policy.short_id, "all"}


def is_suppressed(finding: Finding, policy: Policy, directives: Iterable[Mapping[str, Any]]) -> bool:
    """True when a directive of the document silences ``finding``.

    A ``file`` directive silences the policy from its line to the end of the file; a
    ``next-line`` directive silences findings on the line right after it.  A finding
    without evidence is about the whole unit (a ``require`` that found nothing): it
    points at the unit's first line, yet a ``file`` directive anywhere in the unit
    silences it (the reader passes only directives written before the unit ends).
    """
    line = finding.location.line if finding.location and finding.location.line else None
    names = _names(policy)
    whole_unit = finding.evidence is None
    for d in directives:
        if str(d.get("policy", "")).lower() not in names:
            continue
        scope = d.get("scope", "file")
        if scope == "file" and (line is None or whole_unit or line >= int(d.get("line", 0))):
            return True
        target = int(d.get("target") or int(d.get("line", 0)) + 1)  # the next line that holds text
        if scope == "next-line" and line is not None and line == target:
            return True
    return False
