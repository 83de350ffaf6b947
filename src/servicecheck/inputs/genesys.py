"""Read Genesys Cloud speech-and-text-analytics transcripts (``transcripts[].phrases[]``).

Each phrase gives ``participantPurpose`` (``internal``/``agent`` -> agent,
``external``/``customer`` -> customer, ``ivr``/``bot`` -> bot, ``acd``/``system`` ->
system), ``decoratedText`` (preferred: punctuated and cased) or ``text``,
``startTimeMs`` (epoch ms, turned into offsets from the first phrase) and
``duration.milliseconds``.  Phrases of all ``transcripts`` of a file are merged in
time order into one conversation (id: ``conversationId``); a JSON list holds several.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..model import Conversation, InputProblem
from .common import Draft, RawTurn, ReadContext, ReadError, finish, language_tag, put_metadata
from .jsonsource import JsonSource, type_name

PURPOSES = {
    "internal": "agent",
    "agent": "agent",
    "user": "agent",
    "external": "customer",
    "customer": "customer",
    "ivr": "bot",
    "bot": "bot",
    "acd": "system",
    "system": "system",
    "workflow": "system",
}
_MEDIA = {"call": "voice", "callback": "voice", "chat": "chat", "message": "chat", "messaging": "chat", "email": "email"}


def looks_genesys(value: Any) -> bool:
    """True for a Genesys transcript object, or a list of them."""
    if isinstance(value, list):
        return bool(value) and all(looks_genesys(v) for v in value[:3])
    if not isinstance(value, dict) or not isinstance(value.get("transcripts"), list):
        return False
    return all(isinstance(t, dict) and "phrases" in t for t in value["transcripts"][:3])


def convert(ctx: ReadContext, value: Any, src: JsonSource) -> Iterator[Conversation | InputProblem]:
    """Yield the conversations of a Genesys transcript file."""
    docs = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    for i, doc in docs:
        conv_id = ctx.next_id()
        path = f"$[{i}]" if i is not None else "$"
        try:
            if not looks_genesys(doc):
                raise src.fail(f"{path}: not a Genesys Cloud transcript: expected 'transcripts' with 'phrases'", doc)
            draft = _draft(doc, src, path, conv_id)
        except ReadError as err:
            yield ctx.problem(err.message, err.line, err.column)
            continue
        yield finish(ctx, draft)


def _participants(draft: Draft, doc: dict[str, Any]) -> None:
    """Agent and queue from the ``participants`` of the conversation (name or user id, queue name or id)."""
    for who in doc.get("participants") or ():
        if not isinstance(who, dict):
            continue
        purpose = str(who.get("participantPurpose") or who.get("purpose") or "").lower()
        if PURPOSES.get(purpose) == "agent":
            put_metadata(draft, "agent", who.get("participantName") or who.get("userName") or who.get("name")
                         or who.get("userId"))
            put_metadata(draft, "agent_id", who.get("userId"))
        put_metadata(draft, "queue", who.get("queueName") or who.get("queueId"))
    start = doc.get("startTime")
    if isinstance(start, int) and not isinstance(start, bool) and 0 < start < 10**14:
        import datetime

        put_metadata(draft, "date", datetime.datetime.fromtimestamp(start / 1000, datetime.UTC).date().isoformat())


def _draft(doc: dict[str, Any], src: JsonSource, path: str, conv_id: str) -> Draft:
    conv_id = src.get_str(doc, "conversationId", path) or conv_id
    media = src.get_str(doc, "mediaType", path)
    draft = Draft(conv_id, src.line_of(doc), channel=_MEDIA.get((media or "").lower(), media))
    draft.metadata["input_format"] = "genesys"
    for key in ("communicationId", "recordingId", "organizationId"):
        if isinstance(doc.get(key), str):
            draft.metadata[key] = doc[key]
    _participants(draft, doc)
    phrases: list[tuple[int, int, RawTurn]] = []
    transcripts = src.get_list(doc, "transcripts", path, required=True)
    for t_i, transcript in enumerate(transcripts):
        tpath = f"{path}.transcripts[{t_i}]"
        if not isinstance(transcript, dict):
            raise src.fail(f"{tpath}: expected an object, got {type_name(transcript)}", transcripts, t_i)
        language = src.get_str(transcript, "language", tpath)
        if language and draft.language is None:
            draft.language = language_tag(language)
            draft.metadata["language_code"] = language
        items = src.get_list(transcript, "phrases", tpath, required=True)
        for p_i, phrase in enumerate(items):
            ppath = f"{tpath}.phrases[{p_i}]"
            if not isinstance(phrase, dict):
                raise src.fail(f"{ppath}: expected an object, got {type_name(phrase)}", items, p_i)
            key = "decoratedText" if isinstance(phrase.get("decoratedText"), str) and phrase["decoratedText"].strip() else "text"
            text = src.get_str(phrase, key, ppath)
            if text is None or not text.strip():
                continue
            purpose = src.get_str(phrase, "participantPurpose", ppath, required=True)
            assert purpose is not None
            start = src.get_int(phrase, "startTimeMs", ppath)
            duration = phrase.get("duration")
            length = duration.get("milliseconds") if isinstance(duration, dict) else None
            end = start + int(length) if start is not None and isinstance(length, (int, float)) and not isinstance(length, bool) else None
            raw = RawTurn(purpose, text, src.origin(phrase, key), start, end, role=PURPOSES.get(purpose.lower()))
            phrases.append((start if start is not None else 0, len(phrases), raw))
    phrases.sort(key=lambda p: (p[0], p[1]))
    base = next((p[2].start_ms for p in phrases if p[2].start_ms is not None), None)
    for _, _, raw in phrases:
        if base is not None and raw.start_ms is not None:
            raw.start_ms -= base
            if raw.end_ms is not None:
                raw.end_ms -= base
        draft.turns.append(raw)
    return draft
