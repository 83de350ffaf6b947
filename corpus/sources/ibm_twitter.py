#!/usr/bin/env python3
"""Rebuild corpus/en/ibm_twitter.jsonl from IBM's Twitter customer-care data (Apache-2.0).

Usage: ibm_twitter.py REPO_DIR [--exclude IDS_FILE]... > corpus/en/ibm_twitter.jsonl

REPO_DIR is a checkout of github.com/IBM/twitter-customer-care-document-prediction
(commit 453470eea55a1777f798053a6ac6302a9bf80f9a); dev.json and test.json are read.
Every thread becomes one canonical conversation: the customer's and the brand's tweets in
order, then the brand's closing tweet (`agentURL.url_utterance`) when it is not already the
last message. Text is kept as published (URLs and HTML entities included). Threads with a
third party (`client1`, a bystander) are left out, as are the ids listed in --exclude files
(the project's yardstick, ../shared/devset/real_twitter_en.jsonl, is one: it is never used
for training or tuning).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path


def ids_in(paths: list[Path]) -> set[str]:
    """The conversation ids of JSONL files (the ``--exclude`` files of the source scripts)."""
    ids: set[str] = set()
    for path in paths:
        with path.open(encoding="utf-8") as f:
            ids |= {json.loads(line)["id"] for line in f if line.strip()}
    return ids


def split_of(cid: str) -> str:
    """Deterministic split by conversation: 70 % train, 15 % dev, 15 % test."""
    h = int(hashlib.sha1(cid.encode()).hexdigest()[:8], 16) % 100
    return "train" if h < 70 else "dev" if h < 85 else "test"


def convert(thread: dict, file: str, index: int) -> dict | None:
    turns = []
    for msg in thread["dialogContent"]:
        if "agent" in msg:
            speaker = "agent"
        elif set(msg) & {"client1", "client2"}:
            return None
        elif "client" in msg:
            speaker = "customer"
        else:
            return None
        turns.append({"speaker": speaker, "text": msg["message"], "_tweet": msg.get("tweet_ID")})
    closing = thread.get("agentURL") or {}
    if closing.get("url_utterance") and (not turns or turns[-1]["_tweet"] != closing.get("tweet_ID")):
        turns.append({"speaker": "agent", "text": closing["url_utterance"], "_tweet": closing.get("tweet_ID")})
    for t in turns:
        del t["_tweet"]
    if not any(t["speaker"] == "customer" for t in turns) or not any(t["speaker"] == "agent" for t in turns):
        return None
    header = thread["dialogHeader"]
    cid = "ibm:" + header["sessionID"]
    return {
        "id": cid,
        "source": "ibm_twitter_customer_care",
        "language": "en",
        "channel": "twitter",
        "metadata": {"company": header.get("company"), "date": header.get("conversationDateTime", "")[:10],
                     "origin": f"{file}#{index}", "split": split_of(cid)},
        "turns": turns,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo", type=Path)
    ap.add_argument("--exclude", action="append", default=[], type=Path,
                    help="a JSONL file whose conversation ids are left out (repeatable)")
    a = ap.parse_args()
    excluded = ids_in(a.exclude)
    seen_text = set()
    for file in ("dev.json", "test.json"):
        data = json.loads((a.repo / file).read_text(encoding="utf-8"))
        for i, thread in enumerate(data):
            conv = convert(thread, file, i)
            if conv is None or conv["id"] in excluded:
                continue
            key = tuple(t["text"] for t in conv["turns"])
            if key in seen_text:
                continue
            seen_text.add(key)
            sys.stdout.write(json.dumps(conv, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
