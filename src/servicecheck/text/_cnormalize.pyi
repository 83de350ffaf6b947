"""Type stub of the optional C accelerator (servicecheck/text/_cnormalize.c)."""

from typing import Any

def tokens(stream: str, table: dict[str, tuple[str, ...]], elisions: frozenset[str], identity: bool, /) -> tuple[Any, ...]:
    """normalize._flat_tokens_py in C: (tokens, starts, ends, text), or with identity the Normalized's fields."""
