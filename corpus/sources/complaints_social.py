#!/usr/bin/env python3
"""Rebuild corpus/en/complaints_social.jsonl from Preoţiuc-Pietro et al.'s complaints data (ids and labels only in the repo).

Usage: complaints_social.py CSV > corpus/en/complaints_social.jsonl

CSV is `complaints-data.csv` of github.com/danielpreotiuc/complaints-social-media (commit
54e3402, file last changed in baec7154669fb51a7a7e0f74a2eff1ce565982d3, 3,449 lines). Nothing
is downloaded: get the file with `git clone` or the raw URL first. The repository states no
licence, so the tweets are not kept in this repository: `corpus/en/complaints_social.labels.jsonl`
holds our labels and the tweet ids, and this script rebuilds the conversations beside it.

Each line of the CSV is `tweet id, text, complaint (0/1), domain` (no header). Every tweet
becomes a one-turn conversation, in file order:
{"id": "complaints:<tweet id>", "source": "complaints_social_media", "language": "en",
 "channel": "social", "metadata": {"domain", "split"}, "turns": [{"speaker": "customer", "text"}]}.
The text is the CSV's, unchanged (HTML entities such as `&amp;` included, as Twitter served
them). The authors' own complaint label is not carried: our labels follow LABELING.md.
`split` comes from split_of() in ibm_twitter.py (sha1 of the id: 70 % train, 15 % dev, 15 % test).
Kept: the tweets of the nine brand domains (apparel, cars, electronics, food, other, retail,
services, software, transport: tweets to or about a company); dropped: the `random_tweet` and
`random_reply` domains (tweets about anything, the authors' negative sample, not customer
service), and a tweet whose text repeats an earlier one (ignoring case and spacing).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ibm_twitter import split_of  # noqa: E402


def read(path: Path) -> list[dict]:
    rows, seen = [], set()
    with path.open(encoding="utf-8", newline="") as f:
        for line_no, fields in enumerate(csv.reader(f), 1):
            if len(fields) != 4:
                raise SystemExit(f"{path}:{line_no}: expected 4 fields, found {len(fields)}")
            tweet_id, text, _complaint, domain = fields
            if domain.startswith("random_"):
                continue
            key = " ".join(text.lower().split())
            if not key or key in seen:
                continue
            seen.add(key)
            cid = "complaints:" + tweet_id
            rows.append({
                "id": cid,
                "source": "complaints_social_media",
                "language": "en",
                "channel": "social",
                "metadata": {"domain": domain, "split": split_of(cid)},
                "turns": [{"speaker": "customer", "text": text}],
            })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", type=Path, help="complaints-data.csv of the source repository")
    a = ap.parse_args()
    if not a.csv.is_file():
        raise SystemExit(f"{a.csv}: no such file (complaints-data.csv of the source repository)")
    for row in read(a.csv):
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
