"""Measure detection against labelled conversations: precision, recall and F1 per signal and per policy.

Labels follow ``LABELING.md``: one JSON line per conversation, ``{"id", "turns":
[[TAG, ...], ...]}``, one tag list per turn. Tags are signal names in capitals
(``agent-incivility`` is ``AGENT_INCIVILITY``). Signals are scored turn by turn;
policy outcomes are derived from the labels by the rules of the labelling guide
(:func:`expected_findings`) and compared with the findings the pack reports: turn
findings by (conversation, turn), conversation findings (``always-thank``,
``least-complaint-handling``) by conversation.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from servicecheck.errors import UsageError
from servicecheck.model import Conversation, InputProblem

AGENT_TAGS = ("THANK", "APOLOGY", "EMPATHY", "SOLVE", "DEFLECTION", "REFUSAL", "JUSTIFICATION", "BOUNDARY",
              "AGENT_INCIVILITY")
CUSTOMER_TAGS = ("INCIVILITY", "COMPLAINT")
TAG_SPEAKER = {**{t: "agent" for t in AGENT_TAGS}, **{t: "customer" for t in CUSTOMER_TAGS}}
CONVERSATION_LEVEL = frozenset({"always-thank", "least-complaint-handling"})
DERIVED_POLICIES = ("no-deflection", "incivility-never-ignored", "always-thank", "least-complaint-handling",
                    "refusal-explained", "agent-civility")


def tag_of(signal: str) -> str:
    """``agent-incivility`` -> ``AGENT_INCIVILITY``."""
    return signal.replace("-", "_").upper()


def short_policy(policy_id: str) -> str:
    """``service-standards.no-deflection`` -> ``no-deflection``."""
    return policy_id.rsplit(".", 1)[-1]


def read_labels(path: str) -> dict[str, tuple[int, list[list[str]]]]:
    """``{conversation id: (line, tag lists)}`` from a labels file.

    Raises:
        UsageError: ``path:line: reason`` for a line that is not a label record (nothing can be scored).
    """
    out: dict[str, tuple[int, list[list[str]]]] = {}
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
                turns = row.get("turns") if isinstance(row, dict) else None
                if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not isinstance(turns, list) \
                        or not all(isinstance(t, list) and all(isinstance(x, str) for x in t) for t in turns):
                    raise UsageError(f"{path}:{number}: expected {{\"id\": str, \"turns\": [[TAG, ...], ...]}}")
                unknown = sorted({x for t in turns for x in t} - set(TAG_SPEAKER))
                if unknown:
                    raise UsageError(f"{path}:{number}: unknown tag {unknown[0]!r} (known: {', '.join(TAG_SPEAKER)})")
                if row["id"] in out:
                    raise UsageError(f"{path}:{number}: conversation {row['id']!r} is labelled twice")
                out[row["id"]] = (number, [list(t) for t in turns])
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    return out


def expected_findings(cid: str, speakers: Sequence[str], tags: Sequence[Sequence[str]]) -> dict[str, set[Any]]:
    """The default pack's findings implied by one conversation's labels (LABELING.md, "Policy outcomes")."""
    exp: dict[str, set[Any]] = defaultdict(set)
    agent_turns = [i for i, s in enumerate(speakers) if s == "agent"]

    def next_agent(i: int, k: int) -> list[int]:
        return [j for j in agent_turns if j > i][:k]

    for i, ts in enumerate(tags):
        if "DEFLECTION" in ts:
            exp["no-deflection"].add((cid, i + 1))
        if "AGENT_INCIVILITY" in ts:
            exp["agent-civility"].add((cid, i + 1))
        if "INCIVILITY" in ts and not any(
            set(tags[j]) & {"EMPATHY", "APOLOGY", "BOUNDARY"} for j in next_agent(i, 2)
        ):
            exp["incivility-never-ignored"].add((cid, i + 1))
        if "REFUSAL" in ts and not any("JUSTIFICATION" in tags[j] for j in [i, *next_agent(i, 1)]):
            exp["refusal-explained"].add((cid, i + 1))
    if agent_turns and not any("THANK" in tags[j] for j in agent_turns):
        exp["always-thank"].add((cid, None))
    complaints = [i for i, ts in enumerate(tags) if "COMPLAINT" in ts]
    if complaints:
        got: set[str] = set()
        for j in agent_turns:
            if j > complaints[0]:
                got |= set(tags[j])
        if not (got & {"EMPATHY", "APOLOGY"}) or "SOLVE" not in got:
            exp["least-complaint-handling"].add((cid, None))
    return exp


@dataclass
class Counts:
    """True positives, false positives and false negatives of one row, with examples of the errors."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    def scores(self) -> dict[str, Any]:
        """``{"tp", "fp", "fn", "precision", "recall", "f1"}`` (an empty side scores 1.0, as in evaluate.py)."""
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


@dataclass
class Evaluation:
    """Signal and policy scores of one evaluation run."""

    signals: dict[str, Counts]
    policies: dict[str, Counts]
    conversations: int = 0
    turns: int = 0
    problems: list[InputProblem] = field(default_factory=list)

    def macro_f1(self) -> dict[str, float | None]:
        """Mean F1 over the tags present in the labels, and over the policies with an expected or reported finding."""
        sig = [c.scores()["f1"] for c in self.signals.values() if c.tp + c.fn > 0]
        pol = [c.scores()["f1"] for c in self.policies.values() if c.tp + c.fn + c.fp > 0]
        return {"signals": round(sum(sig) / len(sig), 4) if sig else None,
                "policies": round(sum(pol) / len(pol), 4) if pol else None}

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of SPEC section 10."""
        return {
            "signals": {t: c.scores() for t, c in self.signals.items()},
            "policies": {p: c.scores() for p, c in self.policies.items()},
            "macro_f1": self.macro_f1(),
            "conversations": self.conversations,
            "turns": self.turns,
        }


def score(
    items: Iterable[tuple[Conversation, Sequence[Iterable[str]], Iterable[tuple[str, int | None]]]],
    labels: Mapping[str, tuple[int, list[list[str]]]],
    signal_tags: Iterable[str],
    policies: Iterable[str],
    labels_path: str = "<labels>",
) -> Evaluation:
    """Compare detections with labels.

    Args:
        items: per conversation, the detected signal tags of every turn and the
            reported findings as ``(short policy id, turn or None)``.
        labels: from :func:`read_labels`.
        signal_tags: the tags the pack can detect (others in the labels are ignored).
        policies: the short ids of the enabled policies that the labels can derive.
        labels_path: named in problems.
    """
    tags = [t for t in TAG_SPEAKER if t in set(signal_tags)]
    wanted = [p for p in DERIVED_POLICIES if p in set(policies)]
    ev = Evaluation({t: Counts() for t in tags}, {p: Counts() for p in wanted})
    for conv, detected, findings in items:
        if conv.id not in labels:
            continue
        line, gold = labels[conv.id]
        if len(gold) != len(conv.turns):
            ev.problems.append(InputProblem(labels_path, f"conversation {conv.id!r} has {len(conv.turns)} turns "
                                            f"but {len(gold)} label lists; left out", line))
            continue
        ev.conversations += 1
        ev.turns += len(conv.turns)
        for i, (turn, got) in enumerate(zip(conv.turns, detected)):
            g, p = set(gold[i]), set(got)
            for t in tags:
                row = ev.signals[t]
                where = f"{conv.id} turn {i + 1}: {turn.text[:160]}"
                if t in g and t in p:
                    row.tp += 1
                elif t in p:
                    row.fp += 1
                    row.false_alarms.append(where)
                elif t in g:
                    row.fn += 1
                    row.misses.append(where)
        expected = expected_findings(conv.id, [t.speaker for t in conv.turns], gold)
        reported: dict[str, set[Any]] = defaultdict(set)
        for policy, number in findings:
            if policy in ev.policies:
                reported[policy].add((conv.id, None if policy in CONVERSATION_LEVEL else number))
        for policy, row in ev.policies.items():
            e, r = expected.get(policy, set()), reported.get(policy, set())
            row.tp += len(e & r)
            row.fp += len(r - e)
            row.fn += len(e - r)
            row.misses.extend(_where(x) for x in sorted(e - r, key=str))
            row.false_alarms.extend(_where(x) for x in sorted(r - e, key=str))
    return ev


def _where(key: tuple[str, int | None]) -> str:
    cid, turn = key
    return cid if turn is None else f"{cid} turn {turn}"


def render_text(ev: Evaluation, show: int = 0) -> str:
    """A plain table per section, then the macro averages; ``show`` errors listed per row."""
    lines = [f"{ev.conversations} conversations, {ev.turns} turns"]
    for title, rows in (("signal", ev.signals), ("policy", ev.policies)):
        lines.append(f"{title:<26} {'P':>6} {'R':>6} {'F1':>6} {'tp':>5} {'fp':>5} {'fn':>5}")
        for name, c in rows.items():
            s = c.scores()
            lines.append(f"  {name:<24} {s['precision']:6.2f} {s['recall']:6.2f} {s['f1']:6.2f} "
                         f"{c.tp:5d} {c.fp:5d} {c.fn:5d}")
            lines += [f"      miss  {x}" for x in c.misses[:show]]
            lines += [f"      false {x}" for x in c.false_alarms[:show]]
    macro = ev.macro_f1()

    def fmt(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    lines.append(f"macro-F1 signals {fmt(macro['signals'])}  policies {fmt(macro['policies'])}")
    return "\n".join(lines) + "\n"


def evaluate(
    paths: Iterable[str],
    labels_path: str,
    policyset: Any,
    *,
    language: str | None = None,
    input_format: str | None = None,
    speakers: Mapping[str, str] | None = None,
) -> Evaluation:
    """Audit and annotate the labelled conversations of ``paths`` and score them against ``labels_path``.

    Conversations without labels are skipped; labelled ids never met are reported
    as problems, as are conversations that cannot be read or audited.

    Raises:
        UsageError: the labels file cannot be read or holds an invalid line.
    """
    from servicecheck import api

    labels = read_labels(labels_path)
    auditor = api.Auditor(policyset, language)
    signal_tags = [tag_of(name) for name in policyset.signals]
    policies = [short_policy(p.id) for p in policyset.policies if "transcript" in p.applies_to]
    problems: list[InputProblem] = []
    seen: set[str] = set()

    def items() -> Iterable[tuple[Conversation, list[set[str]], list[tuple[str, int | None]]]]:
        for item in api.annotate(paths, policyset, input_format=input_format, auditor=auditor, speakers=speakers):
            if isinstance(item, InputProblem):
                problems.append(item)
                continue
            conv, hits = item
            if conv.id not in labels:
                continue
            seen.add(conv.id)
            result = auditor.check_or_problem(conv)
            if isinstance(result, InputProblem):
                problems.append(result)
                continue
            detected = [{tag_of(name) for name in h} for h in hits]
            findings = [(short_policy(f.policy), f.turn) for f in result.findings]
            yield conv, detected, findings

    ev = score(items(), labels, signal_tags, policies, labels_path)
    for cid in labels.keys() - seen:
        line = labels[cid][0]
        problems.append(InputProblem(labels_path, f"conversation {cid!r} is labelled but was not found", line))
    ev.problems = problems + ev.problems
    return ev
