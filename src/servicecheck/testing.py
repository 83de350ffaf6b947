"""Run a pack's own examples (policies: pass/fail; signals: match/no-match), for pack authors and CI."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from servicecheck import langid
from servicecheck.errors import InputError
from servicecheck.model import Conversation
from servicecheck.policy.loader import Policy, PolicySet


@dataclass(frozen=True)
class Case:
    """One example's verdict."""

    name: str
    ok: bool
    why: str = ""
    where: str = ""  # file:line:column of the example in its pack file


def _example(raw: Any) -> dict[str, Any]:
    return {"text": raw} if isinstance(raw, str) else dict(raw)


def example_conversation(policy: Policy, ex: dict[str, Any], where: str) -> Conversation:
    """The conversation (transcript) or document unit an example stands for."""
    from servicecheck import inputs

    kind = ex.get("kind") or ("transcript" if "transcript" in policy.applies_to else policy.applies_to[0])
    lang = ex.get("lang") or langid.detect(ex["text"])
    if kind == "transcript":
        if ex["text"].lstrip().startswith("{"):
            convs = inputs.parse_json_transcript(ex["text"], path=where)
        else:
            convs = inputs.parse_text_transcript(ex["text"], path=where)
        if len(convs) != 1:
            raise InputError(where, f"an example must hold exactly one conversation, not {len(convs)}")
        conv = convs[0]
    else:
        conv = inputs.document_from_text(ex["text"], path=where, kind=kind)
    from dataclasses import replace

    return replace(conv, language=lang, id=where)


def run_pack_examples(policyset: PolicySet, packs: Iterable[str] | None = None) -> Iterator[Case]:
    """Check every example of every policy and signal of ``packs`` (default: all loaded packs)."""
    from servicecheck.api import Auditor

    wanted = set(packs) if packs is not None else None
    auditor = Auditor(policyset)
    for pack in policyset.packs:
        if wanted is not None and pack.name not in wanted:
            continue
        for policy in pack.policies:
            for verdict in ("fail", "pass"):
                for i, raw in enumerate(policy.examples.get(verdict, [])):
                    ex = _example(raw)
                    name = f"{policy.id} examples.{verdict}[{i}]"
                    where = _where(policy.path, pack.sources.get(policy.id), ("examples", verdict, i))
                    try:
                        conv = example_conversation(policy, ex, f"{policy.path}#{verdict}[{i}]")
                    except InputError as exc:
                        yield Case(name, False, f"cannot read example: {exc}", where)
                        continue
                    result = auditor.check(conv)
                    mine = [f for f in result.findings if f.policy == policy.id]
                    yield replace(_judge(name, verdict, ex, mine, conv), where=where)
        for sig_name, sig in sorted(pack.signals.items()):
            for verdict, texts in (("match", sig.examples_match), ("no-match", sig.examples_no_match)):
                for i, raw in enumerate(texts):
                    ex = _example(raw)
                    speaker = "agent" if sig.speaker == "script" else sig.speaker
                    kind = "guideline" if sig.speaker == "script" else "transcript"
                    lang = ex.get("lang") or langid.detect(ex["text"])
                    got = sig_name in auditor.matcher.match(ex["text"], speaker, lang, kind, only={sig_name})
                    ok = got == (verdict == "match")
                    yield Case(f"signal {sig_name} examples.{verdict}[{i}]", ok,
                               "" if ok else f"{'no match' if verdict == 'match' else 'matched'}: {ex['text']!r}",
                               _signal_where(sig.path, pack.signal_examples.get(sig_name, {}).get((verdict, i))))


def _where(path: str, located: Any, key_path: tuple[Any, ...]) -> str:
    """``file:line:column`` of an example, or the file alone when its positions are not known."""
    if located is None:
        return path
    mark = located.mark(key_path)
    return f"{path}:{mark.line}:{mark.column}"


def _signal_where(path: str, mark: tuple[int, int] | None) -> str:
    return f"{path}:{mark[0]}:{mark[1]}" if mark else path


def _judge(name: str, verdict: str, ex: dict[str, Any], findings: list[Any], conv: Conversation) -> Case:
    if verdict == "pass":
        if findings:
            return Case(name, False, "expected no finding, got: " + "; ".join(f.message for f in findings))
        return Case(name, True)
    if not findings:
        return Case(name, False, "expected a finding, got none")
    if "turns" in ex:
        got = sorted({f.turn for f in findings if f.turn is not None})
        if got != sorted(ex["turns"]):
            return Case(name, False, f"expected findings at turns {sorted(ex['turns'])}, got {got}")
    if "lines" in ex:
        got = sorted({f.location.line for f in findings if f.location and f.location.line})
        if got != sorted(ex["lines"]):
            return Case(name, False, f"expected findings at lines {sorted(ex['lines'])}, got {got}")
    return Case(name, True)
