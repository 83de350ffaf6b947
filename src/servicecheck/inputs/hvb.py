"""Read Harper Valley Bank corpus transcript files (a JSON list of segments per call).

Each segment has ``speaker_role`` (``agent``/``caller``), ``human_transcript``,
``start_ms``, ``duration_ms`` and ``index``.  As in the devset's conversion, segments
with an empty transcript or only markers (``[noise]``, ``<unk>``) are dropped, and
turns are ordered by ``(start_ms, index)``.  The call id is ``hvb:<sid>`` when the
file is named after its 16-hex-digit sid.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

from ..model import Conversation, InputProblem
from .common import Draft, RawTurn, ReadContext, ReadError, finish
from .jsonsource import JsonSource, type_name

_ROLES = {"agent": "agent", "caller": "customer", "customer": "customer"}
_MARKERS_ONLY = re.compile(r"(?:\s*(?:\[[^\]]*\]|<[^>]*>))*\s*")
_SID = re.compile(r"[0-9a-f]{16}")


def looks_hvb(value: Any) -> bool:
    """True for a list of HVB segments."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and "human_transcript" in v and "speaker_role" in v for v in value[:3])


def convert(ctx: ReadContext, value: Any, src: JsonSource) -> Iterator[Conversation | InputProblem]:
    """Yield the call of one HVB transcript file."""
    conv_id = ctx.next_id()
    stem = os.path.splitext(ctx.basename)[0]
    if _SID.fullmatch(stem):
        conv_id = f"hvb:{stem}"
    try:
        if not looks_hvb(value):
            raise src.fail("not a Harper Valley Bank transcript: expected a list of segments with 'speaker_role' and 'human_transcript'", value)
        draft = Draft(conv_id, src.line_of(value), language="en", channel="voice")
        draft.metadata["input_format"] = "hvb"
        ordered: list[tuple[int, int, RawTurn]] = []
        for i, seg in enumerate(value):
            path = f"$[{i}]"
            if not isinstance(seg, dict):
                raise src.fail(f"{path}: expected an object, got {type_name(seg)}", value, i)
            text = src.get_str(seg, "human_transcript", path) or ""
            if _MARKERS_ONLY.fullmatch(text):
                continue
            who = src.get_str(seg, "speaker_role", path, required=True)
            assert who is not None
            start = src.get_int(seg, "start_ms", path)
            duration = src.get_int(seg, "duration_ms", path)
            index = src.get_int(seg, "index", path)
            end = start + duration if start is not None and duration is not None else None
            raw = RawTurn(who, text, src.origin(seg, "human_transcript"), start, end, role=_ROLES.get(who.lower()))
            ordered.append((start if start is not None else 0, index if index is not None else i, raw))
        ordered.sort(key=lambda o: (o[0], o[1]))
        draft.turns = [o[2] for o in ordered]
    except ReadError as err:
        yield ctx.problem(err.message, err.line, err.column)
        return
    yield finish(ctx, draft)
