"""Positions and typed access for readers of JSON-based formats."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .common import ReadError
from .jsonpos import JArray, JObject, string_origin
from .source import LineIndex


def type_name(value: object) -> str:
    """The JSON name of a Python value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass
class JsonSource:
    """The text a JSON value was parsed from, to turn offsets into lines and turn origins."""

    text: str
    index: LineIndex
    base: int = 0  # added to offsets (a JSONL line parsed on its own)

    def at(self, offset: int) -> tuple[int, int]:
        """``(line, column)`` of an offset in the parsed text."""
        return self.index.locate(self.base + offset)

    def where(self, container: Any, key: str | int | None = None) -> tuple[int | None, int | None]:
        """``(line, column)`` of ``container[key]`` (or of the container itself)."""
        if isinstance(container, JObject):
            if isinstance(key, str) and key in container.value_pos:
                return self.at(container.value_pos[key])
            return self.at(container.start)
        if isinstance(container, JArray):
            if isinstance(key, int) and 0 <= key < len(container.value_pos):
                return self.at(container.value_pos[key])
            return self.at(container.start)
        return None, None

    def line_of(self, container: Any, key: str | int | None = None) -> int | None:
        """The line of ``container[key]`` (or of the container)."""
        return self.where(container, key)[0]

    def origin(self, container: Any, key: str | int) -> tuple[tuple[int, int, int], ...]:
        """``Turn.origin`` for the string ``container[key]``."""
        by_key = isinstance(container, JObject) and isinstance(key, str) and key in container.value_pos
        if by_key or (isinstance(container, JArray) and isinstance(key, int)):
            pos = container.value_pos[key]
        else:
            line, col = self.where(container)
            return ((0, line or 1, col or 1),)
        if self.text[pos : pos + 1] != '"':
            line, col = self.at(pos)
            return ((0, line, col),)
        segments = string_origin(self.text, pos, self.index, self.base)
        return segments

    def fail(self, message: str, container: Any, key: str | int | None = None) -> ReadError:
        """A :class:`ReadError` located at ``container[key]``."""
        line, col = self.where(container, key)
        return ReadError(message, line, col)

    # Typed getters: each raises a located ReadError naming the JSON path on a wrong type.

    def get_str(self, obj: Any, key: str, path: str, *, required: bool = False, allow_number: bool = False) -> str | None:
        """``obj[key]`` as a string (None when absent and not required)."""
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            if required and isinstance(obj, dict) and key in obj:  # "text": null is there, just wrong
                raise self.fail(f"{path}.{key}: expected a string, got null", obj, key)
            if required:
                raise self.fail(f"{path}: missing required key {key!r}", obj)
            return None
        value = obj[key]
        if isinstance(value, str):
            return value
        if allow_number and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise self.fail(f"{path}.{key}: expected a string, got {type_name(value)}", obj, key)

    def get_int(self, obj: Any, key: str, path: str) -> int | None:
        """``obj[key]`` as an integer count of milliseconds (None when absent)."""
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            return None
        value = obj[key]
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or (isinstance(value, float) and not math.isfinite(value))):
            # 1e400 parses to infinity: "expected a number, got number" would read as a contradiction.
            why = "expected a finite number, got infinity or NaN" if isinstance(value, float) else (
                f"expected a number, got {type_name(value)}")
            raise self.fail(f"{path}.{key}: {why}", obj, key)
        return round(value)

    def get_list(self, obj: Any, key: str, path: str, *, required: bool = False) -> list[Any]:
        """``obj[key]`` as a list (empty when absent and not required)."""
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            if required:
                raise self.fail(f"{path}: missing required key {key!r}", obj)
            return JArray(getattr(obj, "start", 0))
        value = obj[key]
        if not isinstance(value, list):
            raise self.fail(f"{path}.{key}: expected an array, got {type_name(value)}", obj, key)
        return value

    def get_obj(self, obj: Any, key: str, path: str) -> dict[str, Any] | None:
        """``obj[key]`` as an object (None when absent)."""
        if not isinstance(obj, dict) or key not in obj or obj[key] is None:
            return None
        value = obj[key]
        if not isinstance(value, dict):
            raise self.fail(f"{path}.{key}: expected an object, got {type_name(value)}", obj, key)
        return value
