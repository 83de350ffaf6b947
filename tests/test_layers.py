"""The layering of STYLE.md, checked on the import statements of src/servicecheck."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "servicecheck"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    pkg = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - node.level + 1]
                out.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                out.add(node.module)
    return out


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
