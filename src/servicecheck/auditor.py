"""Audit one conversation or document unit with a compiled PolicySet: signals, engine, findings, score.

The one place a conversation is checked; ``api`` (one process) and ``parallel`` (its
workers) both run files through :func:`audit_file` and :func:`lint_file`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from servicecheck import i18n, langid
from servicecheck.compiler import CompiledRuleset, compile_policies
from servicecheck.engine import Session
from servicecheck.errors import EngineError
from servicecheck.facts import conversation_facts
from servicecheck.model import Conversation, Finding, InputProblem, Location, PolicyStatus, Result, Span
from servicecheck.policy.loader import Policy, PolicySet
from servicecheck.rule_types import REGISTRY
from servicecheck.suppress import is_suppressed

__all__ = ["MAX_TURNS", "Auditor", "audit_file", "coaching_deltas", "contexts_of", "lint_file", "score_of"]


class _SafeFormat(dict):  # type: ignore[type-arg]
    """``str.format_map`` context that leaves unknown placeholders visible instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class _Attr(dict):  # type: ignore[type-arg]
    """A dict whose keys read as attributes too, for ``{trigger.turn}`` in messages."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            return "{" + name + "}"

    def __format__(self, spec: str) -> str:
        return str(dict(self))


def contexts_of(conversation: Conversation) -> list[tuple[str, ...]]:
    """Each turn's place in the conversation, as the learned detectors read it."""
    from servicecheck.detect.linear import turn_contexts

    return turn_contexts([t.speaker for t in conversation.turns], [t.text for t in conversation.turns])


@dataclass
class Auditor:
    """Audits conversations with one compiled PolicySet (reuse it: compilation is done once)."""

    policyset: PolicySet
    language: str | None = None  # force "fr"/"en"; None or "auto" = the input's, else detected
    _rulesets: dict[str, CompiledRuleset] = field(init=False, repr=False)
    _sessions: dict[str, Session] = field(init=False, repr=False, default_factory=dict)
    _statuses: dict[tuple[Any, ...], PolicyStatus] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        from servicecheck.policy.cache import signal_matcher

        self._rulesets = compile_policies(self.policyset)
        # Compiling every lexicon pattern is most of a short run: the matcher is cached by content.
        self.matcher = signal_matcher(self.policyset.signals, self.policyset.spellings, self.policyset.negators)
        # Frozen once: hits() passes them on every turn, and the matcher keys its memo by them
        # (a frozenset keeps its hash; a new one per conversation would be hashed again per turn).
        self._used = frozenset(self.policyset.signals_used())
        # A document unit (lint) is matched only with the signals of the policies of its kind: the
        # others cannot change a finding (the engine prunes their facts), and their lexicons need not
        # be compiled. Transcripts keep every used signal.
        self._used_by_kind = {target: frozenset(s for p in rs.policies for s in REGISTRY[p.kind].signals(p.rule))
                              for target, rs in self._rulesets.items() if target != "transcript"}
        # What check() needs of each policy, looked up once: its outcome function.
        self._outcomes = {target: [(p, REGISTRY[p.kind].outcome) for p in rs.policies]
                          for target, rs in self._rulesets.items()}

    # ------------------------------------------------------------ helpers
    def warm(self) -> None:
        """Build now what the first conversations would build: the prefilters and the models of every language.

        ``--jobs`` calls it before forking its workers, so that they inherit them built.
        """
        self.matcher.warm()

    def language_of(self, conversation: Conversation) -> str | None:
        """The language the conversation is matched in."""
        if self.language and self.language != "auto":
            return self.language
        if conversation.language in ("fr", "en"):
            return conversation.language
        return langid.detect(" ".join(t.text for t in conversation.turns[:20]))

    def hits(self, conversation: Conversation, language: str | None, only: Iterable[str] | None = None,
             contexts: list[tuple[str, ...]] | None = None) -> list[dict[str, Any]]:
        """The signals of every turn: one ``{signal: Hit}`` per turn (``contexts``: :func:`contexts_of`, if known)."""
        wanted = frozenset(only) if only is not None else None
        match = self.matcher.match
        kind = conversation.kind
        return [
            match(t.text, t.speaker, language, kind, only=wanted, context=ctx)
            for t, ctx in zip(conversation.turns, contexts if contexts is not None else contexts_of(conversation))
        ]

    def _session(self, target: str) -> Session:
        if target not in self._sessions:
            self._sessions[target] = Session(self._rulesets[target])
        return self._sessions[target]

    # ------------------------------------------------------------ running
    def check(self, conversation: Conversation) -> Result:
        """Audit one conversation (or lint one document unit) and score it."""
        target = conversation.kind if conversation.kind in self._rulesets else "transcript"
        language = self.language_of(conversation)
        if language != conversation.language:
            conversation = replace(conversation, language=language)
        contexts = contexts_of(conversation)
        hits = self.hits(conversation, language, self._used_by_kind.get(target, self._used), contexts)
        events = self._session(target).run(conversation_facts(conversation, hits))
        by_policy: dict[str, list[Any]] = {}
        for event in events:
            if event.policy in by_policy:
                by_policy[event.policy].append(event)
            else:
                by_policy[event.policy] = [event]

        maker = _FindingMaker(self, hits, language, contexts)
        findings: list[Finding] = []
        statuses: list[PolicyStatus] = []
        suppressions = conversation.metadata.get("suppress", []) if conversation.kind != "transcript" else []
        for policy, outcome in self._outcomes[target]:
            out = outcome(policy, by_policy.get(policy.id, []), conversation, maker)
            kept = out.findings
            if suppressions:
                kept = [f for f in kept if not is_suppressed(f, policy, suppressions)]
            status = out.status
            if status == "fail" and not kept:
                status = "pass"  # every finding was suppressed
            findings.extend(kept)
            if out.detail:
                statuses.append(PolicyStatus(policy.id, status, policy.weight, policy.critical, out.detail))
            else:
                statuses.append(self._status(policy, status))
        if len(findings) > 1:
            findings.sort(key=_sort_key)
        score, auto_failed = score_of(statuses)
        return Result(conversation, _stamp_deltas(findings, statuses, score, maker.made), tuple(statuses), score,
                      auto_failed)

    def _status(self, policy: Policy, status: str) -> PolicyStatus:
        """The PolicyStatus of ``policy`` with ``status`` and no detail, made once and shared.

        A frozen value of four fields and an empty detail: every conversation that passes
        (or fails) a policy without detail gets the same one (eight a conversation saved).
        The key holds the types too: ``1 == 1.0``, but reports print ``1`` and ``1.0``.
        """
        key = (policy.id, status, policy.weight, type(policy.weight), policy.critical, type(policy.critical))
        found = self._statuses.get(key)
        if found is None:
            found = self._statuses[key] = PolicyStatus(policy.id, status, policy.weight, policy.critical, {})
        return found

    # Conversations whose turns SignalMatcher.prime prepares together, at most so many turns.
    BLOCK = 32
    BLOCK_TURNS = 256

    def check_each(self, items: Iterable[Conversation | InputProblem]) -> Iterator[Result | InputProblem]:
        """:meth:`check_or_problem` of each conversation in ``items``, in order; input problems pass through.

        The turns of a few conversations at a time (:data:`BLOCK`, at most
        :data:`BLOCK_TURNS` turns) are first normalised and prefiltered together
        (:meth:`SignalMatcher.prime`); each result is that of :meth:`check_or_problem` alone.
        """
        block: list[Conversation | InputProblem] = []
        turns = 0
        source = iter(items)
        while True:
            try:
                item = next(source)
            except StopIteration:
                break
            except BaseException:  # the reader failed (a file gone, ...): what it gave is still checked
                yield from self._check_block(block)
                raise
            block.append(item)
            turns += len(item.turns) if isinstance(item, Conversation) else 0
            if len(block) >= self.BLOCK or turns >= self.BLOCK_TURNS:
                yield from self._check_block(block)
                block, turns = [], 0
        if block:
            yield from self._check_block(block)

    def _check_block(self, block: list[Conversation | InputProblem]) -> Iterator[Result | InputProblem]:
        ready: list[Conversation | InputProblem] = []
        texts: list[tuple[str, str | None]] = []
        for item in block:
            if (isinstance(item, Conversation) and item.kind == "transcript" and len(item.turns) <= MAX_TURNS
                    and len(texts) < self.BLOCK_TURNS):  # a long call: its first turns only (memory)
                try:
                    language = self.language_of(item)
                except Exception:  # noqa: BLE001 - check meets it again, where the conversation is reported
                    ready.append(item)
                    continue
                if language != item.language:
                    item = replace(item, language=language)  # as check would: the language found once
                texts.extend((t.text, language) for t in item.turns[: self.BLOCK_TURNS - len(texts)])
            ready.append(item)
        self.matcher.prime(texts)
        try:
            for item in ready:
                yield item if isinstance(item, InputProblem) else self.check_or_problem(item)
        finally:
            self.matcher.unprime()

    def check_or_problem(self, conversation: Conversation) -> Result | InputProblem:
        """:meth:`check`, except that a conversation that cannot be audited becomes an InputProblem.

        One bad conversation never ends the run (SPEC section 9): it is reported with its
        place, exit code 3, and every other conversation is still audited.  Conversations
        longer than :data:`MAX_TURNS` are refused up front, because the rules engine's
        cost grows faster than their length.
        """
        if len(conversation.turns) <= MAX_TURNS:
            try:
                return self.check(conversation)
            except EngineError as exc:
                why = str(exc)
            except Exception as exc:  # noqa: BLE001 - a bug met on odd input: report it, keep the others
                why = f"internal error {type(exc).__name__}: {exc} (please report it)"
        src = conversation.source
        if conversation.kind == "transcript":
            what, unit = f"conversation {conversation.id!r}", "turns"
        else:
            what, unit = (f"template {conversation.name!r}" if conversation.name else "document"), "sentences"
        if len(conversation.turns) > MAX_TURNS:
            return InputProblem(src.path, f"{what}: {len(conversation.turns)} {unit}, more than the {MAX_TURNS} "
                                f"servicecheck audits as one unit (split it)", src.line)
        return InputProblem(src.path, " ".join(f"{what} could not be audited: {why}".split()), src.line)


# Far above any real call or chat (a long chat has a few hundred turns); past it the engine
# needs seconds to minutes per conversation, and its fact hashing starts to collide.
MAX_TURNS = 10_000


def score_of(statuses: Iterable[PolicyStatus], fixed: str | None = None) -> tuple[float | None, bool]:
    """100 x passed weight / applicable weight; a failed critical policy scores 0 (auto-fail).

    ``fixed``: the score as if that policy had passed (a coaching delta).
    """
    applicable = [s for s in statuses if s.status == "pass" or s.status == "fail"]
    for s in applicable:
        if s.critical and s.status == "fail" and s.id != fixed:
            return 0.0, True
    total = sum([s.weight for s in applicable])
    if not total:
        return None, False
    passed = sum([s.weight for s in applicable if s.status == "pass" or s.id == fixed])
    return round(100.0 * passed / total, 1), False


def _sort_key(finding: Finding) -> tuple[Any, ...]:
    return finding.sort_key


def _fixed_scores(findings: list[Finding], statuses: list[PolicyStatus], score: float | None) -> list[float | None]:
    """``score_if_fixed`` of each finding (see :func:`coaching_deltas`)."""
    per_policy: dict[str, int] = {}
    for f in findings:
        per_policy[f.policy] = per_policy.get(f.policy, 0) + 1
    fixed_score: dict[str, float | None] = {}
    out = []
    for f in findings:
        if f.policy not in fixed_score:
            if per_policy[f.policy] > 1:
                fixed_score[f.policy] = score
            else:
                fixed_score[f.policy] = score_of(statuses, fixed=f.policy)[0]
        out.append(fixed_score[f.policy])
    return out


def coaching_deltas(findings: list[Finding], statuses: list[PolicyStatus], score: float | None) -> tuple[Finding, ...]:
    """Stamp ``score_if_fixed`` on every finding: the score the conversation would get without it.

    The same scoring (:func:`score_of`) with that one finding gone: its policy passes
    unless it made other findings too, so the delta is 0 for one of several findings of
    a policy (fixing it alone changes nothing) and never negative.
    """
    return _stamp_deltas(findings, statuses, score, {})  # nothing made here: every finding is copied


def _stamp_deltas(findings: list[Finding], statuses: list[PolicyStatus], score: float | None,
                  made: dict[int, Finding]) -> tuple[Finding, ...]:
    """:func:`coaching_deltas`, stamping in place the findings ``check`` has just made (``made``: their ids).

    Those are new objects nobody else holds yet (``made`` keeps them alive, so an id is not
    reused): their ``score_if_fixed`` is set the way the frozen dataclass's own ``__init__``
    sets a field, instead of copying all sixteen fields (``dataclasses.replace``, ≈ 3.5 µs a
    finding). Any other finding is copied.
    """
    if score is None:
        return tuple(findings)
    out = []
    for f, fixed in zip(findings, _fixed_scores(findings, statuses, score), strict=True):
        if made.get(id(f)) is f and f.score_if_fixed is None:
            object.__setattr__(f, "score_if_fixed", fixed)
        else:
            f = replace(f, score_if_fixed=fixed)
        out.append(f)
    return tuple(out)


class _FindingMaker:
    """Builds findings: message, evidence and file location (the runner owns positions)."""

    def __init__(self, auditor: Auditor, hits: list[dict[str, Any]], language: str | None,
                 contexts: list[tuple[str, ...]] | None = None) -> None:
        self.auditor = auditor
        self.hits = hits
        self.language = language
        self.contexts = contexts  # contexts_of(conversation), when the caller has them
        self.made: dict[int, Finding] = {}  # the findings made, by id

    def __call__(
        self,
        policy: Policy,
        conversation: Conversation,
        turn: int | None,
        context: dict[str, Any] | None = None,
        *,
        signals: Iterable[str] = (),
        near_miss_signals: Iterable[str] = (),
        window: tuple[int, int] | None = None,
        related: tuple[int, ...] = (),
        detail: dict[str, Any] | None = None,
    ) -> Finding:
        ctx = _SafeFormat()
        if context:
            for k, v in context.items():
                ctx[k] = _Attr(v) if isinstance(v, dict) else v
        ctx.setdefault("policy", policy.id)
        evidence = None
        location = conversation.source
        speaker = None
        near_miss = None
        near_turn = None
        turns = conversation.turns
        if turn is not None and 1 <= turn <= len(turns):
            t = turns[turn - 1]
            speaker = t.speaker
            found = self.hits[turn - 1]
            hit = None
            for s in signals:
                if s in found:
                    hit = found[s]
                    break
            if hit is not None:
                evidence = Span(t.text[hit.start:hit.end], hit.start, hit.end)
            line, column = t.locate(hit.start if hit is not None else 0)
            if line is not None:
                location = Location(conversation.source.path, line, column)
            ctx.setdefault("speaker", t.speaker)
        ctx.setdefault("evidence", evidence.text if evidence else "")
        if "window_turns" in ctx:  # the turns searched, worded in the conversation's language
            first, last = ctx.pop("window_turns")
            ctx["window"] = i18n.t(self.language, "finding.window", first=first, last=last)
        if near_miss_signals and window:
            near_miss, near_turn = self._near_miss(conversation, list(near_miss_signals), window)
        transcript = conversation.kind == "transcript"
        finding = Finding(
            policy=policy.id,
            severity=policy.severity,
            message=policy.message_in(self.language).format_map(ctx),
            turn=turn if transcript else None,
            speaker=speaker if transcript else None,
            evidence=evidence,
            location=location,
            window=window,
            related=related,
            near_miss=near_miss,
            near_miss_turn=near_turn,
            detail=detail or {},
            template=conversation.name,
            suggestion=policy.suggestion_for(self.language),
        )
        self.made[id(finding)] = finding
        return finding

    def _near_miss(
        self, conversation: Conversation, signals: list[str], window: tuple[int, int]
    ) -> tuple[Span | None, int | None]:
        contexts = dict(zip((t.number for t in conversation.turns),
                            self.contexts if self.contexts is not None else contexts_of(conversation)))
        for t in conversation.turns[window[0] - 1 : window[1]]:
            for s in signals:
                misses = self.auditor.matcher.near_misses(t.text, t.speaker, self.language, conversation.kind, s,
                                                          contexts[t.number])
                if misses:
                    m = misses[0]
                    return Span(t.text[m.start:m.end], m.start, m.end), t.number
        return None, None


def audit_file(path: str, auditor: Auditor, *, input_format: str | None = None,
               speakers: Mapping[str, str] | None = None, agent_speaker: str | None = None,
               csv_columns: Mapping[str, str] | None = None) -> Iterator[Result | InputProblem]:
    """Every conversation of one transcript file, audited; unreadable parts come out as InputProblem."""
    from servicecheck.inputs import read_transcripts

    yield from auditor.check_each(read_transcripts(path, input_format=input_format, speakers=speakers,
                                                   agent_speaker=agent_speaker, csv_columns=csv_columns))


def lint_file(path: str, auditor: Auditor) -> Iterator[Result | InputProblem]:
    """Every unit of one document, linted; an unreadable document comes out as one InputProblem."""
    from servicecheck.inputs import read_document

    doc = read_document(path)
    if isinstance(doc, InputProblem):
        yield doc
        return
    for unit in doc.units:
        yield auditor.check_or_problem(replace(unit, language=unit.language or doc.language))
