#!/usr/bin/env python3
"""Write the reference reports of tests/test_audit_golden.py with the unoptimised code path.

The speed work of issue 11 must not change one byte of ``audit --format json``. The
reference is produced by the code of commit :data:`REFERENCE` (before that work), run
on the *current* default pack (lexicons and model files: ``policies/``), so that a
lexicon or model change on main only needs this script to be run again:

    python tools/audit_golden.py           # rewrite tests/golden/audit_*.json.gz
    python tools/audit_golden.py --check   # only say whether they are up to date

A change of *meaning* made on main after the reference commit (not speed work) is applied to the
reference's ``src/`` from :data:`PATCH`, so that the reference differs from main by the speed work
alone: since fb86531 a negator's scope also ends at "but" / « mais » and at "and" / « et » before a
subject; since the seventh release a signal file's list may hold ``{include: <signal>}`` (another
signal's list, expanded at load time: complaint.yaml includes incivility.yaml's); since the thirteenth
round a lone message (every turn by one speaker) has no ``ctx:first`` model feature; since the eighteenth a
signal file may carry ``model-given`` detectors (run only on the turns where another signal is found).

It extracts ``src/`` of the reference commit into a temporary folder (then applies :data:`PATCH`) and runs
``python -m servicecheck audit --no-config -q --format json FILES`` there (the default
pack resolves to this checkout's ``policies/``, as an editable install maps it), in a
folder holding copies of the inputs under their bare names, as the test does.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "corpus"))
from split import repository_files  # corpus/ is not a package: on the path above

GOLDEN = ROOT / "tests" / "golden"
STAMP = GOLDEN / "audit_golden.json"
PATCH = Path(__file__).resolve().with_name("audit_golden_reference.patch")  # main's meaning changes since REFERENCE
REFERENCE = "a6e199d"  # main at the last merge into issue11, without the speed work (earlier: 38df295, bc6ecc5, abfa7e3, 47a4df0)
DEVSET = ROOT.parent / "shared" / "devset"

# name -> input files (copied under their bare names; the report holds those paths)
CASES: dict[str, tuple[Path, ...]] = {
    "devset": (DEVSET / "synthetic_conversations.jsonl",),
    "calls": (DEVSET / "hvb_calls_en.jsonl",),
    # the whole real corpus that every checkout has: every corpus/<lang>/*.jsonl but the labels and
    # the files rebuilt from their ids (corpus/split.py repository_files)
    "corpus": tuple(repository_files()),
}


def pack_digest() -> str:
    """SHA-256 over the default pack's files (names and bytes): what the reports depend on besides the code."""
    h = hashlib.sha256()
    pack = ROOT / "policies"
    for path in sorted(p for p in pack.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        if path.suffix == ".py" or path.name == "training-data.jsonl.gz":
            continue  # not read by an audit
        h.update(str(path.relative_to(pack)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of one input file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stamp() -> dict[str, object]:
    """What the golden files were made from (the reference commit is added when they are written)."""
    return {"pack": pack_digest(),
            "inputs": {p.name: file_digest(p) for files in CASES.values() for p in files if p.is_file()}}


def run_reference(files: tuple[Path, ...], src: Path) -> bytes:
    """The JSON report of the reference code on copies of ``files``."""
    with tempfile.TemporaryDirectory(prefix="servicecheck-golden-") as tmp_name:
        tmp = Path(tmp_name)
        for f in files:
            shutil.copyfile(f, tmp / f.name)
        env = dict(os.environ, PYTHONPATH=str(src), SERVICECHECK_NO_CACHE="1", PYTHONDONTWRITEBYTECODE="1")
        cmd = [sys.executable, "-m", "servicecheck", "audit", "--no-config", "-q", "--format", "json",
               *[f.name for f in files], "-o", "report.json"]
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"reference audit failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return (tmp / "report.json").read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare the stamp with the current pack/inputs")
    parser.add_argument("--reference", default=REFERENCE,
                        help=f"the commit whose src/ writes the reports (default {REFERENCE}; a later commit of main "
                        "without the speed work if the pack ever needs newer code)")
    args = parser.parse_args()
    current = stamp()
    if args.check:
        old = json.loads(STAMP.read_text()) if STAMP.exists() else {}
        old.pop("reference", None)
        print("up to date" if old == current else f"stale: {old} != {current}")
        raise SystemExit(0 if old == current else 1)
    # the corpus case reads every corpus/<lang>/*.jsonl of the working tree: a file not yet committed would
    # enter golden files that a clean checkout of the same commit cannot reproduce
    untracked = sorted(name for name in subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--others", "--exclude-standard", "--", "corpus"],
        check=True, capture_output=True, text=True).stdout.split() if name.endswith(".jsonl"))
    if untracked:
        raise SystemExit(f"audit_golden: git add (or move away) these corpus files first: {', '.join(untracked)}")
    with tempfile.TemporaryDirectory(prefix="servicecheck-ref-") as ref_name:
        ref = Path(ref_name)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.reference, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(ref)], input=archive, check=True)
        if args.reference == REFERENCE:  # the patch is written against REFERENCE's src/
            subprocess.run(["git", "apply", "-p1", str(PATCH)], cwd=ref, check=True)
        for name, files in CASES.items():
            missing = [str(f) for f in files if not f.is_file()]
            if missing:
                raise SystemExit(f"missing inputs for {name}: {missing}")
            data = run_reference(files, ref / "src")
            (GOLDEN / f"audit_{name}.json.gz").write_bytes(gzip.compress(data, 9, mtime=0))
            print(f"{name}: {len(data):,} bytes")
    STAMP.write_text(json.dumps(dict(current, reference=args.reference), indent=2) + "\n")


if __name__ == "__main__":
    main()
