#!/usr/bin/env python3
"""Rebuild corpus/en/dstc11.jsonl from Amazon's DSTC11 track 2 data (CDLA-Permissive-2.0).

Usage: dstc11.py DIR > corpus/en/dstc11.jsonl

DIR is the folder that holds the `dstc11` tree of a checkout of
github.com/amazon-science/dstc11-track2-intent-induction (commit
969b95a0d7365fbc6cd0e05989f1be6b44e6680c); DIR/dstc11 itself is accepted too. Nothing is
downloaded. Three files are read, in this order:

  dstc11/development/test-utterances.jsonl   (domain "insurance", 913 lines)
  dstc11/test-banking/test-utterances.jsonl  (domain "banking",   407 lines)
  dstc11/test-finance/test-utterances.jsonl  (domain "finance",  1130 lines)

Each line is {"utterance", "utterance_id", "intent"}: the customer turn of a role-played call in
which the customer states what they want. Each kept utterance becomes a one-turn conversation:
{"id": "dstc11:<utterance_id>", "source": "dstc11_track2", "language": "en", "channel": "voice",
 "metadata": {"intent", "domain", "split"}, "turns": [{"speaker": "customer", "text": ...}]}.
The text is the utterance with surrounding whitespace trimmed; nothing else is changed.
`split` comes from split_of() in ibm_twitter.py (sha1 of the id: 70 % train, 15 % dev, 15 % test).

Selection (deterministic, 750 utterances):
 1. Pool: all lines in file order. Drop utterances with fewer than 4 whitespace-separated words,
    then duplicates (same text ignoring case and surrounding whitespace; the first is kept).
 2. rng = random.Random(20261202). For every (domain, intent) group, in order of first
    appearance, rng.sample up to PER_INTENT (8) utterances, so every intent is represented.
 3. Fill: rng.sample the remaining slots (750 minus step 2) from the rest of the pool.
 4. Write the picks in pool (file) order.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ibm_twitter import split_of  # noqa: E402

FILES = (("development", "insurance"), ("test-banking", "banking"), ("test-finance", "finance"))
SEED = 20261202
TOTAL = 750
PER_INTENT = 8
MIN_WORDS = 4


def load_pool(root: Path) -> list[dict]:
    if (root / "dstc11").is_dir():
        root = root / "dstc11"
    pool, seen = [], set()
    for folder, domain in FILES:
        with (root / folder / "test-utterances.jsonl").open(encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                row = json.loads(line)
                text = row["utterance"].strip()
                if len(text.split()) < MIN_WORDS:
                    continue
                key = " ".join(text.lower().split())
                if key in seen:
                    continue
                seen.add(key)
                pool.append({"uid": row["utterance_id"], "intent": row["intent"], "domain": domain, "text": text})
    return pool


def select(pool: list[dict]) -> list[dict]:
    rng = random.Random(SEED)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(pool):
        groups.setdefault((row["domain"], row["intent"]), []).append(i)
    picked: set[int] = set()
    for idx in groups.values():
        picked.update(rng.sample(idx, min(PER_INTENT, len(idx))))
    rest = [i for i in range(len(pool)) if i not in picked]
    picked.update(rng.sample(rest, TOTAL - len(picked)))
    return [pool[i] for i in sorted(picked)]


def convert(row: dict) -> dict:
    cid = "dstc11:" + row["uid"]
    return {
        "id": cid,
        "source": "dstc11_track2",
        "language": "en",
        "channel": "voice",
        "metadata": {"intent": row["intent"], "domain": row["domain"], "split": split_of(cid)},
        "turns": [{"speaker": "customer", "text": row["text"]}],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", type=Path, help="folder holding the dstc11 tree (or the dstc11 folder itself)")
    a = ap.parse_args()
    for row in select(load_pool(a.root)):
        sys.stdout.write(json.dumps(convert(row), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
