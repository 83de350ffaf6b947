"""Map the speaker names found in transcripts to the four roles, and guess the agent of unlabelled calls.

Names are compared case-, accent- and spacing-insensitively.  A name that is not in
the table is retried without a parenthesised part (``Agent (Marie)``), without a
trailing number (``Agent 2``, ``Client #1``) and as its first word (``Conseiller
Paul``), so real-world labels need no table entry of their own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from ..model import ROLES

#: Lower-cased speaker name -> role, French and English.  Users extend or override it.
DEFAULT_SPEAKERS: dict[str, str] = {
    # agent
    "agent": "agent",
    "agente": "agent",
    "conseiller": "agent",
    "conseillère": "agent",
    "conseiller client": "agent",
    "conseillère client": "agent",
    "téléconseiller": "agent",
    "téléconseillère": "agent",
    "opérateur": "agent",
    "operateur": "agent",
    "opératrice": "agent",
    "advisor": "agent",
    "adviser": "agent",
    "rep": "agent",
    "representative": "agent",
    "csr": "agent",
    "support": "agent",
    "service client": "agent",
    "customer service": "agent",
    "supervisor": "agent",
    "superviseur": "agent",
    "superviseure": "agent",
    # customer
    "client": "customer",
    "cliente": "customer",
    "customer": "customer",
    "caller": "customer",
    "appelant": "customer",
    "appelante": "customer",
    "user": "customer",
    "end user": "customer",
    "usager": "customer",
    "usagère": "customer",
    "abonné": "customer",
    "abonnée": "customer",
    "visitor": "customer",
    "visiteur": "customer",
    # system
    "system": "system",
    "système": "system",
    "systeme": "system",
    # bot
    "bot": "bot",
    "chatbot": "bot",
    "assistant": "bot",
    "virtual agent": "bot",
    "virtual assistant": "bot",
    "assistant virtuel": "bot",
    "agent virtuel": "bot",
    "ivr": "bot",
    "svi": "bot",
}

_PARENS = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*")
_TRAILING_NUMBER = re.compile(r"[\s_#-]*\d+$")
_SPACES = re.compile(r"[\s_]+")
_RESOLVED_SIZE = 4096  # speaker names whose role is kept


def normalise_name(name: str) -> str:
    """Fold a speaker name for lookup: no accents, case folded, single spaces."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare.casefold()).strip(" .:-*>\"'")


def _variants(key: str) -> Iterable[str]:
    yield key
    no_parens = _PARENS.sub(" ", key).strip()
    if no_parens and no_parens != key:
        yield no_parens
    base = no_parens or key
    no_number = _TRAILING_NUMBER.sub("", base).strip()
    if no_number and no_number != base:
        yield no_number
    words = (no_number or base).split(" ")
    if len(words) > 1:
        yield words[0]


class SpeakerMap:
    """Resolves speaker names to roles: canonical roles, the user's table, then the defaults.

    Args:
        speakers: extra or overriding entries, name -> role.
        agent_speaker: the one speaker name or label (``spk_1``) that is the agent;
            when given, every other speaker that no table names is the customer.

    Raises:
        ValueError: a table entry maps to something that is not a role.
    """

    def __init__(self, speakers: Mapping[str, str] | None = None, agent_speaker: str | None = None) -> None:
        table: dict[str, str] = {}
        for source in (DEFAULT_SPEAKERS, speakers or {}):
            for name, role in source.items():
                folded_role = normalise_name(str(role))
                if folded_role not in ROLES:
                    raise ValueError(f"speaker {name!r} maps to {role!r}, which is not one of {', '.join(ROLES)}")
                table[normalise_name(str(name))] = folded_role
        self._table = table
        self._user = {normalise_name(str(n)) for n in (speakers or {})}
        self.agent_speaker = normalise_name(agent_speaker) if agent_speaker else None
        self._resolved: dict[str, str | None] = {}  # resolve()'s answers: a file names few speakers, many times

    def lookup(self, name: str) -> str | None:
        """The role a table gives ``name`` (or ``agent`` for the agent speaker), else None."""
        key = normalise_name(name)
        if not key:
            return None
        if self.agent_speaker and key == self.agent_speaker:
            return "agent"
        # The user's own entries win over the canonical pass-through (they may remap "agent").
        if key in self._user:
            return self._table[key]
        if key in ROLES:
            return key
        for variant in _variants(key):
            role = self._table.get(variant)
            if role:
                return role
        return None

    def resolve(self, name: str) -> str | None:
        """Like :meth:`lookup`, but with ``agent_speaker`` set, unknown speakers are customers."""
        resolved = self._resolved
        if name in resolved:
            return resolved[name]
        role = self.lookup(name)
        if role is None and self.agent_speaker and normalise_name(name):
            role = "customer"
        if len(resolved) >= _RESOLVED_SIZE:
            resolved.clear()
        resolved[name] = role
        return role

    def known(self, name: str) -> bool:
        """True when a table or ``agent_speaker`` names ``name`` (not the customer fallback)."""
        return self.lookup(name) is not None

    def in_table(self, name: str) -> bool:
        """True when the speaker table itself (not ``agent_speaker``) names ``name``."""
        key = normalise_name(name)
        if self.agent_speaker and key == self.agent_speaker:
            return key in self._user or key in ROLES or any(v in self._table for v in _variants(key))
        return self.lookup(name) is not None


# What agents say when they pick up, in French and English (text already accent-folded, lower case).
_GREETINGS = re.compile(
    r"thank(?:s| you) for (?:calling|contacting|choosing|holding)"
    r"|how (?:can|may|could|might) i (?:help|assist|be of)"
    r"|what can i do for you"
    r"|you(?:'re| are) (?:speaking|through) (?:to|with)"
    r"|(?:welcome to|this is) [\w' ]{1,40}(?:bank|service|support|customer|care|team|speaking)"
    r"|a votre ecoute"
    r"|(?:que|qu'est-ce que) (?:puis-je|je peux) (?:faire )?pour vous"
    r"|(?:comment|en quoi) (?:puis-je|je peux|pourrais-je) vous (?:aider|etre utile)"
    r"|bienvenue (?:chez|a|au|sur)"
    r"|vous etes (?:bien )?(?:en ligne )?(?:chez|au service|avec le service)"
    r"|merci (?:d'avoir appele|de votre appel|d'avoir contacte)"
)


def is_greeting(text: str) -> bool:
    """True for an agent-style pick-up line ("thank you for calling", « à votre écoute »)."""
    return bool(_GREETINGS.search(normalise_name(text.replace("’", "'"))))


def guess_agent(turns: Iterable[tuple[str, str]]) -> tuple[str | None, str]:
    """Pick the agent among unlabelled speakers: ``(label, how)`` from ``(label, text)`` pairs.

    The speaker of the first greeting-like turn is the agent (``how`` = ``"greeting"``);
    with no greeting, the first speaker (``"first-speaker"``).
    """
    first: str | None = None
    for label, text in turns:
        if first is None:
            first = label
        if is_greeting(text):
            return label, "greeting"
    return first, "first-speaker"
