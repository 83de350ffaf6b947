"""Read JSON and JSONL transcripts whole: parse with positions, then hand each value to its format's converter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..model import Conversation, InputProblem
from . import aws, canonical, ccai, genesys, hvb
from .common import ReadContext
from .jsonpos import JSONPosError, loads
from .jsonsource import JsonSource
from .source import LineIndex

_Converter = Callable[[ReadContext, Any, JsonSource], Iterator[Conversation | InputProblem]]
JSON_CONVERTERS: dict[str, _Converter] = {
    "json": canonical.convert,
    "aws": aws.convert,
    "ccai": ccai.convert,
    "genesys": genesys.convert,
    "hvb": hvb.convert,
}


def _structural(value: Any) -> str | None:
    """The JSON format a parsed value has, judged by its structure."""
    if canonical.looks_canonical(value):
        return "json"
    if aws.flavour(value):
        return "aws"
    if ccai.looks_ccai(value):
        return "ccai"
    if genesys.looks_genesys(value):
        return "genesys"
    if hvb.looks_hvb(value):
        return "hvb"
    return None


def convert_json(
    ctx: ReadContext, value: Any, src: JsonSource, fmt: str, at: int = 0
) -> Iterator[Conversation | InputProblem]:
    # ``at``: where the value starts, for values that carry no position (a bare string or number).
    if not ctx.explicit_format:
        found = _structural(value)
        # Something that tries to be a canonical conversation gets the canonical reader's precise errors.
        trying = isinstance(value, list) or (isinstance(value, dict) and ("turns" in value or "id" in value))
        fmt = found or ("json" if trying else fmt)
        if fmt == "json" and not found and not trying:
            ctx.next_id()
            line, col = src.where(value)
            if line is None:
                line, col = src.at(at)
            yield ctx.problem(
                "JSON is not a known transcript format: expected a conversation with 'turns', "
                "or an AWS, CCAI, Genesys or HVB transcript (use --input-format to say which)",
                line,
                col,
            )
            return
    yield from JSON_CONVERTERS[fmt](ctx, value, src)


def read_json(ctx: ReadContext, content: str, fmt: str) -> Iterator[Conversation | InputProblem]:
    index = LineIndex(content)
    try:
        value = loads(content)
    except JSONPosError as err:
        line, col = index.locate(err.pos)
        yield ctx.problem(f"invalid JSON: {err.message}", line, col)
        return
    yield from convert_json(ctx, value, JsonSource(content, index), fmt)


def read_jsonl(ctx: ReadContext, content: str) -> Iterator[Conversation | InputProblem]:
    index = LineIndex(content)
    src = JsonSource(content, index)
    start = 0
    number = 0
    found = False
    while start <= len(content):
        end = content.find("\n", start)
        if end == -1:
            end = len(content)
        number += 1
        if content[start:end].strip():
            found = True
            try:
                value = loads(content, start, end)
            except JSONPosError as err:
                ctx.next_id()
                line, col = index.locate(min(err.pos, end))  # a truncated line: at its own end
                yield ctx.problem(f"invalid JSON: {err.message}", line, col)
            else:
                line_text = content[start:end]
                at = start + len(line_text) - len(line_text.lstrip())
                yield from convert_json(ctx, value, src, "json", at)
        start = end + 1
    if not found:
        yield ctx.problem("empty file")
