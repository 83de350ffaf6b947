"""Read plain text and Markdown documents into one unit of pieces, keeping file positions."""

from __future__ import annotations

import re
from typing import Any

from .directives import Directives
from .docparts import WS, Piece, Unit, linear
from .source import TextBuilder

# --------------------------------------------------------------------------- plain text and Markdown

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_TABLE_SEP = linear(rf"^{WS}*\|?{WS}*:?-{{2,}}:?{WS}*(\|{WS}*:?-{{2,}}:?{WS}*)*\|?{WS}*$")
_BULLET = re.compile(r"^(\s*(?:>\s*)*)(?:[-*+•]|\d{1,3}[.)])\s+")
_QUOTE_MARK = re.compile(r"^\s*(?:>\s?)+")
_INLINE = linear(r"!\[([^\]]*)\]\([^)]*\)|\[([^\]]+)\]\([^)]*\)|\*\*|__|`+|<[A-Za-z/][^>]*>")
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
            import yaml  # only for a front matter block

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


def read_markup(text: str, markdown: bool, directives: Directives) -> tuple[Unit, str, dict[str, Any]]:
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
