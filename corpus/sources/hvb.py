#!/usr/bin/env python3
"""Rebuild corpus/en/hvb.jsonl from Harper Valley Bank call transcripts (Apache-2.0, Copyright 2020 Gridspace Inc.).

Usage: hvb.py RAW_DIR [--exclude IDS_FILE]... > corpus/en/hvb.jsonl

RAW_DIR holds unmodified transcript files `<sid>.json` from
github.com/cricketclub/gridspace-stanford-harper-valley, `data/transcript/` (commit
d301964d6dfa2d1c13496fb7efd8e09223993b0f); here that is corpus/sources/raw/hvb/.
Calls are written in sid order. Conversion (same rules as ../shared/devset/README.md):
  - one source segment becomes one turn; consecutive segments of one speaker stay separate;
  - speaker_role "agent" -> "agent", "caller" -> "customer";
  - text = human_transcript verbatim (fillers, partial words and inline markers kept);
  - segments whose human_transcript is empty or holds only [..]/<..> markers are dropped;
  - start_ms = source start_ms, end_ms = start_ms + duration_ms;
  - turns are ordered by (start_ms, source index).
Reserved sids and the ids in --exclude files (e.g. ../shared/devset/hvb_calls_en.jsonl) are skipped.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ibm_twitter import ids_in, split_of

RESERVED = {"0002f70f7386445b", "004860b1ab2e4c88", "0091a706bc604188"}
ROLES = {"agent": "agent", "caller": "customer"}
MARKER = re.compile(r"\[[^\]]*\]|<[^>]*>")


def is_speech(text: str) -> bool:
    return bool(MARKER.sub(" ", text).strip())


def convert(sid: str, segments: list[dict]) -> dict:
    kept = [s for s in segments if is_speech(s.get("human_transcript") or "")]
    kept.sort(key=lambda s: (s["start_ms"], s["index"]))
    cid = "hvb:" + sid
    return {
        "id": cid,
        "source": "harper_valley_bank",
        "language": "en",
        "channel": "voice",
        "metadata": {"split": split_of(cid)},
        "turns": [{"speaker": ROLES[s["speaker_role"]], "text": s["human_transcript"],
                   "start_ms": s["start_ms"], "end_ms": s["start_ms"] + s["duration_ms"]} for s in kept],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("raw_dir", type=Path)
    ap.add_argument("--exclude", action="append", default=[], type=Path,
                    help="a JSONL file whose conversation ids are left out (repeatable)")
    a = ap.parse_args()
    excluded = {"hvb:" + sid for sid in RESERVED} | ids_in(a.exclude)
    for path in sorted(a.raw_dir.glob("*.json")):
        if "hvb:" + path.stem in excluded:
            continue
        conv = convert(path.stem, json.loads(path.read_text(encoding="utf-8")))
        if conv["turns"]:
            sys.stdout.write(json.dumps(conv, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
