"""Read Amazon transcripts: Contact Lens, Transcribe Call Analytics, Post-Call Analytics, plain Transcribe.

Flavours, told apart by their keys:

- **Contact Lens** (voice and chat) and **Transcribe Call Analytics**: a ``Transcript``
  list of ``{ParticipantId or ParticipantRole, Content, BeginOffsetMillis,
  EndOffsetMillis}``; roles come from ``ParticipantRole`` or the ``Participants`` list
  (``AGENT``, ``CUSTOMER``, ``SYSTEM``, ``CUSTOM_BOT``, ``SUPERVISOR``).  Chat
  transcripts carry ``AbsoluteTime`` instead of offsets (times become offsets from the
  first message) and events: items whose ``Type`` is not ``MESSAGE`` or whose
  ``ContentType`` is not ``text/*`` are skipped.  ``[PII]`` redactions stay in the text.
- **Post-Call Analytics** parsed output: ``SpeechSegments`` with ``SegmentSpeaker``
  (``spk_0``…), ``SegmentStartTime``/``SegmentEndTime`` in seconds and
  ``DisplayText``; ``ConversationAnalytics.SpeakerLabels`` names the speakers.  Those
  labels come from the PCA channel configuration, which can be swapped: when the
  speaker of the first greeting-like turn ("Thank you for calling…") is labelled the
  customer, the labels are taken as swapped and roles come from the heuristic below
  (``metadata["roles_from"]`` says so).  ``agent_speaker`` overrides both.
- **Plain Transcribe** output: ``results.items`` (words and punctuation) grouped into
  turns by ``speaker_label`` (from the items, or ``results.speaker_labels.segments``),
  or by ``channel_label`` for channel identification; or ``results.audio_segments``.
  These name no roles: the agent is ``agent_speaker`` (``spk_1``, ``ch_0``) when given,
  else the speaker of the first greeting-like turn (thank you for calling, how can I
  help, « à votre écoute », « bienvenue chez »…), else the first speaker; every other
  speaker is the customer.  Consecutive segments of one speaker form one turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import Conversation, InputProblem
from .common import Draft, RawTurn, ReadContext, ReadError, assign_unlabelled_roles, finish, language_tag, put_metadata
from .jsonsource import JsonSource, type_name
from .source import iso_to_epoch_ms, seconds_to_ms
from .speakers import guess_agent

ROLE_NAMES = {
    "AGENT": "agent",
    "SUPERVISOR": "agent",
    "CUSTOMER": "customer",
    "SYSTEM": "system",
    "CUSTOM_BOT": "bot",
    "BOT": "bot",
    "AUTOMATED_AGENT": "bot",
}


def flavour(value: Any) -> str | None:
    """Which AWS flavour a parsed JSON value is, or None."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("Transcript"), list):
        return "contact-lens"
    if isinstance(value.get("SpeechSegments"), list):
        return "pca"
    results = value.get("results")
    if isinstance(results, dict) and any(k in results for k in ("items", "audio_segments", "transcripts")):
        return "transcribe"
    return None


def convert(ctx: ReadContext, value: Any, src: JsonSource) -> Iterator[Conversation | InputProblem]:
    """Yield the conversation of one AWS transcript file."""
    kind = flavour(value)
    conv_id = ctx.next_id()
    try:
        if kind == "contact-lens":
            draft = _contact_lens(ctx, value, src, conv_id)
        elif kind == "pca":
            draft = _pca(ctx, value, src, conv_id)
        elif kind == "transcribe":
            draft = _transcribe(ctx, value, src, conv_id)
        else:
            raise src.fail("not an Amazon transcript: expected a 'Transcript' list (Contact Lens, Call Analytics), 'SpeechSegments' (Post-Call Analytics) or 'results' (Transcribe)", value)
    except ReadError as err:
        yield ctx.problem(err.message, err.line, err.column)
        return
    yield finish(ctx, draft)


def _contact_lens(ctx: ReadContext, doc: dict[str, Any], src: JsonSource, conv_id: str) -> Draft:
    meta = src.get_obj(doc, "CustomerMetadata", "$") or {}
    conv_id = src.get_str(meta, "ContactId", "$.CustomerMetadata") or src.get_str(doc, "ContactId", "$") or conv_id
    channel = src.get_str(doc, "Channel", "$")
    version = src.get_str(doc, "Version", "$", allow_number=True)
    language = src.get_str(doc, "LanguageCode", "$")
    draft = Draft(conv_id, src.line_of(doc), language=language_tag(language), channel=channel.lower() if channel else None)
    draft.metadata.update({"input_format": "aws-contact-lens"})
    if version:
        draft.metadata["version"] = version
    if language:
        draft.metadata["language_code"] = language
    roles = _pairs(src, doc, "Participants", "$", "ParticipantId", "ParticipantRole")
    items = src.get_list(doc, "Transcript", "$", required=True)
    first_time: int | None = None
    for i, item in enumerate(items):
        path = f"$.Transcript[{i}]"
        if not isinstance(item, dict):
            raise src.fail(f"{path}: expected an object, got {type_name(item)}", items, i)
        kind = src.get_str(item, "Type", path)
        content_type = src.get_str(item, "ContentType", path)
        if (kind and kind.upper() != "MESSAGE") or (content_type and not content_type.startswith("text/")):
            continue  # chat events (joined, left, typing), attachments, interactive payloads
        content = src.get_str(item, "Content", path)
        if content is None or not content.strip():
            continue
        pid = src.get_str(item, "ParticipantId", path)
        prole = src.get_str(item, "ParticipantRole", path) or (roles.get(pid) if pid else None) or pid
        if prole is None:
            raise src.fail(f"{path}: no ParticipantId or ParticipantRole", item)
        role = ROLE_NAMES.get(prole.upper())
        display = src.get_str(item, "DisplayName", path)
        start = src.get_int(item, "BeginOffsetMillis", path)
        end = src.get_int(item, "EndOffsetMillis", path)
        stamp = src.get_str(item, "AbsoluteTime", path)
        if start is None and stamp:
            epoch = iso_to_epoch_ms(stamp)
            if epoch is None:
                raise src.fail(f"{path}.AbsoluteTime: not an ISO-8601 time: {stamp[:40]!r}", item, "AbsoluteTime")
            if first_time is None:
                first_time = epoch
                put_metadata(draft, "date", stamp[:10])  # the chat's day, from its first message
            start = epoch - first_time
        draft.turns.append(RawTurn(display or prole, content, src.origin(item, "Content"), start, end, role=role))
        if role == "agent" and display:
            put_metadata(draft, "agent", display)  # chat: the agent's display name
    for who in doc.get("Participants") or ():
        # Contact Lens may name the agent in Participants (DisplayName, or an agent id/ARN).
        if isinstance(who, dict) and str(who.get("ParticipantRole", "")).upper() == "AGENT":
            for key in ("DisplayName", "AgentName", "Name"):
                put_metadata(draft, "agent", who.get(key))
            put_metadata(draft, "agent_id", who.get("AgentId") or who.get("AgentARN"))
    put_metadata(draft, "agent", meta.get("AgentName") or meta.get("AgentId"))
    put_metadata(draft, "queue", meta.get("QueueName") or meta.get("Queue"))
    return draft


def _pairs(src: JsonSource, parent: Any, list_key: str, path: str, key: str, value: str) -> dict[str, str]:
    """``{item[key]: item[value]}`` over the objects of ``parent[list_key]`` (both strings; others skipped)."""
    out: dict[str, str] = {}
    for i, item in enumerate(src.get_list(parent, list_key, path)):
        if isinstance(item, dict):
            k = src.get_str(item, key, f"{path}.{list_key}[{i}]")
            v = src.get_str(item, value, f"{path}.{list_key}[{i}]")
            if k and v:
                out[k] = v
    return out


def _pca(ctx: ReadContext, doc: dict[str, Any], src: JsonSource, conv_id: str) -> Draft:
    info = src.get_obj(doc, "ConversationAnalytics", "$") or {}
    language = src.get_str(info, "LanguageCode", "$.ConversationAnalytics")
    guid = src.get_str(info, "GUID", "$.ConversationAnalytics")
    if guid and guid != "None":
        conv_id = guid
    draft = Draft(conv_id, src.line_of(doc), language=language_tag(language), channel="voice")
    draft.metadata["input_format"] = "aws-pca"
    put_metadata(draft, "agent", info.get("Agent"))  # Post-Call Analytics' agent name ("None" when unknown)
    put_metadata(draft, "date", info.get("ConversationTime"))
    if language:
        draft.metadata["language_code"] = language
    labels = _pairs(src, info, "SpeakerLabels", "$.ConversationAnalytics", "Speaker", "DisplayText")
    segments = src.get_list(doc, "SpeechSegments", "$", required=True)
    for i, seg in enumerate(segments):
        path = f"$.SpeechSegments[{i}]"
        if not isinstance(seg, dict):
            raise src.fail(f"{path}: expected an object, got {type_name(seg)}", segments, i)
        key = "DisplayText" if isinstance(seg.get("DisplayText"), str) else "OriginalText"
        text = src.get_str(seg, key, path)
        if text is None or not text.strip():
            continue
        speaker = src.get_str(seg, "SegmentSpeaker", path, required=True)
        assert speaker is not None
        start = _seconds(src, seg, "SegmentStartTime", path)
        end = _seconds(src, seg, "SegmentEndTime", path)
        draft.turns.append(RawTurn(speaker, text, src.origin(seg, key), start, end))

    if ctx.agent_speaker:
        assign_unlabelled_roles(ctx, draft)
        return draft
    label_roles = {spk: ctx.speakers.lookup(shown) for spk, shown in labels.items()}
    greeter, how = guess_agent((t.speaker, t.text) for t in draft.turns)
    if how == "greeting" and greeter is not None and label_roles.get(greeter) == "customer":
        assign_unlabelled_roles(ctx, draft, labels_from=f"SpeakerLabels call {greeter} the customer, but {greeter} greets")
        return draft
    if label_roles and all(label_roles.get(t.speaker) for t in draft.turns):
        for t in draft.turns:
            t.role = label_roles[t.speaker]
        draft.metadata["roles_from"] = "SpeakerLabels"
        return draft
    for t in draft.turns:
        t.role = label_roles.get(t.speaker) or ctx.speakers.lookup(t.speaker)
    if any(t.role is None for t in draft.turns):
        for t in draft.turns:
            t.role = None
        assign_unlabelled_roles(ctx, draft)
    else:
        draft.metadata["roles_from"] = "speaker table"
    return draft


def _seconds(src: JsonSource, obj: dict[str, Any], key: str, path: str) -> int | None:
    if key not in obj or obj[key] is None:
        return None
    ms = seconds_to_ms(obj[key])
    if ms is None:
        raise src.fail(f"{path}.{key}: expected seconds, got {type_name(obj[key])}", obj, key)
    return ms


def _transcribe(ctx: ReadContext, doc: dict[str, Any], src: JsonSource, conv_id: str) -> Draft:
    results = src.get_obj(doc, "results", "$") or {}
    name = src.get_str(doc, "jobName", "$")
    language = src.get_str(results, "language_code", "$.results") or src.get_str(doc, "language_code", "$")
    draft = Draft(name or conv_id, src.line_of(doc), language=language_tag(language), channel="voice")
    draft.metadata["input_format"] = "aws-transcribe"
    if language:
        draft.metadata["language_code"] = language
    segments = src.get_list(results, "audio_segments", "$.results")
    if segments:
        _from_audio_segments(src, segments, draft)
    else:
        _from_items(src, results, draft)
    if not draft.turns:
        raise src.fail("Amazon Transcribe output without speaker labels: run the job with speaker diarization "
                       "(ShowSpeakerLabels) or channel identification", results or doc)
    assign_unlabelled_roles(ctx, draft)
    return draft


def _append(draft: Draft, speaker: str, piece: str, origin: tuple[tuple[int, int, int], ...], start: int | None, end: int | None, *, punctuation: bool = False) -> None:
    """Add a word or segment to the last turn when the speaker continues, else open a turn."""
    if draft.turns and draft.turns[-1].speaker == speaker:
        turn = draft.turns[-1]
        joiner = "" if punctuation else " "
        base = len(turn.text) + len(joiner)
        turn.text += joiner + piece
        turn.origin = turn.origin + tuple((base + off, line, col) for off, line, col in origin)
        if end is not None:
            turn.end_ms = end
        return
    draft.turns.append(RawTurn(speaker, piece, origin, start, end))


def _from_audio_segments(src: JsonSource, segments: list[Any], draft: Draft) -> None:
    for i, seg in enumerate(segments):
        path = f"$.results.audio_segments[{i}]"
        if not isinstance(seg, dict):
            raise src.fail(f"{path}: expected an object, got {type_name(seg)}", segments, i)
        text = src.get_str(seg, "transcript", path)
        speaker = src.get_str(seg, "speaker_label", path) or src.get_str(seg, "channel_label", path)
        if not text or not text.strip():
            continue
        if not speaker:
            raise src.fail(f"{path}: no speaker_label (run the job with speaker diarization)", seg)
        start = _seconds(src, seg, "start_time", path)
        end = _seconds(src, seg, "end_time", path)
        _append(draft, speaker, text, src.origin(seg, "transcript"), start, end)


def _from_items(src: JsonSource, results: dict[str, Any], draft: Draft) -> None:
    items = src.get_list(results, "items", "$.results")
    # Older outputs put speakers only in speaker_labels.segments: map word start times to speakers.
    by_start: dict[str, str] = {}
    labels = src.get_obj(results, "speaker_labels", "$.results") or {}
    for seg in src.get_list(labels, "segments", "$.results.speaker_labels"):
        if isinstance(seg, dict):
            for word in seg.get("items") or []:
                if isinstance(word, dict) and isinstance(word.get("start_time"), str) and isinstance(word.get("speaker_label"), str):
                    by_start[word["start_time"]] = word["speaker_label"]
    channels = src.get_obj(results, "channel_labels", "$.results") or {}
    if not items and isinstance(channels.get("channels"), list):
        # Channel identification: each channel holds its own items; interleave them by time.
        merged: list[tuple[float, str | None, Any, Any]] = []
        for ch in channels["channels"]:
            if isinstance(ch, dict) and isinstance(ch.get("items"), list):
                label = ch.get("channel_label") if isinstance(ch.get("channel_label"), str) else "ch"
                last = -1.0
                for j, it in enumerate(ch["items"]):
                    when = seconds_to_ms(it.get("start_time")) if isinstance(it, dict) else None
                    # Punctuation has no time: it sorts right after the word before it.
                    last = float(when) if when is not None else last + 1e-3
                    merged.append((last, label, ch["items"], j))
        merged.sort(key=lambda m: m[0])
        sequence: list[tuple[str | None, Any, int]] = [(label, container, j) for _, label, container, j in merged]
    else:
        sequence = [(None, items, j) for j in range(len(items))]
    speaker: str | None = None
    for label, container, j in sequence:
        item = container[j]
        path = f"$.results.items[{j}]"
        if not isinstance(item, dict):
            raise src.fail(f"{path}: expected an object, got {type_name(item)}", container, j)
        alts = item.get("alternatives")
        if not isinstance(alts, list) or not alts or not isinstance(alts[0], dict) or not isinstance(alts[0].get("content"), str):
            raise src.fail(f"{path}.alternatives: expected a list with a 'content' string", item, "alternatives")
        content = alts[0]["content"]
        punctuation = item.get("type") == "punctuation"
        start_raw = item.get("start_time")
        who = label or item.get("speaker_label") or item.get("channel_label") or (by_start.get(start_raw) if isinstance(start_raw, str) else None)
        if isinstance(who, str):
            speaker = who  # punctuation carries no label: it stays with the current speaker
        if speaker is None:
            if punctuation:
                continue
            return  # no diarization at all: the caller reports it
        start = _seconds(src, item, "start_time", path)
        end = _seconds(src, item, "end_time", path)
        _append(draft, speaker, content, src.origin(alts[0], "content"), start, end, punctuation=punctuation)

