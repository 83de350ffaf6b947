"""The layering of STYLE.md, checked on the import statements of src/servicecheck."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "servicecheck"


def import_statements(path: Path, runtime_only: bool = False) -> Iterator[tuple[str, list[str]]]:
    """``(module, names)`` of every import of ``path``; ``runtime_only`` leaves out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []  # annotations only, never run
    pkg = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                yield ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else [])), [
                    a.name for a in node.names]
            elif node.module:
                yield node.module, [a.name for a in node.names]


def imports(path: Path) -> set[str]:
    return {module for module, _names in import_statements(path)}


MODULES = {p: imports(p) for p in SRC.rglob("*.py")}


def users_of(prefix: str) -> set[str]:
    return {str(p.relative_to(SRC)) for p, mods in MODULES.items() if any(m == prefix or m.startswith(prefix + ".")
                                                                          for m in mods)}


def test_only_the_engine_adapter_imports_durable() -> None:
    assert users_of("durable") | users_of("durable_rules_engine") == {"engine.py"}


def test_nothing_imports_the_cli() -> None:
    assert users_of("servicecheck.cli") <= {"__main__.py"}


def test_the_model_depends_on_nothing_of_ours() -> None:
    for name in ("model.py", "errors.py"):
        ours = {m for m in MODULES[SRC / name] if m.startswith("servicecheck")}
        assert not ours, (name, ours)


def test_the_compiler_is_pure() -> None:
    assert "servicecheck.engine" not in MODULES[SRC / "compiler.py"]
    for p in (SRC / "rule_types").glob("*.py"):
        assert not {m for m in MODULES[p] if m.startswith(("servicecheck.engine", "servicecheck.api", "durable"))}


def test_readers_and_formatters_do_not_reach_into_the_engine() -> None:
    for folder in ("inputs", "formatters", "text"):
        for p in (SRC / folder).glob("*.py"):
            bad = {m for m in MODULES[p] if m.startswith(("servicecheck.engine", "servicecheck.compiler",
                                                          "servicecheck.cli", "durable"))}
            assert not bad, (p.name, bad)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path) -> set[str]:
    """The modules ``path`` imports when it runs: a submodule, or the module a name comes from."""
    known = {_module_name(p) for p in MODULES}
    out: set[str] = set()
    for module, names in import_statements(path, runtime_only=True):
        out.update({f"{module}.{n}" if f"{module}.{n}" in known else module for n in names} or {module})
    return out


def _cycles() -> list[list[str]]:
    """Import cycles between our modules, counting the imports inside functions too (not type-only ones)."""
    names = {_module_name(p): p for p in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        for imported in _runtime_imports(path):
            # ``from servicecheck import api`` names the module servicecheck.api; so may ``from . import x``.
            while imported and imported not in names:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycles_even_inside_functions() -> None:
    # Layers only import downwards (STYLE.md): api -> parallel -> auditor, config -> policy.loader
    # -> policy.schema, inputs -> inputs.jsonread <- inputs.stream.
    assert _cycles() == []
