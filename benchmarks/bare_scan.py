#!/usr/bin/env python3
# Copied unchanged (below this comment block) from ../shared/tools/bare_scan.py, the project's lean floor
# (issue 11): benchmarks/run.py times it side by side with the audit. Keep it in step with that file.
"""The lexical floor: read canonical JSONL and run one compiled phrase regex over every turn.

No policy logic, no engine: the least work any checker of the same phrases must do.
Usage: bare_scan.py CORPUS.jsonl  -> prints turns scanned and matches found.
"""
import json
import re
import sys
import unicodedata

PHRASES = """merci|je vous remercie|thank you|thanks|désolé|désolée|toutes nos excuses|sorry|i apologize|apologies
je comprends|i understand|frustrating|c'est le service|ce n'est pas de notre ressort|voyez avec|rapprochez-vous
not our department|you'll need to contact|contact the seller|not on our end|nous ne pouvons pas|impossible|we can't
we cannot|unable to|parce que|car|en raison de|because|due to|restez courtois|keep it respectful|c'est votre faute
your fault|nul|incapables|escrocs|idiots|useless|stupid|fucking|porter plainte|sue you|inadmissible|unacceptable
pas reçu|not received|still waiting|toujours pas|en moins de \\d+ secondes|pas plus de \\d+ minutes|soyez aimables
under \\d+ minutes|le client est roi|au centre de nos préoccupations|je vous propose|we can offer|i've refunded
je vous rembourse|i'll send|je m'en occupe|i'll look into""".replace("\n", "|")
RX = re.compile(r"\b(?:%s)\b" % PHRASES)


def fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s).casefold().replace("\u2019", "'")


def main() -> None:
    turns = hits = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            conv = json.loads(line)
            for t in conv["turns"]:
                turns += 1
                hits += sum(1 for _ in RX.finditer(fold(t["text"])))
    print(f"{turns} turns, {hits} matches")


if __name__ == "__main__":
    main()
