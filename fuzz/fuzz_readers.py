"""Fuzz target (atheris): every transcript reader and the document reader on arbitrary bytes.

The contract under test (SPEC section 9): a reader never raises on bad content; it
yields conversations and one-line, located :class:`~servicecheck.model.InputProblem`
items.  Run it with the command in ``docs/fuzzing.md``.
"""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from servicecheck.inputs import FORMATS, read_document, read_transcripts
    from servicecheck.model import ROLES, Conversation, Document, InputProblem

# Transcript formats by index, then "detect from extension and content", then lint documents.
_CHOICES = (*FORMATS, None, "document")
_EXTENSIONS = (".json", ".jsonl", ".txt", ".csv", ".vtt", ".srt", ".md", ".yaml", "")
_DIR = tempfile.mkdtemp(prefix="servicecheck-fuzz-readers-")


def _check_problem(problem: InputProblem, path: str) -> None:
    if problem.path != path or not problem.message or "\n" in problem.message:
        raise AssertionError(f"malformed problem: {problem!r}")


def test_one_input(data: bytes) -> None:
    """Write the fuzzer's bytes to a file and read it the way the fuzzer chose."""
    fdp = atheris.FuzzedDataProvider(data)
    choice = _CHOICES[fdp.ConsumeIntInRange(0, len(_CHOICES) - 1)]
    ext = _EXTENSIONS[fdp.ConsumeIntInRange(0, len(_EXTENSIONS) - 1)]
    path = os.path.join(_DIR, "input" + ext)
    with open(path, "wb") as fh:
        fh.write(fdp.ConsumeBytes(fdp.remaining_bytes()))
    if choice == "document":
        doc = read_document(path)
        if isinstance(doc, InputProblem):
            _check_problem(doc, path)
        elif not isinstance(doc, Document):
            raise TypeError(f"read_document returned {type(doc)}")
        return
    for item in read_transcripts(path, input_format=choice):
        if isinstance(item, InputProblem):
            _check_problem(item, path)
        elif isinstance(item, Conversation):
            if any(t.speaker not in ROLES for t in item.turns):
                raise AssertionError(f"a turn without a role in {item.id!r}")
            for t in item.turns:
                t.text.encode("utf-8")  # a lone surrogate would break every report writer
        else:
            raise TypeError(f"read_transcripts yielded {type(item)}")


def main() -> None:
    """Entry point: libFuzzer flags (``-max_total_time=60``, a corpus folder...) come from argv."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
