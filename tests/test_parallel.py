"""--jobs N: the same results, in the same order, as one process (servicecheck.parallel)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import servicecheck.parallel as parallel
from servicecheck import api
from servicecheck.cli import main
from servicecheck.policy.loader import PolicySet, load_policies

DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"

# A small pack of our own (the default lexicons are being tuned): one rule of each shape.
PACK = {
    "pack.yaml": 'name: partest\nversion: "1.0.0"\ndescription: Pack for the --jobs tests.\nlanguages: [fr, en]\n',
    "signals/thank.yaml": "speaker: agent\ndescription: Thanks.\npatterns:\n  en: [\"(thanks|thank you)\"]\n"
                          "  fr: [\"merci\"]\n",
    "signals/sorry.yaml": "speaker: agent\ndescription: Sorry.\npatterns:\n  en: [\"sorry\"]\n  fr: [\"desole\"]\n",
    "signals/angry.yaml": "speaker: customer\ndescription: Anger.\npatterns:\n  en: [\"(ridiculous|unacceptable)\"]\n"
                          "  fr: [\"(inadmissible|n importe quoi)\"]\n",
    "always-thank.yaml": "title: Thank\nseverity: warning\napplies-to: [transcript, template]\n"
                         "rule: {kind: require, signal: thank, speaker: agent}\nmessage: \"No thanks ({window}).\"\n",
    "answer-anger.yaml": "title: Answer anger\nseverity: error\n"
                         "rule: {kind: respond, when: {speaker: customer, signal: angry}, "
                         "expect: {speaker: agent, signal: sorry}, within: {agent-turns: 1}}\n"
                         "message: \"Anger at turn {trigger.turn} unanswered.\"\n",
}

LINES = [
    {"id": "a", "language": "en", "turns": [{"speaker": "customer", "text": "This is ridiculous"},
                                             {"speaker": "agent", "text": "Sorry! Thanks for waiting."}]},
    {"language": "fr", "turns": [{"speaker": "customer", "text": "C'est inadmissible"},
                                 {"speaker": "agent", "text": "Je regarde."}]},  # no id: file#n
    [{"turns": [{"speaker": "agent", "text": "thanks"}]}, {"turns": [{"speaker": "agent", "text": "hello"}]}],
    "not json {",
    {"turns": [{"speaker": "Marie", "text": "who?"}]},  # unknown speaker: an InputProblem
    {"turns": [{"speaker": "agent", "text": "merci", "start_ms": 0, "end_ms": 500}]},
]


def _write_pack(root: Path) -> Path:
    for name, text in PACK.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    return load_policies([str(_write_pack(tmp_path_factory.mktemp("pack")))], include_default=False)


@pytest.fixture()
def inputs(tmp_path: Path) -> list[str]:
    jsonl = tmp_path / "calls.jsonl"
    rows = [line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in LINES * 4]
    jsonl.write_text("\n".join(rows[:9]) + "\n\n   \n" + "\r\n".join(rows[9:]) + "\n", encoding="utf-8")
    single = tmp_path / "one.json"
    single.write_text(json.dumps(LINES[0]), encoding="utf-8")
    text = tmp_path / "chat.txt"
    text.write_text("Customer: unacceptable!\nAgent: Thanks, I fix it.\n", encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    return [str(jsonl), str(single), str(text), str(broken), str(jsonl)]


def test_jobs_2_gives_the_results_of_jobs_1_in_order(pack: PolicySet, inputs: list[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "RANGE_BYTES", 1)  # one line a range: order and generated ids are tested
    serial = list(api.audit(inputs, pack))
    pooled = list(api.audit(inputs, pack, jobs=2))
    assert [getattr(x, "id", None) for x in pooled] == [getattr(x, "id", None) for x in serial]
    assert pooled == serial
    ids = [r.id for r in serial if hasattr(r, "id")]
    assert "calls.jsonl#2" in ids and "calls.jsonl#4" in ids  # ids counted across a line holding a list


@pytest.mark.parametrize("range_bytes", [1, 700, 1 << 17])
def test_rendered_blocks_match_what_the_parent_would_render(pack: PolicySet, inputs: list[str], range_bytes: int,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from servicecheck.formatters import get

    monkeypatch.setattr(parallel, "RANGE_BYTES", range_bytes)
    fmt = get("jsonl")
    serial = list(api.audit(inputs, pack))
    pooled = list(api.audit(inputs, pack, jobs=2, render="jsonl"))
    # The problems come at the same places, and each run of results between them as blocks of the same text.
    runs: list[list[Any]] = [[]]
    for item in serial:
        if hasattr(item, "message"):
            runs += [item, []]  # type: ignore[list-item]
        else:
            runs[-1].append(item)
    blocks: list[Any] = [[]]
    for item in pooled:
        if hasattr(item, "message"):
            blocks += [item, []]
        else:
            blocks[-1].append(item)
    assert len(blocks) == len(runs)
    for block, run in zip(blocks, runs):
        if not isinstance(run, list):
            assert block == run
            continue
        assert "".join(p.rendered for p in block) == "".join(fmt.render_result(r) for r in run)
        assert sum(p.results for p in block) == len(run)
        assert min((p.score for p in block if p.score is not None), default=None) == min(
            (r.score for r in run if r.score is not None), default=None)
        assert max((f.severity for p in block for f in p.findings), default=None) == max(
            (f.severity for r in run for f in r.findings), default=None)


def cli(*args: str, input: str | None = None) -> tuple[int, str]:  # noqa: A002
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_cli_report_is_identical_with_two_jobs(pack: PolicySet, inputs: list[str], fmt: str) -> None:
    root = str(Path(pack.packs[0].path))
    one = cli("audit", *inputs, "--no-default-pack", "--policies", root, "-f", fmt, "--no-config", "-q")
    two = cli("audit", *inputs, "--no-default-pack", "--policies", root, "-f", fmt, "--no-config", "-q",
              "--jobs", "2")
    assert one[0] == two[0] == 3  # one input is unreadable
    assert one[1] == two[1] and '"partest.answer-anger"' in one[1]


def test_standard_input_works_with_jobs(pack: PolicySet, inputs: list[str]) -> None:
    root = str(Path(pack.packs[0].path))
    data = Path(inputs[0]).read_text(encoding="utf-8")
    one = cli("audit", "-", "--no-default-pack", "--policies", root, "-f", "json", "--no-config", "-q", input=data)
    two = cli("audit", "-", "--no-default-pack", "--policies", root, "-f", "json", "--no-config", "-q",
              "--jobs", "2", input=data)
    assert one == two and "<stdin>#2" in one[1]


def test_lint_with_jobs(pack: PolicySet, tmp_path: Path) -> None:
    for i, body in enumerate(["Bonjour, merci de votre message.", "Hello, we will call you.", "Thanks!"]):
        (tmp_path / f"t{i}.md").write_text(body + "\n", encoding="utf-8")
    serial = list(api.lint([str(tmp_path)], pack))
    assert list(api.lint([str(tmp_path)], pack, jobs=2)) == serial and len(serial) == 3


@pytest.mark.skipif(not (DEVSET / "hvb_calls_en.jsonl").is_file(), reason="../shared/devset is absent")
def test_devset_with_jobs(pack: PolicySet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "RANGE_BYTES", 3000)
    paths = [str(DEVSET / "synthetic_conversations.jsonl"), str(DEVSET / "hvb_calls_en.jsonl")]
    assert list(api.audit(paths, pack, jobs=2)) == list(api.audit(paths, pack))


def test_default_jobs_is_at_least_one() -> None:
    assert parallel.default_jobs() >= 1


@pytest.mark.parametrize("range_bytes", [1, 5, 64, 1 << 17])
def test_byte_ranges_read_the_lines_of_the_whole_file(tmp_path: Path, range_bytes: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from servicecheck.inputs.stream import jsonl_lines

    monkeypatch.setattr(parallel, "RANGE_BYTES", range_bytes)
    monkeypatch.setattr(parallel, "_PIECE", 3)  # a line longer than a range is read on in pieces
    # A BOM, CRLF and lone CR line ends (a \r\n across a piece), blank lines, a broken line whose
    # look-ahead runs into the next range, a line far longer than a range, no final newline.
    body = ("\ufeff" + '{"a": 1}\r\n\r\n{"b": "é"}\r{"c":\n\n  \n{"d": "' + "x" * 300 + '"}\n\n\r\n'
            + '["é"]\n{"e"')
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(body.encode("utf-8"))
    whole = list(jsonl_lines(str(path), "utf-8-sig"))
    pieces = []
    for unit in parallel._ranges(str(path), "utf-8-sig", 0):
        last = unit.line + unit.lines - 1 if unit.lines >= 0 else None
        pieces += [line for line in jsonl_lines(str(path), unit.codec, unit.start, unit.line)
                   if last is None or line[0] <= last]
    assert pieces == whole and len(whole) == 6


def test_a_file_cut_in_ranges_gives_the_results_of_one_process(pack: PolicySet, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in LINES * 3]
    path = tmp_path / "cut.jsonl"
    path.write_bytes(("\ufeff" + "\r".join(rows[:5]) + "\r\n\n" + "\n  \n".join(rows[5:]) + "\n{").encode())
    serial = list(api.audit([str(path)], pack))
    for range_bytes in (1, 50, 400):
        monkeypatch.setattr(parallel, "RANGE_BYTES", range_bytes)
        assert list(api.audit([str(path)], pack, jobs=2)) == serial


def test_a_rendered_block_counts_its_results_on_the_progress_line() -> None:
    import io

    from servicecheck import progress
    from servicecheck.model import InputProblem

    bar = progress.Progress(io.StringIO(), None, "auditing", False)
    items = [parallel.Rendered("a", "{}\n{}\n{}\n", (), None, 3), InputProblem("x.jsonl", "invalid JSON", 4, 1)]
    assert list(bar.over_results(items)) == items and bar.results == 4


# Run in a fresh interpreter (so that workers are forked from a process that never audited, as
# the CLI's are): the workers' unit runner is wrapped so that a worker dies in the middle of its
# first unit(s), as a crash in native code would kill it; ``deaths`` workers die in all.
_DYING_WORKER = r"""
import os, sys
from servicecheck import parallel
from servicecheck.cli import main

real_run = parallel._run
marks = sys.argv[1]

def dying_run(unit):
    for k in range(int(sys.argv[2])):
        mark = f"{marks}.{k}"
        try:
            os.close(os.open(mark, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue
        os._exit(3)  # this worker dies now, with the units it holds
    return real_run(unit)

parallel._run = dying_run
main(sys.argv[3:])
"""


@pytest.mark.parametrize(("deaths", "survives"), [(1, True), (2, True), (12, False)])
def test_a_worker_that_dies_is_replaced_and_its_units_run_again(inputs: list[str], tmp_path: Path,
                                                               deaths: int, survives: bool) -> None:
    import subprocess
    import sys

    pack_dir = _write_pack(tmp_path / "partest")
    args = ["audit", "--no-config", "--no-default-pack", "--policies", str(pack_dir), "--format", "jsonl",
            "--fail-on", "never", *inputs]
    expected = CliRunner().invoke(main, [*args, "--jobs", "1"])
    run = subprocess.run([sys.executable, "-c", _DYING_WORKER, str(tmp_path / "died"), str(deaths),
                          *args, "--jobs", "2"], capture_output=True, text=True, timeout=300, check=False)
    if survives:
        assert run.returncode == expected.exit_code, run.stderr
        assert run.stdout == expected.stdout
        # (two workers dying at once break the pool once)
        assert 1 <= run.stderr.count("a worker process stopped unexpectedly (") <= deaths
    else:  # more deaths than MAX_RESTARTS allows: the run stops with the engine error, not a hang or a traceback
        assert run.returncode not in (0, expected.exit_code), run.stderr
        assert f"stopped unexpectedly {parallel.MAX_RESTARTS + 1} times" in run.stderr
        assert "Traceback" not in run.stderr
