#!/usr/bin/env python3
"""Score the default pack on the real corpus splits and the yardstick; print (or write) docs/accuracy.md's real tables.

Usage (repository root, ../shared beside it):
    python corpus/report.py                          # print the markdown
    python corpus/report.py --blind --write docs/accuracy.md  # with the blind split, into the doc
    python corpus/report.py --split dev --show 10    # one split's errors, to tune lexicons (never --split test)

Every score comes from servicecheck's own `evaluate` (servicecheck.evaluate): signals turn by
turn, policy outcomes derived from the labels as LABELING.md says.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared"
YARDSTICK = SHARED / "devset" / "real_twitter_en.jsonl"
SYNTHETIC = SHARED / "devset" / "synthetic_conversations.jsonl"
BEGIN, END = "<!-- real tables: begin -->", "<!-- real tables: end -->"
sys.path.insert(0, str(HERE))

from split import main as write_splits  # noqa: E402

from servicecheck.evaluate import Evaluation, evaluate, render_text  # noqa: E402
from servicecheck.policy.loader import load_policies  # noqa: E402


def table(title: str, ev: Evaluation) -> str:
    macro = ev.macro_f1()
    out = [f"#### {title}", "",
           f"{ev.conversations} conversations, {ev.turns} turns; macro-F1 **signals "
           f"{macro['signals'] if macro['signals'] is not None else 'n/a'} · policies "
           f"{macro['policies'] if macro['policies'] is not None else 'n/a'}**", "",
           "| signal | P | R | F1 | tp | fp | fn |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, c in ev.signals.items():
        if c.tp + c.fp + c.fn:
            s = c.scores()
            out.append(f"| {name} | {s['precision']:.2f} | {s['recall']:.2f} | {s['f1']:.2f} | {c.tp} | {c.fp} | {c.fn} |")
    out += ["", "| policy | P | R | F1 | tp | fp | fn |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, c in ev.policies.items():
        if c.tp + c.fp + c.fn:
            s = c.scores()
            out.append(f"| {name} | {s['precision']:.2f} | {s['recall']:.2f} | {s['f1']:.2f} | {c.tp} | {c.fp} | {c.fn} |")
    return "\n".join(out) + "\n"


def by_language(path: Path, lang: str, tmp: Path) -> Path:
    """The conversations of one language of a mixed file, with their labels beside them."""
    import json

    out = tmp / f"{path.stem}.{lang}.jsonl"
    labels = {x["id"]: x for x in map(json.loads, filter(str.strip, path.with_name(
        path.name.replace(".jsonl", ".labels.jsonl")).read_text(encoding="utf-8").splitlines()))}
    convs = [c for c in map(json.loads, filter(str.strip, path.read_text(encoding="utf-8").splitlines()))
             if c.get("language") == lang]
    out.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in convs), encoding="utf-8")
    out.with_name(out.name.replace(".jsonl", ".labels.jsonl")).write_text(
        "".join(json.dumps(labels[c["id"]], ensure_ascii=False) + "\n" for c in convs), encoding="utf-8")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", type=Path)
    ap.add_argument("--split", choices=["train", "dev"], help="print one split's evaluation with errors")
    ap.add_argument("--show", type=int, default=0)
    ap.add_argument("--blind", action="store_true", help="include the blind test split (once per release)")
    a = ap.parse_args()
    policyset = load_policies()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        write_splits([str(tmp)])

        def run(path: Path) -> Evaluation:
            return evaluate([str(path)], str(path.with_name(path.name.replace(".jsonl", ".labels.jsonl"))), policyset)

        def real_only(path: Path) -> tuple[Path, Path]:
            """The split without the conversations whose agent turns were written for the corpus, and those."""
            import json

            labels = path.with_name(path.name.replace(".jsonl", ".labels.jsonl"))
            convs = [x for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
            labs = [x for x in labels.read_text(encoding="utf-8").splitlines() if x.strip()]
            out = []
            for name, keep in (("real", False), ("written", True)):
                target = path.with_name(f"{path.stem}.{name}.jsonl")
                rows = [(c, lab) for c, lab in zip(convs, labs) if ("written" in json.loads(c).get("source", "")) == keep]
                target.write_text("".join(c + "\n" for c, _ in rows), encoding="utf-8")
                target.with_name(target.name.replace(".jsonl", ".labels.jsonl")).write_text(
                    "".join(lab + "\n" for _, lab in rows), encoding="utf-8")
                out.append(target)
            return out[0], out[1]

        if a.split:
            for lang in ("en", "fr"):
                print(f"== {lang}-{a.split}")
                print(render_text(run(tmp / f"{lang}-{a.split}.jsonl"), a.show))
            return
        parts = []
        splits = [("test", "Real text: the blind test split (scored once per release)")] if a.blind else []
        splits.append(("dev", "Real text: the dev split (lexicons tuned on it: optimistic)"))
        written = []
        for split, heading in splits:
            parts.append(f"### {heading}\n")
            for lang in ("en", "fr"):
                real, wrote = real_only(tmp / f"{lang}-{split}.jsonl")
                parts.append(table(f"{lang}: corpus {split} split, real conversations", run(real)))
                if wrote.stat().st_size:
                    written.append(table(f"{lang}: corpus {split} split, conversations written for the corpus "
                                         "in whole or in part (agent replies at least)", run(wrote)))
        if written:
            parts.append("### Written text (not real: for reference only; the dev sets were tuned on)\n")
            parts += written
        if YARDSTICK.is_file():
            parts.append("### Real text: the project's yardstick (`../shared/devset/real_twitter_en.jsonl`)\n")
            parts.append(table("en: 80 real Twitter threads, never tuned on", run(YARDSTICK)))
        if SYNTHETIC.is_file():
            parts.append("### Synthetic: the shared dev set\n")
            for lang in ("en", "fr"):
                parts.append(table(f"{lang}: synthetic dev set", run(by_language(SYNTHETIC, lang, tmp))))
    text = "\n".join(parts)
    if a.write:
        doc = a.write.read_text(encoding="utf-8")
        head, _, rest = doc.partition(BEGIN)
        _, _, tail = rest.partition(END)
        a.write.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")
    else:
        print(text)


if __name__ == "__main__":
    main()
