"""Discover policy packs, validate every file strictly, and build the PolicySet."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servicecheck.errors import PolicyError, did_you_mean
from servicecheck.i18n import localised
from servicecheck.model import Severity
from servicecheck.policy import schema as schemas
from servicecheck.rule_types import REGISTRY
from servicecheck.yamlsource import Located, YamlError, load

STEM_PATTERN = "^[a-z][a-z0-9-]*$"


@dataclass(frozen=True)
class Policy:
    """One validated policy; ``id`` is ``<pack>.<file stem>``, never typed by hand."""

    id: str
    pack: str
    title: str
    severity: Severity
    rule: dict[str, Any]
    message: str
    path: str
    rationale: str = ""
    weight: float = 1.0
    critical: bool = False
    enabled: bool = True
    applies_to: tuple[str, ...] = ("transcript",)
    link: str | None = None
    examples: dict[str, list[Any]] = field(default_factory=dict)
    suggestion: dict[str, str] = field(default_factory=dict)  # language (or "*": any) -> better phrasing
    texts: dict[str, Any] = field(default_factory=dict)  # title and message as written: a string or {fr, en}
    signal_speakers: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def title_in(self, lang: str | None) -> str:
        """The title in ``lang`` (``fr``/``en``; English, then any, when the policy lacks it)."""
        return localised(self.texts.get("title", self.title), lang)

    def message_in(self, lang: str | None) -> str:
        """The message template in ``lang``."""
        return localised(self.texts.get("message", self.message), lang)

    @property
    def short_id(self) -> str:
        """The id without its pack (``no-deflection``)."""
        return self.id.split(".", 1)[-1]

    def suggestion_for(self, language: str | None) -> str | None:
        """The better phrasing to offer in ``language``: that language's, else the plain one, else None.

        A policy that gives only the other language's text offers nothing rather than
        a phrasing the reader did not write in.
        """
        if language in self.suggestion:
            return self.suggestion[language]
        if "*" in self.suggestion:
            return self.suggestion["*"]
        if language not in ("fr", "en") and len(self.suggestion) == 1:
            return next(iter(self.suggestion.values()))  # the language is unknown: the only text there is
        return None

    @property
    def kind(self) -> str:
        """The rule kind."""
        return str(self.rule["kind"])

    def speaker_for(self, clause: dict[str, Any]) -> str:
        """The speaker a clause names, else the speaker its first signal declares."""
        if clause.get("speaker"):
            return str(clause["speaker"])
        names = [clause["signal"]] if "signal" in clause else list(clause.get("any-signal", []))
        for name in names:
            speaker = self.signal_speakers.get(name)
            if speaker in ("agent", "customer"):
                return speaker
        return "agent"  # script signals are said by the document, i.e. on the agent's side


@dataclass
class Pack:
    """A folder of policies and signals."""

    name: str
    version: str
    path: str
    description: str = ""
    policies: list[Policy] = field(default_factory=list)
    signals: dict[str, Any] = field(default_factory=dict)  # name -> signals.SignalDef
    spellings: dict[str, dict[str, str]] = field(default_factory=dict)
    negators: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, Located] = field(default_factory=dict, repr=False)  # policy id -> parsed file
    # signal name -> {(verdict, index): (line, column)} of its examples (small: the pack is cached).
    signal_examples: dict[str, dict[tuple[str, int], tuple[int, int]]] = field(default_factory=dict, repr=False)
    # Every policy file's rule block, valid or not, so that its signal names are checked in the same run.
    rule_refs: list[tuple[str, Located, dict[str, Any]]] = field(default_factory=list, repr=False)
    broken_signals: set[str] = field(default_factory=set, repr=False)  # signal files that failed validation


@dataclass
class PolicySet:
    """The packs in force, their enabled policies in order, and every signal they can use."""

    packs: list[Pack]
    policies: list[Policy]
    signals: dict[str, Any]
    spellings: dict[str, dict[str, str]]
    negators: dict[str, list[str]]

    def get(self, ident: str) -> Policy:
        """A policy by full id (``pack.name``) or by its short id when that is unambiguous."""
        every = [p for pack in self.packs for p in pack.policies]
        for p in every:
            if p.id == ident:
                return p
        matches = [p for p in every if p.short_id == ident]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise KeyError(f"{ident!r} is ambiguous: " + ", ".join(p.id for p in matches))
        raise KeyError(f"no policy {ident!r}")

    def signals_used(self) -> set[str]:
        """The signals some enabled policy reads."""
        used: set[str] = set()
        for p in self.policies:
            used.update(REGISTRY[p.kind].signals(p.rule))
        return used

    def fingerprint(self) -> str:
        """A digest of everything that shapes the compiled rules (to name rulesets and caches)."""
        import hashlib
        import json

        doc = [(p.id, p.rule, sorted(p.signal_speakers.items())) for p in self.policies]
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def default_pack_root() -> Path:
    """The folder holding the default pack(s), shipped in the wheel."""
    # The package's folder as the import system finds it, without importing it or importlib.resources
    # (which imports tempfile, shutil and the compression modules: ~5 ms of every run).
    spec = importlib.util.find_spec("servicecheck.default_pack")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    from importlib.resources import files  # pragma: no cover - a package not in a folder

    return Path(str(files("servicecheck.default_pack")))  # pragma: no cover


def _check_given(pack: Pack, read: dict[str, tuple[Path, Located]], problems: list[str]) -> None:
    """A ``model-given`` block names a signal of the pack with the same speaker (else the signal is not loaded)."""
    for name, sig in list(pack.signals.items()):
        for other in sig.given_models:
            found = pack.signals.get(other)
            why = (f"no signal {other!r} in this pack" if found is None and other not in pack.broken_signals
                   else f"signal {other!r} is for {found.speaker} turns, {name!r} for {sig.speaker} turns"
                   if found is not None and found.speaker != sig.speaker else "")
            if why:
                file, located = read[name]
                mark = located.mark(("model-given", other))
                problems.append(f"{file}:{mark.line}:{mark.column}: $.model-given.{other}: {why}")
                del pack.signals[name]
                pack.broken_signals.add(name)


def find_packs(directory: Path) -> list[Path]:
    """A pack folder itself, or the pack folders directly inside ``directory``."""
    if (directory / "pack.yaml").is_file():
        return [directory]
    return sorted(p for p in directory.iterdir() if p.is_dir() and (p / "pack.yaml").is_file())


# ---------------------------------------------------------------- validation


def _key_path(path: Iterable[Any]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _describe(error: Any) -> tuple[list[Any], bool, str]:
    """Turn a jsonschema error into (path to point at, point at the key?, reason)."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            expected = ", ".join(sorted(allowed))
            hint = did_you_mean(extra[0], sorted(allowed))
            return path + [extra[0]], True, f"unknown key {extra[0]!r} ({hint}expected one of: {expected})"
    if error.validator == "enum" and isinstance(error.instance, str):
        hint = did_you_mean(error.instance, [v for v in error.validator_value if isinstance(v, str)])
        if hint:
            return path, False, f"{error.message} ({hint.strip()})"
    if error.validator == "oneOf" and all(
        set(s) == {"required"} for s in error.schema.get("oneOf", []) if isinstance(s, dict)
    ):
        names = [s["required"][0] for s in error.schema["oneOf"]]
        return path, False, "needs exactly one of " + " or ".join(repr(n) for n in names)
    if error.validator == "required":
        return path, False, error.message
    if error.context:
        from jsonschema.exceptions import best_match

        return _describe(best_match(error.context))
    return path, False, _short_message(error, path)


_SIZES = {"maxItems": "at most", "minItems": "at least", "maxLength": "at most", "minLength": "at least",
          "maxProperties": "at most", "minProperties": "at least"}


def _short_message(error: Any, path: list[Any]) -> str:
    """The reason, without printing a long value back ("24 stages; at most 20", not the 24 stages)."""
    value = error.instance
    if error.validator in _SIZES and isinstance(value, (list, str, dict)):
        key = path[-1] if path and isinstance(path[-1], str) else ""
        noun = ("characters" if isinstance(value, str) else "keys" if isinstance(value, dict)
                else key if key.endswith("s") else "items")
        return f"{len(value)} {noun}; {_SIZES[error.validator]} {error.validator_value}"
    message = str(error.message)
    shown = repr(value)
    if len(shown) > 60 and message.startswith(shown):
        if isinstance(value, str):
            brief = repr(value[:40])[:-1] + "…" + shown[0]
        elif isinstance(value, list):
            brief = f"a list of {len(value)} items"
        elif isinstance(value, dict):
            brief = f"an object of {len(value)} keys"
        else:
            brief = shown[:40] + "…"
        message = brief + message[len(shown):]
    return message


def validate(data: Any, schema: dict[str, Any], located: Located, file: str, prefix: tuple[Any, ...] = ()) -> list[str]:
    """Every schema error as ``file:line:col: $.key.path: reason``, in file order."""
    from jsonschema import Draft202012Validator

    problems: list[tuple[int, int, str]] = []
    for error in Draft202012Validator(schema).iter_errors(data):
        path, at_key, reason = _describe(error)
        full = list(prefix) + path
        mark = located.mark(full, key=at_key)
        problems.append((mark.line, mark.column, f"{file}:{mark.line}:{mark.column}: {_key_path(full)}: {reason}"))
    return [p[2] for p in sorted(problems)]


def _read_yaml(path: Path, problems: list[str]) -> Located | None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read: {exc}")
        return None
    try:
        return load(text)
    except YamlError as exc:
        where = f"{path}:{exc.line}:{exc.column}" if exc.line else str(path)
        problems.append(f"{where}: {exc.message}")
        return None


def _signal_refs(rule: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every signal name a rule block mentions, with its key path."""
    if isinstance(rule, dict):
        for k, v in rule.items():
            if k == "signal" and isinstance(v, str):
                yield at + (k,), v
            elif k == "any-signal" and isinstance(v, list):
                for i, name in enumerate(v):
                    if isinstance(name, str):
                        yield at + (k, i), name
            else:
                yield from _signal_refs(v, at + (k,))
    elif isinstance(rule, list):
        for i, v in enumerate(rule):
            yield from _signal_refs(v, at + (i,))


def load_pack(directory: Path, problems: list[str]) -> Pack | _Invalid:
    """Read and validate one pack folder; append every problem found to ``problems``.

    Returns the Pack, or, when it has problems, the part of it that could be read wrapped
    in ``_Invalid`` (its policy files' signal names are checked in the same run).
    """
    from servicecheck import signals as sigmod
    from servicecheck.detect import linear
    from servicecheck.text.patterns import PatternError, compile_pattern

    # Every file is read and checked even when an earlier one failed, so that one run reports
    # every problem of the pack; the pack is used only when it has none.
    start = len(problems)
    meta_file = directory / "pack.yaml"
    meta = _read_yaml(meta_file, problems)
    meta_errors = validate(meta.data, schemas.PACK_SCHEMA, meta, str(meta_file)) if meta is not None else []
    problems.extend(meta_errors)
    if meta is not None and not meta_errors:
        pack = Pack(str(meta.data["name"]), str(meta.data["version"]), str(directory), meta.data.get("description", ""))
    else:
        pack = Pack(directory.name, "?", str(directory))  # named by its folder, to report the rest of it

    lexicon_file = directory / "lexicon.yaml"
    if lexicon_file.is_file():
        lex = _read_yaml(lexicon_file, problems)
        if lex is not None:
            errs = validate(lex.data, sigmod.LEXICON_SCHEMA, lex, str(lexicon_file))
            problems.extend(errs)
            if not errs:
                spellings, negators = sigmod.load_lexicon(lex.data or {})
                pack.spellings = {k: dict(v) for k, v in spellings.items()}
                pack.negators = {k: list(v) for k, v in negators.items()}

    signal_dir = directory / "signals"
    read: dict[str, tuple[Path, Located]] = {}  # every signal file read, for {include: ...}
    for file in sorted(signal_dir.glob("*.yaml")) if signal_dir.is_dir() else []:
        located = _read_yaml(file, problems)
        if located is None:
            continue
        errs = validate(located.data, sigmod.SIGNAL_SCHEMA, located, str(file))
        if not _stem_ok(file, problems):
            continue
        if isinstance(located.data, dict):
            read[file.stem] = (file, located)
        pack.broken_signals.add(file.stem)  # until it is known to be valid
        problems.extend(errs)
        bad = bool(errs)
        sig_data = located.data if isinstance(located.data, dict) else {}
        # Patterns are compiled even beside schema errors (where they are strings in lists), so
        # that one run reports both.
        for section in ("patterns", "exceptions"):
            block = sig_data.get(section)
            for lang, sources in (block.items() if isinstance(block, dict) else ()):
                for i, source in enumerate(sources if isinstance(sources, list) else ()):
                    if not isinstance(source, str):
                        continue
                    try:
                        compile_pattern(source, pack.spellings.get(lang))
                    except PatternError as exc:
                        mark = located.mark((section, lang, i))
                        problems.append(f"{file}:{mark.line}:{mark.column}: $.{section}.{lang}[{i}]: {exc}")
                        bad = True
        blocks: list[tuple[tuple[str, ...], dict[str, Any]]] = [(("model",), sigmod.model_specs(located.data, str(directory)))]
        blocks += [(("model-given", other), sigmod.model_specs(located.data, str(directory), other))
                   for other in sigmod.given_signals(located.data)]
        for keys, specs in blocks:
            for lang, spec in specs.items():
                try:
                    linear.load(Path(spec.file))
                except linear.ModelError as exc:
                    mark = located.mark((*keys, lang, "file"))
                    problems.append(f"{file}:{mark.line}:{mark.column}: $.{'.'.join(keys)}.{lang}.file: {spec.file}: "
                                    f"{exc}")
                    bad = True
        if not bad:
            pack.signals[file.stem] = sigmod.load_signal_mapping(file.stem, located.data, str(file))
            found = sig_data.get("examples")
            examples: dict[str, Any] = found if isinstance(found, dict) else {}
            pack.signal_examples[file.stem] = {
                (verdict, i): (mark.line, mark.column)
                for verdict in ("match", "no-match")
                for i in range(len(examples.get(verdict) or []))
                for mark in [located.mark(("examples", verdict, i))]
            }
            pack.broken_signals.discard(file.stem)
    _resolve_includes(pack, read, problems)
    _check_given(pack, read, problems)

    for file in sorted(directory.glob("*.yaml")):
        if file.name in ("pack.yaml", "lexicon.yaml"):
            continue
        located = _read_yaml(file, problems)
        if located is None or not _stem_ok(file, problems):
            continue
        data = located.data
        errs = validate(data, schemas.POLICY_BASE, located, str(file))
        rule = data.get("rule") if isinstance(data, dict) else None
        if isinstance(rule, dict):
            if isinstance(rule.get("kind"), str) and rule["kind"] in REGISTRY:  # the kind's own parameters too
                errs += validate(rule, schemas.rule_schema(rule["kind"]), located, str(file), ("rule",))
            pack.rule_refs.append((str(file), located, rule))
        if errs:
            problems.extend(errs)
            continue
        pack.policies.append(
            Policy(
                id=f"{pack.name}.{file.stem}",
                pack=pack.name,
                title=localised(data["title"], None),
                severity=Severity.parse(data["severity"]),
                rule=data["rule"],
                message=localised(data["message"], None),
                path=str(file),
                rationale=data.get("rationale", ""),
                weight=float(data.get("weight", 1)),
                critical=bool(data.get("critical", False)),
                enabled=bool(data.get("enabled", True)),
                applies_to=tuple(data.get("applies-to", ["transcript"])),
                link=data.get("link"),
                examples=data.get("examples") or {},
                suggestion=_suggestion(data.get("suggestion")),
                texts={k: data[k] for k in ("title", "message") if not isinstance(data[k], str)},
            )
        )
        pack.sources[pack.policies[-1].id] = located
    return pack if len(problems) == start else _Invalid(pack)


def _resolve_includes(pack: Pack, read: dict[str, tuple[Path, Located]], problems: list[str]) -> None:
    """Replace each ``{include: <signal>}`` entry of the pack's signals by that signal's list.

    Resolved once every signal file of the pack is read (a signal may include one that sorts
    after it); an entry that cannot be resolved is reported at its place and its signal dropped.
    """
    from servicecheck.detect import definitions as sigmod

    data = {stem: located.data for stem, (_file, located) in read.items()}
    for stem, (file, located) in read.items():
        if stem not in pack.signals:
            continue
        try:
            pack.signals[stem] = sigmod.resolve_includes(pack.signals[stem], data)
        except sigmod.IncludeError as exc:
            mark = located.mark((exc.section, exc.lang, exc.index, "include"))
            problems.append(f"{file}:{mark.line}:{mark.column}: $.{exc.section}.{exc.lang}[{exc.index}].include: {exc}")
            del pack.signals[stem]
            pack.broken_signals.add(stem)


def _suggestion(value: Any) -> dict[str, str]:
    """``suggestion:`` as ``{language: text}``; a plain string serves every language (``"*"``)."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {"*": value.strip()}
    return {lang: str(text).strip() for lang, text in value.items()}


class _Invalid:
    """A pack with problems: not used, but its policy files' signal names are still checked."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack


def _stem_ok(file: Path, problems: list[str]) -> bool:
    import re

    if re.match(STEM_PATTERN, file.stem):
        return True
    problems.append(f"{file}: file name must be lower-case words joined by '-' (it becomes the id)")
    return False


def load_policies(
    directories: Iterable[str | os.PathLike[str]] = (),
    *,
    include_default: bool = True,
) -> PolicySet:
    """Load the default pack (unless excluded) and every pack in ``directories``.

    A pack whose ``name`` equals one already loaded replaces it (so a team can
    ship its own ``service-standards``); other packs are added.

    Raises:
        PolicyError: with every problem of every file, one line each.
    """
    problems: list[str] = []
    roots: list[Path] = [default_pack_root()] if include_default else []
    for d in directories:
        path = Path(d)
        if not path.is_dir():
            problems.append(f"{path}: not a policy pack folder")
            continue
        roots.append(path)
    packs: dict[str, Pack] = {}
    invalid: list[Pack] = []
    for root in roots:
        found = find_packs(root)
        if not found:
            problems.append(f"{root}: no pack.yaml here or in its sub-folders")
        for directory in found:
            pack = load_pack(directory, problems)
            if isinstance(pack, _Invalid):
                invalid.append(pack.pack)
            elif pack is not None:
                packs.pop(pack.name, None)
                packs[pack.name] = pack
    # Signal names are checked even when some file failed, so one run reports every problem.
    problems.extend(_unknown_signals([*packs.values(), *invalid]))
    if problems:
        raise PolicyError(problems)
    for pack in packs.values():  # only needed for the checks above; the PolicySet is cached on disk
        pack.rule_refs = []
        pack.broken_signals = set()
    return _assemble(list(packs.values()))


def _unknown_signals(packs: list[Pack]) -> list[str]:
    """Every signal name a policy file uses that no pack defines, with "did you mean" the closest known one.

    A name whose own signal file is broken is not reported again: that file's error says why.
    """
    known: set[str] = set()
    broken: set[str] = set()
    for pack in packs:
        known.update(pack.signals)
        broken.update(pack.broken_signals)
    problems = []
    for pack in packs:
        for file, located, rule in pack.rule_refs:
            for path, name in _signal_refs(rule):
                if name in known or name in broken:
                    continue
                mark = located.mark(("rule",) + path)
                listed = ", ".join(sorted(known)) or "none"
                problems.append(f"{file}:{mark.line}:{mark.column}: {_key_path(('rule',) + path)}: "
                                f"unknown signal {name!r} ({did_you_mean(name, sorted(known))}known: {listed})")
    return problems


def _assemble(packs: list[Pack]) -> PolicySet:
    """Resolve every signal reference (own pack first, then the others) and merge the lexicons."""
    problems: list[str] = []
    signals: dict[str, Any] = {}
    spellings: dict[str, dict[str, str]] = {}
    negators: dict[str, list[str]] = {}
    for pack in packs:
        for name, sig in pack.signals.items():
            signals.setdefault(name, sig)
        for lang, table in pack.spellings.items():
            spellings.setdefault(lang, {}).update(table)
        for lang, words in pack.negators.items():
            negators.setdefault(lang, [])
            negators[lang] += [w for w in words if w not in negators[lang]]
    policies: list[Policy] = []
    for pack in packs:
        for policy in pack.policies:
            speakers: dict[str, str] = {}
            for _path, name in _signal_refs(policy.rule):
                sig = pack.signals.get(name) or signals.get(name)
                if sig is None:
                    problems.append(f"{policy.path}: unknown signal {name!r}")  # _unknown_signals said where
                    continue
                speakers[name] = sig.speaker
            policy.signal_speakers.update(speakers)
            if policy.enabled:
                policies.append(policy)
    if problems:
        raise PolicyError(problems)
    return PolicySet(packs, policies, signals, spellings, negators)
