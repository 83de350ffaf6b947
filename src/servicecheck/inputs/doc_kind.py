"""Guess whether a document is customer-facing (``template``) or addressed to staff (``guideline``)."""

from __future__ import annotations

import os
import re

from .docparts import PLACEHOLDER, linear

# --------------------------------------------------------------------------- kind heuristic

_GUIDELINE_WORDS = re.compile(
    r"\b(chartes?|charters?|consignes?|guidelines?|guides?|memos?|m[ée]mos?|playbooks?|training|formation|handbook|manuel|"
    r"r[eè]glement|proc[ée]dures?|note de service|bonnes pratiques|best practices|code of conduct|onboarding|"
    r"kpis?|objectifs|targets|policy|politique|rules|r[eè]gles|rappel de la direction|coaching)\b",
    re.IGNORECASE,
)
_TEMPLATE_WORDS = re.compile(
    r"\b(macros?|templates?|mod[eè]les?|scripts?|r[ée]ponses? types?|canned|replies|reply|r[ée]ponses?|e-?mails?|"
    r"courriers?|lettres? types?|messages? types?|greeting|accueil|closing|opening)\b",
    re.IGNORECASE,
)
_SALUTATION = re.compile(
    r"^(bonjour|bonsoir|hello|hi|hey|dear|cher|ch[eè]re|madame|monsieur|cordialement|bien cordialement|regards|kind regards|"
    r"best regards|best,|sincerely|merci de votre|thanks for your patience|thank you for your)\b",
    re.IGNORECASE,
)
_THIRD_PERSON = re.compile(
    r"\b(les clients|nos clients|chaque client|tout client|aux clients|un client|customers|every customer|each customer|a customer|our customers)\b",
    re.IGNORECASE,
)
_STAFF_IMPERATIVE = re.compile(
    r"^(r[ée]pondez|traitez|soyez|ne passez|ne dites|dites|[ée]coutez|reconnaissez|posez|prenez|gardez|restez|pr[ée]venez|signalez|"
    r"answer|treat|be|never|always|keep|pick up|remember|let the|acknowledge|set the|listen|avoid|make sure|do not|don't)\b",
    re.IGNORECASE,
)
_STAFF_ADDRESS = re.compile(
    r"^(team|[ée]quipe|hi team|hello team|bonjour [àa] tous|[àa] tous|to all|all advisors|tous les conseillers|"
    r"from the desk|rappel de la direction|bon courage)\b|\b(all advisors|tous les conseillers|all agents|tous les agents)\b",
    re.IGNORECASE,
)
_QUOTED = linear(r"[\"“«][^\"”»]{8,}[\"”»]")


def guess_kind(title: str, file_name: str, lines: list[str], quoted_examples: int = 0) -> str:
    """``guideline`` or ``template`` for a whole-file document, from its title, name and lines.

    ``quoted_examples`` lines of ``lines`` are quoted counter-examples ("Never say"): quotes
    there are not lines to say to a customer.
    """
    score = 0
    if _GUIDELINE_WORDS.search(title):
        score += 4
    if _TEMPLATE_WORDS.search(title):
        score -= 4
    stem = re.sub(r"[_\-.]+", " ", os.path.splitext(file_name)[0])
    if _GUIDELINE_WORDS.search(stem):
        score += 2
    if _TEMPLATE_WORDS.search(stem):
        score -= 2
    salutations = sum(1 for ln in lines if _SALUTATION.match(ln))
    placeholders = sum(1 for ln in lines if PLACEHOLDER.search(ln))
    quoted = max(0, sum(1 for ln in lines if _QUOTED.search(ln)) - quoted_examples)
    third = sum(len(_THIRD_PERSON.findall(ln)) for ln in lines)
    imperative = sum(1 for ln in lines if _STAFF_IMPERATIVE.match(ln))
    address = sum(1 for ln in lines if _STAFF_ADDRESS.search(ln))
    score -= min(salutations, 2) * 2 + min(placeholders, 2) + min(quoted, 3)
    score += min(third, 3) + min(imperative, 3) + min(address, 1) * 2
    return "guideline" if score > 0 else "template"
