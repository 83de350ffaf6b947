#!/usr/bin/env python3
"""Rebuild corpus/en/airline_tweets.jsonl from the Twitter US Airline Sentiment data (ids and labels only in the repo).

Usage: airline_tweets.py CSV > corpus/en/airline_tweets.jsonl
       airline_tweets.py CSV --sample 7000 > sample.jsonl   (how the labelled tweets were chosen)

CSV is `Tweets.csv` of the Twitter US Airline Sentiment data (Figure Eight / Crowdflower, February
2015; published on Kaggle under CC BY-NC-SA 4.0). The copy read here is the one in
github.com/Ramlah0/Twitter-US-Airline-Sentiment-Analysis (commit 7860fcb, 14,640 rows, columns
tweet_id, airline_sentiment, negativereason, airline, text, tweet_created); other copies with the
full integer ids serve as well. Nothing is downloaded: get the file first. The licence allows
copies, but its non-commercial and share-alike terms do not fit this repository's, so the tweets
are not kept here: `corpus/en/airline_tweets.labels.jsonl` holds our labels and the tweet ids,
and this script rebuilds the conversations beside it (the labelled ids, in the labels' order).

Every tweet becomes a one-turn conversation:
{"id": "airline:<tweet id>", "source": "airline_tweets", "language": "en", "channel": "social",
 "metadata": {"airline", "split"}, "turns": [{"speaker": "customer", "text"}]}.
The text is the CSV's, unchanged. The crowd's sentiment label is not carried: our labels
follow LABELING.md. Left out when sampling: tweets whose text carries the Kaggle copy's
replacement artefacts ("Late Flight", "Cancelled Flight", "Flight Booking Problems" written into
the text in place of "late", "cancel", "booking problems"), and repeated texts.
`split`: train or dev from the sha1 of the id (70 / 30): these tweets never enter the blind
split, so that its figures stay comparable from release to release.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ibm_twitter import split_of as corpus_split  # noqa: E402

ARTEFACTS = ("Late Flight", "Cancelled Flight", "Flight Booking Problems")
SHARES = {"negative": 0.65, "neutral": 0.20, "positive": 0.15}  # of a --sample


def split_of(cid: str) -> str:
    """The corpus's hash split (70 % train), its dev and test shares both dev: never the blind split."""
    return "train" if corpus_split(cid) == "train" else "dev"


def _rank(cid: str) -> str:
    return hashlib.sha1(("sample:" + cid).encode()).hexdigest()


def read(path: Path) -> dict[str, dict]:
    """Every usable tweet of the CSV by conversation id, in file order."""
    out: dict[str, dict] = {}
    seen: set[str] = set()
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = {"tweet_id", "airline_sentiment", "airline", "text"} - set(reader.fieldnames or ())
        if missing:
            raise SystemExit(f"{path}: missing columns {', '.join(sorted(missing))}")
        for row in reader:
            tweet_id, text = row["tweet_id"].strip(), row["text"]
            if not tweet_id.isdigit():
                raise SystemExit(f"{path}:{reader.line_num}: tweet_id {tweet_id!r} is not an integer "
                                 "(a copy saved by a spreadsheet; use one with the full ids)")
            key = " ".join(text.lower().split())
            if not key or key in seen or any(a in text for a in ARTEFACTS):
                continue
            seen.add(key)
            cid = "airline:" + tweet_id
            out[cid] = {
                "id": cid,
                "source": "airline_tweets",
                "language": "en",
                "channel": "social",
                "metadata": {"airline": row["airline"], "sentiment": row["airline_sentiment"],
                             "split": split_of(cid)},
                "turns": [{"speaker": "customer", "text": text}],
            }
    return out


def sample(rows: dict[str, dict], n: int) -> list[dict]:
    """``n`` tweets, by crowd sentiment in SHARES, each group ranked by a hash of its id."""
    chosen = []
    for sentiment, share in SHARES.items():
        group = sorted((r for r in rows.values() if r["metadata"]["sentiment"] == sentiment), key=lambda r: _rank(r["id"]))
        chosen += group[: round(n * share)]
    return sorted(chosen, key=lambda r: _rank(r["id"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", type=Path, help="Tweets.csv of the Twitter US Airline Sentiment data")
    ap.add_argument("--sample", type=int, help="choose this many tweets to label (instead of rebuilding the labelled ones)")
    ap.add_argument("--labels", type=Path, default=Path(__file__).resolve().parents[1] / "en" / "airline_tweets.labels.jsonl")
    a = ap.parse_args()
    if not a.csv.is_file():
        raise SystemExit(f"{a.csv}: no such file (Tweets.csv of the Twitter US Airline Sentiment data)")
    rows = read(a.csv)
    if a.sample:
        out = sample(rows, a.sample)
    else:
        ids = [json.loads(line)["id"] for line in a.labels.read_text(encoding="utf-8").splitlines() if line.strip()]
        lost = [i for i in ids if i not in rows]
        if lost:
            raise SystemExit(f"{a.csv}: {len(lost)} labelled tweets not found (first: {lost[0]}); is it the same data?")
        out = [rows[i] for i in ids]
    for row in out:
        row["metadata"].pop("sentiment")
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
