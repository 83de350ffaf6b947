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

import os
import re
from typing import Any, BinaryIO

from ..model import Conversation, Document, InputProblem, Location
from .common import ReadContext, read_input_bytes
from .directives import Directives
from .doc_kind import guess_kind
from .docparts import Unit
from .markup import read_markup
from .sentences import split_sentences, unit_turns
from .source import DecodeProblem, decode
from .speakers import SpeakerMap
from .structured import YamlUnitsError, json_units, yaml_units

STDIN_NAME = "<stdin>"

__all__ = ["Directives", "document_from_text", "guess_kind", "read_document", "split_sentences"]

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
                units, meta = json_units(text)
                if isinstance(meta.get("servicecheck"), str):
                    directives.parse("servicecheck: " + meta["servicecheck"], 0)
            else:
                units, meta = yaml_units(text, directives)
            for unit in units:
                unit.kind = unit.kind or directives.kind or "template"
        else:
            markdown = ext in (".md", ".markdown", ".mdown", ".mkd")
            unit, title, meta = read_markup(text, markdown, directives)
            lines = [p.builder.text for p in unit.pieces]
            examples = len(unit.metadata.get("counter_example_lines", []))
            unit.kind = directives.kind or guess_kind(title, os.path.basename(display), lines, examples)
            units = [unit]
    except YamlUnitsError as err:
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
        turns=unit_turns(unit),
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
    unit, _title, meta = read_markup(text.replace("\r\n", "\n").replace("\r", "\n"), markdown, directives)
    unit.kind = {"templates": "template", "guidelines": "guideline"}.get(kind, kind)
    conv = _conversation(path, unit, meta, directives)
    if not conv.turns:
        raise InputError(path, "the example holds no text")
    return conv
