#!/usr/bin/env python3
"""Build corpus/fr/freemobile.jsonl from the FreeMobilaChat tweet export (MIT, (c) 2025 FreeMobilaChat).

Usage: freemobile.py CSV > corpus/fr/freemobile.jsonl

CSV is data/raw/free_tweet_export.csv from github.com/Archimed-Anderson/FreeMobilaChat
(commit 9fe66592007aa952b267924e9f97bfe7d1f8c4c7), columns tweet_id, author, text, date, url:
public French tweets about the operator Free, lower-cased, @mentions and links removed, and every
line break flattened to a bare "n" (the backslash was lost: "bonjour,nnje ne reçois plus").

Rules, in order:
1. Speakers. Tweets by Free's own accounts (BRAND: Freebox, free, Free_1337, GroupeIliad, FreeFoot,
   OQEEbyFree) are `agent` turns; everyone else is a `customer`, except three accounts that are
   neither customers nor Free (NOT_CUSTOMER: an automated outage bot and two news sites), whose
   tweets are left out.
2. Dropped: retweets (text starting "rt :"), texts shorter than 15 characters (after the repair
   below), and exact duplicate texts (the first copy is kept).
3. Newline repair, only where it cannot be a word (anything else stays as published):
   - a run of "n" at the very start, before a greeting (bonjour, bonsoir, salut, hello, coucou),
     is removed ("nnbonjour" -> "bonjour");
   - right after punctuation or an emoji remnant (any character that is not a letter, digit,
     space, apostrophe or hyphen), optionally after one space, "n" or "nn" followed by a space,
     the end of the text, a symbol, or a consonant other than n/h ("disponible.nretrouvez",
     "désolés. nnretrouvez", "bonjour,nnje", ":n▶️") becomes "\n" or "\n\n" (no French word
     starts with n + such a consonant; a few abbreviations such as "nperf", "ntm" are spared).
     Before a vowel, "é", "y", "h", "n" or an apostrophe it is left alone ("merci.nnous" could
     be "\nnous" or "\n\nous"), as is an "n" glued to the end of a word ("messengern").
   Spaces before a repaired line break and around the text are trimmed. HTML entities (&gt;)
   are kept.
4. Customer tweets: each eligible tweet is a one-turn conversation; about 1,100 are drawn with
   random.Random(20261202).sample over the eligible tweets in source order, kept in source order.
5. Brand tweets: only support replies are kept, i.e. Freebox tweets that address a customer
   (SUPPORT_CUE: messenger / message privé / dm / contact / 3244 / désolé / navré / excuses /
   "je comprends" / "merci d'avoir" / "ravi" / boutiques ...). Marketing, banter from the `free`
   account, press releases and network-incident broadcasts are left out. The brand pastes a
   few macros many times, so near-identical replies (difflib ratio >= 0.9 on the text with
   letters only, greetings with the customer's name removed) are grouped in source order and
   at most 3 per group are kept; then at most 150 are drawn with the same generator (after
   the customer draw) and kept in source order. Each is a one-turn agent conversation.
6. Personal data is replaced (redact): e-mail addresses by "[email]", French phone numbers by
   "[téléphone]", runs of 8 or more digits (customer, line and order numbers) by "[numéro]".
7. Output, in source order (tweet_id): {"id": "freemobile:<tweet_id>", "source": "freemobilachat",
   "language": "fr", "channel": "twitter", "metadata": {"date": "YYYY-MM-DD", "split": ...},
   "turns": [{"speaker", "text"}]}. split is ibm_twitter.split_of (sha1 of the id: 70/15/15).
"""
from __future__ import annotations

import argparse
import csv
import difflib
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ibm_twitter import split_of  # noqa: E402

BRAND = {"Freebox", "free", "Free_1337", "GroupeIliad", "FreeFoot", "OQEEbyFree"}
NOT_CUSTOMER = {"zoneadsl_panne", "UniversFreebox", "FreenewsActu"}
SEED = 20261202
N_CUSTOMER = 1100
N_AGENT = 150
MAX_MACRO_COPIES = 3
MIN_CHARS = 15

SUPPORT_CUE = re.compile(
    r"messenger|messagerie|message privé|en privé|\bdm\b|\bmp\b|contacter|contactez|3244|whats'app|"
    r"désolé|navré|excuses|je comprends|merci d'avoir|ravi|grâce à vous|boutiques")

CONSONANT = "bcdfgjklmpqrstvwxzçà"
ABBREV = {"nperf", "ntm", "nrj", "nrv", "nb", "nba", "nfc", "nvidia", "nft", "nsfw"}
_LEADING = re.compile(r"^n+(?=(bonjour|bonsoir|salut|hello|coucou)\b)")
_AFTER_PUNCT = re.compile(r"(?<=[^\w\s'’\-])( ?)(n{1,2})(?=\s|$|[" + CONSONANT + r"]|[^\w\s'’\-])(\w*)")


def _newlines(m: re.Match) -> str:
    if (m.group(2) + m.group(3)).lower() in ABBREV:
        return m.group(0)
    return "\n" * len(m.group(2)) + m.group(3)


def repair(text: str) -> str:
    """Undo the flattened line breaks where the reading is unambiguous (see the module docstring)."""
    text = _LEADING.sub("", text)
    text = _AFTER_PUNCT.sub(_newlines, text)
    return re.sub(r"[ \t]+\n", "\n", text).strip()


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")
_LONG_NUMBER = re.compile(r"(?<!\d)\d{8,}(?!\d)")


def redact(text: str) -> str:
    """Personal data out of the text: e-mail addresses, phone numbers, customer and line numbers (8+ digits)."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[téléphone]", text)
    return _LONG_NUMBER.sub("[numéro]", text)


def _macro_key(text: str) -> str:
    text = re.sub(r"^(bonjour|bonsoir)\s+\S+,", r"\1,", text)     # "bonjour <name>," -> "bonjour,"
    text = re.sub(r"(désolés?)\s+[\w.]+(?=\s*[.\n])", r"\1", text)  # "désolés <name>." -> "désolés."
    return re.sub(r"[^a-zà-ÿ]+", "", text)


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def conversation(row: dict, speaker: str) -> dict:
    cid = "freemobile:" + row["tweet_id"]
    return {"id": cid, "source": "freemobilachat", "language": "fr", "channel": "twitter",
            "metadata": {"date": row["date"][:10], "split": split_of(cid)},
            "turns": [{"speaker": speaker, "text": redact(row["_text"])}]}


def select(rows: list[dict]) -> list[tuple[dict, str]]:
    seen = set()
    customers, replies = [], []
    for row in rows:
        raw = row["text"]
        if raw.startswith("rt :") or raw in seen or row["author"] in NOT_CUSTOMER:
            continue
        seen.add(raw)
        text = repair(raw)
        if len(text) < MIN_CHARS:
            continue
        row = dict(row, _text=text)
        if row["author"] in BRAND:
            if row["author"] == "Freebox" and SUPPORT_CUE.search(text):
                replies.append(row)
        else:
            customers.append(row)
    # near-identical macros: at most MAX_MACRO_COPIES per group (greedy, source order)
    groups: list[tuple[str, list[dict]]] = []
    for row in replies:
        key = _macro_key(row["_text"])
        for gkey, members in groups:
            if difflib.SequenceMatcher(None, key, gkey, autojunk=False).ratio() >= 0.9:
                members.append(row)
                break
        else:
            groups.append((key, [row]))
    kept_replies = [r for _, members in groups for r in members[:MAX_MACRO_COPIES]]
    kept_replies.sort(key=lambda r: r["tweet_id"])
    rng = random.Random(SEED)
    pick_c = sorted(rng.sample(range(len(customers)), min(N_CUSTOMER, len(customers))))
    pick_a = sorted(rng.sample(range(len(kept_replies)), min(N_AGENT, len(kept_replies))))
    out = [(customers[i], "customer") for i in pick_c] + [(kept_replies[i], "agent") for i in pick_a]
    out.sort(key=lambda p: p[0]["tweet_id"])
    print(f"eligible customer tweets {len(customers)}, support replies {len(replies)} in {len(groups)} "
          f"macro groups -> {len(kept_replies)} after the copy cap; kept {len(pick_c)} + {len(pick_a)}",
          file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", type=Path)
    a = ap.parse_args()
    for row, speaker in select(load(a.csv)):
        sys.stdout.write(json.dumps(conversation(row, speaker), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
