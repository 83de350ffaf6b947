"""Benchmark servicecheck side by side in one run: audit vs the lean floor, lint start-up, peak RSS, --jobs.

Usage (from the repository root, with servicecheck installed in the running Python):

    python benchmarks/run.py                 # 20,000 conversations, 3 rounds
    python benchmarks/run.py --quick         # 2,000 conversations, 1 round (a smoke test)
    python benchmarks/run.py --update-doc    # also rewrite the results block of docs/performance.md
    python benchmarks/run.py --before /tmp/old/src   # also run an older src/ in every round (before/after)

The corpus is generated in a temporary folder from the real labelled corpus in
``corpus/`` (every ``corpus/*/*.jsonl`` but the ``.labels.jsonl`` files: real Twitter
support threads in English, French tweets), its conversations cycled with fresh ids, and
deleted afterwards. The audit runs with the default pack, learned detectors on. Each round
runs the measurements that are compared back to back (audit --jobs 1, the lean floor
``benchmarks/bare_scan.py``, audit --jobs 2), and every ratio is the median of the
per-round ratios: the machine may be shared and noisy, and a ratio of two runs taken
moments apart is far steadier than either figure alone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
BARE_SCAN = Path(__file__).resolve().parent / "bare_scan.py"  # the lean floor (copied from ../shared/tools)
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- results: start (written by benchmarks/run.py --update-doc) -->", "<!-- results: end -->"
SMALL_TEMPLATE = "Bonjour {{customer_name}}, merci pour votre message. Nous revenons vers vous sous 24 h.\n"


# ---------------------------------------------------------------- the corpus


def corpus_files(corpus: Path) -> list[Path]:
    """The conversation files of the real corpus that every checkout has (corpus/split.py
    ``repository_files``: the labels and the files rebuilt from their ids left out), so that the
    benchmark's corpus is the same on every checkout, rebuilt or not."""
    sys.path.insert(0, str(ROOT / "corpus"))
    from split import repository_files  # corpus/ is not a package: on the path above

    return repository_files(corpus)


def make_corpus(corpus: Path, count: int, path: Path) -> int:
    """Write ``count`` conversations cycled from the real corpus, each with a fresh id; return the turns."""
    sources = []
    for file in corpus_files(corpus):
        sources += [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not sources:
        raise SystemExit(f"benchmarks: no conversations under {corpus}/*/*.jsonl (use --corpus)")
    turns = 0
    with open(path, "w", encoding="utf-8") as out:
        for i, conv in zip(range(count), itertools.cycle(sources)):
            row = dict(conv, id=f"bench:{i + 1:06d}:{conv['id']}")
            turns += len(row["turns"])
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return turns


# ---------------------------------------------------------------- running things


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return {"nproc": usable, "cpu": model or platform.machine(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def run(cmd: list[str], env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0, 1)) -> tuple[float, float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS in MB of the process itself, CPU seconds with its children)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in ok:
        raise SystemExit(f"benchmarks: {' '.join(cmd)} exited {proc.returncode}\n{out[-2000:]}\n{err[-2000:]}")
    rss_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 1024 / 1024
    run.last_output = out  # type: ignore[attr-defined]
    return wall, rss_mb, usage.ru_utime + usage.ru_stime


def median_ms(cmd: list[str], env: dict[str, str], cwd: Path, times: int, ok: tuple[int, ...] = (0, 1)) -> float:
    return 1000 * statistics.median(run(cmd, env, cwd, ok)[0] for _ in range(times))


# ---------------------------------------------------------------- where the time goes


def breakdown(corpus: Path, pack_args: list[str], limit: int) -> dict[str, float]:
    """In-process CPU seconds per stage over the first ``limit`` conversations (a profile by stage).

    ``signals`` is split by running the matcher twice: with the learned detectors (the
    audit's) and without them; normalising alone is timed on its own.
    """
    from dataclasses import replace

    from servicecheck import api, engine
    from servicecheck.facts import conversation_facts
    from servicecheck.formatters import get
    from servicecheck.inputs import read_transcripts
    from servicecheck.policy.cache import load_policies_cached
    from servicecheck.text.normalize import normalize

    dirs = [pack_args[i + 1] for i, a in enumerate(pack_args) if a == "--policies"]
    policyset = load_policies_cached(dirs, include_default="--no-default-pack" not in pack_args)
    clock = time.process_time
    t = clock()
    conversations = [c for c in itertools.islice(read_transcripts(str(corpus)), limit)]
    read = clock() - t
    auditor = api.Auditor(policyset)
    matcher = auditor.matcher
    langs = [auditor.language_of(c) for c in conversations]
    auditor.hits(conversations[0], langs[0], auditor._used)  # load the models before timing
    # One untimed pass first: RE2 builds its DFAs lazily, and the first timed pass (with the learned
    # detectors) would pay for them, charging the lexicons' warm-up to the learned layer.
    for c, lang in zip(conversations, langs):
        auditor.hits(replace(c, language=lang), lang, auditor._used)
    spellings = {lang: matcher._spellings.get(lang) for lang in matcher.languages}
    t = clock()
    for c, lang in zip(conversations, langs):
        for turn in c.turns:
            for one in matcher._languages(lang):
                normalize(turn.text, spellings[one])
    norm = clock() - t
    t = clock()
    prepared = []
    for c, lang in zip(conversations, langs):
        c = replace(c, language=lang)
        prepared.append((c, auditor.hits(c, lang, auditor._used)))
    match = clock() - t
    specs, matcher._model_specs = matcher._model_specs, {}
    try:
        t = clock()
        for c, lang in zip(conversations, langs):
            auditor.hits(c, lang, auditor._used)
        lexical = clock() - t
    finally:
        matcher._model_specs = specs
    t = clock()
    facts = [conversation_facts(c, [list(h) for h in hits]) for c, hits in prepared]
    build = clock() - t
    ruleset = auditor._rulesets["transcript"]
    timings = {}
    for prune in (False, True, False, True):
        engine.Session.prune = prune
        session = engine.Session(ruleset)
        session.memo = False  # the engine itself, every conversation (the audit's memo is counted in "check")
        t = clock()
        for f in facts:
            session.run(f)
        timings.setdefault(prune, []).append(clock() - t)
    engine.Session.prune = True
    t = clock()
    results = [auditor.check(c) for c in conversations]
    check = clock() - t
    fmt = get("jsonl")
    t = clock()
    for r in results:
        fmt.render_result(r)
    render = clock() - t
    return {"conversations": len(conversations), "turns": sum(len(c.turns) for c in conversations),
            "read+parse": read, "normalise": norm, "signals": match,
            "lexicons (patterns, exceptions, negation)": max(lexical - norm, 0.0),
            "learned detectors": max(match - lexical, 0.0), "facts": build,
            "engine (every conversation)": min(timings[True]), "engine without pruning": min(timings[False]),
            "check (signals, facts, engine, findings, scores)": check, "render jsonl": render,
            "total": read + check + render}


# ---------------------------------------------------------------- before and after, side by side


def before_after(rounds: list[dict[str, float]], before: Path) -> list[str]:
    """The table of ``--before``: both codes' ratios, medians of per-round ratios (the same rounds)."""
    def med(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    def ratio(a: str, b: str) -> float:
        return statistics.median(r[a] / r[b] for r in rounds)

    def ideal(one: str, two: str) -> float:
        return statistics.median(r[one] / (r[two] / 2) for r in rounds)

    rows = [
        ("audit --jobs 1 (whole process)", f"{med('b_audit'):.1f} s ({med('b_audit_cpu'):.1f} s CPU)",
         f"{med('audit'):.1f} s ({med('audit_cpu'):.1f} s CPU)"),
        ("audit / lean floor, CPU", f"{ratio('b_audit_cpu', 'bare_cpu'):.2f}x", f"{ratio('audit_cpu', 'bare_cpu'):.2f}x"),
        ("audit / lean floor, wall", f"{ratio('b_audit', 'bare'):.2f}x", f"{ratio('audit', 'bare'):.2f}x"),
        ("--jobs 2 speed-up, wall", f"{ratio('b_audit', 'b_jobs2'):.2f}x", f"{ratio('audit', 'jobs2'):.2f}x"),
        ("--jobs 2 speed-up on two free cores (CPU)", f"{ideal('b_audit_cpu', 'b_jobs2_cpu'):.2f}x",
         f"{ideal('audit_cpu', 'jobs2_cpu'):.2f}x"),
        ("peak RSS, --jobs 1", f"{med('b_rss'):.0f} MB", f"{med('rss'):.0f} MB"),
        ("after / before, audit CPU", "", f"{ratio('audit_cpu', 'b_audit_cpu'):.2f}"),
    ]
    same = all(r["b_same"] for r in rounds)
    note = (f"Before (`--before {before}`) and after, run in the same rounds, back to back; "
            f"the same jsonl output from both: {same}.")
    return [note, "",
            "| measure | before | after |", "|---|---:|---:|", *[f"| {a} | {b} | {c} |" for a, b, c in rows]]


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 conversations, one round")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="folder of <lang>/*.jsonl (default: corpus/)")
    parser.add_argument("--policies", action="append", default=[], help="pack folders to add (as the CLI)")
    parser.add_argument("--no-default-pack", action="store_true")
    parser.add_argument("--update-doc", action="store_true", help=f"rewrite the results block of {DOC}")
    parser.add_argument("--src", type=Path, help="run the servicecheck of this src/ folder instead (PYTHONPATH), "
                        "e.g. an older commit's, for a before/after table")
    parser.add_argument("--before", type=Path, help="also run the servicecheck of this src/ folder (an older "
                        "commit's, e.g. from git archive) in every round, beside this one: a before/after table "
                        "measured side by side")
    parser.add_argument("--stages", help=argparse.SUPPRESS)  # internal: print the stage split of this corpus
    parser.add_argument("--limit", type=int, default=2000, help=argparse.SUPPRESS)
    args = parser.parse_args()
    pack_args = [x for d in args.policies for x in ("--policies", d)] + (
        ["--no-default-pack"] if args.no_default_pack else [])
    if args.stages:
        print(json.dumps(breakdown(Path(args.stages), pack_args, args.limit)))
        return
    if args.quick:
        args.conversations, args.rounds = 2_000, 1
    py = sys.executable
    info = machine()
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="servicecheck-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed wheel has its bytecode compiled
        env.update(PYTHONPYCACHEPREFIX=str(tmp / "pycache"), SERVICECHECK_CACHE_DIR=str(tmp / "cache"))
        env.pop("SERVICECHECK_NO_CACHE", None)
        if args.src:
            env["PYTHONPATH"] = str(args.src.resolve())
        env_before = {**env, "PYTHONPATH": str(args.before.resolve())} if args.before else None
        n = args.conversations
        corpus, double = tmp / f"corpus-{n}.jsonl", tmp / f"corpus-{2 * n}.jsonl"
        turns = make_corpus(args.corpus, n, corpus)
        turns2 = make_corpus(args.corpus, 2 * n, double)
        small = tmp / "template.md"
        small.write_text(SMALL_TEMPLATE, encoding="utf-8")
        sc = [py, "-m", "servicecheck"]
        audit = [*sc, "audit", "--no-config", "-q", "--format", "jsonl", *pack_args]
        print(f"servicecheck benchmark: {n:,} conversations ({turns:,} turns), {args.rounds} round(s); "
              f"{info['nproc']} CPU(s), {info['cpu']}, Python {info['python']}; load {load_before}", flush=True)
        run([*sc, "lint", "--no-config", *pack_args, str(small)], env, tmp)  # warm up: bytecode and pack cache
        first = tmp / "first.jsonl"  # and what only transcripts build (the prefilter databases, per language)
        by_language: dict[str, str] = {}
        with open(corpus, encoding="utf-8") as fh:  # the whole corpus: its French comes after thousands of English
            for line in fh:
                by_language.setdefault(str(json.loads(line).get("language")), line)
        first.write_text("".join(by_language.values()), encoding="utf-8")
        run([*audit, str(first), "-o", str(tmp / "first.out")], {**env, "SERVICECHECK_PREFILTER_AFTER": "1"}, tmp)
        if env_before is not None:  # the older code's own pack cache (its module stamp differs)
            run([*sc, "lint", "--no-config", *pack_args, str(small)], env_before, tmp)
            run([*audit, str(first), "-o", str(tmp / "first.out")],
                {**env_before, "SERVICECHECK_PREFILTER_AFTER": "1"}, tmp)

        rounds: list[dict[str, float]] = []
        for r in range(args.rounds):
            one = run([*audit, str(corpus), "-o", str(tmp / "out1.jsonl"), "--jobs", "1"], env, tmp)
            floor = run([py, str(BARE_SCAN), str(corpus)], env, tmp, ok=(0,))
            bare = {"seconds": floor[0], "cpu": floor[2]}
            two = run([*audit, str(corpus), "-o", str(tmp / "out2.jsonl"), "--jobs", "2"], env, tmp)
            same = (tmp / "out1.jsonl").read_bytes() == (tmp / "out2.jsonl").read_bytes()
            rounds.append({"audit": one[0], "audit_cpu": one[2], "rss": one[1], "bare": bare["seconds"],
                           "bare_cpu": bare["cpu"], "jobs2": two[0], "jobs2_cpu": two[2], "same": float(same)})
            if env_before is not None:
                b1 = run([*audit, str(corpus), "-o", str(tmp / "outb1.jsonl"), "--jobs", "1"], env_before, tmp)
                b2 = run([*audit, str(corpus), "-o", str(tmp / "outb2.jsonl"), "--jobs", "2"], env_before, tmp)
                same_b = (tmp / "outb1.jsonl").read_bytes() == (tmp / "out1.jsonl").read_bytes() == (
                    tmp / "outb2.jsonl").read_bytes()
                rounds[-1].update({"b_audit": b1[0], "b_audit_cpu": b1[2], "b_rss": b1[1], "b_jobs2": b2[0],
                                   "b_jobs2_cpu": b2[2], "b_same": float(same_b)})
                print(f"    before: audit {b1[0]:.1f} s ({b1[2]:.1f} s CPU), --jobs 2 {b2[0]:.1f} s ({b2[2]:.1f} s CPU),"
                      f" output identical to after: {same_b}; load {load()}", flush=True)
            print(f"  round {r + 1}: audit {one[0]:.1f} s ({one[2]:.1f} s CPU), lean floor {bare['seconds']:.2f} s "
                  f"({bare['cpu']:.2f} s CPU), --jobs 2 {two[0]:.1f} s ({two[2]:.1f} s CPU), outputs identical: "
                  f"{same}; load {load()}",
                  flush=True)
        big = run([*audit, str(double), "-o", str(tmp / "out3.jsonl"), "--jobs", "1"], env, tmp)

        lint_cmd = [*sc, "lint", "--no-config", *pack_args, str(small)]
        lint_ms = median_ms(lint_cmd, env, tmp, 15)
        lint_cold = median_ms(lint_cmd, {**env, "SERVICECHECK_NO_CACHE": "1"}, tmp, 5)
        import_ms = median_ms([py, "-c", "import servicecheck"], env, tmp, 15, ok=(0,))
        python_ms = median_ms([py, "-c", "pass"], env, tmp, 15, ok=(0,))
        proselint = Path(py).parent / "proselint"
        prose_ms = median_ms([str(proselint), "check", str(small)], env, tmp, 15, ok=(0, 1)) if (
            proselint.exists() or shutil.which("proselint")) else None
        run([py, str(Path(__file__).resolve()), "--stages", str(corpus), "--limit", str(min(n, 2000)), *pack_args],
            env, tmp, ok=(0,))
        stages = json.loads(run.last_output.strip().splitlines()[-1])  # type: ignore[attr-defined]
    load_after = load()

    med = {k: statistics.median(r[k] for r in rounds) for k in ("audit", "audit_cpu", "bare", "bare_cpu", "jobs2",
                                                                 "jobs2_cpu", "rss")}
    # What two free cores would give: the serial CPU over half the CPU the two-worker run used.
    ideal = statistics.median(r["audit_cpu"] / (r["jobs2_cpu"] / 2) for r in rounds)
    ratio_bare = statistics.median(r["audit"] / r["bare"] for r in rounds)
    ratio_cpu = statistics.median(r["audit_cpu"] / r["bare_cpu"] for r in rounds)
    ratio_jobs = statistics.median(r["audit"] / r["jobs2"] for r in rounds)
    rows = [
        ("audit --jobs 1, jsonl to a file (whole process)", f"{med['audit']:.1f} s ({med['audit_cpu']:.1f} s CPU)",
         f"{turns / med['audit']:,.0f} turns/s", ""),
        ("lean floor: benchmarks/bare_scan.py (json.loads, NFKC + casefold, one regex of ~70 phrases; "
         "whole process)", f"{med['bare']:.2f} s ({med['bare_cpu']:.2f} s CPU)",
         f"{turns / med['bare']:,.0f} turns/s",
         f"**audit / floor = {ratio_bare:.2f}x wall, {ratio_cpu:.2f}x CPU** (target <= 8x)"),
        ("audit --jobs 2", f"{med['jobs2']:.1f} s ({med['jobs2_cpu']:.1f} s CPU, all processes)",
         f"{turns / med['jobs2']:,.0f} turns/s",
         f"speed-up = {ratio_jobs:.2f}x wall (target >= 1.8x); {ideal:.2f}x on two free cores (CPU); "
         f"identical output: {all(r['same'] for r in rounds)}"),
        (f"peak RSS, {n:,} conversations", f"{med['rss']:.0f} MB", "", "target <= 200 MB"),
        (f"peak RSS, {2 * n:,} conversations", f"{big[1]:.0f} MB", f"{turns2 / big[0]:,.0f} turns/s",
         f"x{big[1] / med['rss']:.2f} for twice the corpus"),
        ("lint one small file (pack cache warm)", f"{lint_ms:.0f} ms", "", "target <= 150 ms"),
        ("lint one small file, SERVICECHECK_NO_CACHE=1", f"{lint_cold:.0f} ms", "", ""),
        ('python -c "import servicecheck"', f"{import_ms:.0f} ms", "", ""),
        ('python -c "pass"', f"{python_ms:.0f} ms", "", ""),
    ]
    if prose_ms is not None:
        rows.append(("proselint check, same file", f"{prose_ms:.0f} ms", "", ""))
    table = ["| measure | time | throughput | note |", "|---|---:|---:|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    stage_rows = ["| stage (in-process CPU, first "
                  f"{stages['conversations']:,} conversations, {stages['turns']:,} turns) | seconds | share |",
                  "|---|---:|---:|"]
    total = stages["total"]
    for key in ("read+parse", "check (signals, facts, engine, findings, scores)", "render jsonl"):
        stage_rows.append(f"| {key} | {stages[key]:.2f} | {100 * stages[key] / total:.0f} % |")
    for key in ("signals", "normalise", "lexicons (patterns, exceptions, negation)", "learned detectors", "facts",
                "engine (every conversation)", "engine without pruning"):
        share = 100 * stages[key] / total
        stage_rows.append(f"| &nbsp;&nbsp;{key} (measured apart) | {stages[key]:.2f} | {share:.0f} % |")
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "") + (
        f" --conversations {n}" if not args.quick and n != 20_000 else "") + "".join(f" {a}" for a in pack_args) + (
        f" --src {args.src}" if args.src else "") + (f" --before {args.before}" if args.before else "")
    header = (f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, {info['system']}; "
              f"load average {load_before} before, {load_after} after. Corpus: {n:,} conversations, "
              f"{turns:,} turns, cycled from the real corpus (corpus/*/*.jsonl) with fresh ids; learned detectors on. "
              f"{args.rounds} round(s); "
              f"ratios are medians of per-round ratios. Command: `{command}`.")
    blocks = [header, "", *table, "", *stage_rows]
    if args.before:
        blocks += ["", *before_after(rounds, args.before)]
    text = "\n".join(blocks)
    print()
    print(text)
    if args.update_doc:
        doc = DOC.read_text(encoding="utf-8")
        if START not in doc or END not in doc:
            raise SystemExit(f"benchmarks: {DOC} has no results markers")
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
        DOC.write_text(pattern.sub(lambda _m: f"{START}\n{text}\n{END}", doc), encoding="utf-8")
        print(f"\nwrote the results into {DOC}")


if __name__ == "__main__":
    main()
