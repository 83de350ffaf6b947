"""Text layer: normalisation and the pattern mini-language that signals are written in."""

from servicecheck.text.normalize import OPAQUE, Normalized, normalize
from servicecheck.text.patterns import Pattern, PatternError, PatternSet, compile_pattern

__all__ = ["OPAQUE", "Normalized", "Pattern", "PatternError", "PatternSet", "compile_pattern", "normalize"]
