"""Fuzz target (atheris): the pattern compiler on arbitrary sources, then matching on arbitrary text.

The contract under test: :func:`servicecheck.text.patterns.compile_pattern` either
compiles a source or raises :class:`~servicecheck.text.patterns.PatternError` (never
anything else, never a hang: RE2 is linear), and a compiled pattern finds matches inside
the normalised text without raising.  Run it with the command in ``docs/fuzzing.md``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from servicecheck.text.normalize import normalize
    from servicecheck.text.patterns import PatternError, PatternSet, compile_pattern

_SPELLINGS = {"jai": "j ai", "svp": "s il vous plait", "pb": "probleme"}
_FIXED = compile_pattern("c'est (le|la) service {word}")


def test_one_input(data: bytes) -> None:
    """Compile the fuzzer's pattern source, then search the fuzzer's text with it."""
    fdp = atheris.FuzzedDataProvider(data)
    raw = fdp.ConsumeBool()
    max_gap = fdp.ConsumeIntInRange(1, 8)
    source = fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 120))  # lone surrogates too: YAML escapes make them
    text = fdp.ConsumeUnicode(fdp.remaining_bytes())  # surrogates included: turn text can hold them
    try:
        pattern = compile_pattern(("regex:" if raw else "") + source, _SPELLINGS, max_gap=max_gap)
    except PatternError:
        return
    norm = normalize(text, _SPELLINGS).text
    for start, end in pattern.finditer(norm):
        if not 0 <= start < end <= len(norm):
            raise AssertionError(f"match ({start}, {end}) outside the text of length {len(norm)}")
    for index, start, end in PatternSet([_FIXED, pattern]).finditer(norm):
        if index not in (0, 1) or not 0 <= start < end <= len(norm):
            raise AssertionError(f"bad hit {(index, start, end)}")


def main() -> None:
    """Entry point: libFuzzer flags (``-max_total_time=60``, a corpus folder...) come from argv."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
