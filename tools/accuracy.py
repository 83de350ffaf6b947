#!/usr/bin/env python3
"""Score the default pack on labelled conversation sets, per language, and print the tables of docs/accuracy.md.

Usage (from the repository root, with ../shared beside it for the dev set):

    python tools/accuracy.py                      # print the markdown tables
    python tools/accuracy.py --write docs/accuracy.md   # replace the tables block in that file

Sets: the dev set ``../shared/devset/synthetic_conversations.jsonl`` (when present),
split per language into temporary files, and the eval sets of ``tests/data/eval/``.  Each set
is scored by ``../shared/tools/evaluate.py --json`` when that file exists (the
reference scorer, run on ``python -m servicecheck``), else by :func:`score`, the
in-process equivalent the tests use (``--in-process`` forces it).

Both score the same way: per signal, turn-level precision / recall / F1 between
the labels and the signals ``annotate`` finds; per policy, finding-level scores
between the findings ``audit`` reports and the findings the labels imply under the
default pack's rules (SPEC section 4); macro-F1 averages the signals that occur in
the labels and every policy in the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from servicecheck.evaluate import AGENT_TAGS, CUSTOMER_TAGS, expected_findings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEVSET = SHARED / "devset" / "synthetic_conversations.jsonl"
EVALUATE = SHARED / "tools" / "evaluate.py"
EVAL_DIR = ROOT / "tests" / "data" / "eval"
EVAL_SETS = {"en": EVAL_DIR / "en_support_threads.jsonl", "fr": EVAL_DIR / "fr_live_chats.jsonl"}
# Written after the lexicons were tuned and scored once before any change (docs/accuracy.md).
BLIND_SETS = {"en": EVAL_DIR / "en_blind_threads.jsonl", "fr": EVAL_DIR / "fr_blind_chats.jsonl"}
BEGIN, END = "<!-- accuracy tables: begin -->", "<!-- accuracy tables: end -->"

TAGS = AGENT_TAGS + CUSTOMER_TAGS
TURN_POLICIES = ("no-deflection", "agent-civility", "incivility-never-ignored", "refusal-explained")
CONVERSATION_POLICIES = ("always-thank", "least-complaint-handling")
Key = tuple[str, int | None]


def labels_path(conversations: Path) -> Path:
    """``x.jsonl`` -> ``x.labels.jsonl``."""
    return conversations.with_name(conversations.name[: -len(".jsonl")] + ".labels.jsonl")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every JSON object of a JSON Lines file."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def tag_of(signal: str) -> str:
    """``agent-incivility`` (or ``pack.agent-incivility``) -> ``AGENT_INCIVILITY``."""
    return signal.rsplit(".", 1)[-1].replace("-", "_").upper()


def short_policy(policy_id: str) -> str:
    """``service-standards.no-deflection`` -> ``no-deflection``."""
    return policy_id.rsplit(".", 1)[-1].rsplit("/", 1)[-1]


def implied_findings(conv: Mapping[str, Any], tags: Sequence[Sequence[str]]) -> dict[str, set[Key]]:
    """The findings the default pack must report on ``conv`` if its turns carry ``tags`` (SPEC section 4).

    The rules are :func:`servicecheck.evaluate.expected_findings`'s (LABELING.md, "Policy outcomes").
    """
    return expected_findings(conv["id"], [t["speaker"] for t in conv["turns"]], tags)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn}


def tables(
    convs: Sequence[Mapping[str, Any]],
    labels: Mapping[str, Sequence[Sequence[str]]],
    found: Mapping[str, Mapping[int, set[str]]],
    reported: Iterable[tuple[str, str, int | None]],
) -> dict[str, dict[str, dict[str, float | int]]]:
    """The signal and policy tables from gold labels and what servicecheck found.

    Args:
        convs: the conversations (canonical JSON objects).
        labels: conversation id -> one tag list per turn.
        found: conversation id -> turn number -> tags servicecheck found there.
        reported: ``(conversation id, policy id, turn)`` of every finding reported.
    """
    counts = {t: [0, 0, 0] for t in TAGS}
    expected: dict[str, set[Key]] = defaultdict(set)
    for conv in convs:
        gold_turns = labels.get(conv["id"])
        if gold_turns is None:
            continue
        for number, gold in enumerate(gold_turns, 1):
            got = found.get(conv["id"], {}).get(number, set())
            for t in TAGS:
                if t in got or t in gold:
                    counts[t][0 if t in got and t in gold else 1 if t in got else 2] += 1
        for policy, keys in implied_findings(conv, gold_turns).items():
            expected[policy] |= keys
    got_findings: dict[str, set[Key]] = defaultdict(set)
    for cid, policy_id, turn in reported:
        policy = short_policy(policy_id)
        got_findings[policy].add((cid, None if policy in CONVERSATION_POLICIES else turn))
    names = sorted(set(expected) | {p for p in got_findings if p in TURN_POLICIES + CONVERSATION_POLICIES})
    return {
        "signals": {t: _prf(*counts[t]) for t in TAGS},
        "policies": {
            p: _prf(len(expected[p] & got_findings[p]), len(got_findings[p] - expected[p]),
                    len(expected[p] - got_findings[p]))
            for p in names
        },
    }


def macro(table: Mapping[str, Mapping[str, Mapping[str, float | int]]]) -> tuple[float, float]:
    """Macro-F1 over the signals that occur in the labels, and over every policy of the table."""
    sig = [v["f1"] for v in table["signals"].values() if v["tp"] + v["fn"]]
    pol = [v["f1"] for v in table["policies"].values()]
    return sum(sig) / max(len(sig), 1), sum(pol) / max(len(pol), 1)


def score(conversations: Path, labels_file: Path | None = None, policyset: Any = None) -> dict[str, Any]:
    """Score the default pack (or ``policyset``) on a labelled set, in this process.

    Returns:
        ``{"signals": {TAG: {precision, recall, f1, tp, fp, fn}}, "policies": {...}}``,
        the tables of ``shared/tools/evaluate.py --json``.
    """
    from servicecheck.api import Auditor
    from servicecheck.inputs import read_transcripts
    from servicecheck.model import InputProblem
    from servicecheck.policy.loader import load_policies

    labels = {row["id"]: row["turns"] for row in read_jsonl(labels_file or labels_path(conversations))}
    auditor = Auditor(policyset or load_policies())
    found: dict[str, dict[int, set[str]]] = {}
    reported: list[tuple[str, str, int | None]] = []
    problems: list[str] = []
    for conv in read_transcripts(str(conversations)):
        if isinstance(conv, InputProblem):
            problems.append(f"{conv.path}:{conv.line}: {conv.message}")
            continue
        hits = auditor.hits(conv, auditor.language_of(conv))
        found[conv.id] = {turn.number: {tag_of(s) for s in h} for turn, h in zip(conv.turns, hits, strict=True)}
        result = auditor.check(conv)
        reported += [(conv.id, f.policy, f.turn) for f in result.findings]
    if problems:  # a set that does not read cleanly scores nothing
        raise ValueError("\n".join(problems))
    return tables(read_jsonl(conversations), labels, found, reported)


def score_with_evaluate(conversations: Path, labels_file: Path, cmd: str) -> dict[str, Any]:
    """Score with the reference ``shared/tools/evaluate.py --json``."""
    proc = subprocess.run(
        [sys.executable, str(EVALUATE), str(conversations), str(labels_file), "--cmd", cmd, "--json"],
        capture_output=True, text=True, check=True,
    )
    return json.loads(proc.stdout)


def split_by_language(conversations: Path, folder: Path) -> dict[str, tuple[Path, Path]]:
    """Write one conversations file and one labels file per language into ``folder``."""
    labels = {row["id"]: row for row in read_jsonl(labels_path(conversations))}
    by_lang: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for conv in read_jsonl(conversations):
        by_lang[conv.get("language") or "und"].append(conv)
    out = {}
    for lang, convs in sorted(by_lang.items()):
        c, lab = folder / f"dev_{lang}.jsonl", folder / f"dev_{lang}.labels.jsonl"
        c.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in convs), encoding="utf-8")
        lab.write_text("".join(json.dumps(labels[x["id"]], ensure_ascii=False) + "\n" for x in convs),
                       encoding="utf-8")
        out[lang] = (c, lab)
    return out


def markdown(title: str, table: Mapping[str, Any]) -> str:
    """One set's two tables as GitHub markdown."""
    sig, pol = macro(table)
    rows = [f"### {title}", "", f"macro-F1: signals **{sig:.3f}**, policies **{pol:.3f}**", "",
            "| signal | P | R | F1 | tp | fp | fn |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, v in table["signals"].items():
        if v["tp"] + v["fp"] + v["fn"]:
            rows.append(f"| {name} | {v['precision']:.2f} | {v['recall']:.2f} | {v['f1']:.2f} "
                        f"| {v['tp']} | {v['fp']} | {v['fn']} |")
    rows += ["", "| policy | P | R | F1 | tp | fp | fn |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, v in table["policies"].items():
        rows.append(f"| {name} | {v['precision']:.2f} | {v['recall']:.2f} | {v['f1']:.2f} "
                    f"| {v['tp']} | {v['fp']} | {v['fn']} |")
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Print (or write into a file) the accuracy tables of every labelled set."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", type=Path, help="replace the tables block of this markdown file")
    ap.add_argument("--in-process", action="store_true", help="score in this process, not with evaluate.py")
    ap.add_argument("--cmd", default=f"{sys.executable} -m servicecheck", help="servicecheck command for evaluate.py")
    a = ap.parse_args(argv)
    use_evaluate = EVALUATE.is_file() and not a.in_process
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        sets: list[tuple[str, Path, Path]] = []
        if DEVSET.is_file():
            for lang, (c, lab) in split_by_language(DEVSET, Path(tmp)).items():
                sets.append((f"Dev set (synthetic), {lang}", c, lab))
        for lang, path in EVAL_SETS.items():
            sets.append((f"Eval set ({path.name}), {lang}", path, labels_path(path)))
        for lang, path in BLIND_SETS.items():
            sets.append((f"Blind eval set ({path.name}), {lang}", path, labels_path(path)))
        for title, c, lab in sets:
            table = score_with_evaluate(c, lab, a.cmd) if use_evaluate else score(c, lab)
            parts.append(markdown(title, table))
    scorer = "../shared/tools/evaluate.py" if use_evaluate else "tools/accuracy.py (in process)"
    block = f"{BEGIN}\n_Scored by {scorer}._\n\n" + "\n".join(parts) + END
    if a.write:
        text = a.write.read_text(encoding="utf-8")
        if BEGIN in text and END in text:
            text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        a.write.write_text(text, encoding="utf-8")
    else:
        print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
