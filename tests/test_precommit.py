"""The pre-commit hooks through the real ``pre-commit try-repo`` in a scratch git repository.

For each run, try-repo clones this repository into its own temporary store and
pip-installs it into a fresh virtualenv (PyPI is needed for the build requirements;
durable-rules comes from pip's wheel cache, filled when the test venv was installed on
the same machine): about 10 s a run here. It is marked ``slow``: ``-m "not slow"``
deselects it.

try-repo needs a commit: the working tree (tracked and untracked files that git does
not ignore) is copied into a temporary repository and committed there, so the test
sees uncommitted work in a dev tree and runs unchanged in CI's clean clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NEEDS_PRE_COMMIT = "pre-commit is not installed (it is in the 'test' extra)"

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "demo-pack"
IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache",
                                ".hypothesis", "*.pyc")


def _env(home: Path) -> dict[str, str]:
    # GIT_DIR, GIT_INDEX_FILE... set by an outer git hook would point our git commands at the
    # real repository: the scratch repositories must never touch it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        PRE_COMMIT_HOME=str(home),
        PRE_COMMIT_COLOR="never",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        GIT_AUTHOR_NAME="servicecheck tests",
        GIT_AUTHOR_EMAIL="tests@example.invalid",
        GIT_COMMITTER_NAME="servicecheck tests",
        GIT_COMMITTER_EMAIL="tests@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def _git(cwd: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args], cwd=cwd, env=env,
                   check=True, capture_output=True)


def _working_tree_files() -> list[str] | None:
    """Tracked and untracked-but-not-ignored files of this checkout, or None outside git."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             check=True, capture_output=True, env=_env(Path("/nonexistent"))).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in out.decode("utf-8", "surrogateescape").split("\0") if name]


def _snapshot(dest: Path, env: dict[str, str]) -> Path:
    """A committed copy of the working tree (read-only use of this repository)."""
    files = _working_tree_files()
    if files is None:
        shutil.copytree(ROOT, dest, ignore=IGNORE)
    else:
        for name in files:
            source = ROOT / name
            if source.is_file():  # a tracked file deleted in the working tree is left out
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    _git(dest, env, "init", "-q")
    _git(dest, env, "add", "-A")
    _git(dest, env, "commit", "-q", "--no-verify", "-m", "snapshot for the pre-commit test")
    return dest


TEMPLATES = {
    "templates/bad.md": "# Refund\nThank you for writing.\nI'm afraid that is not our department.\n",
    "templates/good.md": "# Refund\nThank you for writing, the refund is on its way.\n",
    "templates/macros.yaml": "templates:\n  late: Thank you, your parcel ships today.\n",
    ".servicecheck.yaml": "default-pack: false\npolicies: [packs/demo]\n",
    "packs/broken/pack.yaml": "name: broken\nversion: '1'\n",
    "packs/broken/oops.yaml": "title: Oops\nrule: {kind: forbid, signal: thank}\nseverity: eror\nmessage: m\n",
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    pytest.importorskip("pre_commit", reason=NEEDS_PRE_COMMIT)
    base = tmp_path_factory.mktemp("precommit")
    env = _env(base / "pre-commit-home")
    snapshot = _snapshot(base / "servicecheck", env)
    work = base / "templates-repo"
    work.mkdir()
    shutil.copytree(DEMO, work / "packs" / "demo")
    for name, text in TEMPLATES.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text, encoding="utf-8")
    _git(work, env, "init", "-q")
    _git(work, env, "add", "-A")
    _git(work, env, "commit", "-q", "--no-verify", "-m", "templates")
    return {"env": env, "snapshot": snapshot, "work": work}


def try_repo(scratch: dict[str, object], hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pre_commit", "try-repo", str(scratch["snapshot"]), hook, "--color", "never",
           "--files", *files]
    return subprocess.run(cmd, cwd=scratch["work"], env=scratch["env"], capture_output=True, text=True, timeout=600)


def test_manifest_is_valid() -> None:
    pytest.importorskip("pre_commit", reason=NEEDS_PRE_COMMIT)
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest",
                             str(ROOT / ".pre-commit-hooks.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_lint_hook_fails_on_a_violating_template(scratch: dict[str, object]) -> None:
    result = try_repo(scratch, "servicecheck-lint", "templates/bad.md", "templates/good.md")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "templates/bad.md:3:" in out and "demo.no-deflection" in out
    assert "templates/good.md" not in out.split("servicecheck lint", 1)[-1]


@pytest.mark.slow
def test_lint_hook_passes_on_clean_templates(scratch: dict[str, object]) -> None:
    result = try_repo(scratch, "servicecheck-lint", "templates/good.md", "templates/macros.yaml", ".servicecheck.yaml")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Passed" in out


@pytest.mark.slow
def test_validate_hook_fails_on_a_broken_pack(scratch: dict[str, object]) -> None:
    result = try_repo(scratch, "servicecheck-validate", "packs/broken/oops.yaml", "packs/demo/no-deflection.yaml")
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "packs/broken/oops.yaml:3:11: $.severity: 'eror' is not one of" in out


@pytest.mark.slow
def test_validate_hook_passes_on_a_valid_pack_and_ignores_other_yaml(scratch: dict[str, object]) -> None:
    result = try_repo(scratch, "servicecheck-validate", "packs/demo/no-deflection.yaml",
                      "packs/demo/signals/thank.yaml", "templates/macros.yaml")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Passed" in out


def test_readme_snippets_use_the_shipped_hooks() -> None:
    import re

    import yaml

    manifest = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert set(manifest) == {"servicecheck-lint", "servicecheck-validate"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "repos:" in b]
    assert blocks, "the README shows a .pre-commit-config.yaml"
    for block in blocks:
        for repo in block["repos"]:
            for hook in repo["hooks"]:
                assert hook["id"] in manifest
    lint = re.compile(manifest["servicecheck-lint"]["files"])
    skip = re.compile(manifest["servicecheck-lint"]["exclude"])
    for name in ("templates/a.md", "scripts/b.txt", "t/c.yaml", "d.yml", "e.json"):
        assert lint.search(name) and not skip.search(name), name
    for name in (".pre-commit-config.yaml", "sub/.servicecheck.yml", "policies/p/pack.yaml", "package.json"):
        assert skip.search(name), name
    workflow = next(yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "upload-sarif" in b)
    steps = workflow["jobs"]["servicecheck"]["steps"]
    assert any("--format sarif -o servicecheck.sarif" in str(s.get("run", "")) for s in steps)
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "servicecheck.sarif" and upload["if"] == "always()"


# ---- the hook blocks what a trainer would want blocked ------------------------------------------

MEMO = "# Floor memo\nAnswer every call in under 10 seconds!\n"  # its only finding: a pressure exhortation (warning)
CLEAN_SCRIPT = "# Refund\nThank you for writing: the refund is on its way, you will see it within 3 days.\n"


def _readme_local_hook() -> dict[str, object]:
    import re

    import yaml

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "repo: local" in b]
    assert len(blocks) == 1, "the README shows one local-hook .pre-commit-config.yaml"
    return blocks[0]


def test_the_lint_hook_blocks_warnings_unless_a_team_says_otherwise() -> None:
    import yaml

    manifest = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert manifest["servicecheck-lint"]["args"] == ["--fail-on", "warning"]
    hook = _readme_local_hook()["repos"][0]["hooks"][0]
    assert hook["entry"] == "servicecheck lint" and hook["args"] == ["--fail-on", "warning"]


@pytest.fixture(scope="module")
def memo_repo(scratch: dict[str, object]) -> dict[str, object]:
    """A repository of floor memos with no servicecheck configuration: the default pack applies."""
    import yaml

    env = scratch["env"]
    assert isinstance(env, dict)
    work = Path(str(scratch["work"])).parent / "memos-repo"
    (work / "scripts").mkdir(parents=True)
    (work / "scripts" / "floor-memo.md").write_text(MEMO, encoding="utf-8")
    (work / "scripts" / "refund.md").write_text(CLEAN_SCRIPT, encoding="utf-8")
    (work / ".pre-commit-config.yaml").write_text(yaml.safe_dump(_readme_local_hook(), sort_keys=False),
                                                  encoding="utf-8")
    _git(work, env, "init", "-q")
    _git(work, env, "add", "-A")
    _git(work, env, "commit", "-q", "--no-verify", "-m", "memos")
    return {**scratch, "work": work}


@pytest.mark.slow
def test_lint_hook_blocks_the_pressure_memo(memo_repo: dict[str, object]) -> None:
    result = try_repo(memo_repo, "servicecheck-lint", "scripts/floor-memo.md")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "scripts/floor-memo.md:2:1: warning service-standards.no-pressure-exhortations" in out
    assert "Failed" in out


@pytest.mark.slow
def test_the_readme_local_hook_works_as_written(memo_repo: dict[str, object]) -> None:
    env = dict(memo_repo["env"])  # type: ignore[call-overload]
    # language: system runs the servicecheck on the PATH: this test environment's.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    cmd = [sys.executable, "-m", "pre_commit", "run", "servicecheck-lint", "--color", "never", "--files"]
    blocked = subprocess.run([*cmd, "scripts/floor-memo.md"], cwd=memo_repo["work"], env=env, capture_output=True,
                             text=True, timeout=600)
    out = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, out
    assert "service-standards.no-pressure-exhortations" in out and "Answer every call in under 10 seconds" in out
    passed = subprocess.run([*cmd, "scripts/refund.md"], cwd=memo_repo["work"], env=env, capture_output=True,
                            text=True, timeout=600)
    assert passed.returncode == 0, passed.stdout + passed.stderr
