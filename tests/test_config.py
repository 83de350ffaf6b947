"""Project configuration: discovery, strict validation with file:line:column, overrides, CLI defaults."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from servicecheck import api, config
from servicecheck.cli import main
from servicecheck.config import ConfigError, TomlLocated, discover, find_config, load_config
from servicecheck.errors import ExitCode, did_you_mean
from servicecheck.model import Severity

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "demo-pack"

DEFLECTION = "Customer: Hi.\nAgent: That is not my department.\n"
CLEAN = "Customer: Hi.\nAgent: Thank you, it is done.\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with the demo pack, used as the working directory."""
    shutil.copytree(DEMO, tmp_path / "packs" / "demo")
    (tmp_path / "call.txt").write_text(DEFLECTION, encoding="utf-8")
    (tmp_path / "clean.txt").write_text(CLEAN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(main, list(args))


def demo_set():  # noqa: ANN201
    return api.load_policies([DEMO], include_default=False)


BASE = "default-pack: false\npolicies: [packs/demo]\n"


# ---------------------------------------------------------------- discovery


def test_discovery_walks_upward_and_stops_at_the_first(project: Path) -> None:
    write(project / ".servicecheck.yaml", BASE)
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    assert Path(find_config(deep)).resolve() == (project / ".servicecheck.yaml").resolve()
    assert find_config(deep) == Path(".servicecheck.yaml")  # shown relative to the working directory
    write(project / "a" / ".servicecheck.yml", "language: fr\n")
    assert Path(find_config(deep)).resolve() == (project / "a" / ".servicecheck.yml").resolve()
    assert discover(deep).data == {"language": "fr"}  # the nearest one only, never merged


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({".servicecheck.yaml": BASE, ".servicecheck.yml": BASE}, ".servicecheck.yaml"),
        ({".servicecheck.yml": BASE, "pyproject.toml": "[tool.servicecheck]\nlanguage = 'fr'\n"}, ".servicecheck.yml"),
        ({"pyproject.toml": "[tool.servicecheck]\nlanguage = 'fr'\n"}, "pyproject.toml"),
        ({"pyproject.toml": "[project]\nname = 'servicecheck-templates'\n"}, None),  # no table: not a config
        ({}, None),
    ],
)
def test_which_file_wins_in_one_folder(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    folder = tmp_path / "proj"
    folder.mkdir()
    for name, text in files.items():
        write(folder / name, text)
    found = find_config(folder)
    if expected is None:
        assert found is None or not str(found).startswith(str(folder))
    else:
        assert Path(found).resolve() == (folder / expected).resolve()


def test_pyproject_without_table_lets_the_search_go_up(tmp_path: Path) -> None:
    write(tmp_path / ".servicecheck.yaml", "language: en\n")
    write(tmp_path / "sub" / "pyproject.toml", "[project]\nname = 'x'\n")
    assert Path(find_config(tmp_path / "sub")).resolve() == (tmp_path / ".servicecheck.yaml").resolve()


def test_config_option_and_no_config(project: Path) -> None:
    write(project / ".servicecheck.yaml", BASE + "fail-on: never\n")
    assert run("audit", "call.txt").exit_code == ExitCode.OK  # fail-on never from the config
    write(project / "strict.yaml", BASE + "fail-on: warning\n")
    assert run("audit", "clean.txt", "--config", "strict.yaml").exit_code == ExitCode.OK
    assert run("audit", "call.txt", "--config", "strict.yaml").exit_code == ExitCode.FINDINGS
    ignored = run("audit", "call.txt", "--no-config", "--no-default-pack", "--policies", "packs/demo")
    assert ignored.exit_code == ExitCode.FINDINGS  # default fail-on error again
    both = run("audit", "call.txt", "--config", "strict.yaml", "--no-config")
    assert both.exit_code == ExitCode.USAGE
    assert "--config and --no-config" in both.output


# ---------------------------------------------------------------- validation errors


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        (".servicecheck.yaml", BASE + "langage: fr\n", "servicecheck: .servicecheck.yaml:3:1: $.langage: unknown key 'langage'"),
        (".servicecheck.yaml", BASE + "policy:\n  no-deflection:\n    severity: eror\n",
         "servicecheck: .servicecheck.yaml:5:15: $.policy.no-deflection.severity: 'eror' is not one of"),
        (".servicecheck.yaml", BASE + "policy:\n  no-deflection: {wieght: 2}\n",
         "servicecheck: .servicecheck.yaml:4:19: $.policy.no-deflection.wieght: unknown key 'wieght'"),
        (".servicecheck.yaml", BASE + "min-score: 120\n", "servicecheck: .servicecheck.yaml:3:12: $.min-score: 120 is greater than"),
        (".servicecheck.yaml", BASE + "speakers: {Hotline: robot}\n",
         "servicecheck: .servicecheck.yaml:3:21: $.speakers.Hotline: 'robot' is not one of"),
        (".servicecheck.yaml", BASE + "csv-columns: {txt: Message}\n", "servicecheck: .servicecheck.yaml:3:14: $.csv-columns: 'txt' is not one of"),
        (".servicecheck.yaml", "policies: packs/demo\n", "servicecheck: .servicecheck.yaml:1:11: $.policies: 'packs/demo' is not of type 'array'"),
        (".servicecheck.yaml", "- a list\n", "servicecheck: .servicecheck.yaml:1:1: $: ['a list'] is not of type 'object'"),
        (".servicecheck.yaml", "language: [fr\n", "servicecheck: .servicecheck.yaml:2:1: YAML syntax error"),
        (".servicecheck.yaml", "language: fr\nlanguage: en\n", "servicecheck: .servicecheck.yaml:2:1: duplicate key 'language'"),
        ("pyproject.toml", "[project]\nname = 'x'\n\n[tool.servicecheck]\ndefault-pack = false\nformat = 'pdf'\n",
         "servicecheck: pyproject.toml:6:1: $.tool.servicecheck.format: 'pdf' is not one of"),
        ("pyproject.toml", "[tool.servicecheck]\nlangage = 'fr'\n",
         "servicecheck: pyproject.toml:2:1: $.tool.servicecheck.langage: unknown key 'langage'"),
        ("pyproject.toml", "[tool.servicecheck.policy]\nno-deflection = { severity = 'fatal' }\n",
         "servicecheck: pyproject.toml:2:19: $.tool.servicecheck.policy.no-deflection.severity: 'fatal' is not one of"),
        ("pyproject.toml", "[tool.servicecheck]\npolicies = 'packs'\n",
         "servicecheck: pyproject.toml:2:1: $.tool.servicecheck.policies: 'packs' is not of type 'array'"),
        ("pyproject.toml", "[tool]\nservicecheck = 3\n", "servicecheck: pyproject.toml:2:1: $.tool.servicecheck: 3 is not of type 'object'"),
        ("pyproject.toml", "[tool.servicecheck\nlanguage = 'fr'\n", "servicecheck: pyproject.toml:1:19: TOML syntax error"),
    ],
)
def test_invalid_configuration_exits_2_with_file_line_column(project: Path, name: str, text: str, line: str) -> None:
    write(project / name, text)
    result = run("audit", "call.txt")
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "Traceback" not in result.output
    assert result.stderr.splitlines()[0].startswith(line), result.stderr


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (BASE + "disable: [no-deflexion]\n", "servicecheck: .servicecheck.yaml:3:11: $.disable[0]: no policy 'no-deflexion' (known: "),
        (BASE + "enable:\n  - no-slogan\n  - nope\n", "servicecheck: .servicecheck.yaml:5:5: $.enable[1]: no policy 'nope'"),
        (BASE + "policy:\n  demo.nope: {weight: 2}\n", "servicecheck: .servicecheck.yaml:4:3: $.policy.demo.nope: no policy 'demo.nope'"),
        (BASE + "enable: [no-insult]\ndisable: [demo.no-insult]\n",
         "servicecheck: .servicecheck.yaml:3:10: $.enable[0]: 'demo.no-insult' is both enabled and disabled"),
        (BASE + "enable: [all]\ndisable: [all]\n", "servicecheck: .servicecheck.yaml:3:10: $.enable[0]: 'all' is both enabled and disabled"),
    ],
)
def test_unknown_or_conflicting_policy_ids_name_the_config_line(project: Path, text: str, line: str) -> None:
    write(project / ".servicecheck.yaml", text)
    result = run("audit", "call.txt")
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.stderr.startswith(line), result.stderr


def test_ambiguous_short_id_is_an_error(project: Path) -> None:
    twin = project / "packs" / "twin"
    shutil.copytree(DEMO, twin)
    (twin / "pack.yaml").write_text((twin / "pack.yaml").read_text().replace("name: demo", "name: twin"))
    write(project / ".servicecheck.yaml", "default-pack: false\npolicies: [packs]\ndisable: [no-insult]\n")
    result = run("policies", "list")
    assert result.exit_code == ExitCode.USAGE
    assert "servicecheck: .servicecheck.yaml:3:11: $.disable[0]: 'no-insult' is ambiguous: demo.no-insult, twin.no-insult" in result.stderr
    write(project / ".servicecheck.yaml", "default-pack: false\npolicies: [packs]\ndisable: [twin.no-insult]\n")
    listed = run("policies", "list")
    assert listed.exit_code == ExitCode.OK
    assert "demo.no-insult" in listed.stdout and "twin.no-insult" not in listed.stdout


def test_every_problem_is_reported_at_once(project: Path) -> None:
    write(project / ".servicecheck.yaml", "langage: fr\nformat: pdf\nfail-on: sometimes\n")
    lines = run("lint", "call.txt").stderr.splitlines()
    assert [x.split(": ")[2] for x in lines] == ["$.langage", "$.format", "$.fail-on"]
    assert [x.split(":")[2] for x in lines] == ["1", "2", "3"]


@settings(max_examples=30, deadline=None)
@given(
    keys=st.lists(st.sampled_from(["language: fr", "fail-on: never", "min-score: 50", "format: json", "default-pack: true"]),
                  unique=True, max_size=5),
    at=st.integers(min_value=0, max_value=5),
    bad=st.from_regex(r"[a-z][a-z_]{2,12}", fullmatch=True),
)
def test_an_unknown_key_is_reported_on_its_own_line(tmp_path_factory: pytest.TempPathFactory, keys: list[str],
                                                     at: int, bad: str) -> None:
    known = set(config.known_keys())
    if bad in known:
        return
    lines = list(keys)
    at = min(at, len(lines))
    lines.insert(at, f"{bad}: 1")
    path = tmp_path_factory.mktemp("cfg") / ".servicecheck.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems == [
        f"{path}:{at + 1}:1: $.{bad}: unknown key {bad!r} "
        f"({did_you_mean(bad, sorted(known))}expected one of: {', '.join(sorted(known))})"
    ]


# ---------------------------------------------------------------- TOML positions


def test_toml_positions_of_tables_dotted_keys_inline_tables_and_arrays() -> None:
    text = (
        "[project]\n"
        "name = 'x'\n"
        "[tool.servicecheck]\n"
        "language = \"fr\"\n"
        "enable = [\"a\", 'b']\n"
        "disable = [\n"
        "  \"c\",  # why\n"
        "  \"d\",\n"
        "]\n"
        "policy = { no-deflection = { weight = 2, critical = true }, x = {enabled = false} }\n"
        "speakers.Hotline = \"agent\"\n"
        "notes = \"\"\"\n"
        "fake = 1\n"
        "\"\"\"\n"
        "[tool.servicecheck.csv-columns]\n"
        "text = 'Message'\n"
    )
    located = TomlLocated({}, text)
    marks = {
        ("tool", "servicecheck"): (3, 2),
        ("tool", "servicecheck", "language"): (4, 1),
        ("tool", "servicecheck", "enable", 1): (5, 16),
        ("tool", "servicecheck", "disable", 0): (7, 3),
        ("tool", "servicecheck", "disable", 1): (8, 3),
        ("tool", "servicecheck", "policy", "no-deflection", "critical"): (10, 42),
        ("tool", "servicecheck", "policy", "x", "enabled"): (10, 66),
        ("tool", "servicecheck", "speakers", "Hotline"): (11, 1),
        ("tool", "servicecheck", "fake"): (3, 2),  # inside a multi-line string: not a key
        ("tool", "servicecheck", "csv-columns", "text"): (16, 1),
        ("tool", "servicecheck", "policy", "no-deflection", "nope"): (10, 12),  # longest known prefix
    }
    got = {path: (located.mark(path).line, located.mark(path).column) for path in marks}
    assert got == marks


# ---------------------------------------------------------------- applying the configuration


def test_overrides_replace_frozen_policies_and_leave_the_original_alone(tmp_path: Path) -> None:
    path = write(tmp_path / ".servicecheck.yaml", (
        "policy:\n"
        "  no-deflection: {severity: warning, weight: 5, critical: true}\n"
        "  demo.always-thank: {enabled: false}\n"
        "enable: [no-slogan]\n"
    ))
    original = demo_set()
    applied = load_config(path).apply(original)
    by_id = {p.id: p for p in applied.policies}
    assert "demo.always-thank" not in by_id and "demo.no-slogan" in by_id
    nd = by_id["demo.no-deflection"]
    assert (nd.severity, nd.weight, nd.critical) == (Severity.WARNING, 5.0, True)
    before = original.get("no-deflection")
    assert (before.severity, before.weight, before.critical) == (Severity.ERROR, 3.0, False)
    assert "demo.always-thank" in {p.id for p in original.policies}
    assert applied.get("no-deflection") is nd  # explain/show see the overridden policy too


@pytest.mark.parametrize(
    ("lists", "enabled"),
    [
        ("disable: [all]\nenable: [no-deflection]\n", {"demo.no-deflection"}),
        ("enable: [all]\ndisable: [no-insult]\n",
         {"demo.always-thank", "demo.apologise-on-complaint", "demo.no-deflection", "demo.no-interruption", "demo.no-slogan"}),
        ("disable: [always-thank, apologise-on-complaint]\n", {"demo.no-deflection", "demo.no-insult", "demo.no-interruption"}),
        ("enable: [demo.no-slogan]\n",
         {"demo.always-thank", "demo.apologise-on-complaint", "demo.no-deflection", "demo.no-insult",
          "demo.no-interruption", "demo.no-slogan"}),
    ],
)
def test_enable_and_disable(tmp_path: Path, lists: str, enabled: set[str]) -> None:
    path = write(tmp_path / ".servicecheck.yml", lists)
    assert {p.id for p in load_config(path).apply(demo_set()).policies} == enabled


def test_severity_override_changes_the_exit_code(project: Path) -> None:
    assert run("audit", "call.txt", "--no-default-pack", "--policies", "packs/demo").exit_code == ExitCode.FINDINGS
    write(project / ".servicecheck.yaml", BASE + "policy:\n  no-deflection: {severity: warning}\n")
    result = run("audit", "call.txt", "--format", "json")
    assert result.exit_code == ExitCode.OK, result.output
    findings = json.loads(result.stdout)["conversations"][0]["findings"]
    assert {(f["policy"], f["severity"]) for f in findings} == {("demo.no-deflection", "warning"),
                                                                 ("demo.always-thank", "warning")}


def test_weight_and_critical_overrides_change_the_score(project: Path) -> None:
    write(project / ".servicecheck.yaml", BASE + "fail-on: never\npolicy:\n  no-deflection: {weight: 1}\n")
    conv = json.loads(run("audit", "call.txt", "-f", "json").stdout)["conversations"][0]
    # no-deflection (now weight 1) and always-thank (1) fail, no-insult (1) passes, the others are n/a.
    assert conv["score"] == round(100 * 1 / 3, 1)
    write(project / ".servicecheck.yaml", BASE + "fail-on: never\npolicy:\n  no-deflection: {critical: true}\n")
    conv = json.loads(run("audit", "call.txt", "-f", "json").stdout)["conversations"][0]
    assert (conv["score"], conv["auto_failed"]) == (0, True)


# ---------------------------------------------------------------- CLI defaults


def test_command_line_flags_win_over_the_configuration(project: Path) -> None:
    write(project / ".servicecheck.yaml", BASE + "format: json\nfail-on: never\nmin-score: 90\n")
    as_json = run("audit", "call.txt")
    assert as_json.exit_code == ExitCode.FINDINGS  # min-score 90 from the config
    assert json.loads(as_json.stdout)["conversations"][0]["id"]
    as_text = run("audit", "call.txt", "--format", "text", "--min-score", "0")
    assert as_text.exit_code == ExitCode.OK
    assert as_text.stdout.startswith("call.txt")
    assert run("audit", "call.txt", "--fail-on", "error", "--min-score", "0").exit_code == ExitCode.FINDINGS


def test_policies_are_relative_to_the_config_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project / ".servicecheck.yaml", BASE)
    sub = project / "calls" / "2024"
    sub.mkdir(parents=True)
    (sub / "call.txt").write_text(DEFLECTION, encoding="utf-8")
    monkeypatch.chdir(sub)
    result = run("audit", "call.txt", "-f", "json")
    assert result.exit_code == ExitCode.FINDINGS, result.output
    assert [f["policy"] for f in json.loads(result.stdout)["conversations"][0]["findings"]] == [
        "demo.always-thank", "demo.no-deflection"]


def test_command_line_policies_replace_the_configured_ones(project: Path) -> None:
    write(project / ".servicecheck.yaml", "default-pack: false\npolicies: [does-not-exist]\n")
    assert run("audit", "call.txt").exit_code == ExitCode.USAGE
    assert run("audit", "call.txt", "--policies", "packs/demo").exit_code == ExitCode.FINDINGS


def test_speakers_language_input_format_and_csv_columns(project: Path) -> None:
    write(project / ".servicecheck.yaml", BASE + (
        "speakers: {Hotline: agent, Abonne: customer}\n"
        "language: en\n"
        "input-format: csv\n"
        "csv-columns: {conversation_id: CallId, speaker: Who, text: Said}\n"
        "format: json\n"
        "fail-on: never\n"
    ))
    write(project / "calls.dat", "CallId,Who,Said\nc1,Abonne,Hi.\nc1,Hotline,That is not my department.\n")
    result = run("audit", "calls.dat")
    assert result.exit_code == ExitCode.OK, result.output
    conv = json.loads(result.stdout)["conversations"][0]
    assert (conv["id"], conv["language"]) == ("c1", "en")
    finding = next(f for f in conv["findings"] if f["policy"] == "demo.no-deflection")
    assert (finding["turn"], finding["speaker"]) == (2, "agent")


def test_annotate_uses_the_configured_speakers(project: Path) -> None:
    write(project / ".servicecheck.yaml", BASE + "speakers: {Hotline: agent}\n")
    write(project / "h.txt", "Customer: It is broken.\nHotline: Sorry, not my department.\n")
    result = run("annotate", "h.txt", "-f", "jsonl")
    assert result.exit_code == ExitCode.OK, result.output
    turns = json.loads(result.stdout)["turns"]
    assert turns[1]["speaker"] == "agent" and "deflection" in turns[1]["signals"]


def test_format_meant_for_reports_does_not_reach_annotate(project: Path) -> None:
    write(project / ".servicecheck.yaml", BASE + "format: sarif\n")
    result = run("annotate", "call.txt")
    assert result.exit_code == ExitCode.OK, result.output
    assert "deflection" in result.stdout


def test_empty_config_file_configures_nothing(project: Path) -> None:
    write(project / ".servicecheck.yaml", "# nothing yet\n")
    cfg = discover(project)
    assert cfg is not None and cfg.data == {} and cfg.cli_defaults() == {}
    assert cfg.apply(demo_set()).policies == demo_set().policies


def _snippets(path: Path, lang: str) -> list[str]:
    import re

    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("doc", ["docs/configuration.md", "README.md"])
def test_documented_configurations_are_valid(tmp_path: Path, doc: str) -> None:
    checked = 0
    for i, text in enumerate(_snippets(ROOT / doc, "yaml")):
        first = text.split("\n", 1)[0]
        if "repos:" in text or "jobs:" in text or (first.startswith("#") and ".servicecheck" not in first):
            continue  # a pre-commit config, a workflow, a pack file: not a configuration
        load_config(write(tmp_path / f"c{i}" / ".servicecheck.yaml", text))
        checked += 1
    for i, text in enumerate(_snippets(ROOT / doc, "toml")):
        load_config(write(tmp_path / f"t{i}" / "pyproject.toml", text))
        checked += 1
    assert checked >= (4 if doc.startswith("docs") else 1)


def test_every_key_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key in config.known_keys():
        assert f"| `{key}` |" in text, key


def test_a_value_the_command_does_not_accept_is_an_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    param = next(p for p in main.commands["audit"].params if p.name == "input_format")
    monkeypatch.setattr(param, "type", click.Choice(["json"]))  # a command narrower than the schema
    write(project / ".servicecheck.yaml", BASE + "input-format: csv\n")
    result = run("audit", "call.txt")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("servicecheck: .servicecheck.yaml:3:1: $.input-format: 'csv' is not accepted by "
                                    "'main audit' (one of: json)"), result.stderr


def test_a_misspelt_key_gets_a_did_you_mean(project: Path) -> None:
    write(project / ".servicecheck.yaml", "langage: fr\nfail-on: warnign\n")
    err = run("lint", "call.txt").stderr
    assert "$.langage: unknown key 'langage' (did you mean 'language'? expected one of: " in err
    assert "$.fail-on: 'warnign' is not one of ['error', 'warning', 'suggestion', 'never'] (did you mean 'warning'?)" \
        in err
