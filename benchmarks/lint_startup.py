"""Time ``servicecheck lint`` of one small file as a user runs it, and say where its start-up goes.

Usage (from the repository root, with servicecheck installed in the running Python):

    python benchmarks/lint_startup.py                      # this checkout's code
    python benchmarks/lint_startup.py --before OLD/src     # and older code, runs interleaved
    python benchmarks/lint_startup.py --before OLD/src --update-doc   # rewrite the block in docs/performance.md

Each variant runs the console script ``servicecheck lint FILE`` (from the working folder of a
temporary directory: no project configuration is found) with the bytecode cached and the
pack cache warm (its own ``SERVICECHECK_CACHE_DIR``, warmed by one run), as an installed
wheel has them; ``--before`` puts an older ``src/`` first on ``PYTHONPATH`` (same pack).
The runs of the variants alternate, so both see the same load. Then, per variant:

* the median of ``--runs`` (15) warm runs of each file, and of ``python -c pass``;
* the import-time breakdown (``PYTHONPROFILEIMPORTTIME=1``, the medians of 5 runs): the
  self time of every module imported, summed by package, and the slowest modules;
* which heavy modules one lint of the small file loaded (``sys.modules``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- lint-startup: start (written by benchmarks/lint_startup.py --update-doc) -->", "<!-- lint-startup: end -->"
SMALL_TEMPLATE = "Bonjour {{customer_name}}, merci pour votre message. Nous revenons vers vous sous 24 h.\n"  # as run.py
SMALL_LABEL = "`servicecheck lint template.md` (one small Markdown template)"
YAML_FILE = ROOT / "examples" / "templates" / "macros_en.yaml"
HEAVY = ("numpy", "hyperscan", "durable", "yaml", "jinja2", "jsonschema", "pygls", "servicecheck.lsp",
         "servicecheck.cli_learn", "servicecheck.inputs.jsonread", "servicecheck.detect.prefilter", "tempfile")
# Import-time buckets, by the first part of a module's name (the rest: the standard library).
BUCKETS = {"servicecheck": "servicecheck (own modules)", "click": "click", "yaml": "PyYAML", "durable": "durable-rules",
           "durable_rules_engine": "durable-rules", "re2": "google-re2", "_re2": "google-re2", "hyperscan": "hyperscan",
           "numpy": "numpy", "jinja2": "Jinja2", "markupsafe": "Jinja2", "jsonschema": "jsonschema",
           "referencing": "jsonschema", "rpds": "jsonschema", "pygls": "pygls", "lsprotocol": "pygls"}
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")
# One lint in a fresh interpreter, with the time spent compiling RE2 regexes and reading the pack cache
# (``policy.cache._read``: unpickling, and the imports it triggers) counted, and the heavy modules it loaded.
_PROBE = """import json, sys, time
clock = time.process_time
spent = {{"re2": 0.0, "cache": 0.0}}
def counted(key, fn):
    def wrapper(*args, **kwargs):
        start = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[key] += clock() - start
    return wrapper
import re2
re2._Regexp.__init__ = counted("re2", re2._Regexp.__init__)
import servicecheck.policy.cache as cache
cache._read = counted("cache", cache._read)
sys.argv = ["servicecheck", "lint", sys.argv[1]]
from servicecheck.cli import main
try:
    main()
except SystemExit:
    pass
heavy = [m for m in {heavy!r} if m in sys.modules]
spent = {{k: 1000 * v for k, v in spent.items()}}
open({out!r}, "w").write(json.dumps({{"heavy": heavy, "cpu": 1000 * clock(), **spent}}))
"""


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Run ``cmd``: (wall seconds, CPU seconds of the process). CPU time is steadier when the machine is shared."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"lint_startup: {' '.join(cmd)} exited {proc.returncode}\n{err[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime


def import_times(cmd: list[str], env: dict[str, str], cwd: Path) -> dict[str, int]:
    """Module -> self import time (µs) of one run of ``cmd``."""
    proc = subprocess.run(cmd, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    out: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        m = _LINE.match(line)
        if m:
            out[m.group(4)] = out.get(m.group(4), 0) + int(m.group(1))
    return out


def bucket(module: str) -> str:
    head = module.split(".")[0]
    if head.startswith("__editable__"):
        return "editable-install finder (absent from a wheel install)"
    return BUCKETS.get(head, "standard library")


def measure(variants: dict[str, dict[str, str]], tmp: Path, runs: int) -> dict[str, dict[str, object]]:
    script = Path(sys.executable).parent / "servicecheck"
    sc = [str(script)] if script.exists() else [sys.executable, "-m", "servicecheck"]
    small = tmp / "template.md"
    small.write_text(SMALL_TEMPLATE, encoding="utf-8")
    cmds = {SMALL_LABEL: [*sc, "lint", str(small)],
            f"`servicecheck lint {YAML_FILE.name}` (the YAML macros of examples/)": [*sc, "lint", str(YAML_FILE)],
            "`python -c pass` (the interpreter alone)": [sys.executable, "-c", "pass"]}
    for env in variants.values():
        for cmd in cmds.values():
            timed(cmd, env, tmp)  # warm up: bytecode and pack cache
    times: dict[str, dict[str, list[tuple[float, float]]]] = {v: defaultdict(list) for v in variants}
    for _ in range(runs):
        for name, cmd in cmds.items():
            for variant, env in variants.items():  # alternate: both variants see the same load
                times[variant][name].append(timed(cmd, env, tmp))
    results: dict[str, dict[str, object]] = {}
    for variant, env in variants.items():
        samples = [import_times(cmds[SMALL_LABEL], env, tmp) for _ in range(5)]
        modules = {m for s in samples for m in s}
        per_module = {m: statistics.median(s.get(m, 0) for s in samples) / 1000 for m in modules}
        per_bucket: dict[str, float] = defaultdict(float)
        for m, ms in per_module.items():
            per_bucket[bucket(m)] += ms
        probe = tmp / f"probe-{variant}.json"
        probes: list[dict[str, Any]] = []
        for _ in range(5):
            probe.unlink(missing_ok=True)
            subprocess.run([sys.executable, "-c", _PROBE.format(heavy=HEAVY, out=str(probe)), str(small)], env=env,
                           cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            probes.append(json.loads(probe.read_text()) if probe.exists() else {"heavy": ["(probe failed)"]})
        results[variant] = {
            "medians": {name: (1000 * statistics.median(w for w, _c in ts), 1000 * statistics.median(c for _w, c in ts))
                        for name, ts in times[variant].items()},
            "buckets": dict(per_bucket), "modules": per_module,
            "heavy": probes[-1]["heavy"],
            "split": {k: statistics.median(float(p.get(k, 0.0)) for p in probes) for k in ("cpu", "re2", "cache")},
        }
    return results


def report(results: dict[str, dict[str, object]], runs: int, loads: tuple[str, str], command: str) -> str:
    names = list(results)
    head = "| | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names) + "\n"
    lines = [(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; load average {loads[0]} before, {loads[1]} "
              f"after. Command: `{command}`. Medians of {runs} warm runs each, the variants alternated."), "",
             "| whole process, median wall time (CPU time) | " + " | ".join(names) + " |",
             "|---|" + "---:|" * len(names)]
    first = results[names[0]]["medians"]
    assert isinstance(first, dict)
    for name in first:
        lines.append(f"| {name} | " + " | ".join(
            "{:.0f} ms ({:.0f} ms)".format(*results[v]["medians"][name]) for v in names) + " |")  # type: ignore[index]
    lines += ["", ("Import time of `servicecheck lint template.md` (`PYTHONPROFILEIMPORTTIME=1`, self times summed, "
                   "medians of 5 runs; the profiler adds its own overhead):"), "", head.rstrip("\n")]
    buckets = sorted({b for v in names for b in results[v]["buckets"]},  # type: ignore[attr-defined]
                     key=lambda b: -max(results[v]["buckets"].get(b, 0) for v in names))  # type: ignore[attr-defined]
    for b in buckets:
        lines.append(f"| {b} | " + " | ".join(f"{results[v]['buckets'].get(b, 0):.1f} ms" for v in names) + " |")  # type: ignore[attr-defined]
    lines.append("| **all imports** | " + " | ".join(
        f"**{sum(results[v]['buckets'].values()):.1f} ms**" for v in names) + " |")  # type: ignore[attr-defined]
    lines += ["", ("Where the CPU time of one `lint template.md` goes (one process running the CLI in-process, "
                   "medians of 5; the buckets overlap: reading the cache triggers imports):"), "",
              "| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for key, label in (("cpu", "CPU time of the process (interpreter start-up included)"),
                       ("re2", "compiling RE2 regexes (the lexicons of the signals applied)"),
                       ("cache", "reading the pack cache and the matcher cache (with the imports it triggers)")):
        lines.append(f"| {label} | " + " | ".join(
            f"{results[v]['split'][key]:.1f} ms" for v in names) + " |")  # type: ignore[index]
    lines += ["", "Slowest modules (self time) and the heavy modules a lint of the small file loaded:", ""]
    for v in names:
        mods = results[v]["modules"]
        assert isinstance(mods, dict)
        top = sorted(mods.items(), key=lambda kv: -kv[1])[:12]
        lines.append(f"- {v}: " + ", ".join(f"`{m}` {ms:.1f}" for m, ms in top) + " (ms)")
        lines.append(f"  - loaded: {', '.join(results[v]['heavy']) or 'none of them'}"  # type: ignore[arg-type]
                     f" (of: {', '.join(HEAVY)})")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="an older src/ folder, measured too (on PYTHONPATH)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--update-doc", action="store_true", help=f"rewrite the lint start-up block of {DOC}")
    args = parser.parse_args()
    loads = [load()]
    with tempfile.TemporaryDirectory(prefix="servicecheck-lint-") as tmp_name:
        tmp = Path(tmp_name)
        base = {k: v for k, v in os.environ.items() if k not in (
            "PYTHONDONTWRITEBYTECODE", "SERVICECHECK_NO_CACHE", "PYTHONPATH", "PYTHONPROFILEIMPORTTIME")}
        variants: dict[str, dict[str, str]] = {}
        if args.before:
            variants["before"] = {**base, "PYTHONPATH": str(args.before.resolve()),
                                  "PYTHONPYCACHEPREFIX": str(tmp / "pyc-before"),
                                  "SERVICECHECK_CACHE_DIR": str(tmp / "cache-before")}
        variants["after" if args.before else "this code"] = {
            **base, "PYTHONPYCACHEPREFIX": str(tmp / "pyc"), "SERVICECHECK_CACHE_DIR": str(tmp / "cache")}
        results = measure(variants, tmp, args.runs)
    loads.append(load())
    command = "python benchmarks/lint_startup.py" + (f" --before {args.before}" if args.before else "")
    text = report(results, args.runs, (loads[0], loads[1]), command)
    print(text)
    if args.update_doc:
        doc = DOC.read_text(encoding="utf-8")
        if START not in doc or END not in doc:
            raise SystemExit(f"lint_startup: no {START} ... {END} block in {DOC}")
        before, rest = doc.split(START, 1)
        DOC.write_text(before + START + "\n" + text + rest[rest.index(END):], encoding="utf-8")


if __name__ == "__main__":
    main()
