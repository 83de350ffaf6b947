"""Inline ``servicecheck:`` directives of a document: suppressions and the kind it declares."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from .docparts import WS, linear

# --------------------------------------------------------------------------- directives


@functools.cache
def _directive() -> Any:
    """The directive regex, compiled when a document has a comment (RE2 compiles its Unicode classes in ≈ 1 ms).

    RE2 (see _linear): with re, "servicecheck: disable-next-line=aaaaaaaaaaaa !" took 80 s.
    """
    return linear(
        rf"(?i)servicecheck{WS}*:{WS}*(?P<body>(?:[\pL\pN_-]+{WS}*(?:={WS}*[\pL\pN_.,/ -]*?)?{WS}*)+?){WS}*(?:-->|$)"
    )


_PAIR = re.compile(r"(?P<key>disable-next-line|disable|kind)\s*(?:=\s*(?P<value>[\w./-]+(?:\s*,\s*[\w./-]+)*))?", re.IGNORECASE)


@dataclass
class Directives:
    """The inline ``servicecheck:`` directives found in a file's comments."""

    suppress: list[dict[str, Any]] = field(default_factory=list)
    kind: str | None = None
    pending_next: list[dict[str, Any]] = field(default_factory=list)

    def parse(self, comment: str, line: int) -> None:
        """Record the directives of one comment on ``line``."""
        for m in _directive().finditer(comment):
            for pair in _PAIR.finditer(m.group("body")):
                key = pair.group("key").lower()
                value = (pair.group("value") or "").strip()
                if key == "kind":
                    if value.lower() in ("guideline", "template"):
                        self.kind = value.lower()
                    continue
                policies = [p.strip().lower() for p in value.split(",") if p.strip()] or ["all"]
                for policy in policies:
                    entry = {"policy": policy, "line": line, "scope": "file" if key == "disable" else "next-line", "target": line}
                    self.suppress.append(entry)
                    if key == "disable-next-line":
                        self.pending_next.append(entry)

    def text_line(self, line: int) -> None:
        """A line of text follows: it is the target of pending ``disable-next-line`` directives.

        A directive written at the end of a text line targets the next line, not its own.
        """
        waiting = []
        for entry in self.pending_next:
            if entry["line"] < line:
                entry["target"] = line
            else:
                waiting.append(entry)
        self.pending_next[:] = waiting

    def for_unit(self, first: int, last: int) -> list[dict[str, Any]]:
        """The directives that can affect lines ``first..last``."""
        keep = []
        for entry in self.suppress:
            if ((entry["scope"] == "file" and entry["line"] <= last)
                    or (entry["scope"] == "next-line" and first <= entry["target"] <= last)):
                keep.append(dict(entry))
        return keep
