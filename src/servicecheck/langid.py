"""Tell French from English by function words: enough for support talk, with no model to load.

Measured against py3langid, lingua-language-detector and langdetect on the dev set,
the eval sets and the Harper Valley calls (docs/accuracy.md): on what servicecheck
classifies, a conversation's first 20 turns, all of them and this heuristic are right
on every conversation, so no library is loaded. On single short turns ("sent", "ok",
"Bonne journée.") this heuristic abstains rather than guesses (the caller then tries
every language), where the libraries guess wrong on 1-2 % of turns.
"""

from __future__ import annotations

import re

_FR = frozenset(
    "le la les un une des du de et est je vous nous il elle ce cette pas ne que qui pour sur avec dans mon ma mes "
    "votre vos notre nos merci bonjour oui non tres mais ou au aux y en suis sommes etes avez "
    "avons fait peux pouvez veux voulez plus bien alors parce car aussi desole svp stp "
    # chat French: greetings, SMS spellings, words short replies are made of
    "bonsoir bonne journee soiree parfait pourquoi personne rien toujours encore deja donc bon quoi comment "
    "commande compte carte colis facture remboursement jour jours mois semaine depuis prochain "
    "bjr slt jai cest dsl mrc pb tjrs jpeux jsuis chui dac stp ptn auj ajd mtn qd pk pq pcq tkt jsp "
    "jespere jarrive jattends lappli magnifique dommage".split()
)
_EN = frozenset(
    "the a an and is are i you we he she it this that not no to for on with in my your our of thanks thank "
    "hello hi yes please what can could will would be have has do does did am was were sorry just so but or "
    "if there they them at from me us get got need "
    # chat English: short replies and Twitter support talk
    "hey im dont cant wont thats its okay sent done fine great perfect noted whatever why wow still again "
    "really well right good morning afternoon evening speaking dmd dm pls thx ty ur u".split()
)
_WORD = re.compile(r"[a-zà-ÿ]+")
# A French elision is a prefix ("l'appli", "d'accord"); English clitics are suffixes ("DM'd", "it's").
_ELISION = re.compile(r"(?<![a-zà-ÿ])(?:c|j|l|d|qu|n|s|m|t)['\u2019](?=[a-zà-ÿ])")
_CLITIC = re.compile(r"(?<=[a-zà-ÿ])['\u2019][a-zà-ÿ]+")
_ACCENTS = str.maketrans("àâäéèêëîïôöùûüç", "aaaeeeeiioouuuc")


def detect(text: str, default: str | None = None) -> str | None:
    """``"fr"``, ``"en"``, or ``default`` when the text gives no evidence either way."""
    lowered = text.lower()
    fr = len(_ELISION.findall(lowered))
    # Drop what elisions and clitics leave behind so "DM'd" does not count as French "d".
    words = _WORD.findall(_CLITIC.sub(" ", _ELISION.sub(" ", lowered)).translate(_ACCENTS))
    fr += sum(w in _FR for w in words)
    en = sum(w in _EN for w in words)
    if fr == en:
        return default
    return "fr" if fr > en else "en"
