"""Parse JSON while remembering where every value starts, without recursion.

The standard library parser forgets positions and recurses once per nesting
level (a file nested 100,000 deep raises RecursionError).  This parser is an
explicit-stack loop over the same grammar; strings are decoded by the C
``json.decoder.scanstring`` so long texts stay fast, and numbers and error
messages follow the standard library's.
"""

from __future__ import annotations

import json
import json.decoder
import re
from typing import Any

from .source import LineIndex

# Deeper than any real transcript; the limit keeps later code that walks the tree safe too.
MAX_DEPTH = 1000

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_CONSTANTS = {"null": None, "true": True, "false": False, "NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
# A lone surrogate escape ("\ud800" without its pair) decodes to a str that cannot be
# encoded as UTF-8: every report writer would fail on it.  It becomes U+FFFD (same length,
# so text offsets and turn origins do not move).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONPosError(ValueError):
    """Invalid JSON at character offset ``pos`` of the parsed text."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class JObject(dict):  # type: ignore[type-arg]
    """A JSON object that also knows where it starts and where each member's value starts."""

    __slots__ = ("start", "value_pos")

    def __init__(self, start: int) -> None:
        super().__init__()
        self.start = start
        self.value_pos: dict[str, int] = {}


class JArray(list):  # type: ignore[type-arg]
    """A JSON array that also knows where it starts and where each element starts."""

    __slots__ = ("start", "value_pos")

    def __init__(self, start: int) -> None:
        super().__init__()
        self.start = start
        self.value_pos: list[int] = []


def _hint(text: str, pos: int, message: str) -> str:
    # Two mistakes dominate hand-edited vendor samples: comments and one brace too many.
    if text.startswith("//", pos) or text.startswith("/*", pos):
        return message + " (comments are not allowed in JSON)"
    if message == "Extra data" and text[pos : pos + 1] in "}]":
        return "Extra data: an unmatched '" + text[pos] + "' after the end of the top-level value"
    return message


def loads(text: str, start: int = 0, end: int | None = None, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse the JSON value in ``text[start:end]``; containers are :class:`JObject`/:class:`JArray`.

    Raises:
        JSONPosError: the text is not one JSON value; ``pos`` is an offset in ``text``.
    """
    stop = len(text) if end is None else end
    value, idx = _parse(text, start, stop, max_depth)
    idx = _WS.match(text, idx, stop).end()  # type: ignore[union-attr]
    if idx < stop:
        raise JSONPosError(_hint(text, idx, "Extra data"), idx)
    return value


def _string(text: str, idx: int, stop: int) -> tuple[str, int]:
    try:
        value, end = json.decoder.scanstring(text, idx + 1, True)  # type: ignore[attr-defined]
    except json.JSONDecodeError as err:
        # The stdlib says "Unterminated string starting at" and then gives the place; ours
        # is in the location prefix, so the message must not end on a dangling "at".
        raise JSONPosError(err.msg.replace("starting at", "starting here"), err.pos) from None
    if end > stop:
        raise JSONPosError("Unterminated string starting here", idx)
    if text.find("\\u", idx, end) != -1 and _LONE_SURROGATE.search(value):
        value = _LONE_SURROGATE.sub("\ufffd", value)
    return value, end


def _parse(text: str, idx: int, stop: int, max_depth: int) -> tuple[Any, int]:
    # Whitespace is skipped up to ``stop`` only: a JSONL line parsed on its own must not
    # run into the next line, or an error at its end was reported on the next line.
    ws = _WS.match
    # Each frame: [container, key of the member being parsed (objects only)].
    stack: list[list[Any]] = []
    while True:
        idx = ws(text, idx, stop).end()  # type: ignore[union-attr]
        char = text[idx] if idx < stop else ""
        value: Any
        if char == "{" or char == "[":
            if len(stack) >= max_depth:
                raise JSONPosError(f"nested deeper than {max_depth} levels", idx)
            container: JObject | JArray = JObject(idx) if char == "{" else JArray(idx)
            idx = ws(text, idx + 1, stop).end()  # type: ignore[union-attr]
            closing = "}" if char == "{" else "]"
            if idx < stop and text[idx] == closing:
                value, idx = container, idx + 1
            else:
                stack.append([container, None])
                if isinstance(container, JObject):
                    idx = _member_key(text, idx, stop, stack[-1])
                else:
                    container.value_pos.append(idx)
                continue
        elif char == '"':
            value, idx = _string(text, idx, stop)
        elif char and (char in "-0123456789"):
            m = _NUMBER.match(text, idx)
            if m is None or m.end() > stop:
                if text.startswith("-Infinity", idx, stop):
                    value, idx = _CONSTANTS["-Infinity"], idx + 9
                else:
                    raise JSONPosError("Expecting value", idx)
            else:
                integer, frac, exp = m.groups()
                try:
                    value = float(integer + (frac or "") + (exp or "")) if frac or exp else int(integer)
                except ValueError:  # an integer longer than Python's digit limit
                    raise JSONPosError("number too long", idx) from None
                idx = m.end()
        else:
            for word, constant in _CONSTANTS.items():
                if text.startswith(word, idx) and idx + len(word) <= stop:
                    value, idx = constant, idx + len(word)
                    break
            else:
                raise JSONPosError(_hint(text, idx, "Expecting value"), idx)
        # A complete value: hand it to its container, closing every container it completes.
        while True:
            if not stack:
                return value, idx
            frame = stack[-1]
            parent = frame[0]
            if isinstance(parent, JObject):
                parent[frame[1]] = value
            else:
                parent.append(value)
            idx = ws(text, idx, stop).end()  # type: ignore[union-attr]
            char = text[idx] if idx < stop else ""
            if char == ",":
                idx = ws(text, idx + 1, stop).end()  # type: ignore[union-attr]
                if isinstance(parent, JObject):
                    idx = _member_key(text, idx, stop, frame)
                else:
                    parent.value_pos.append(idx)
                break
            if char == ("}" if isinstance(parent, JObject) else "]"):
                stack.pop()
                value, idx = parent, idx + 1
                continue
            raise JSONPosError(_hint(text, idx, "Expecting ',' delimiter"), idx)


def _member_key(text: str, idx: int, stop: int, frame: list[Any]) -> int:
    if idx >= stop or text[idx] != '"':
        raise JSONPosError(_hint(text, idx, "Expecting property name enclosed in double quotes"), idx)
    key, idx = _string(text, idx, stop)
    idx = _WS.match(text, idx, stop).end()  # type: ignore[union-attr]
    if idx >= stop or text[idx] != ":":
        raise JSONPosError("Expecting ':' delimiter", idx)
    idx = _WS.match(text, idx + 1, stop).end()  # type: ignore[union-attr]
    frame[1] = key
    frame[0].value_pos[key] = idx
    return idx


def string_origin(text: str, quote: int, index: LineIndex, base: int = 0) -> tuple[tuple[int, int, int], ...]:
    """The ``Turn.origin`` segments of the JSON string literal whose opening quote is at ``quote``.

    Escapes (``\\n``, ``\\u00e9``, surrogate pairs) take more characters in the file
    than in the decoded text, so a new segment starts after each one.  ``base`` is
    added to offsets before they are located (for a JSONL line parsed on its own).
    """
    line, col = index.locate(base + quote + 1)
    try:
        _value, end = json.decoder.scanstring(text, quote + 1, True)  # type: ignore[attr-defined]
    except json.JSONDecodeError:
        return ((0, line, col),)
    raw_start = quote + 1
    raw = text[raw_start : end - 1]
    if "\\" not in raw:
        return ((0, line, col),)
    segments = [(0, line, col)]
    decoded = 0
    last = 0
    pending_high = False
    for m in _ESCAPE.finditer(raw):
        if m.start() > last:
            pending_high = False
        decoded += m.start() - last
        hexa = m.group(1)
        code = int(hexa, 16) if hexa else None
        if code is not None and 0xDC00 <= code <= 0xDFFF and pending_high:
            pass  # second half of a surrogate pair: the pair is one character, already counted
        else:
            decoded += 1
        pending_high = code is not None and 0xD800 <= code <= 0xDBFF
        last = m.end()
        segments.append((decoded, line, col + m.end()))
    return tuple(segments)
