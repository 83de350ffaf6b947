"""The HTML report of a big run: bounded size, clean conversations summarised, and it renders and filters in Chromium.

A proportional version of ``benchmarks/html_size.py`` (20,000 conversations, documented
bound in docs/output.md): 1,200 generated conversations through the CLI.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from servicecheck.cli import main
from servicecheck.formatters.html import FULL_LIMIT, WORST_SHOWN

ROOT = Path(__file__).resolve().parents[1]
COUNT = 1_200


def _module(path: Path, name: str):  # noqa: ANN202 - a module loaded by path
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = _module(ROOT / "benchmarks" / "html_size.py", "_html_size")
BROWSER = _module(ROOT / "tests" / "test_html_chromium.py", "_chromium_helpers")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("scale")
    corpus = BENCH.make_corpus(COUNT, work / "calls.jsonl")
    out = work / "report.html"
    result = CliRunner().invoke(main, ["audit", str(corpus), "-f", "html", "--group-by", "agent", "-o", str(out)])
    assert result.exit_code == 1, result.output
    return out, out.read_text(encoding="utf-8")


def test_a_big_run_is_bounded_and_summarises_clean_conversations(page: tuple[Path, str]) -> None:
    path, html = page
    # Proportional to the documented bound for 20,000 conversations, plus the fixed part
    # (the WORST_SHOWN conversations shown in full, each finding with its suggested phrasing,
    # the charts and the rollup). benchmarks/html_size.py measures the 20,000 run itself.
    assert path.stat().st_size < BENCH.HTML_BOUND_BYTES * COUNT / 20_000 + 1_750_000
    assert COUNT > FULL_LIMIT
    flagged = COUNT // 3  # two call templates in six make findings (a deflection), the others are clean
    clean = COUNT - flagged
    assert f"{clean} conversations without findings" in html
    assert html.count('<article class="unit') == WORST_SHOWN
    assert html.count("<tr class=\"row-") == flagged  # every flagged conversation has its index row
    # Only the turns the findings point at: at most 4 turns a call, fewer shown.
    assert html.count('<li class="turn ') < 4 * WORST_SHOWN
    assert "By agent" in html and html.count('<rect class="mean"') == 37


@pytest.mark.skipif(BROWSER.BROWSER is None, reason="no Chromium binary found")
def test_the_big_report_renders_and_a_filter_works_in_chromium(page: tuple[Path, str], tmp_path: Path) -> None:
    path, html = page
    code = re.search(r'<option value="(p\d+)" title="service-standards.no-deflection">', html)
    assert code is not None
    url = f"{path.as_uri()}#f:policy={code.group(1)}&status=fail&group=agent-01"
    proc = BROWSER.run_chromium(["--dump-dom", url], tmp_path / "profile")
    dom = proc.stdout
    assert "</main>" in dom, proc.stderr[-2000:]
    rows = re.findall(r'<tr class="row-[a-z]+"([^>]*)>', dom)
    shown = [r for r in rows if "hidden" not in r]
    # agent-01 has calls 1, 38, 75...; deflection fails in templates 1 and 3 of 6.
    expected = sum(1 for i in range(COUNT) if i % 37 == 1 and i % 6 in (1, 3))
    assert len(rows) == COUNT // 3 and len(shown) == expected > 0
    for row in shown:
        failed = re.search(r'data-fail="([^"]*)"', row)
        assert 'data-group="agent-01"' in row and failed is not None and code.group(1) in failed.group(1).split()
    assert re.search(rf'<output id="f-count"[^>]*>{expected} shown</output>', dom)
    assert '<form id="filters" class="filters">' in dom  # the script showed the filter bar
