"""Read Google CCAI Insights conversations: the upload format (``entries``) and the API resource (``transcript``).

- Upload format: ``{"conversation_info"?, "entries": [{"text", "role", "user_id",
  "start_timestamp_usec"}]}``; ``participant`` is accepted for ``role``.
- API ``Conversation`` resource: ``{"name", "languageCode", "medium",
  "callMetadata": {"agentChannel", "customerChannel"}, "transcript":
  {"transcriptSegments": [{"text", "channelTag", "segmentParticipant": {"role"},
  "words": [{"startOffset", "endOffset"}], "messageTime"}]}}``.

Roles: ``AGENT``/``HUMAN_AGENT`` -> agent, ``CUSTOMER``/``END_USER`` -> customer,
``AUTOMATED_AGENT`` -> bot; a segment without a role takes it from its channel tag
and ``callMetadata``.  Times become offsets in ms from the first turn (upload format,
chat ``messageTime``) or come from the word offsets (voice).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import Conversation, InputProblem
from .common import Draft, RawTurn, ReadContext, ReadError, finish, language_tag, put_metadata
from .jsonsource import JsonSource, type_name
from .source import iso_to_epoch_ms, seconds_to_ms

ROLE_NAMES = {
    "AGENT": "agent",
    "HUMAN_AGENT": "agent",
    "CUSTOMER": "customer",
    "END_USER": "customer",
    "AUTOMATED_AGENT": "bot",
}
_MEDIUM = {"PHONE_CALL": "voice", "CHAT": "chat"}


def looks_ccai(value: Any) -> bool:
    """True for a CCAI upload file or Conversation resource."""
    if not isinstance(value, dict):
        return False
    if isinstance(value.get("entries"), list):
        return True
    transcript = value.get("transcript")
    return isinstance(transcript, dict) and "transcriptSegments" in transcript


def convert(ctx: ReadContext, value: Any, src: JsonSource) -> Iterator[Conversation | InputProblem]:
    """Yield the conversation of one CCAI file."""
    conv_id = ctx.next_id()
    try:
        if not looks_ccai(value):
            raise src.fail("not a CCAI Insights conversation: expected 'entries' or 'transcript.transcriptSegments'", value)
        draft = _entries(value, src, conv_id) if isinstance(value.get("entries"), list) else _resource(value, src, conv_id)
    except ReadError as err:
        yield ctx.problem(err.message, err.line, err.column)
        return
    yield finish(ctx, draft)


def _role(name: str | None) -> str | None:
    return ROLE_NAMES.get(name.upper()) if name else None


def _entries(doc: dict[str, Any], src: JsonSource, conv_id: str) -> Draft:
    draft = Draft(conv_id, src.line_of(doc))
    draft.metadata["input_format"] = "ccai"
    info = src.get_obj(doc, "conversation_info", "$")
    if info:
        draft.metadata["conversation_info"] = info
        put_metadata(draft, "agent_id", info.get("agent_id"))
    entries = src.get_list(doc, "entries", "$", required=True)
    first: int | None = None
    for i, entry in enumerate(entries):
        path = f"$.entries[{i}]"
        if not isinstance(entry, dict):
            raise src.fail(f"{path}: expected an object, got {type_name(entry)}", entries, i)
        text = src.get_str(entry, "text", path, required=True)
        key = "role" if "role" in entry else "participant"
        who = src.get_str(entry, key, path, required=True, allow_number=True)
        assert text is not None and who is not None
        usec = src.get_int(entry, "start_timestamp_usec", path)
        start = None
        if usec is not None:
            first = usec if first is None else first
            start = (usec - first) // 1000
        draft.turns.append(RawTurn(who, text, src.origin(entry, "text"), start, None, role=_role(who)))
        if _role(who) == "agent":
            put_metadata(draft, "agent_id", entry.get("user_id"))  # the human agent's user id
    if "agent_id" in draft.metadata:
        put_metadata(draft, "agent", draft.metadata["agent_id"])
    return draft


def _agent_fields(draft: Draft, doc: dict[str, Any]) -> None:
    """The agent of a Conversation resource: ``agentId``, or ``qualityMetadata.agentInfo`` (id, name, team)."""
    quality = doc.get("qualityMetadata")
    infos = quality.get("agentInfo") if isinstance(quality, dict) else None
    info = infos[0] if isinstance(infos, list) and infos and isinstance(infos[0], dict) else {}
    put_metadata(draft, "agent_id", doc.get("agentId") or info.get("agentId"))
    put_metadata(draft, "agent", info.get("displayName") or draft.metadata.get("agent_id"))
    put_metadata(draft, "team", info.get("team"))
    put_metadata(draft, "date", (doc.get("startTime") or doc.get("createTime") or "")[:10] if isinstance(
        doc.get("startTime") or doc.get("createTime"), str) else None)


def _resource(doc: dict[str, Any], src: JsonSource, conv_id: str) -> Draft:
    name = src.get_str(doc, "name", "$")
    language = src.get_str(doc, "languageCode", "$")
    medium = src.get_str(doc, "medium", "$")
    draft = Draft(name.rsplit("/", 1)[-1] if name else conv_id, src.line_of(doc), language=language_tag(language), channel=_MEDIUM.get((medium or "").upper()))
    draft.metadata["input_format"] = "ccai"
    if language:
        draft.metadata["language_code"] = language
    _agent_fields(draft, doc)
    call = src.get_obj(doc, "callMetadata", "$") or {}
    channels: dict[int, str] = {}
    for key, channel_role in (("agentChannel", "agent"), ("customerChannel", "customer")):
        tag = call.get(key)
        if isinstance(tag, int) and not isinstance(tag, bool):
            channels[tag] = channel_role
    transcript = src.get_obj(doc, "transcript", "$") or {}
    segments = src.get_list(transcript, "transcriptSegments", "$.transcript")
    first: int | None = None
    for i, seg in enumerate(segments):
        path = f"$.transcript.transcriptSegments[{i}]"
        if not isinstance(seg, dict):
            raise src.fail(f"{path}: expected an object, got {type_name(seg)}", segments, i)
        text = src.get_str(seg, "text", path)
        if text is None or not text.strip():
            continue
        participant = src.get_obj(seg, "segmentParticipant", path) or {}
        who = src.get_str(participant, "role", f"{path}.segmentParticipant")
        tag = seg.get("channelTag")
        role = _role(who) or (channels.get(tag) if isinstance(tag, int) else None)
        label = who or (f"channel {tag}" if tag is not None else "unknown")
        start = end = None
        words = seg.get("words")
        if isinstance(words, list) and words and isinstance(words[0], dict):
            start = seconds_to_ms(words[0].get("startOffset"))
            last = words[-1]
            end = seconds_to_ms(last.get("endOffset")) if isinstance(last, dict) else None
        elif isinstance(seg.get("messageTime"), str):
            epoch = iso_to_epoch_ms(seg["messageTime"])
            if epoch is not None:
                first = epoch if first is None else first
                start = epoch - first
        draft.turns.append(RawTurn(label, text, src.origin(seg, "text"), start, end, role=role))
    return draft
