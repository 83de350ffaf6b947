"""Read servicecheck's own conversation JSON: one object, a list of them, or one per JSONL line.

Shape: ``{"id", "language"?, "channel"?, "metadata"?, "turns": [{"speaker", "text",
"start_ms"?, "end_ms"?}]}``.  ``speaker`` may be a role (``agent``, ``customer``,
``system``, ``bot``) or any name of the speaker table; ``role`` is accepted for it.
Other top-level keys (``"source": "synthetic"``) are kept in ``metadata``.
A list may also come wrapped as ``{"conversations": [...]}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import Conversation, InputProblem
from .common import Draft, RawTurn, ReadContext, ReadError, finish, language_tag
from .jsonsource import JsonSource, type_name

KNOWN_KEYS = frozenset({"id", "language", "channel", "metadata", "turns"})  # the rest goes to metadata


def looks_canonical(value: Any) -> bool:
    """True for a conversation object, a list of them, or a ``conversations`` wrapper."""
    if isinstance(value, dict):
        return isinstance(value.get("turns"), list) or isinstance(value.get("conversations"), list)
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, dict) and "turns" in v for v in value[:5])
    return False


def convert(ctx: ReadContext, value: Any, src: JsonSource) -> Iterator[Conversation | InputProblem]:
    """Yield the conversations of a parsed canonical JSON value."""
    if isinstance(value, dict) and "turns" not in value and isinstance(value.get("conversations"), list):
        value = value["conversations"]
    if isinstance(value, list):
        if not value:  # said, never passed over in silence (an export that came out empty)
            line, col = src.where(value)
            yield ctx.problem("an empty list: no conversation in it", line, col)
            return
        for i, item in enumerate(value):
            yield from _one(ctx, item, src, f"$[{i}]", value, i)
    else:
        yield from _one(ctx, value, src, "$", None, None)


def _one(ctx: ReadContext, obj: Any, src: JsonSource, path: str, parent: Any, index: int | None) -> Iterator[Conversation | InputProblem]:
    fallback_id = ctx.next_id()
    if not isinstance(obj, dict):
        line, col = src.where(parent, index) if parent is not None else src.where(obj)
        where = f"{path}: " if parent is not None else ""
        yield ctx.problem(f"{where}expected a conversation object, got {type_name(obj)}", line, col)
        return
    try:
        yield finish(ctx, _draft(obj, src, path, fallback_id), allow_empty=True)
    except ReadError as err:
        yield ctx.problem(err.message, err.line, err.column)


def _draft(obj: dict[str, Any], src: JsonSource, path: str, fallback_id: str) -> Draft:
    conv_id = src.get_str(obj, "id", path, allow_number=True) or fallback_id
    label = f"conversation {conv_id!r}: "
    try:
        language = src.get_str(obj, "language", path)
        channel = src.get_str(obj, "channel", path)
        metadata = dict(src.get_obj(obj, "metadata", path) or {})
        turns = src.get_list(obj, "turns", path, required=True)
    except ReadError as err:
        raise ReadError(label + err.message, err.line, err.column) from None
    for key, val in obj.items():
        if key not in KNOWN_KEYS:
            metadata.setdefault(key, val)
    if language and language_tag(language) != language:
        metadata.setdefault("language_code", language)
    draft = Draft(conv_id, src.line_of(obj), language=language_tag(language), channel=channel, metadata=metadata)
    for i, turn in enumerate(turns):
        tpath = f"{path}.turns[{i}]"
        if not isinstance(turn, dict):
            raise src.fail(f"{label}{tpath}: expected a turn object, got {type_name(turn)}", turns, i)
        try:
            speaker_key = "speaker" if "speaker" in turn or "role" not in turn else "role"
            speaker = src.get_str(turn, speaker_key, tpath, required=True)
            text = src.get_str(turn, "text", tpath, required=True)
            start = src.get_int(turn, "start_ms", tpath)
            end = src.get_int(turn, "end_ms", tpath)
        except ReadError as err:
            raise ReadError(label + err.message, err.line, err.column) from None
        assert speaker is not None and text is not None
        draft.turns.append(RawTurn(speaker, text, src.origin(turn, "text"), start, end))
    return draft
