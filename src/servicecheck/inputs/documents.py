"""Read scripts, macros, templates and guidelines for ``lint``: files -> Documents of sentence turns.

Units
    ``.txt``/``.md``/``.markdown`` files are one unit each (``name`` None, ``id`` = path).
    ``.yaml``/``.yml``/``.json`` files hold named templates, one unit each (``id`` =
    ``path#name``), in any of these shapes::

        templates: {name: {body: "..."}}      # also text/content/message for body
        templates: {name: "..."}
        templates: [{name: ..., body: ...}]
        name: "..."                           # a plain map of name -> body
        [{name: ..., body: ...}]

    Other top-level keys (``language``, ``channel``...) are document metadata.

Turns
    Each unit's turns are its sentences, spoken by ``agent``: text is split at ``.``
    ``!`` ``?`` ``…`` (closing quotes stay with their sentence; abbreviations, decimals
    and ``{{ dotted.placeholders }}`` do not split) and at line ends.  Markdown heading
    marks, list bullets, blockquote marks, table pipes, emphasis and link syntax are
    stripped; fenced code, HTML comments and front matter are skipped; ``#`` lines of
    ``.txt`` files are comments.  Every sentence maps back to its file line and column
    (YAML block scalars through the real file lines).  Heading text stays a sentence.

Kind
    ``guideline`` for material addressed to staff, else ``template`` (customer-facing).
    A directive ``servicecheck: kind=guideline|template`` (front matter, a comment, or
    a ``kind`` key of a YAML template) always wins.  Otherwise a score decides: title
    words (charte, charter, consignes, guideline, guide, memo, playbook, training,
    formation… vs macro, template, modèle, script, réponse type…), the file name's words,
    salutations and sign-offs (Bonjour, Dear, Cordialement, Regards), placeholders,
    quoted lines to say, talk about "les clients"/"customers", staff imperatives
    (Répondez…, Never…) and staff addressees (Team, à tous).  Named YAML/JSON templates
    are ``template`` unless a directive says otherwise.

Metadata
    ``metadata["suppress"]``: the inline directives ``servicecheck: disable=ID[,ID]``
    (scope ``file``: from its line to the end of the file) and
    ``servicecheck: disable-next-line=ID`` (scope ``next-line``), written in the file's
    comment syntax (``<!-- -->`` in Markdown, ``#`` in YAML and text; a ``disable-next-line``
    at the end of a text line targets the next line; comments inside fenced code are
    examples, not directives), as
    ``{"policy": ID or "all", "line": directive line, "scope": ..., "target": first
    suppressed line}``.  ``metadata["counter_example_lines"]``: lines under a heading
    such as "Never say" / « Phrases à bannir » (quoted counter-examples).
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import re2
import yaml

from ..model import Conversation, Document, InputProblem, Location, Turn
from .common import ReadContext, read_input_bytes
from .jsonpos import JArray, JObject, JSONPosError, loads, string_origin
from .source import DecodeProblem, LineIndex, TextBuilder, decode
from .speakers import SpeakerMap

STDIN_NAME = "<stdin>"
_BODY_KEYS = ("body", "text", "content", "message", "template")
_RESERVED = {"language", "lang", "channel", "kind", "servicecheck", "version", "description", "metadata", "register", "$schema", "name", "title", "locale"}

Seg = tuple[int, int, int]


# --------------------------------------------------------------------------- pieces of text


@dataclass
class Piece:
    """A run of lintable text at a file position; ``hard`` ends a sentence after it."""

    builder: TextBuilder
    hard: bool = True


@dataclass
class Unit:
    """A unit being built: its pieces and what is known of it."""

    name: str | None
    first_line: int
    last_line: int
    pieces: list[Piece] = field(default_factory=list)
    kind: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _piece(text: str, line: int, column: int) -> Piece:
    builder = TextBuilder()
    builder.add(text, line, column)
    return Piece(builder)


# --------------------------------------------------------------------------- linear-time patterns

# The patterns that scan ahead from every place they could start run on RE2, which is
# linear whatever the input: with re, a long line of "{{", "[", "«" or spaces made them
# quadratic, and the directive pattern exponential (issue 7; found by fuzzing).  RE2 finds
# the same leftmost-first matches; its \s and \w are ASCII-only, so Python's Unicode
# whitespace is spelled out as _S.
_S = r"[\t\n\x0B\f\r\x1C-\x1F\x{85}\pZ]"
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def _linear(pattern: str) -> Any:
    """``pattern`` compiled by RE2 (a ``re.Pattern``-like object: search, match, finditer)."""
    return re2.compile(pattern, _RE2_OPTIONS)


# --------------------------------------------------------------------------- sentences

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "m", "mme", "mlle", "me", "mm", "e.g", "i.e", "eg", "ie", "cf", "vs", "no", "n°",
    "p.ex", "ex", "approx", "env", "tel", "tél", "inc", "ltd", "jr", "sr", "prof", "fig", "art", "ch", "p", "pp",
}
_SENTENCE_END = re.compile(r"(?:[.!?…]+|\.{3})(?:[ \t\u00a0\u202f]*[»”\"’')\]])*(?=[\s\u00a0\u202f]|$)")
_PLACEHOLDER = _linear(r"\{\{.*?\}\}|\{[^{}\t\n\x0B\f\r\x1C-\x1F\x{85}\pZ]*\}|%[sd]")
_WORD_BEFORE = re.compile(r"([\w.°]+)$")
_HAS_WORD = re.compile(r"\w")


def _slice_origin(segments: tuple[Seg, ...], a: int, b: int, offsets: list[int] | None = None) -> tuple[Seg, ...]:
    if offsets is None:
        offsets = [seg[0] for seg in segments]
    out: list[Seg] = []
    # Start at the segment that holds ``a`` (every earlier one would be skipped): a stream
    # of many segments (a long folded scalar) stays linear, not sentences x segments.
    first = max(bisect.bisect_right(offsets, a) - 1, 0)
    for i in range(first, len(segments)):
        off, line, col = segments[i]
        nxt = segments[i + 1][0] if i + 1 < len(segments) else b
        if nxt <= a and i + 1 < len(segments):
            continue
        if off >= b:
            break
        if off <= a:
            out.append((0, line, col + (a - off)))
        else:
            out.append((off - a, line, col))
    return tuple(out)


def split_sentences(text: str, segments: tuple[Seg, ...]) -> Iterator[tuple[str, tuple[Seg, ...]]]:
    """Split ``text`` into sentences and lines, each with its own origin segments."""
    protected = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
    protected_starts = [a for a, _b in protected]  # sorted, non-overlapping: bisect, not a scan per cut
    cuts: list[int] = []
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        k = bisect.bisect_left(protected_starts, m.start()) - 1
        if k >= 0 and m.start() < protected[k][1]:
            continue
        if text[m.start()] == "." and m.group().strip(" \t\u00a0\u202f»”\"’')]") == ".":
            # Look back a bounded window only: a search from 0 made every sentence cost the
            # whole text before it (quadratic on a 6 MB paragraph).  A word cut by the window
            # is 32+ characters long, never one of the short _ABBREVIATIONS.
            before = _WORD_BEFORE.search(text, max(0, m.start() - 32), m.start())
            if before and before.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                continue
        cuts.append(end)
    boundaries = sorted(set(cuts) | {i + 1 for i, c in enumerate(text) if c == "\n"} | {len(text)})
    start = 0
    offsets = [seg[0] for seg in segments]
    for cut in boundaries:
        chunk = text[start:cut]
        lead = len(chunk) - len(chunk.lstrip())
        body = chunk.strip()
        if body and _HAS_WORD.search(body):
            a = start + lead
            yield body, _slice_origin(segments, a, a + len(body), offsets)
        start = cut


def _sentences(unit: Unit) -> tuple[Turn, ...]:
    # Join soft-broken pieces (folded YAML lines) into one stream; a hard piece ends a line.
    streams: list[TextBuilder] = []
    current: TextBuilder | None = None
    for piece in unit.pieces:
        if current is None:
            current = TextBuilder()
        elif current:
            current.glue(" ")
        current.extend(piece.builder)
        if piece.hard:
            streams.append(current)
            current = None
    if current is not None:
        streams.append(current)
    turns: list[Turn] = []
    for stream in streams:
        for sentence, origin in split_sentences(stream.text, stream.origin):
            turns.append(Turn(number=len(turns) + 1, speaker="agent", text=sentence, origin=origin))
    return tuple(turns)


# --------------------------------------------------------------------------- directives

# RE2 (see _linear): with re, "servicecheck: disable-next-line=aaaaaaaaaaaa !" took 80 s.
_DIRECTIVE = _linear(
    rf"(?i)servicecheck{_S}*:{_S}*(?P<body>(?:[\pL\pN_-]+{_S}*(?:={_S}*[\pL\pN_.,/ -]*?)?{_S}*)+?){_S}*(?:-->|$)"
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
        for m in _DIRECTIVE.finditer(comment):
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
            if entry["scope"] == "file" and entry["line"] <= last:
                keep.append(dict(entry))
            elif entry["scope"] == "next-line" and first <= entry["target"] <= last:
                keep.append(dict(entry))
        return keep


# --------------------------------------------------------------------------- kind heuristic

_GUIDELINE_WORDS = re.compile(
    r"\b(chartes?|charters?|consignes?|guidelines?|guides?|memos?|m[ée]mos?|playbooks?|training|formation|handbook|manuel|"
    r"r[eè]glement|proc[ée]dures?|note de service|bonnes pratiques|best practices|code of conduct|onboarding|"
    r"kpis?|objectifs|targets|policy|politique|rules|r[eè]gles|rappel de la direction|coaching)\b",
    re.IGNORECASE,
)
_TEMPLATE_WORDS = re.compile(
    r"\b(macros?|templates?|mod[eè]les?|scripts?|r[ée]ponses? types?|canned|replies|reply|r[ée]ponses?|e-?mails?|"
    r"courriers?|lettres? types?|messages? types?|greeting|accueil|closing|opening)\b",
    re.IGNORECASE,
)
_SALUTATION = re.compile(
    r"^(bonjour|bonsoir|hello|hi|hey|dear|cher|ch[eè]re|madame|monsieur|cordialement|bien cordialement|regards|kind regards|"
    r"best regards|best,|sincerely|merci de votre|thanks for your patience|thank you for your)\b",
    re.IGNORECASE,
)
_THIRD_PERSON = re.compile(
    r"\b(les clients|nos clients|chaque client|tout client|aux clients|un client|customers|every customer|each customer|a customer|our customers)\b",
    re.IGNORECASE,
)
_STAFF_IMPERATIVE = re.compile(
    r"^(r[ée]pondez|traitez|soyez|ne passez|ne dites|dites|[ée]coutez|reconnaissez|posez|prenez|gardez|restez|pr[ée]venez|signalez|"
    r"answer|treat|be|never|always|keep|pick up|remember|let the|acknowledge|set the|listen|avoid|make sure|do not|don't)\b",
    re.IGNORECASE,
)
_STAFF_ADDRESS = re.compile(
    r"^(team|[ée]quipe|hi team|hello team|bonjour [àa] tous|[àa] tous|to all|all advisors|tous les conseillers|"
    r"from the desk|rappel de la direction|bon courage)\b|\b(all advisors|tous les conseillers|all agents|tous les agents)\b",
    re.IGNORECASE,
)
_QUOTED = _linear(r"[\"“«][^\"”»]{8,}[\"”»]")


def guess_kind(title: str, file_name: str, lines: list[str], quoted_examples: int = 0) -> str:
    """``guideline`` or ``template`` for a whole-file document, from its title, name and lines.

    ``quoted_examples`` lines of ``lines`` are quoted counter-examples ("Never say"): quotes
    there are not lines to say to a customer.
    """
    score = 0
    if _GUIDELINE_WORDS.search(title):
        score += 4
    if _TEMPLATE_WORDS.search(title):
        score -= 4
    stem = re.sub(r"[_\-.]+", " ", os.path.splitext(file_name)[0])
    if _GUIDELINE_WORDS.search(stem):
        score += 2
    if _TEMPLATE_WORDS.search(stem):
        score -= 2
    salutations = sum(1 for ln in lines if _SALUTATION.match(ln))
    placeholders = sum(1 for ln in lines if _PLACEHOLDER.search(ln))
    quoted = max(0, sum(1 for ln in lines if _QUOTED.search(ln)) - quoted_examples)
    third = sum(len(_THIRD_PERSON.findall(ln)) for ln in lines)
    imperative = sum(1 for ln in lines if _STAFF_IMPERATIVE.match(ln))
    address = sum(1 for ln in lines if _STAFF_ADDRESS.search(ln))
    score -= min(salutations, 2) * 2 + min(placeholders, 2) + min(quoted, 3)
    score += min(third, 3) + min(imperative, 3) + min(address, 1) * 2
    return "guideline" if score > 0 else "template"


# --------------------------------------------------------------------------- plain text and Markdown

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_TABLE_SEP = _linear(rf"^{_S}*\|?{_S}*:?-{{2,}}:?{_S}*(\|{_S}*:?-{{2,}}:?{_S}*)*\|?{_S}*$")
_BULLET = re.compile(r"^(\s*(?:>\s*)*)(?:[-*+•]|\d{1,3}[.)])\s+")
_QUOTE_MARK = re.compile(r"^\s*(?:>\s?)+")
_INLINE = _linear(r"!\[([^\]]*)\]\([^)]*\)|\[([^\]]+)\]\([^)]*\)|\*\*|__|`+|<[A-Za-z/][^>]*>")
_COUNTER_HEADING = re.compile(
    r"never say|don'?t say|do not say|what not to say|not to say|banned|forbidden|avoid saying|counter-?examples?|"
    r"[àa] bannir|[àa] [ée]viter|[àa] ne (pas|jamais) dire|contre-?exemples?|phrases interdites|interdit",
    re.IGNORECASE,
)


def _inline_pieces(text: str, line: int, column: int, builder: TextBuilder) -> None:
    """Add ``text`` to ``builder`` without Markdown inline syntax, keeping columns exact."""
    pos = 0
    for m in _INLINE.finditer(text):
        builder.add(text[pos : m.start()], line, column + pos)
        kept = m.group(1) if m.group(1) is not None else m.group(2)
        if kept:
            offset = m.start() + (2 if m.group(1) is not None else 1)
            builder.add(kept, line, column + offset)
        pos = m.end()
    builder.add(text[pos:], line, column + pos)


def _front_matter(lines: list[str], start: int) -> tuple[int, dict[str, Any]]:
    """If a ``---`` front matter block starts at index ``start``, return its end index and data."""
    if start >= len(lines) or lines[start].strip() != "---":
        return start, {}
    for end in range(start + 1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            try:
                data = yaml.safe_load("\n".join(lines[start + 1 : end]))
            except yaml.YAMLError:
                data = None
            return end + 1, data if isinstance(data, dict) else {}
    return start, {}


def _apply_front_matter(data: dict[str, Any], directives: Directives, meta: dict[str, Any]) -> None:
    value = data.get("servicecheck")
    if isinstance(value, str):
        directives.parse("servicecheck: " + value, 0)
    elif isinstance(value, dict) and isinstance(value.get("kind"), str):
        directives.parse("servicecheck: kind=" + value["kind"], 0)
    if isinstance(data.get("kind"), str):
        directives.parse("servicecheck: kind=" + data["kind"], 0)
    for key in ("language", "lang", "channel"):
        if isinstance(data.get(key), str):
            meta[key if key != "lang" else "language"] = data[key]


def _read_markup(text: str, markdown: bool, directives: Directives) -> tuple[Unit, str, dict[str, Any]]:
    """Whole-file unit for Markdown or plain text; returns the unit, its title and front-matter data."""
    lines = text.split("\n")
    unit = Unit(None, 1, 1)
    meta: dict[str, Any] = {}
    title = ""
    i = 0
    # A first-line marker comment may precede front matter.
    if markdown:
        j = 0
        while j < len(lines) and (not lines[j].strip() or (lines[j].lstrip().startswith("<!--") and lines[j].rstrip().endswith("-->"))):
            j += 1
        end, data = _front_matter(lines, j)
        if data or end != j:
            for k in range(j):
                directives.parse(lines[k], k + 1)
            _apply_front_matter(data, directives, meta)
            i = end
    in_fence = False
    in_comment = False
    counter_level: int | None = None
    counter_lines: list[int] = []
    prev_text = False
    while i < len(lines):
        raw = lines[i]
        number = i + 1
        i += 1
        if markdown:
            if not in_fence and (in_comment or "<!--" in raw):
                # Remove HTML comments, reading their directives; text outside them stays.
                # Inside fenced code a comment is an example being shown, not a directive.
                kept, in_comment = _strip_comments(raw, number, directives, in_comment)
                if not kept.strip():
                    prev_text = False
                    continue
                raw = kept
            if _FENCE.match(raw):
                in_fence = not in_fence
                prev_text = False
                continue
            if in_fence:
                continue
            if (prev_text and _SETEXT.match(raw)) or _RULE.match(raw) or (_TABLE_SEP.match(raw) and "|" in raw):
                prev_text = False
                continue
            heading = _HEADING.match(raw)
            if heading:
                level = len(heading.group(1))
                content = heading.group(2)
                if not title:
                    title = content
                if counter_level is not None and level <= counter_level:
                    counter_level = None
                if _COUNTER_HEADING.search(content):
                    counter_level = level
                directives.text_line(number)
                builder = TextBuilder()
                _inline_pieces(content, number, heading.start(2) + 1, builder)
                unit.pieces.append(Piece(builder))
                unit.last_line = number
                prev_text = False
                continue
        else:
            if raw.lstrip().startswith("#"):
                directives.parse(raw, number)
                continue
        if not raw.strip():
            prev_text = False
            continue
        directives.text_line(number)
        if not title:
            title = raw.strip()
        unit.last_line = number
        if counter_level is not None:
            counter_lines.append(number)
        body_start = 0
        if markdown:
            q = _QUOTE_MARK.match(raw)
            if q:
                body_start = q.end()
        b = _BULLET.match(raw[body_start:])
        if b:
            body_start += b.end()
        content = raw[body_start:]
        if markdown and (content.strip().startswith("|") or content.count("|") >= 2):
            # A table row: every cell is a piece of its own.
            cell_start = body_start
            for cell in re.split(r"(?<!\\)\|", content):
                lead = len(cell) - len(cell.lstrip())
                if cell.strip():
                    builder = TextBuilder()
                    _inline_pieces(cell.strip(), number, cell_start + lead + 1, builder)
                    unit.pieces.append(Piece(builder))
                cell_start += len(cell) + 1
            prev_text = True
            continue
        lead = len(content) - len(content.lstrip())
        builder = TextBuilder()
        if markdown:
            _inline_pieces(content.strip(), number, body_start + lead + 1, builder)
        else:
            builder.add(content.strip(), number, body_start + lead + 1)
        unit.pieces.append(Piece(builder))
        prev_text = True
    if counter_lines:
        unit.metadata["counter_example_lines"] = counter_lines
    unit.last_line = max(unit.last_line, _last_text_line(lines))
    return unit, title, meta


def _last_text_line(lines: list[str]) -> int:
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip():
            return i + 1
    return 1


def _strip_comments(raw: str, number: int, directives: Directives, in_comment: bool) -> tuple[str, bool]:
    kept: list[str] = []
    pos = 0
    while pos <= len(raw):
        if in_comment:
            end = raw.find("-->", pos)
            chunk = raw[pos:] if end == -1 else raw[pos:end]
            directives.parse(chunk, number)
            if end == -1:
                return "".join(kept), True
            in_comment = False
            kept.append(" " * (end + 3 - pos))
            pos = end + 3
        else:
            start = raw.find("<!--", pos)
            if start == -1:
                kept.append(raw[pos:])
                break
            kept.append(raw[pos:start])
            kept.append(" " * 4)
            pos = start + 4
            in_comment = True
    return "".join(kept), in_comment


# --------------------------------------------------------------------------- YAML and JSON maps


class _YamlUnitsError(ValueError):
    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def _last_content_line(text: str, index: LineIndex, end: int) -> int:
    i = min(end, len(text)) - 1
    while i > 0 and text[i].isspace():
        i -= 1
    return index.locate(max(i, 0))[0]


def _yaml_scalar_pieces(node: yaml.ScalarNode, text: str, index: LineIndex) -> list[Piece]:
    value = node.value
    start, end = node.start_mark, node.end_mark
    if node.style in ("|", ">"):
        raw_lines = text[start.index : end.index].split("\n")[1:]  # skip the indicator line
        first_line = start.line + 2
        indent = None
        for ln in raw_lines:
            if ln.strip():
                indent = len(ln) - len(ln.lstrip(" "))
                break
        pieces: list[Piece] = []
        if indent is None:
            return pieces
        rebuilt: list[str] = []
        for k, ln in enumerate(raw_lines):
            if not ln.strip():
                rebuilt.append("")
                if pieces:
                    pieces[-1].hard = True
                continue
            body = ln[indent:]
            rebuilt.append(body)
            piece = _piece(body.rstrip(), first_line + k, indent + 1)
            piece.hard = node.style == "|"
            pieces.append(piece)
        if pieces:
            pieces[-1].hard = True
        check = "\n".join(rebuilt).strip()
        if node.style == "|" and check != value.strip():
            return [_piece(value, first_line, indent + 1)]
        return pieces
    raw = text[start.index : end.index]
    quote = 1 if node.style in ("'", '"') else 0
    inner = raw[quote : len(raw) - quote] if quote else raw
    if "\n" not in inner:
        # Escapes in a quoted scalar shift later columns slightly; the line stays exact.
        return [_piece(value, start.line + 1, start.column + 1 + quote)]
    # A multi-line flow scalar: YAML folds its lines with spaces.
    pieces = []
    for k, ln in enumerate(inner.split("\n")):
        body = ln.strip()
        if body:
            col = (start.column + 1 + quote) if k == 0 else (len(ln) - len(ln.lstrip()) + 1)
            piece = _piece(body, start.line + 1 + k, col)
            piece.hard = False
            pieces.append(piece)
    if " ".join(p.builder.text for p in pieces) != value.strip():
        return [_piece(value, start.line + 1, start.column + 1 + quote)]
    if pieces:
        pieces[-1].hard = True
    return pieces


def _map_items(node: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]]:
    return list(node.value) if isinstance(node, yaml.MappingNode) else []


def _scalar(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _yaml_units(text: str, directives: Directives) -> tuple[list[Unit], dict[str, Any]]:
    index = LineIndex(text)
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise _YamlUnitsError(f"invalid YAML: {err.problem or err.context}", mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    except yaml.YAMLError as err:
        raise _YamlUnitsError(f"invalid YAML: {err}") from None
    if root is None:
        return [], {}
    meta: dict[str, Any] = {}
    entries: list[tuple[str, yaml.Node, yaml.Node]] = []  # name, key node (or item), value node

    def from_sequence(seq: yaml.SequenceNode) -> None:
        for item in seq.value:
            fields = {(_scalar(k) or ""): v for k, v in _map_items(item)}
            name = _scalar(fields.get("name")) or _scalar(fields.get("id"))
            if name is None:
                raise _YamlUnitsError("template list item without a 'name'", item.start_mark.line + 1, item.start_mark.column + 1)
            entries.append((name, item, item))

    if isinstance(root, yaml.SequenceNode):
        from_sequence(root)
    elif isinstance(root, yaml.MappingNode):
        top = [(_scalar(k), k, v) for k, v in root.value]
        templates = next((v for name, _, v in top if name == "templates"), None)
        for name, key, value in top:
            if name is None or name == "templates":
                continue
            if templates is not None or name in _RESERVED:
                if isinstance(value, yaml.ScalarNode):
                    meta[name] = value.value
                continue
            if isinstance(value, (yaml.ScalarNode, yaml.MappingNode)):
                entries.append((name, key, value))
        if isinstance(templates, yaml.MappingNode):
            for key, value in templates.value:
                name = _scalar(key)
                if name is not None:
                    entries.append((name, key, value))
        elif isinstance(templates, yaml.SequenceNode):
            from_sequence(templates)
        elif templates is not None:
            raise _YamlUnitsError("'templates' must be a map of named templates or a list", templates.start_mark.line + 1, templates.start_mark.column + 1)
    else:
        raise _YamlUnitsError("expected a map of named templates", root.start_mark.line + 1, root.start_mark.column + 1)
    if isinstance(meta.get("servicecheck"), str):
        directives.parse("servicecheck: " + meta["servicecheck"], 0)
    if isinstance(meta.get("kind"), str):
        directives.parse("servicecheck: kind=" + meta["kind"], 0)

    units: list[Unit] = []
    for name, key, value in entries:
        body: yaml.Node | None = value if isinstance(value, yaml.ScalarNode) else None
        unit = Unit(name, key.start_mark.line + 1, _last_content_line(text, index, value.end_mark.index))
        for k, v in _map_items(value):
            field_name = _scalar(k)
            if field_name in _BODY_KEYS and body is None:
                body = v
            elif field_name == "kind" and _scalar(v) in ("guideline", "template"):
                unit.kind = _scalar(v)
            elif field_name and isinstance(v, yaml.ScalarNode) and field_name not in ("name",):
                unit.metadata[field_name] = v.value
        if body is None:
            raise _YamlUnitsError(f"template {name!r} has no body (one of: {', '.join(_BODY_KEYS)})", key.start_mark.line + 1, key.start_mark.column + 1)
        if not isinstance(body, yaml.ScalarNode):
            raise _YamlUnitsError(f"template {name!r}: the body must be text", body.start_mark.line + 1, body.start_mark.column + 1)
        unit.pieces = _yaml_scalar_pieces(body, text, index)
        units.append(unit)
    _yaml_comments(text, root, directives)
    return units, meta


def _yaml_comments(text: str, root: yaml.Node, directives: Directives) -> None:
    """Read ``# servicecheck:`` comments, skipping lines inside block scalars (they are text)."""
    inside: set[int] = set()
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.style in ("|", ">"):
                inside.update(range(node.start_mark.line + 2, node.end_mark.line + 1))
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.extend((k, v))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    for number, raw in enumerate(text.split("\n"), start=1):
        if number in inside:
            directives.text_line(number)
            continue
        hash_at = raw.find("#")
        if hash_at != -1 and (hash_at == 0 or raw[hash_at - 1].isspace()):
            directives.parse(raw[hash_at + 1 :], number)
            if raw[:hash_at].strip():
                directives.text_line(number)
        elif raw.strip():
            directives.text_line(number)


def _json_units(text: str) -> tuple[list[Unit], dict[str, Any]]:
    index = LineIndex(text)
    try:
        root = loads(text)
    except JSONPosError as err:
        line, col = index.locate(err.pos)
        raise _YamlUnitsError(f"invalid JSON: {err.message}", line, col) from None
    meta: dict[str, Any] = {}
    entries: list[tuple[str, Any, Any, Any]] = []  # name, container, key, value

    def from_list(items: JArray) -> None:
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name") or item.get("id"), str):
                line, col = index.locate(items.value_pos[i])
                raise _YamlUnitsError("template list item without a 'name'", line, col)
            entries.append((item.get("name") or item.get("id"), items, i, item))

    if isinstance(root, JArray):
        from_list(root)
    elif isinstance(root, JObject):
        templates = root.get("templates")
        for name, value in root.items():
            if name == "templates":
                continue
            if templates is not None or name in _RESERVED:
                if isinstance(value, str):
                    meta[name] = value
                continue
            if isinstance(value, (str, dict)):
                entries.append((name, root, name, value))
        if isinstance(templates, JObject):
            for name, value in templates.items():
                entries.append((name, templates, name, value))
        elif isinstance(templates, JArray):
            from_list(templates)
    else:
        raise _YamlUnitsError("expected a map of named templates", 1, 1)
    units: list[Unit] = []
    for name, container, key, value in entries:
        pos = container.value_pos[key]
        key_line = index.locate(pos)[0]
        end = _json_end(text, value, pos)
        unit = Unit(name, key_line, _last_content_line(text, index, end))
        holder, body_key = container, key
        if isinstance(value, dict):
            body_key = next((k for k in _BODY_KEYS if isinstance(value.get(k), str)), None)
            if body_key is None:
                raise _YamlUnitsError(f"template {name!r} has no body (one of: {', '.join(_BODY_KEYS)})", *index.locate(pos))
            holder = value
            if value.get("kind") in ("guideline", "template"):
                unit.kind = value["kind"]
            for k, v in value.items():
                if isinstance(v, str) and k not in _BODY_KEYS and k not in ("kind", "name"):
                    unit.metadata[k] = v
        elif not isinstance(value, str):
            raise _YamlUnitsError(f"template {name!r}: the body must be text", *index.locate(pos))
        quote = holder.value_pos[body_key]
        builder = TextBuilder()
        body = holder[body_key]
        segments = string_origin(text, quote, index)
        builder.parts.append(body)
        builder.segments.extend(segments)
        builder.length = len(body)
        unit.pieces = [Piece(builder)]
        units.append(unit)
    if isinstance(root, JObject) and isinstance(root.get("servicecheck"), str):
        meta["servicecheck"] = root["servicecheck"]
    return units, meta


def _json_end(text: str, value: Any, pos: int) -> int:
    """The offset just past the JSON value starting at ``pos``."""
    try:
        loads(text, pos, None)
    except JSONPosError as err:
        return err.pos
    return len(text)


# --------------------------------------------------------------------------- the public reader


def read_document(path: str, *, stdin: BinaryIO | None = None, text: str | None = None) -> Document | InputProblem:
    """Read one script, macro, template or guideline file for ``lint``.

    Args:
        path: the file (``.txt``, ``.md``, ``.markdown``, ``.yaml``, ``.yml``, ``.json``;
            other names are read as plain text); ``"-"`` reads ``stdin``.
        stdin: the stream read for ``"-"``.
        text: the content, already in memory (an editor's unsaved buffer): read as
            ``path`` would be (its extension chooses the syntax), never from disk.

    Returns:
        The Document, or the InputProblem that prevented reading it.
    """
    display = STDIN_NAME if path == "-" else path
    ctx = ReadContext(display, SpeakerMap())
    if text is None:
        data = read_input_bytes(ctx, path, stdin)
        if isinstance(data, InputProblem):
            return data
        try:
            text = decode(data)
        except DecodeProblem as err:
            return ctx.problem(str(err))
    else:
        text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        if not text.strip():
            return Document(display, (), None)  # a buffer being written: nothing to lint yet
    ext = os.path.splitext(path)[1].lower() if path != "-" else ""
    if not ext:
        head = text.lstrip()
        ext = ".json" if head.startswith(("{", "[")) else ".yaml" if re.match(r"templates\s*:", head) else ".txt"
    directives = Directives()
    try:
        if ext in (".yaml", ".yml", ".json"):
            if ext == ".json":
                units, meta = _json_units(text)
                if isinstance(meta.get("servicecheck"), str):
                    directives.parse("servicecheck: " + meta["servicecheck"], 0)
            else:
                units, meta = _yaml_units(text, directives)
            for unit in units:
                unit.kind = unit.kind or directives.kind or "template"
        else:
            markdown = ext in (".md", ".markdown", ".mdown", ".mkd")
            unit, title, meta = _read_markup(text, markdown, directives)
            lines = [p.builder.text for p in unit.pieces]
            examples = len(unit.metadata.get("counter_example_lines", []))
            unit.kind = directives.kind or guess_kind(title, os.path.basename(display), lines, examples)
            units = [unit]
    except _YamlUnitsError as err:
        return ctx.problem(err.message, err.line, err.column)
    except RecursionError:
        return ctx.problem("document nested too deeply to read")
    language = meta.get("language") if isinstance(meta.get("language"), str) else None
    built = tuple(_conversation(display, unit, meta, directives) for unit in units)
    return Document(display, built, language)


def _conversation(display: str, unit: Unit, meta: dict[str, Any], directives: Directives) -> Conversation:
    language = meta.get("language") if isinstance(meta.get("language"), str) else None
    channel = meta.get("channel") if isinstance(meta.get("channel"), str) else None
    metadata: dict[str, Any] = {k: v for k, v in meta.items() if k not in ("language", "channel")}
    metadata.update(unit.metadata)
    metadata["suppress"] = directives.for_unit(unit.first_line, unit.last_line)
    return Conversation(
        id=f"{display}#{unit.name}" if unit.name is not None else display,
        turns=_sentences(unit),
        source=Location(display, unit.first_line),
        language=unit.metadata.get("language") or language,
        channel=unit.metadata.get("channel") or channel,
        metadata=metadata,
        kind=unit.kind or "template",
        name=unit.name,
        end_line=unit.last_line,
    )


def document_from_text(text: str, path: str = "<example>", kind: str = "template", *, markdown: bool = True) -> Conversation:
    """One document unit from a string (a policy example), its sentences as turns.

    Args:
        text: the template or guideline text (Markdown by default; plain text works too).
        path: the name used in locations and as the unit id.
        kind: the unit's kind (``template`` or ``guideline``; plurals are accepted).
        markdown: read Markdown syntax (headings, bullets, comments) rather than plain text.

    Raises:
        InputError: the text holds no sentence.
    """
    from ..errors import InputError

    directives = Directives()
    unit, _title, meta = _read_markup(text.replace("\r\n", "\n").replace("\r", "\n"), markdown, directives)
    unit.kind = {"templates": "template", "guidelines": "guideline"}.get(kind, kind)
    conv = _conversation(path, unit, meta, directives)
    if not conv.turns:
        raise InputError(path, "the example holds no text")
    return conv
