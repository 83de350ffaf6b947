"""Turn a conversation and its matched signals into the facts the engine reasons over."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from servicecheck.model import ROLES, Conversation
from servicecheck.rule_types.base import count_field, signal_field


def conversation_facts(conversation: Conversation, signals: list[Iterable[str]]) -> list[dict[str, Any]]:
    """Facts for every turn (``signals[i]`` names the signals of turn i+1), then the ``end`` fact.

    Only numbers, booleans and the speaker go to the engine, never the text: the
    engine pays for every byte it is sent (ENGINE.md, speed).
    """
    turns = conversation.turns
    timed = conversation.timed
    n = len(turns)
    counts = dict.fromkeys(ROLES, 0)
    last_end: dict[str, int] = {}
    talk = dict.fromkeys(ROLES, 0)
    conv_end = max((t.end_ms or t.start_ms or 0) for t in turns) if timed and turns else 0
    facts: list[dict[str, Any]] = []
    for turn, names in zip(turns, signals):
        if turn.speaker in counts:
            counts[turn.speaker] += 1
        fact: dict[str, Any] = {"type": "turn", "t": turn.number, "sp": turn.speaker, "rt": n - turn.number + 1,
                                "timed": int(timed)}
        fact.update({count_field(r): c for r, c in counts.items()})
        if timed:
            start = int(turn.start_ms or 0)
            end = int(turn.end_ms if turn.end_ms is not None else start)
            others = [e for sp, e in last_end.items() if sp != turn.speaker]
            fact.update(ms=start, me=end, rms=max(conv_end - start, 0), ov=max(others, default=start) - start)
            last_end[turn.speaker] = max(last_end.get(turn.speaker, end), end)
            if turn.speaker in talk:
                talk[turn.speaker] += max(end - start, 0)
        else:
            fact.update(ms=0, me=0, rms=0, ov=0)
        for name in names:
            fact[signal_field(name)] = True
        facts.append(fact)
    closing: dict[str, Any] = {"type": "end", "t": n + 1, "n": n, "timed": int(timed)}
    closing.update({count_field(r): c for r, c in counts.items()})
    total = sum(talk.values())
    if timed:
        closing.update({"ratio_" + r: (talk[r] / total if total else 0.0) for r in ROLES})
    facts.append(closing)
    return facts

