"""Project facts: files (git-aware), ignores, pyproject, packages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trainwell.audit.project import Project, open_project
from trainwell.errors import ConfigError, TrainwellError


def test_files_skip_environments_and_respect_gitignore(make_project: Callable[..., Path]) -> None:
    root = make_project(extra={".venv/lib/site.py": ""})
    (root / ".gitignore").write_text(".env\n.venv/\noutputs/run1/\n")
    (root / "outputs/run1").mkdir()
    (root / "outputs/run1/log.txt").write_text("untracked and ignored")
    (root / "scripts/new.py").write_text("untracked")
    project = open_project(root)
    assert project.is_git
    assert ".venv/lib/site.py" not in project.files
    assert "outputs/run1/log.txt" not in project.files
    assert "src/demo/training/loop.py" in project.files
    assert "scripts/new.py" in project.files
    assert project.packages == ["demo"]
    assert project.is_ignored(".env")


def test_without_git(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("# comment\n*.env\n")
    (tmp_path / "a.py").write_text("")
    project = Project(root=tmp_path)
    assert not project.is_git and project.tracked == frozenset()
    assert project.files == [".gitignore", "a.py"]
    assert project.is_ignored("prod.env") and not project.is_ignored("a.py")
    assert project.pyproject == {} and project.packages == []


def test_bad_pyproject_and_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(ConfigError, match="cannot read"):
        _ = Project(root=tmp_path).pyproject
    with pytest.raises(TrainwellError, match="not a folder"):
        open_project(tmp_path / "missing")
