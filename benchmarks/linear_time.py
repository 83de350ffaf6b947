"""Matching and reading cost grows linearly with the input: patterns and long turns cannot hang us.

Run ``python benchmarks/linear_time.py`` from the repository root. Each case times the
same work on an input of size n and 4n (best of three runs) and fails when the larger
one costs 10 times the smaller or more: linear work gives about 4, quadratic work 16,
catastrophic backtracking far more. Every case is a shape that once was quadratic, or
that is exponential for a backtracking engine. It was a unit test; a timing ratio on a
shared 2-core machine failed at random, and SPEC section 9 keeps timings in benchmarks.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from servicecheck.api import load_policies
from servicecheck.inputs import read_document
from servicecheck.policy.loader import PolicySet
from servicecheck.signals import SignalMatcher
from servicecheck.text.normalize import normalize
from servicecheck.text.patterns import PatternSet, compile_pattern

PACKS = Path(__file__).resolve().parents[1] / "tests" / "bad_inputs" / "packs"


@cache
def _matcher(pack: str | None) -> SignalMatcher:
    ps: PolicySet = load_policies([str(PACKS / pack)], include_default=False) if pack else load_policies()
    return SignalMatcher(ps.signals, ps.spellings, ps.negators)


def _best_of_three(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def nasty_user_patterns(n: int, _tmp: Path) -> Callable[[], object]:
    """``regex:(a+)+$``, ``(a|aa)*b``, long ``*`` chains... on text that makes each one fail late."""
    text = "a" * n + "! " + "a " * (n // 2) + "x " * (n // 4)
    return lambda: _matcher("nasty-patterns").explain(text, "agent", "en")


def non_ascii_matches(n: int, _tmp: Path) -> Callable[[], object]:
    """Many matches in a non-ASCII text: byte offsets were mapped back from the start every time."""
    patterns = PatternSet([compile_pattern("sorry"), compile_pattern("merci *")])
    text = normalize("sorry 😀 merci beaucoup ✓ " * (n // 26)).text
    return lambda: sum(1 for _ in patterns.finditer(text))


def exception_cancelled_matches(n: int, _tmp: Path) -> Callable[[], object]:
    """Every deflection match cancelled by an exception: each was checked against every exception span."""
    piece = "Bonjour, c'est le service client. "  # "c'est le service ..." is deflection, "... client" us
    text = (piece * (n // len(piece) + 1))[:n]
    return lambda: _matcher(None).match(text, "agent", "fr")


def markdown_paragraph(n: int, tmp: Path) -> Callable[[], object]:
    """One paragraph of many sentences: the abbreviation look-back scanned from the start."""
    path = tmp / f"para{n}.md"
    path.write_text("# Script\n\n" + "Bonjour, merci de votre appel. " * (n // 31), encoding="utf-8")
    return lambda: read_document(str(path))


def folded_yaml_scalar(n: int, tmp: Path) -> Callable[[], object]:
    """A folded scalar of many lines: each sentence's origin was sliced from the first segment."""
    path = tmp / f"folded{n}.yaml"
    path.write_text("greeting: >\n" + "  Bonjour et merci de votre appel.\n" * (n // 34), encoding="utf-8")
    return lambda: read_document(str(path))


def markdown_long_lines(n: int, tmp: Path) -> Callable[[], object]:
    """Lines of unclosed "{{", "[", "«" and of spaces: each start position scanned to the line's end."""
    path = tmp / f"lines{n}.md"
    path.write_text("# Script\n\n" + "".join(ch * (n // 4 // len(ch)) + "\n" for ch in ("{{", "[", "« ", " ")),
                    encoding="utf-8")
    return lambda: read_document(str(path))


def normalize_slow_path(n: int, _tmp: Path) -> Callable[[], object]:
    """Text whose folding changes lengths (œ, placeholders), off the one-to-one fast path."""
    piece = "Merci {name}, votre cœur @bob http://x.fr/a client·e·s. "
    text = (piece * (n // len(piece) + 1))[:n]
    return lambda: normalize(text)


CASES: list[tuple[Callable[[int, Path], Callable[[], object]], int]] = [
    (nasty_user_patterns, 50_000),
    (non_ascii_matches, 50_000),
    (exception_cancelled_matches, 80_000),
    (markdown_paragraph, 60_000),
    (folded_yaml_scalar, 60_000),
    (markdown_long_lines, 20_000),
    (normalize_slow_path, 20_000),
]


def main() -> int:
    """Time every case at n and 4n; 1 if any grew 10 times or more."""
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case, n in CASES:
            small, large = case(n, Path(tmp)), case(4 * n, Path(tmp))
            small()  # warm caches (compiled pack, lru caches) before timing
            t_small, t_large = _best_of_three(small), _best_of_three(large)
            # 10x for 4x the input; the 20 ms floor keeps timer noise on tiny timings out of it.
            ratio = t_large / max(t_small, 0.02)
            ok = ratio < 10
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {case.__name__:<30} {t_small:.3f}s for n, {t_large:.3f}s for 4n "
                  f"(x{ratio:.1f})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
