#!/usr/bin/env python3
"""How stable are the hand labels? Agreement between two independent labelling passes.

Usage: python corpus/agreement.py CONVERSATIONS FIRST.labels.jsonl SECOND.labels.jsonl [--markdown]

Only the conversations present in SECOND are compared (a second pass usually covers a
sample). Per tag: turns both passes tagged, turns only one did, Cohen's kappa over the turns
of the speaker that may carry the tag, and the F1 of one pass measured against the other
(symmetric). Per policy: the F1 between the findings each pass's labels imply under
LABELING.md (``servicecheck.evaluate.expected_findings``). A detector cannot be expected to
agree with the labels much better than two labellers agree with each other.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from servicecheck.evaluate import (
    AGENT_TAGS,
    CUSTOMER_TAGS,
    DERIVED_POLICIES,
    TAG_SPEAKER,
    Counts,
    expected_findings,
    read_labels,
)


def tags_by_id(path: Path) -> dict[str, list[list[str]]]:
    """A labels file, checked as ``servicecheck evaluate`` checks it: conversation id -> tag lists."""
    return {cid: turns for cid, (_line, turns) in read_labels(str(path)).items()}


def kappa(both: int, only_a: int, only_b: int, neither: int) -> float:
    n = both + only_a + only_b + neither
    if not n:
        return float("nan")
    observed = (both + neither) / n
    pa, pb = (both + only_a) / n, (both + only_b) / n
    chance = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if chance == 1 else (observed - chance) / (1 - chance)


def f1(both: int, only_a: int, only_b: int) -> float:
    """The F1 of one pass measured against the other (symmetric)."""
    return float(Counts(tp=both, fp=only_b, fn=only_a).scores()["f1"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("conversations", type=Path)
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path)
    a = ap.parse_args(argv)
    convs = {c["id"]: c for c in map(json.loads, a.conversations.read_text(encoding="utf-8").splitlines()) if c}
    first, second = tags_by_id(a.first), tags_by_id(a.second)
    ids = [cid for cid in second if cid in first and cid in convs]
    missing = [cid for cid in second if cid not in first or cid not in convs]
    if missing:
        print(f"{a.second}: {len(missing)} conversation(s) not in both the corpus and the first pass, "
              f"e.g. {missing[0]}", file=sys.stderr)
    rows, turns = [], 0
    for tag in (*AGENT_TAGS, *CUSTOMER_TAGS):
        both = only_a = only_b = neither = 0
        for cid in ids:
            for speaker, ta, tb in zip((t["speaker"] for t in convs[cid]["turns"]), first[cid], second[cid]):
                if speaker != TAG_SPEAKER[tag]:
                    continue
                x, y = tag in ta, tag in tb
                both += x and y
                only_a += x and not y
                only_b += y and not x
                neither += not x and not y
        if both or only_a or only_b:
            rows.append((tag, both, only_a, only_b, kappa(both, only_a, only_b, neither), f1(both, only_a, only_b)))
    for cid in ids:
        turns += len(convs[cid]["turns"])
    pol_rows = []
    for policy in DERIVED_POLICIES:
        ea: set[object] = set()
        eb: set[object] = set()
        for cid in ids:
            speakers = [t["speaker"] for t in convs[cid]["turns"]]
            ea |= expected_findings(cid, speakers, first[cid]).get(policy, set())
            eb |= expected_findings(cid, speakers, second[cid]).get(policy, set())
        if ea or eb:
            pol_rows.append((policy, len(ea & eb), len(ea - eb), len(eb - ea), f1(len(ea & eb), len(ea - eb), len(eb - ea))))
    print(f"{len(ids)} conversations, {turns} turns compared ({a.first.name} vs {a.second.name})\n")
    print("| tag | both | first only | second only | kappa | F1 |\n|---|---:|---:|---:|---:|---:|")
    for tag, both, only_a, only_b, k, f in rows:
        print(f"| {tag} | {both} | {only_a} | {only_b} | {k:.2f} | {f:.2f} |")
    print("\n| policy (findings implied) | both | first only | second only | F1 |\n|---|---:|---:|---:|---:|")
    for policy, both, only_a, only_b, f in pol_rows:
        print(f"| {policy} | {both} | {only_a} | {only_b} | {f:.2f} |")
    sig = [r[5] for r in rows]
    pol = [r[4] for r in pol_rows]
    print(f"\nmacro-F1 between the passes: tags {sum(sig) / len(sig):.3f} · policies {sum(pol) / len(pol):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
