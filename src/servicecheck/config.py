"""Project configuration: find, validate and apply ``.servicecheck.yaml`` or ``[tool.servicecheck]``.

A project keeps its servicecheck settings in ``.servicecheck.yaml`` (or
``.servicecheck.yml``) or in the ``[tool.servicecheck]`` table of ``pyproject.toml``.
:func:`discover` looks for one from the working directory upward and stops at the
first directory that has one (in that directory, ``.servicecheck.yaml`` wins over
``.servicecheck.yml``, which wins over ``pyproject.toml``; a ``pyproject.toml``
without the table is not a configuration).  Every key is validated against
:data:`CONFIG_SCHEMA` (``additionalProperties: false``) and every problem is reported
as ``file:line:column: $.key.path: reason``, like pack files.

Keys (YAML spelling; TOML uses the same names)::

    policies: [packs/ours]          # pack folders, relative to the config file
    default-pack: false             # load the shipped service-standards pack (default true)
    enable: [no-slogans]            # policy ids or short ids, or "all"
    disable: [listen-no-interruption]
    policy:                         # per-policy overrides
      no-deflection: {severity: warning, weight: 2, critical: true, enabled: true}
    speakers: {Hotline: agent}      # speaker name -> role, over the built-in table
    language: fr                    # auto | fr | en
    format: sarif                   # default --format of audit and lint
    fail-on: warning                # default --fail-on
    min-score: 80                   # default --min-score
    input-format: csv               # default --input-format of audit and annotate
    csv-columns: {text: Message}    # CSV header names by logical column

Command-line flags always win over the configuration: the CLI hands
:meth:`Config.cli_defaults` to Click as the command's ``default_map``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from servicecheck.errors import UsageError
from servicecheck.model import ROLES, Severity
from servicecheck.policy.loader import Policy, PolicySet, validate
from servicecheck.yamlsource import Located, Mark, YamlError
from servicecheck.yamlsource import load as load_yaml

__all__ = ["CLI_NAMES", "CONFIG_NAMES", "Config", "ConfigError", "config_schema", "discover", "find_config", "load_config"]

CONFIG_NAMES = (".servicecheck.yaml", ".servicecheck.yml")
PYPROJECT = "pyproject.toml"
TOML_PREFIX = ("tool", "servicecheck")
# Configuration key -> the name of the CLI parameter it gives a default to.
CLI_NAMES = {
    "policies": "policy_dirs",
    "default-pack": "no_default_pack",
    "language": "lang",
    "format": "fmt",
    "fail-on": "fail_on",
    "min-score": "min_score",
    "input-format": "input_format",
}

_LANGUAGES = ["auto", "fr", "en"]
_FAIL_ON = ["error", "warning", "suggestion", "never"]
_SEVERITIES = ["error", "warning", "suggestion"]


class ConfigError(UsageError):
    """A project configuration that cannot be used; ``problems`` holds one line per error."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a configuration (built on demand: it lists the known formats)."""
    from servicecheck.formatters import FORMATTERS
    from servicecheck.inputs import FORMATS as INPUT_FORMATS
    from servicecheck.inputs.tabular import COLUMN_NAMES

    ident = {"type": "string", "minLength": 1}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "servicecheck project configuration",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "policies": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "default-pack": {"type": "boolean"},
            "enable": {"type": "array", "items": ident, "uniqueItems": True},
            "disable": {"type": "array", "items": ident, "uniqueItems": True},
            "policy": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {
                        "severity": {"enum": _SEVERITIES},
                        "weight": {"type": "number", "minimum": 0},
                        "critical": {"type": "boolean"},
                        "enabled": {"type": "boolean"},
                    },
                },
            },
            "speakers": {
                "type": "object",
                "propertyNames": {"minLength": 1},
                "additionalProperties": {"enum": list(ROLES)},
            },
            "language": {"enum": _LANGUAGES},
            "format": {"enum": sorted(FORMATTERS)},
            "fail-on": {"enum": _FAIL_ON},
            "min-score": {"type": "number", "minimum": 0, "maximum": 100},
            "input-format": {"enum": list(INPUT_FORMATS)},
            "csv-columns": {
                "type": "object",
                "propertyNames": {"enum": sorted(COLUMN_NAMES)},
                "additionalProperties": {"type": "string", "minLength": 1},
            },
        },
    }


# ---------------------------------------------------------------- TOML positions

_BARE = r"[A-Za-z0-9_-]+"
_BASIC = r'"(?:[^"\\]|\\.)*"'
_LITERAL = r"'[^']*'"
_PART = re.compile(f"{_BARE}|{_BASIC}|{_LITERAL}")
_DOTTED = rf"(?:{_BARE}|{_BASIC}|{_LITERAL})(?:\s*\.\s*(?:{_BARE}|{_BASIC}|{_LITERAL}))*"
_TABLE = re.compile(rf"^\s*\[\[?\s*(?P<name>{_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"^\s*(?P<key>{_DOTTED})\s*=")
_INLINE_KEY = re.compile(rf"\s*(?P<key>{_DOTTED})\s*=")
_ITEM = re.compile(rf"{_BASIC}|{_LITERAL}|(?P<end>\])|(?P<comment>#)")


def _parts(dotted: str) -> tuple[str, ...]:
    out = []
    for part in _PART.findall(dotted):
        if part.startswith('"'):
            try:
                part = json.loads(part)
            except ValueError:
                part = part[1:-1]
        elif part.startswith("'"):
            part = part[1:-1]
        out.append(part)
    return tuple(out)


class TomlLocated(Located):
    """Parsed TOML data with the line and column of every key, found by scanning the text.

    The scan understands table headers, dotted keys and inline tables, which is
    all a configuration uses; a path it did not record points at its longest
    recorded prefix (the key of the table or array holding it).
    """

    def __init__(self, data: Any, text: str) -> None:
        super().__init__(data, None)
        self.positions: dict[tuple[str, ...], Mark] = {}
        self._scan(text)

    def _record(self, path: tuple[str, ...], line: int, column: int) -> None:
        for i in range(1, len(path) + 1):
            self.positions.setdefault(path[:i], Mark(line, column))

    def _scan(self, text: str) -> None:
        table: tuple[str, ...] = ()
        in_string: str | None = None
        array: list[Any] | None = None  # [path, next index] of an array of strings still open
        for number, line in enumerate(text.split("\n"), start=1):
            if in_string is not None:
                if line.count(in_string) % 2 == 1:
                    in_string = None
                continue
            if array is not None:
                array = self._scan_items(line, 0, array, number)
                continue
            header = _TABLE.match(line)
            if header:
                table = _parts(header.group("name"))
                self._record(table, number, header.start("name") + 1)
                continue
            key = _KEY.match(line)
            if not key:
                continue
            path = table + _parts(key.group("key"))
            self._record(path, number, key.start("key") + 1)
            rest = line[key.end():]
            if rest.lstrip().startswith("["):
                start = key.end() + rest.index("[") + 1
                array = self._scan_items(line[start:], start, [path, 0], number)
                continue
            self._scan_inline(rest, key.end(), path, number)
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_string = quote

    def _scan_items(self, text: str, offset: int, array: list[Any], number: int) -> list[Any] | None:
        """Record the strings of an array; returns the array state if it goes on past this line."""
        for m in _ITEM.finditer(text):
            if m.group("end"):
                return None
            if m.group("comment"):
                break
            self._record(array[0] + (str(array[1]),), number, offset + m.start() + 1)
            array[1] += 1
        return array

    def _scan_inline(self, rest: str, offset: int, path: tuple[str, ...], number: int) -> None:
        """Record the keys of inline tables (``{ a = 1, b = { c = 2 } }``) on one line."""
        stack: list[tuple[str, ...]] = []
        current = path
        i = 0
        while i < len(rest):
            ch = rest[i]
            if ch in "\"'":
                end = rest.find(ch, i + 1)
                while ch == '"' and end > 0 and rest[end - 1] == "\\":
                    end = rest.find(ch, end + 1)
                i = len(rest) if end == -1 else end + 1
                continue
            if ch == "#":
                return
            if ch in "{,":
                if ch == "{":
                    stack.append(current)
                key = _INLINE_KEY.match(rest, i + 1) if stack else None
                if key:
                    current = stack[-1] + _parts(key.group("key"))
                    self._record(current, number, offset + key.start("key") + 1)
                    i = key.end()
                    continue
            elif ch == "}" and stack:
                stack.pop()
                current = stack[-1] if stack else path
            i += 1

    def mark(self, path: tuple[Any, ...] | list[Any], key: bool = False) -> Mark:
        """Position of the key at ``path``, or of its longest recorded prefix."""
        parts = tuple(str(p) for p in path)
        for n in range(len(parts), 0, -1):
            if parts[:n] in self.positions:
                return self.positions[parts[:n]]
        return Mark(1, 1)


# ---------------------------------------------------------------- loading


@dataclass(frozen=True)
class Config:
    """A validated project configuration and where its keys are in its file."""

    path: str
    data: dict[str, Any]
    located: Located = field(repr=False, compare=False)
    prefix: tuple[str, ...] = ()  # where the settings sit in the file (``tool.servicecheck``)

    def where(self, *key_path: Any) -> str:
        """``file:line:column: $.key.path`` of a key, for messages."""
        full = self.prefix + tuple(key_path)
        mark = self.located.mark(full, key=True)
        shown = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in full)
        return f"{self.path}:{mark.line}:{mark.column}: {shown}"

    @property
    def base(self) -> Path:
        """The folder the configuration's relative paths start from."""
        return Path(self.path).parent

    @property
    def policy_dirs(self) -> list[str]:
        """The configured pack folders, as paths usable from the working directory."""
        out = []
        for entry in self.data.get("policies", []):
            path = Path(entry) if Path(entry).is_absolute() else self.base / entry
            out.append(os.path.normpath(str(path)))
        return out

    @property
    def speakers(self) -> dict[str, str]:
        """Extra speaker-table entries (name -> role), merged over the built-in table by the readers."""
        return dict(self.data.get("speakers", {}))

    @property
    def csv_columns(self) -> dict[str, str]:
        """CSV header names by logical column."""
        return dict(self.data.get("csv-columns", {}))

    def cli_defaults(self) -> dict[str, Any]:
        """The configured values under the names of the CLI's parameters (Click's ``default_map``)."""
        out: dict[str, Any] = {}
        if "policies" in self.data:
            out["policy_dirs"] = self.policy_dirs
        for key, param in CLI_NAMES.items():
            if key == "policies":
                continue
            if key in self.data:
                value = self.data[key]
                out[param] = (not value) if key == "default-pack" else value
        return out

    # ------------------------------------------------------------ policies

    def apply(self, policyset: PolicySet) -> PolicySet:
        """A PolicySet with this configuration's overrides, enable and disable lists applied.

        Explicit ids win over ``all``; ``enable`` and ``disable`` naming the same
        policy is an error.

        Raises:
            ConfigError: a key names an unknown or ambiguous policy, with the config line.
        """
        problems: list[str] = []
        every = [p for pack in policyset.packs for p in pack.policies]
        known = ", ".join(sorted({p.short_id for p in every})) or "none"

        def resolve(ident: str, *key_path: Any) -> Policy | None:
            try:
                return policyset.get(ident)
            except KeyError as exc:
                reason = str(exc.args[0])
                if reason.startswith("no policy"):
                    reason += f" (known: {known})"
                problems.append(f"{self.where(*key_path)}: {reason}")
                return None

        changes: dict[str, dict[str, Any]] = {p.id: {} for p in every}
        for ident, fields in (self.data.get("policy") or {}).items():
            policy = resolve(ident, "policy", ident)
            if policy is None:
                continue
            change = changes[policy.id]
            if "severity" in fields:
                change["severity"] = Severity.parse(fields["severity"])
            if "weight" in fields:
                change["weight"] = float(fields["weight"])
            for flag in ("critical", "enabled"):
                if flag in fields:
                    change[flag] = bool(fields[flag])

        lists = {"enable": self.data.get("enable") or [], "disable": self.data.get("disable") or []}
        if "all" in lists["enable"] and "all" in lists["disable"]:
            problems.append(f"{self.where('enable', lists['enable'].index('all'))}: 'all' is both enabled and disabled")
        for name, state in (("disable", False), ("enable", True)):
            if "all" in lists[name]:
                for change in changes.values():
                    change["enabled"] = state
        chosen: dict[str, tuple[bool, int]] = {}
        for name, state in (("disable", False), ("enable", True)):
            for i, ident in enumerate(lists[name]):
                if ident == "all":
                    continue
                policy = resolve(ident, name, i)
                if policy is None:
                    continue
                if policy.id in chosen and chosen[policy.id][0] != state:
                    problems.append(f"{self.where(name, i)}: {policy.id!r} is both enabled and disabled")
                    continue
                chosen[policy.id] = (state, i)
                changes[policy.id]["enabled"] = state
        if problems:
            raise ConfigError(problems)

        packs = []
        for pack in policyset.packs:
            policies = [replace(p, **changes[p.id]) if changes[p.id] else p for p in pack.policies]
            packs.append(replace(pack, policies=policies))
        enabled = [p for pack in packs for p in pack.policies if p.enabled]
        return PolicySet(packs, enabled, policyset.signals, policyset.spellings, policyset.negators)


def _validate(data: Any, located: Located, file: str, prefix: tuple[str, ...]) -> list[str]:
    return validate(data, config_schema(), located, file, prefix)


def _toml_problem(file: str, exc: Exception) -> str:
    """``file:line:column: reason`` from tomllib's ``... (at line L, column C)``."""
    text = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", text)
    if m:
        reason = text[: m.start()].strip()
        return f"{file}:{m.group(1)}:{m.group(2)}: TOML syntax error: {reason}"
    return f"{file}: TOML syntax error: {text}"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None


def _pyproject_table(path: Path, text: str) -> tuple[Any, TomlLocated] | None:
    """The ``[tool.servicecheck]`` value of a pyproject.toml, or None when it has none."""
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_toml_problem(str(path), exc)]) from None
    tool = doc.get("tool")
    if not isinstance(tool, dict) or "servicecheck" not in tool:
        return None
    return tool["servicecheck"], TomlLocated(doc, text)


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate one configuration file (YAML, or a pyproject.toml's table).

    Raises:
        ConfigError: the file cannot be read, parsed or validated; every problem
            as ``file:line:column: $.key.path: reason``.
    """
    file = Path(path)
    text = _read(file)
    shown = str(path)
    if file.name == PYPROJECT or file.suffix == ".toml":
        found = _pyproject_table(file, text)
        if found is None:
            raise ConfigError([f"{shown}: no [tool.servicecheck] table"])
        data, located = found
        problems = _validate(data, located, shown, TOML_PREFIX)
        if problems:
            raise ConfigError(problems)
        return Config(shown, data, located, TOML_PREFIX)
    try:
        loaded = load_yaml(text)
    except YamlError as exc:
        where = f"{shown}:{exc.line}:{exc.column}" if exc.line else shown
        raise ConfigError([f"{where}: {exc.message}"]) from None
    data = {} if loaded.data is None else loaded.data  # an empty file configures nothing
    problems = _validate(data, loaded, shown, ())
    if problems:
        raise ConfigError(problems)
    return Config(shown, data, loaded, ())


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The configuration file nearest to ``start`` (default: the working directory), looking upward.

    Raises:
        ConfigError: a ``pyproject.toml`` that mentions servicecheck cannot be parsed.
    """
    here = Path(start) if start is not None else Path.cwd()
    here = here.resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            if (folder / name).is_file():
                return _shown(folder / name)
        pyproject = folder / PYPROJECT
        if pyproject.is_file():
            text = _read(pyproject)
            # Cheap test first: most pyproject files never mention us and are not parsed.
            if "servicecheck" in text and _pyproject_table(_shown(pyproject), text) is not None:
                return _shown(pyproject)
    return None


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is below it (shorter messages)."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def discover(start: str | os.PathLike[str] | None = None) -> Config | None:
    """Find and load the project configuration, or None when there is none.

    Raises:
        ConfigError: the configuration found is invalid.
    """
    path = find_config(start)
    return load_config(path) if path is not None else None


def known_keys() -> Iterable[str]:
    """The configuration keys, in documentation order."""
    return config_schema()["properties"].keys()
