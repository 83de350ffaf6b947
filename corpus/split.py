#!/usr/bin/env python3
"""Write the corpus's per-language splits (train / dev / test) as canonical JSONL plus labels.

Usage: python corpus/split.py OUTDIR   ->  OUTDIR/{en,fr}-{train,dev,test}.jsonl and .labels.jsonl

Every corpus file ``corpus/<lang>/<name>.jsonl`` has its labels beside it in
``<name>.labels.jsonl`` (same order); a conversation's split is its
``metadata.split`` (set by the source scripts: 70 / 15 / 15 by a hash of the id).
The test split is the blind one: score it once per release.

A source whose text may not be redistributed keeps only its labels (with the ids) in the
repository, and a script that rebuilds the conversations beside them from the public source
(``IDS_ONLY``): until it is run, that file is left out, with a warning.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGS = ("en", "fr")
SPLITS = ("train", "dev", "test")
# Corpus files kept as ids and labels only (the source states no licence, or one whose terms do not fit
# the repository's), and how to rebuild each.
IDS_ONLY = {
    "en/complaints_social.jsonl": "python corpus/sources/complaints_social.py complaints-data.csv",
    "en/airline_tweets.jsonl": "python corpus/sources/airline_tweets.py Tweets.csv",
}


def repository_files(corpus: Path = HERE) -> list[Path]:
    """The conversation files every checkout has: ``corpus/<lang>/*.jsonl`` but the labels and the
    IDS_ONLY files (rebuilt on some checkouts only), for what must read the same corpus everywhere."""
    return sorted(p for p in corpus.glob("*/*.jsonl")
                  if not p.name.endswith(".labels.jsonl") and f"{p.parent.name}/{p.name}" not in IDS_ONLY)


def pairs(lang: str):
    """(conversation, labels) of every labelled corpus file of one language, in file order."""
    for rel, command in IDS_ONLY.items():
        if rel.startswith(lang + "/") and not (HERE / rel).is_file():
            print(f"corpus: {rel} is not built (ids and labels only in the repository): left out; "
                  f"rebuild it with `{command} > corpus/{rel}`", file=sys.stderr)
    for conv_file in sorted((HERE / lang).glob("*.jsonl")):
        if conv_file.name.endswith(".labels.jsonl"):
            continue
        label_file = conv_file.with_name(conv_file.name[: -len(".jsonl")] + ".labels.jsonl")
        if not label_file.is_file():
            continue
        convs = [json.loads(x) for x in conv_file.read_text(encoding="utf-8").splitlines() if x.strip()]
        labels = [json.loads(x) for x in label_file.read_text(encoding="utf-8").splitlines() if x.strip()]
        if [c["id"] for c in convs] != [x["id"] for x in labels]:
            sys.exit(f"{label_file}: ids differ from {conv_file.name}")
        for conv, lab in zip(convs, labels):
            if len(conv["turns"]) != len(lab["turns"]):
                sys.exit(f"{label_file}: {conv['id']}: {len(lab['turns'])} label lists for {len(conv['turns'])} turns")
            yield conv, lab


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir", nargs="?", default="splits", help="the folder to write (default: ./splits)")
    out = Path(ap.parse_args(sys.argv[1:] if argv is None else argv).outdir)
    out.mkdir(parents=True, exist_ok=True)
    for lang in LANGS:
        files = {s: (open(out / f"{lang}-{s}.jsonl", "w", encoding="utf-8"),
                     open(out / f"{lang}-{s}.labels.jsonl", "w", encoding="utf-8")) for s in SPLITS}
        counts = {s: [0, 0] for s in SPLITS}
        for conv, lab in pairs(lang):
            split = conv.get("metadata", {}).get("split", "train")
            files[split][0].write(json.dumps(conv, ensure_ascii=False) + "\n")
            files[split][1].write(json.dumps(lab, ensure_ascii=False) + "\n")
            counts[split][0] += 1
            counts[split][1] += len(conv["turns"])
        for a, b in files.values():
            a.close()
            b.close()
        print(lang, " ".join(f"{s}: {c} conversations / {t} turns" for s, (c, t) in counts.items()))


if __name__ == "__main__":
    main()
