"""Tell French from English by function words: enough for support talk, with no model to load."""

from __future__ import annotations

import re

_FR = frozenset(
    "le la les un une des du de et est je vous nous il elle ce cette pas ne que qui pour sur avec dans mon ma mes "
    "votre vos notre nos merci bonjour oui non tres mais ou au aux c j l d qu n s y en suis sommes etes avez "
    "avons fait peux pouvez veux voulez plus bien alors parce car aussi desole svp stp".split()
)
_EN = frozenset(
    "the a an and is are i you we he she it this that not no to for on with in my your our of thanks thank "
    "hello hi yes please what can could will would be have has do does did am was were sorry just so but or "
    "if there they them at from me us get got need".split()
)
_WORD = re.compile(r"[a-zà-ÿ]+")
_ACCENTS = str.maketrans("àâäéèêëîïôöùûüç", "aaaeeeeiioouuuc")


def detect(text: str, default: str | None = None) -> str | None:
    """``"fr"``, ``"en"``, or ``default`` when the text gives no evidence either way."""
    words = _WORD.findall(text.lower().translate(_ACCENTS))
    fr = sum(w in _FR for w in words)
    en = sum(w in _EN for w in words)
    if fr == en:
        return default
    return "fr" if fr > en else "en"
