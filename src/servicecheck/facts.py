"""Turn a conversation and its matched signals into the facts the engine reasons over."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from servicecheck.model import ROLES, Conversation
from servicecheck.rule_types.base import count_field, signal_field

# The field names, made once: facts are built for every turn of every conversation.
_COUNT_FIELDS = tuple(count_field(r) for r in ROLES)
_TURN_FIELDS = ("type", "t", "sp", "rt", "timed", *_COUNT_FIELDS, "ms", "me", "rms", "ov")
_UNTIMED = (0, 0, 0, 0)  # ms, me, rms, ov of an untimed turn
_ROLE_INDEX = {r: i for i, r in enumerate(ROLES)}
_SIGNAL_FIELDS: dict[str, str] = {}  # signal name -> its fact field (signal_field), filled as names are met


def _signal_field(name: str) -> str:
    found = _SIGNAL_FIELDS.get(name)
    if found is None:
        if len(_SIGNAL_FIELDS) > 4096:  # signal names come from the pack: a few dozen
            _SIGNAL_FIELDS.clear()
        found = _SIGNAL_FIELDS[name] = signal_field(name)
    return found


def conversation_facts(conversation: Conversation, signals: Sequence[Iterable[str]]) -> list[dict[str, Any]]:
    """Facts for every turn (``signals[i]`` names the signals of turn i+1), then the ``end`` fact.

    Only numbers, booleans and the speaker go to the engine, never the text: the
    engine pays for every byte it is sent (ENGINE.md, speed).
    """
    turns = conversation.turns
    timed = conversation.timed
    timed_flag = int(timed)
    n = len(turns)
    counts = [0] * len(ROLES)
    last_end: dict[str, int] = {}
    talk = dict.fromkeys(ROLES, 0)
    conv_end = max((t.end_ms or t.start_ms or 0) for t in turns) if timed and turns else 0
    facts: list[dict[str, Any]] = []
    for turn, names in zip(turns, signals):
        speaker = turn.speaker
        role = _ROLE_INDEX.get(speaker)
        if role is not None:
            counts[role] += 1
        if timed:
            start = int(turn.start_ms or 0)
            end = int(turn.end_ms if turn.end_ms is not None else start)
            others = [e for sp, e in last_end.items() if sp != speaker]
            when: tuple[int, ...] = (start, end, max(conv_end - start, 0), max(others, default=start) - start)
            last_end[speaker] = max(last_end.get(speaker, end), end)
            if speaker in talk:
                talk[speaker] += max(end - start, 0)
        else:
            when = _UNTIMED
        fact = dict(zip(_TURN_FIELDS, ("turn", turn.number, speaker, n - turn.number + 1, timed_flag, *counts, *when)))
        for name in names:
            fact[_signal_field(name)] = True
        facts.append(fact)
    closing: dict[str, Any] = {"type": "end", "t": n + 1, "n": n, "timed": timed_flag}
    closing.update(zip(_COUNT_FIELDS, counts))
    total = sum(talk.values())
    if timed:
        closing.update({"ratio_" + r: (talk[r] / total if total else 0.0) for r in ROLES})
    facts.append(closing)
    return facts
