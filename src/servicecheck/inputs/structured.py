"""Read the named templates of YAML and JSON documents into units, keeping file positions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml  # imported by the YAML readers below: a Markdown or text document never loads PyYAML

from .directives import Directives
from .docparts import Piece, Unit, text_piece
from .jsonpos import JArray, JObject, JSONPosError, loads, string_origin
from .source import LineIndex, TextBuilder

_BODY_KEYS = ("body", "text", "content", "message", "template")
_RESERVED = {"language", "lang", "channel", "kind", "servicecheck", "version", "description", "metadata", "register", "$schema", "name", "title", "locale"}



# --------------------------------------------------------------------------- YAML and JSON maps


class YamlUnitsError(ValueError):
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
            piece = text_piece(body.rstrip(), first_line + k, indent + 1)
            piece.hard = node.style == "|"
            pieces.append(piece)
        if pieces:
            pieces[-1].hard = True
        check = "\n".join(rebuilt).strip()
        if node.style == "|" and check != value.strip():
            return [text_piece(value, first_line, indent + 1)]
        return pieces
    raw = text[start.index : end.index]
    quote = 1 if node.style in ("'", '"') else 0
    inner = raw[quote : len(raw) - quote] if quote else raw
    if "\n" not in inner:
        # Escapes in a quoted scalar shift later columns slightly; the line stays exact.
        return [text_piece(value, start.line + 1, start.column + 1 + quote)]
    # A multi-line flow scalar: YAML folds its lines with spaces.
    pieces = []
    for k, ln in enumerate(inner.split("\n")):
        body = ln.strip()
        if body:
            col = (start.column + 1 + quote) if k == 0 else (len(ln) - len(ln.lstrip()) + 1)
            piece = text_piece(body, start.line + 1 + k, col)
            piece.hard = False
            pieces.append(piece)
    if " ".join(p.builder.text for p in pieces) != value.strip():
        return [text_piece(value, start.line + 1, start.column + 1 + quote)]
    if pieces:
        pieces[-1].hard = True
    return pieces


def _map_items(node: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]]:
    import yaml

    return list(node.value) if isinstance(node, yaml.MappingNode) else []


def _scalar(node: yaml.Node | None) -> str | None:
    import yaml

    return node.value if isinstance(node, yaml.ScalarNode) else None


def yaml_units(text: str, directives: Directives) -> tuple[list[Unit], dict[str, Any]]:
    import yaml

    index = LineIndex(text)
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise YamlUnitsError(f"invalid YAML: {err.problem or err.context}", mark.line + 1 if mark else None, mark.column + 1 if mark else None) from None
    except yaml.YAMLError as err:
        raise YamlUnitsError(f"invalid YAML: {err}") from None
    if root is None:
        return [], {}
    meta: dict[str, Any] = {}
    entries: list[tuple[str, yaml.Node, yaml.Node]] = []  # name, key node (or item), value node

    def from_sequence(seq: yaml.SequenceNode) -> None:
        for item in seq.value:
            fields = {(_scalar(k) or ""): v for k, v in _map_items(item)}
            name = _scalar(fields.get("name")) or _scalar(fields.get("id"))
            if name is None:
                raise YamlUnitsError("template list item without a 'name'", item.start_mark.line + 1, item.start_mark.column + 1)
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
            raise YamlUnitsError("'templates' must be a map of named templates or a list", templates.start_mark.line + 1, templates.start_mark.column + 1)
    else:
        raise YamlUnitsError("expected a map of named templates", root.start_mark.line + 1, root.start_mark.column + 1)
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
            raise YamlUnitsError(f"template {name!r} has no body (one of: {', '.join(_BODY_KEYS)})", key.start_mark.line + 1, key.start_mark.column + 1)
        if not isinstance(body, yaml.ScalarNode):
            raise YamlUnitsError(f"template {name!r}: the body must be text", body.start_mark.line + 1, body.start_mark.column + 1)
        unit.pieces = _yaml_scalar_pieces(body, text, index)
        units.append(unit)
    _yaml_comments(text, root, directives)
    return units, meta


def _yaml_comments(text: str, root: yaml.Node, directives: Directives) -> None:
    """Read ``# servicecheck:`` comments, skipping lines inside block scalars (they are text)."""
    import yaml

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


def json_units(text: str) -> tuple[list[Unit], dict[str, Any]]:
    index = LineIndex(text)
    try:
        root = loads(text)
    except JSONPosError as err:
        line, col = index.locate(err.pos)
        raise YamlUnitsError(f"invalid JSON: {err.message}", line, col) from None
    meta: dict[str, Any] = {}
    entries: list[tuple[str, Any, Any, Any]] = []  # name, container, key, value

    def from_list(items: JArray) -> None:
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name") or item.get("id"), str):
                line, col = index.locate(items.value_pos[i])
                raise YamlUnitsError("template list item without a 'name'", line, col)
            entries.append((str(item.get("name") or item.get("id")), items, i, item))

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
        raise YamlUnitsError("expected a map of named templates", 1, 1)
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
                raise YamlUnitsError(f"template {name!r} has no body (one of: {', '.join(_BODY_KEYS)})", *index.locate(pos))
            holder = value
            if value.get("kind") in ("guideline", "template"):
                unit.kind = value["kind"]
            for k, v in value.items():
                if isinstance(v, str) and k not in _BODY_KEYS and k not in ("kind", "name"):
                    unit.metadata[k] = v
        elif not isinstance(value, str):
            raise YamlUnitsError(f"template {name!r}: the body must be text", *index.locate(pos))
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
