"""Tell an input's format from its file name and its first bytes.

Rules, in order:

1. Extension: ``.jsonl``/``.ndjson`` -> ``jsonl``; ``.txt``/``.log``/``.text`` -> ``text``;
   ``.csv``/``.tsv`` -> ``csv``; ``.vtt`` -> ``vtt``; ``.srt`` -> ``srt``; ``.json`` -> the
   JSON flavour sniffed from its keys (below), or ``jsonl`` when its first line is a
   complete object and the next line starts another.
2. Otherwise the content: ``WEBVTT`` first -> ``vtt``; a cue number then a ``-->`` line
   -> ``srt``; ``{`` or ``[`` -> a JSON flavour (unless the first line is a text
   transcript's, as ``[00:00] Customer: hello`` is); a header line naming a text column and a
   speaker or role column -> ``csv``; ``Speaker: text`` lines with known speakers -> ``text``.

JSON flavours by key: ``SpeechSegments``, ``Transcript`` + ``Participant…``, or
``results`` + ``items``/``speaker_labels``/``audio_segments`` -> ``aws``;
``transcriptSegments`` or ``entries`` -> ``ccai``; ``phrases`` + ``participantPurpose``
-> ``genesys``; ``human_transcript`` + ``speaker_role`` -> ``hvb``; anything else ->
``json`` (the canonical format).  When the format was detected rather than given,
the reader checks the parsed structure again, so a flavour the first bytes could not
reveal is still read right.
"""

from __future__ import annotations

import os
import re

from .jsonpos import JSONPosError, loads
from .speakers import SpeakerMap

EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".text": "text",
    ".log": "text",
    ".csv": "csv",
    ".tsv": "csv",
    ".vtt": "vtt",
    ".srt": "srt",
}
_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:')


def json_flavour(head: str) -> str:
    """The JSON format suggested by the keys in ``head`` (``json`` when none is recognised)."""
    keys = set(_KEY.findall(head))
    if "SpeechSegments" in keys or ("Transcript" in keys and keys & {"ParticipantId", "ParticipantRole", "Participants"}):
        return "aws"
    if "results" in keys and keys & {"items", "speaker_labels", "audio_segments", "channel_labels", "transcripts"}:
        return "aws"
    if "transcriptSegments" in keys or ("entries" in keys and keys & {"start_timestamp_usec", "role", "user_id", "conversation_info"}):
        return "ccai"
    if "phrases" in keys and keys & {"participantPurpose", "transcripts"}:
        return "genesys"
    if "human_transcript" in keys and "speaker_role" in keys:
        return "hvb"
    return "json"


def _is_jsonl(text: str) -> bool:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    if len(lines) < 2 or not lines[1].lstrip().startswith(("{", "[")):
        return False
    try:
        # Our iterative parser, not json.loads: a first line nested 30,000 deep made the
        # stdlib recurse into RecursionError.  The depth limit is the reader's business.
        loads(lines[0], max_depth=len(lines[0]))
    except JSONPosError:
        return False
    return True


def _looks_csv(first: str) -> bool:
    from .tabular import ALIASES, _norm_header, sniff_delimiter

    delimiter = sniff_delimiter(first)
    if delimiter not in first:
        return False
    names = {_norm_header(n) for n in first.split(delimiter)}
    has_text = bool(names & set(ALIASES["text"]))
    has_speaker = bool(names & (set(ALIASES["speaker"]) | set(ALIASES["role"])))
    return has_text and has_speaker


def _text_first_line(stripped: str) -> bool:
    """Whether the first line is a text transcript's (``[00:00] Customer: ...``), which JSON never is."""
    from .text import match_label

    m = match_label(stripped.split("\n", 1)[0].strip())
    return bool(m and SpeakerMap().known(m.group("name")))


def detect_format(path: str, head: bytes) -> str | None:
    """Guess the input format of ``path`` from its extension and its first bytes.

    Args:
        path: the file name ("-" for standard input, which has no extension).
        head: the first bytes of the file (64 KiB is plenty).

    Returns:
        One of the reader formats, or None when nothing fits.
    """
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    ext = os.path.splitext(path)[1].lower() if path != "-" else ""
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    stripped = text.lstrip()
    if ext == ".json" or (stripped.startswith(("{", "[")) and not _text_first_line(stripped)):
        if _is_jsonl(text):
            return "jsonl"
        if ext == ".json" or stripped:
            return json_flavour(text)
    if not stripped:
        return None
    if stripped.startswith("WEBVTT"):
        return "vtt"
    lines = [ln.strip() for ln in stripped.split("\n")]
    if len(lines) > 1 and lines[0].isdigit() and "-->" in lines[1]:
        return "srt"
    if _looks_csv(lines[0]):
        return "csv"
    from .text import match_label

    speakers = SpeakerMap()
    for line in lines[:200]:
        m = match_label(line)
        if m and speakers.known(m.group("name")):
            return "text"
    return None
