"""How big the HTML report of a large run gets, and whether Chromium renders it.

    python benchmarks/html_size.py [--conversations 20000] [--jobs 2] [--keep DIR]

Generates a corpus of short calls (French and English, clean and flagged, 37 agents in
5 teams), audits it with ``--format html --group-by agent``, prints the page's size
against the documented bound (docs/output.md: HTML_BOUND_BYTES), and, when a Chromium
binary is found, times a headless ``--dump-dom`` of it. tests/test_html_scale.py runs
the same at a proportional scale.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The documented bound for the page of a 20,000-conversation run (docs/output.md).
HTML_BOUND_BYTES = 8_000_000

CALLS = [
    ("fr", [("customer", "Bonjour, ma facture de mars est fausse, c'est inadmissible."),
            ("agent", "Je suis désolée pour ce souci. Je corrige la facture aujourd'hui."),
            ("agent", "Merci pour votre patience, bonne journée.")]),
    ("fr", [("customer", "Ma box ne marche plus depuis trois jours."),
            ("agent", "Ah ça, c'est le service technique, pas nous."),
            ("customer", "Vous êtes vraiment des incapables !"),
            ("agent", "Votre numéro de client ?")]),
    ("en", [("customer", "Hi, I'd like to update my address."),
            ("agent", "Thanks for calling! I've updated your address.")]),
    ("en", [("customer", "My card was blocked again, this is ridiculous."),
            ("agent", "That's not my department, you'll need to contact the bank."),
            ("customer", "Seriously?"),
            ("agent", "I can't do anything about it.")]),
    ("fr", [("customer", "Je voudrais résilier mon abonnement."),
            ("agent", "Merci de votre appel. Je m'en occupe tout de suite, c'est fait.")]),
    ("en", [("customer", "My parcel never arrived, I'm really annoyed."),
            ("agent", "I'm so sorry about that. I'm sending a replacement by express today."),
            ("agent", "Thanks for your patience!")]),
]


def make_corpus(count: int, path: Path) -> Path:
    """Write ``count`` canonical JSONL conversations with agent and team metadata."""
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            language, turns = CALLS[i % len(CALLS)]
            out.write(json.dumps({
                "id": f"call-{i:05d}", "language": language,
                "metadata": {"agent": f"agent-{i % 37:02d}", "team": f"team-{i % 5}"},
                "turns": [{"speaker": s, "text": t} for s, t in turns],
            }, ensure_ascii=False) + "\n")
    return path


def chromium() -> str | None:
    """The first Chromium binary found, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="write the corpus and the page here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="servicecheck-html-"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = make_corpus(args.conversations, work / "calls.jsonl")
    page = work / "report.html"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "servicecheck", "audit", str(corpus), "-f", "html", "--group-by", "agent",
                    "--jobs", str(args.jobs), "-o", str(page), "-q"], check=False)
    audit_s = time.perf_counter() - started
    size = page.stat().st_size
    print(f"{args.conversations} conversations: audit + html {audit_s:.1f} s, page {size / 1e6:.2f} MB "
          f"(bound {HTML_BOUND_BYTES / 1e6:.0f} MB for 20,000: {'ok' if size < HTML_BOUND_BYTES else 'OVER'})")
    browser = chromium()
    if browser:
        started = time.perf_counter()
        proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               f"--user-data-dir={work / 'profile'}", "--dump-dom", page.as_uri()],
                              capture_output=True, text=True, timeout=300, check=False)
        print(f"chromium --dump-dom: {time.perf_counter() - started:.1f} s, DOM {len(proc.stdout) / 1e6:.2f} MB, "
              f"{'rendered' if '</main>' in proc.stdout else 'NOT rendered'}")


if __name__ == "__main__":
    main()
