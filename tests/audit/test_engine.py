"""The audit end to end on projects built in a temporary folder."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from trainwell.audit.engine import audit_project
from trainwell.audit.settings import AuditSettings
from trainwell.errors import TrainwellError

Make = Callable[..., Path]


def codes(root: Path, **settings: object) -> set[tuple[str, str]]:
    report = audit_project(root, AuditSettings.model_validate(settings), base=root)
    return {(f.code, f.path) for f in report.findings}


def test_a_project_in_the_mandatory_layout_is_clean(make_project: Make) -> None:
    root = make_project()
    assert codes(root) == set()


def test_missing_pieces_are_reported(make_project: Make) -> None:
    root = make_project(
        drop=("Makefile", "docker/docker-compose.yml", "src/demo/utils", "configs", ".env.example")
    )
    assert codes(root) == {
        ("TWA101", "Makefile"),
        ("TWA102", "configs/"),
        ("TWA103", "src/demo/"),
        ("TWA301", ".env.example"),
        ("TWA602", "docker/docker-compose.yml"),
    }


def test_misplaced_notebooks_configs_and_setup_py(make_project: Make) -> None:
    root = make_project(
        extra={
            "src/demo/eda.ipynb": "{}",
            "experiment.yaml": "lr: 1",
            "src/demo/params.yml": "a: 1",
            ".pre-commit-config.yaml": "repos: []",
            "setup.py": "from setuptools import setup\nsetup()\n",
        }
    )
    assert codes(root) == {
        ("TWA104", "src/demo/eda.ipynb"),
        ("TWA105", "experiment.yaml"),
        ("TWA105", "src/demo/params.yml"),
        ("TWA201", "setup.py"),
    }


def test_committed_env_large_files_and_generated_folders(make_project: Make) -> None:
    root = make_project(extra={".venv/lib/x.py": "", "models/big.bin": "x" * 2048})
    (root / ".env").write_text("SECRET=1\n")
    subprocess.run(["git", "add", "-f", ".env", ".venv", "models/big.bin"], cwd=root, check=True)
    found = codes(root, **{"large-file-mb": 0.001})
    assert found == {("TWA302", ".env"), ("TWA305", "models/big.bin"), ("TWA306", ".venv/")}


def test_unpinned_dependencies_point_at_their_line(make_project: Make) -> None:
    pyproject = (
        '[project]\nname = "demo"\ndependencies = [\n  "numpy",\n  "pandas>=2",\n'
        '  "torch>=2.4,<2.5",\n]\n[tool.ruff]\n[tool.mypy]\n'
    )
    root = make_project(extra={"pyproject.toml": pyproject})
    report = audit_project(root, base=root)
    unpinned = [(f.line, f.message) for f in report.findings if f.code == "TWA202"]
    assert [line for line, _ in unpinned] == [4, 5]
    (root / "constraints.txt").write_text("numpy==2.1.0\npandas==2.2.3  # measured\n")
    assert not [f for f in audit_project(root, base=root).findings if f.code == "TWA202"]


def test_tests_must_mirror_src(make_project: Make) -> None:
    root = make_project(extra={"src/demo/data/loader.py": "", "src/demo/cli.py": ""})
    assert codes(root) == {
        ("TWA402", "src/demo/cli.py"),
        ("TWA402", "src/demo/data/loader.py"),
    }
    messages = {f.message for f in audit_project(root, base=root).findings}
    assert "no mirrored test (tests/data/test_loader.py)" in messages


def test_without_git(make_project: Make) -> None:
    root = make_project(use_git=False)
    (root / ".env").write_text("SECRET=1\n")
    assert codes(root) == {("TWA304", ".")}
    (root / ".gitignore").write_text("__pycache__/\n")
    assert codes(root) == {("TWA304", "."), ("TWA302", ".env"), ("TWA303", ".gitignore")}


def test_select_ignore_and_missing_folder(make_project: Make, tmp_path: Path) -> None:
    root = make_project(drop=("Makefile", "README.md"))
    assert codes(root, ignore=["TWA1"]) == set()
    assert codes(root, select=["TWA101"]) == {("TWA101", "Makefile"), ("TWA101", "README.md")}
    with pytest.raises(TrainwellError, match="not a folder"):
        audit_project(tmp_path / "nope")
