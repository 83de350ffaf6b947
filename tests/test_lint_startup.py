"""What ``lint`` of one small file loads: nothing heavy that one template does not need (checked, not timed).

The timings are in benchmarks/lint_startup.py; here, in a fresh interpreter, the modules a
lint run leaves in ``sys.modules``. The rules engine (durable-rules) is loaded: it decides
the policies.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from servicecheck.cli import main
from servicecheck.yamlsource import load as load_yaml

TEMPLATE = "Bonjour {{customer_name}}, merci pour votre message. Nous revenons vers vous sous 24 h.\n"
NEVER = ("numpy", "hyperscan", "jinja2", "pygls", "servicecheck.lsp", "servicecheck.cli_learn",
         "servicecheck.train", "servicecheck.parallel", "servicecheck.formatters.html")
# A warm run (the pack cache filled) reads no pack file: no YAML, no schema validation.
WARM_NEVER = (*NEVER, "yaml", "jsonschema", "servicecheck.inputs.jsonread", "servicecheck.inputs.subtitles", "tempfile")
PROBE = """
import json, sys
sys.argv = ["servicecheck", "lint", sys.argv[1]]
from servicecheck.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def lint_modules(path: Path, cache: Path) -> tuple[int, set[str]]:
    env = {k: v for k, v in os.environ.items() if k != "SERVICECHECK_NO_CACHE"}
    env["SERVICECHECK_CACHE_DIR"] = str(cache)
    proc = subprocess.run([sys.executable, "-c", PROBE, str(path)], env=env, cwd=path.parent, capture_output=True,
                          text=True, check=False, timeout=300)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_lint_of_a_small_template_loads_nothing_heavy(tmp_path: Path) -> None:
    template = tmp_path / "template.md"
    template.write_text(TEMPLATE, encoding="utf-8")
    cold_code, cold = lint_modules(template, tmp_path / "cache")  # builds the pack cache
    warm_code, warm = lint_modules(template, tmp_path / "cache")
    assert cold_code == warm_code == 0  # it thanks the customer and promises a delay: no finding
    assert not [m for m in NEVER if m in cold]
    assert not [m for m in WARM_NEVER if m in warm]
    assert "durable" in warm  # the policies are decided by the rules engine


def test_lazy_subcommands_are_listed_and_run() -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["--help"]).output
    for name in ("evaluate", "lsp", "train", "lint", "audit"):
        assert f"\n  {name} " in listing
    assert "--stdio" in runner.invoke(main, ["lsp", "--help"]).output
    assert "--labels" in runner.invoke(main, ["evaluate", "--help"]).output


@pytest.mark.parametrize("text", ["a: 1\nb:\n  - x\n  - {c: 2}\n", "# nothing\n"])
def test_a_pickled_yaml_source_keeps_its_positions(text: str) -> None:
    located = load_yaml(text)
    again = pickle.loads(pickle.dumps(located))
    assert b"yaml.nodes" not in pickle.dumps(located)  # the text, not PyYAML's nodes
    for path in ((), ("a",), ("b", 1, "c"), ("b", 0), ("missing", 3)):
        for key in (False, True):
            assert again.mark(path, key=key) == located.mark(path, key=key)
    assert again.data == located.data
