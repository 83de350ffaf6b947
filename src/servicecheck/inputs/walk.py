"""Turn command-line paths into the files to read: folders walked, every skipped file named with its reason.

A file given by name is always read (its reader reports what is wrong with it).
Inside a folder (walked recursively, sorted, hidden entries skipped):

* for ``audit``, a file is read when its extension, in any case, names a transcript
  format (``.json``, ``.jsonl``, ``.ndjson``, ``.txt``, ``.text``, ``.csv``, ``.tsv``,
  ``.vtt``, ``.srt``), or when its first bytes are one (``.log`` exports, files without
  an extension): the same content rules as :func:`servicecheck.inputs.detect.detect_format`;
* for ``lint``, when its extension is one of a document's (``.txt``, ``.md``,
  ``.markdown``, ``.yaml``, ``.yml``, ``.json``), in any case.

Every other file is *skipped*, and ``on_skip(path, reason)`` is told. A folder in
which nothing is read is itself passed on, so that its reader reports it as an
input that could not be read (exit code 3): an empty folder never passes silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from .detect import EXTENSIONS, detect_format
from .source import DecodeProblem, decode

SkipHandler = Callable[[str, str], None]

# ``.log`` is often a program's log: such a file is read only when its content is a transcript.
TRANSCRIPT_EXTENSIONS = frozenset(ext for ext in EXTENSIONS if ext != ".log") | {".json"}
DOCUMENT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".yaml", ".yml", ".json"})
_HEAD = 65536  # bytes sniffed, as format detection reads them

__all__ = ["DOCUMENT_EXTENSIONS", "TRANSCRIPT_EXTENSIONS", "SkipHandler", "document_files", "transcript_files"]


def _extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _transcript_skip_reason(path: str) -> str | None:
    """Why a walked file is not a transcript, or None to read it."""
    ext = _extension(path)
    if ext in TRANSCRIPT_EXTENSIONS:
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
    except OSError as err:
        return f"cannot read: {err.strerror or err}"
    what = f"a {ext} file" if ext else "a file without an extension"
    try:
        decode(head)
    except DecodeProblem as err:
        return f"{what}: {err}"
    fmt = detect_format("", head)
    if fmt in ("json", "jsonl") and b'"turns"' not in head:
        fmt = None  # JSON of some other kind (a vendor's transcript has its own keys: "aws", "ccai"...)
    if fmt is None:
        return f"{what} whose content is no transcript format servicecheck reads"
    return None


def _document_skip_reason(path: str) -> str | None:
    ext = _extension(path)
    if ext in DOCUMENT_EXTENSIONS:
        return None
    kinds = ", ".join(sorted(DOCUMENT_EXTENSIONS))
    return f"{'a ' + ext + ' file' if ext else 'a file without an extension'}: lint reads {kinds}"


def _expand(paths: Iterable[str], reason: Callable[[str], str | None], on_skip: SkipHandler | None) -> Iterator[str]:
    for path in paths:
        if path == "-" or not os.path.isdir(path):
            yield path
            continue
        found = False
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                file = os.path.join(root, name)
                why = reason(file)
                if why is None:
                    found = True
                    yield file
                elif on_skip is not None:
                    on_skip(file, why)
        if not found:
            yield path  # the reader reports a folder with nothing to read in it


def transcript_files(paths: Iterable[str], on_skip: SkipHandler | None = None) -> Iterator[str]:
    """The files ``audit`` reads for ``paths`` (see the module docstring)."""
    return _expand(paths, _transcript_skip_reason, on_skip)


def document_files(paths: Iterable[str], on_skip: SkipHandler | None = None) -> Iterator[str]:
    """The files ``lint`` reads for ``paths`` (see the module docstring)."""
    return _expand(paths, _document_skip_reason, on_skip)
