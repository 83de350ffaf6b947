"""Benchmark servicecheck side by side in one run: audit vs a bare scan, lint start-up, peak RSS, --jobs.

Usage (from the repository root, with servicecheck installed in the running Python):

    python benchmarks/run.py                 # 20,000 conversations, 3 rounds (about 5 minutes)
    python benchmarks/run.py --quick         # 2,000 conversations, 1 round (a smoke test)
    python benchmarks/run.py --update-doc    # also rewrite the results block of docs/performance.md

The corpus is generated in a temporary folder from ../shared/devset (the conversations
replicated with fresh ids) and deleted afterwards. Each round runs the measurements that
are compared back to back (audit --jobs 1, the bare scan, audit --jobs 2), and every ratio
is the median of the per-round ratios: the machine may be shared and noisy, and a ratio
of two runs taken moments apart is far steadier than either figure alone.
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
DEVSET = ROOT.parent / "shared" / "devset"
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- results: start (written by benchmarks/run.py --update-doc) -->", "<!-- results: end -->"
SMALL_TEMPLATE = "Bonjour {{customer_name}}, merci pour votre message. Nous revenons vers vous sous 24 h.\n"


# ---------------------------------------------------------------- the corpus


def make_corpus(devset: Path, count: int, path: Path) -> int:
    """Write ``count`` conversations cycled from the dev set, each with a fresh id; return the turns."""
    sources = []
    for name in ("synthetic_conversations.jsonl", "hvb_calls_en.jsonl"):
        file = devset / name
        if file.is_file():
            sources += [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not sources:
        raise SystemExit(f"benchmarks: no dev set conversations under {devset} (use --devset)")
    turns = 0
    with open(path, "w", encoding="utf-8") as out:
        for i, conv in zip(range(count), itertools.cycle(sources)):
            row = dict(conv, id=f"bench:{i + 1:06d}:{conv['id']}")
            turns += len(row["turns"])
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return turns


# ---------------------------------------------------------------- the bare scan


def bare_scan(corpus: str, pack_args: list[str]) -> None:
    """Read JSONL, normalise each turn, search one regex of every phrase of the pack; print the seconds.

    One regex per language: all the pack's phrases in that language (and its ``any``
    patterns), as servicecheck matches a conversation in its language. One regex for
    both languages at once is an order of magnitude slower (RE2 runs out of DFA
    memory and falls back to its slow engine), which would flatter the audit.
    """
    import re2

    from servicecheck.policy.cache import load_policies_cached
    from servicecheck.text.normalize import normalize
    from servicecheck.text.patterns import compile_pattern

    dirs = [pack_args[i + 1] for i, a in enumerate(pack_args) if a == "--policies"]
    policyset = load_policies_cached(dirs, include_default="--no-default-pack" not in pack_args)
    t0 = time.perf_counter()
    parts: dict[str, list[str]] = {}
    for signal in policyset.signals.values():
        for lang, sources in signal.patterns.items():
            spellings = policyset.spellings.get(lang) if lang != "any" else None
            for source in sources:
                pattern = compile_pattern(source, spellings)
                parts.setdefault(lang, []).append(pattern.body if pattern.body is not None else str(pattern.raw))
    options = re2.Options()
    options.max_mem = 64 << 20  # as servicecheck's own pattern sets
    options.never_capture = True  # only the match counts: no submatch extraction over a huge program
    shared = parts.pop("any", [])
    regexes = {lang: re2.compile(" (?:" + "|".join(f"(?:{p})" for p in own + shared) + ")", options)
               for lang, own in parts.items()}
    compiled = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()  # the scan itself: reading, normalising, searching
    matches = turns = 0
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            conv = json.loads(line)
            lang = conv.get("language")
            languages = [lang] if lang in regexes else list(regexes)  # unknown: every language, as servicecheck
            for turn in conv["turns"]:
                for lang in languages:
                    text = normalize(turn["text"], policyset.spellings.get(lang)).text
                    matches += sum(1 for _ in regexes[lang].finditer(" " + text + " "))
                turns += 1
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "compile": compiled,
                      "patterns": sum(map(len, parts.values())) + len(shared), "turns": turns, "matches": matches}))


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
    """In-process seconds per stage over the first ``limit`` conversations (a profile by stage)."""
    from dataclasses import replace

    from servicecheck import api, engine
    from servicecheck.facts import conversation_facts
    from servicecheck.formatters import get
    from servicecheck.inputs import read_transcripts
    from servicecheck.policy.cache import load_policies_cached

    dirs = [pack_args[i + 1] for i, a in enumerate(pack_args) if a == "--policies"]
    policyset = load_policies_cached(dirs, include_default="--no-default-pack" not in pack_args)
    clock = time.process_time
    t = clock()
    conversations = [c for c in itertools.islice(read_transcripts(str(corpus)), limit)]
    read = clock() - t
    auditor = api.Auditor(policyset)
    t = clock()
    prepared = []
    for c in conversations:
        lang = auditor.language_of(c)
        c = replace(c, language=lang)
        prepared.append((c, auditor.hits(c, lang, auditor._used)))
    match = clock() - t
    t = clock()
    facts = [conversation_facts(c, [list(h) for h in hits]) for c, hits in prepared]
    build = clock() - t
    ruleset = auditor._rulesets["transcript"]
    timings = {}
    for prune in (False, True, False, True):
        engine.Session.prune = prune
        session = engine.Session(ruleset)
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
    eng = min(timings[True])
    return {"conversations": len(conversations), "read+parse": read, "signals (normalise+match)": match,
            "facts": build, "engine": eng, "engine without pruning": min(timings[False]),
            "findings+scores": max(check - match - build - eng, 0.0), "render jsonl": render,
            "total": read + check + render}


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 conversations, one round")
    parser.add_argument("--devset", type=Path, default=DEVSET)
    parser.add_argument("--policies", action="append", default=[], help="pack folders to add (as the CLI)")
    parser.add_argument("--no-default-pack", action="store_true")
    parser.add_argument("--update-doc", action="store_true", help=f"rewrite the results block of {DOC}")
    parser.add_argument("--bare", help=argparse.SUPPRESS)  # internal: run the bare scan on this corpus
    args = parser.parse_args()
    pack_args = [x for d in args.policies for x in ("--policies", d)] + (
        ["--no-default-pack"] if args.no_default_pack else [])
    if args.bare:
        bare_scan(args.bare, pack_args)
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
        n = args.conversations
        corpus, double = tmp / f"corpus-{n}.jsonl", tmp / f"corpus-{2 * n}.jsonl"
        turns = make_corpus(args.devset, n, corpus)
        turns2 = make_corpus(args.devset, 2 * n, double)
        small = tmp / "template.md"
        small.write_text(SMALL_TEMPLATE, encoding="utf-8")
        sc = [py, "-m", "servicecheck"]
        audit = [*sc, "audit", "--no-config", "-q", "--format", "jsonl", *pack_args]
        print(f"servicecheck benchmark: {n:,} conversations ({turns:,} turns), {args.rounds} round(s); "
              f"{info['nproc']} CPU(s), {info['cpu']}, Python {info['python']}; load {load_before}", flush=True)
        run([*sc, "lint", "--no-config", *pack_args, str(small)], env, tmp)  # warm up: bytecode and pack cache

        rounds: list[dict[str, float]] = []
        for r in range(args.rounds):
            one = run([*audit, str(corpus), "-o", str(tmp / "out1.jsonl"), "--jobs", "1"], env, tmp)
            run([py, str(Path(__file__).resolve()), "--bare", str(corpus), *pack_args], env, tmp, ok=(0,))
            bare = json.loads(run.last_output.strip().splitlines()[-1])  # type: ignore[attr-defined]
            two = run([*audit, str(corpus), "-o", str(tmp / "out2.jsonl"), "--jobs", "2"], env, tmp)
            same = (tmp / "out1.jsonl").read_bytes() == (tmp / "out2.jsonl").read_bytes()
            rounds.append({"audit": one[0], "audit_cpu": one[2], "rss": one[1], "bare": bare["seconds"],
                           "bare_cpu": bare["cpu"], "jobs2": two[0], "jobs2_cpu": two[2], "same": float(same)})
            print(f"  round {r + 1}: audit {one[0]:.1f} s ({one[2]:.1f} s CPU), bare scan {bare['seconds']:.1f} s "
                  f"({bare['cpu']:.1f} s CPU), --jobs 2 {two[0]:.1f} s ({two[2]:.1f} s CPU), outputs identical: "
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
        stages = breakdown(corpus, pack_args, min(n, 2000))
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
        ("bare scan (read JSONL, normalise, one regex of the language's phrases; "
         f"{bare['patterns']} in all)", f"{med['bare']:.1f} s ({med['bare_cpu']:.1f} s CPU)",
         f"{turns / med['bare']:,.0f} turns/s",
         f"audit/bare = {ratio_bare:.2f}x wall, {ratio_cpu:.2f}x CPU (target <= 3x)"),
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
                  f"{stages['conversations']:,} conversations) | seconds | share |", "|---|---:|---:|"]
    total = stages["total"]
    for key in ("read+parse", "signals (normalise+match)", "facts", "engine", "findings+scores", "render jsonl"):
        stage_rows.append(f"| {key} | {stages[key]:.2f} | {100 * stages[key] / total:.0f} % |")
    stage_rows.append(f"| engine without pruning (for comparison) | {stages['engine without pruning']:.2f} | |")
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "") + (
        f" --conversations {n}" if not args.quick and n != 20_000 else "") + "".join(f" {a}" for a in pack_args)
    header = (f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, {info['system']}; "
              f"load average {load_before} before, {load_after} after. Corpus: {n:,} conversations, "
              f"{turns:,} turns, cycled from the dev set with fresh ids. {args.rounds} round(s); "
              f"ratios are medians of per-round ratios. Command: `{command}`.")
    text = "\n".join([header, "", *table, "", *stage_rows])
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
