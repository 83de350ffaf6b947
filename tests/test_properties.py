"""Hypothesis properties of reliability (SPEC section 9): readers, normalisation, matching, auditing.

* every reader, given arbitrary bytes shaped like its format (JSON of random shapes with
  the formats' own keys, speaker lines, CSV rows, cues), yields only conversations and
  located one-line problems, and never raises;
* normalisation and signal matching never raise on arbitrary text (lone surrogates,
  controls and emoji included) and keep their spans inside it;
* appending unrelated turns to a conversation never removes a ``forbid`` finding
  (real default pack, real text).

``max_examples`` stays modest so that the whole file runs in a few seconds.
"""

from __future__ import annotations

import codecs
import json
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from servicecheck.api import Auditor, load_policies
from servicecheck.inputs import read_document, read_transcripts
from servicecheck.inputs.source import DecodeProblem, decode
from servicecheck.model import ROLES, Conversation, Document, InputProblem, Location, Turn
from servicecheck.text.normalize import normalize

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TMP = Path(tempfile.mkdtemp(prefix="sc-properties-"))


@lru_cache(maxsize=1)
def auditor() -> Auditor:
    """The real default pack, compiled once for the whole file."""
    return Auditor(load_policies())


# --------------------------------------------------------------------------- readers

# The keys every JSON reader looks for, so random documents reach deep into the converters.
KEYS = [
    "id", "turns", "speaker", "role", "text", "start_ms", "end_ms", "language", "channel", "metadata",
    "conversations", "Transcript", "ParticipantId", "ParticipantRole", "Participants", "Content",
    "BeginOffsetMillis", "EndOffsetMillis", "results", "items", "speaker_labels", "segments", "speaker_label",
    "audio_segments", "transcripts", "transcript", "alternatives", "content", "start_time", "end_time",
    "channel_labels", "SpeechSegments", "entries", "user_id", "start_timestamp_usec", "transcriptSegments",
    "words", "phrases", "participantPurpose", "startTimeMs", "duration", "human_transcript", "speaker_role",
    "duration_ms",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.sampled_from(["agent", "customer", "AGENT", "CUSTOMER", "spk_0", "spk_1", "Client", "Conseiller", "bot",
                     "internal", "external", "0.5", "", "fr-FR"]),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=4)), inner, max_size=6)),
    max_leaves=25,
)


@st.composite
def json_bytes(draw: st.DrawFn) -> bytes:
    """One JSON document, or several JSONL lines, then maybe damaged in the ways exports are."""
    values = draw(st.lists(JSON_VALUES, min_size=1, max_size=3))
    indent = draw(st.sampled_from([None, 1]))
    text = ("\n".join(json.dumps(v) for v in values) if draw(st.booleans())
            else json.dumps(values[0], indent=indent, ensure_ascii=draw(st.booleans())))
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    damage = draw(st.sampled_from(["none", "bom", "truncate", "insert", "latin1"]))
    if damage == "bom":
        data = codecs.BOM_UTF8 + data
    elif damage == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif damage == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    elif damage == "latin1":
        data = text.encode("latin-1", errors="replace")
    return data


LINE_SPEAKERS = st.sampled_from(["Agent", "Client", "Conseiller", "Customer", "Zorglub", "spk_0", "Système", ""])
STAMPS = st.sampled_from(["", "[00:12] ", "(10:32) ", "[99:99] ", "[1:02:03.5] "])


@st.composite
def text_bytes(draw: st.DrawFn) -> bytes:
    """``Speaker: text`` lines (with stamps, blank lines, continuations), CSV rows or cues."""
    kind = draw(st.sampled_from(["text", "csv", "vtt", "srt"]))
    words = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
    lines: list[str] = []
    if kind == "text":
        for _ in range(draw(st.integers(0, 6))):
            lines.append(f"{draw(STAMPS)}{draw(LINE_SPEAKERS)}{draw(st.sampled_from([':', ' :', '']))} {draw(words)}")
    elif kind == "csv":
        lines.append(draw(st.sampled_from(["conversation_id,turn,speaker,text,start_ms",
                                           "id;role;message", "text,speaker"])))
        for _ in range(draw(st.integers(0, 5))):
            cells = draw(st.lists(st.one_of(words, LINE_SPEAKERS, st.integers(-5, 5).map(str)), max_size=6))
            lines.append(",".join(f'"{c}"' if draw(st.booleans()) else c for c in cells))
    else:
        sep = "." if kind == "vtt" else ","
        if kind == "vtt":
            lines.append("WEBVTT")
        for n in range(draw(st.integers(0, 4))):
            start, end = draw(st.integers(0, 10**7)), draw(st.integers(0, 10**7))
            stamp = lambda ms: f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"
            lines += ["", str(n + 1), f"{stamp(start)} --> {draw(st.sampled_from([stamp(end), 'garbage', '']))}",
                      (f"<v {draw(LINE_SPEAKERS)}>" if kind == "vtt" else f"{draw(LINE_SPEAKERS)}: ") + draw(words)]
    data = "\n".join(lines).encode("utf-8")
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    return data


def _line_count(data: bytes) -> int | None:
    try:
        return decode(data).count("\n") + 1
    except DecodeProblem:
        return None


def _check_items(items: list[Any], path: Path, data: bytes) -> None:
    # (No item at all is allowed: "[]" is a valid export of zero conversations.)
    lines = _line_count(data)
    for item in items:
        assert isinstance(item, (Conversation, InputProblem)), type(item)
        if isinstance(item, InputProblem):
            assert item.path == str(path)
            assert item.message and "\n" not in item.message and "Traceback" not in item.message
            if item.line is not None and lines is not None:
                assert 1 <= item.line <= lines, (item, lines)
            if item.column is not None:
                assert item.column >= 1
        else:
            assert [t.number for t in item.turns] == list(range(1, len(item.turns) + 1))
            assert all(t.speaker in ROLES for t in item.turns)
            for t in item.turns:
                t.text.encode("utf-8")  # reportable: no lone surrogate survives reading
                if t.line is not None and lines is not None:
                    assert 1 <= t.line <= lines, (t, lines)


@FAST
@given(data=json_bytes(), fmt=st.sampled_from([None, "json", "jsonl", "aws", "ccai", "genesys", "hvb"]),
       ext=st.sampled_from([".json", ".jsonl", ""]))
def test_json_readers_never_raise(data: bytes, fmt: str | None, ext: str) -> None:
    path = TMP / f"input{ext}"
    path.write_bytes(data)
    _check_items(list(read_transcripts(str(path), input_format=fmt)), path, data)


@FAST
@given(data=text_bytes(), fmt=st.sampled_from([None, "text", "csv", "vtt", "srt", "json"]),
       ext=st.sampled_from([".txt", ".csv", ".vtt", ".srt", ""]))
def test_line_readers_never_raise(data: bytes, fmt: str | None, ext: str) -> None:
    path = TMP / f"input{ext}"
    path.write_bytes(data)
    _check_items(list(read_transcripts(str(path), input_format=fmt)), path, data)


@FAST
@given(data=st.one_of(json_bytes(), text_bytes(), st.binary(max_size=200),
                      st.lists(st.sampled_from(["# Titre", "---", "kind: template", "greeting: |", "  Bonjour {{name}}",
                                                "- name: a", "  text: Merci.", "a: &x [1]", "b: *x", "<!-- x -->",
                                                "servicecheck: disable=no-deflection", "Merci. Au revoir !"]),
                               max_size=8).map(lambda ls: "\n".join(ls).encode())),
       ext=st.sampled_from([".md", ".txt", ".yaml", ".yml", ".json", ""]))
def test_document_reader_never_raises(data: bytes, ext: str) -> None:
    path = TMP / f"doc{ext}"
    path.write_bytes(data)
    doc = read_document(str(path))
    assert isinstance(doc, (Document, InputProblem))
    if isinstance(doc, InputProblem):
        assert doc.path == str(path) and doc.message and "\n" not in doc.message
    else:
        for unit in doc.units:
            assert all(t.text.strip() for t in unit.turns)


# --------------------------------------------------------------------------- text

ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=120)  # surrogates and controls included
WORDY_TEXT = st.lists(st.sampled_from(["c'est", "le", "service", "je", "ne", "suis", "pas", "désolé", "sorry", "not",
                                       "my", "department", "merci", "de", "pour", "votre", "patience", "😀", "{{name}}",
                                       "@bob", "http://x.fr/a", "client·e·s", "!", "?", ",", "\u0301", "\ud800", "\t"]),
                      max_size=30).map(" ".join)


@FAST
@given(st.one_of(ANY_TEXT, WORDY_TEXT))
def test_normalize_never_raises_and_spans_stay_inside(text: str) -> None:
    norm = normalize(text)
    assert norm.text == " ".join(tok for tok, _s, _e in norm.tokens)
    for _tok, start, end in norm.tokens:
        assert 0 <= start <= end <= len(text)


@FAST
@given(text=st.one_of(ANY_TEXT, WORDY_TEXT), speaker=st.sampled_from(ROLES),
       language=st.sampled_from(["fr", "en", None, "de", "fr-CA"]), kind=st.sampled_from(["transcript", "template"]))
def test_matching_never_raises(text: str, speaker: str, language: str | None, kind: str) -> None:
    matcher = auditor().matcher
    hits = list(matcher.match(text, speaker, language, kind).values())
    hits += matcher.explain(text, speaker, language, kind)
    for signal in ("apology", "deflection", "thank"):
        hits += matcher.near_misses(text, speaker, language, kind, signal)
    for hit in hits:
        assert 0 <= hit.start <= hit.end <= len(text)


# --------------------------------------------------------------------------- auditing

NEUTRAL = [
    ("customer", "Mon numéro de commande est le 48213."),
    ("customer", "D'accord, je vois."),
    ("customer", "It was delivered to the wrong floor."),
    ("agent", "Je regarde votre dossier."),
    ("agent", "Votre colis est au dépôt de Lyon."),
    ("agent", "The parcel left the warehouse this morning."),
    ("agent", "Un instant, s'il vous plaît."),
    ("system", "Transfert de l'appel."),
    ("bot", "Votre appel est enregistré."),
]
START = [
    ("customer", "Ma commande n'est toujours pas arrivée."),
    ("agent", "Ah ça, c'est le service commercial, pas nous."),
    ("customer", "Bon."),
]


def _conversation(turns: list[tuple[str, str]]) -> Conversation:
    return Conversation(
        id="prop", language="fr", source=Location("prop.json", 1),
        turns=tuple(Turn(i, sp, text) for i, (sp, text) in enumerate(turns, start=1)),
    )


def _forbid_findings(conv: Conversation) -> set[tuple[str, int | None]]:
    forbid = {p.id for p in auditor().policyset.policies if p.kind == "forbid"}
    return {(f.policy, f.turn) for f in auditor().check(conv).findings if f.policy in forbid}


BASE = _forbid_findings(_conversation(START))


def test_the_starting_conversation_has_a_forbid_finding() -> None:
    assert any(policy.endswith("no-deflection") and turn == 2 for policy, turn in BASE)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=st.lists(st.sampled_from(NEUTRAL), min_size=1, max_size=8))
def test_appending_unrelated_turns_never_removes_a_forbid_finding(extra: list[tuple[str, str]]) -> None:
    longer = _forbid_findings(_conversation(START + extra))
    assume(BASE)
    assert BASE <= longer
