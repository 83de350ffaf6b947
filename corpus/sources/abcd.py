#!/usr/bin/env python3
"""Rebuild corpus/en/abcd.jsonl from the ABCD sample (MIT, Copyright (c) 2021 ASAPP Research).

Usage: abcd.py SAMPLE_JSON > corpus/en/abcd.jsonl
   e.g. git -C /work/.mirror/asappresearch+abcd/repo show HEAD:data/abcd_sample.json | abcd.py - > corpus/en/abcd.jsonl

SAMPLE_JSON is `data/abcd_sample.json` of github.com/asappresearch/abcd (commit
6b8700ce67c6b37b062dd7a60abc76d7ef832a97): three role-played customer-service chats.
Each conversation's "original" list becomes the turns, in source order: entries by "agent" or
"customer" are kept (text trimmed of surrounding whitespace, otherwise unchanged), "action"
entries (the agent's system actions, e.g. "Account has been pulled up for ...") are dropped.
The "delexed" copy and the scenario details are not used, except flow/subflow in metadata.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ibm_twitter import split_of


def convert(conv: dict) -> dict:
    cid = f"abcd:{conv['convo_id']}"
    turns = [{"speaker": speaker, "text": text.strip()}
             for speaker, text in conv["original"] if speaker in ("agent", "customer") and text.strip()]
    scenario = conv.get("scenario") or {}
    return {
        "id": cid,
        "source": "abcd",
        "language": "en",
        "channel": "chat",
        "metadata": {"flow": scenario.get("flow"), "subflow": scenario.get("subflow"), "split": split_of(cid)},
        "turns": turns,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sample", help="path to abcd_sample.json, or - for stdin")
    a = ap.parse_args()
    text = sys.stdin.read() if a.sample == "-" else open(a.sample, encoding="utf-8").read()
    for conv in json.loads(text):
        sys.stdout.write(json.dumps(convert(conv), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
