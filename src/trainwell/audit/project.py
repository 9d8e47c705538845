"""What the audit knows about a project folder: its files (git-aware), its pyproject, its
packages under ``src/``.

In a git repository the file list is ``git ls-files --cached --others --exclude-standard``, so
ignored files (virtualenvs, data, outputs) are not audited and "committed" means tracked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from trainwell.errors import ConfigError, TrainwellError
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", ".mypy_cache", ".ruff_cache",
        ".pytest_cache", "__pycache__", "node_modules", ".eggs", "site-packages",
        ".ipynb_checkpoints", "build", "dist", ".idea", ".vscode", "mlruns",
    }
)  # fmt: skip
GIT_TIMEOUT_S = 30


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        return subprocess.run(
            [git, "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        logger.warning("git_failed", args=list(args), error=str(e))
        return None


@dataclass
class Project:
    """A project folder under audit."""

    root: Path
    _tracked: frozenset[str] | None = field(default=None, init=False, repr=False)

    @cached_property
    def is_git(self) -> bool:
        """Whether the folder is inside a git work tree."""
        result = _git(self.root, "rev-parse", "--is-inside-work-tree")
        return result is not None and result.returncode == 0 and result.stdout.strip() == "true"

    @cached_property
    def tracked(self) -> frozenset[str]:
        """Files git tracks (POSIX paths relative to the root); empty outside git."""
        if not self.is_git:
            return frozenset()
        result = _git(self.root, "ls-files", "-z", "--cached")
        if result is None or result.returncode != 0:
            return frozenset()
        return frozenset(p for p in result.stdout.split("\0") if p)

    @cached_property
    def files(self) -> list[str]:
        """Every file of the project (POSIX, relative to the root), ignored files excluded."""
        if self.is_git:
            result = _git(self.root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
            if result is not None and result.returncode == 0:
                listed = [p for p in result.stdout.split("\0") if p]
                return sorted(
                    p
                    for p in listed
                    if not SKIPPED_DIRS.intersection(PurePosixPath(p).parts[:-1])
                    and (self.root / p).is_file()
                )
        out: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            base = Path(folder).relative_to(self.root)
            out.extend((base / name).as_posix() for name in names)
        return sorted(out)

    def is_ignored(self, relative: str) -> bool:
        """Whether git (or, outside git, a plain .gitignore line) ignores a path."""
        if self.is_git:
            result = _git(self.root, "check-ignore", "-q", "--no-index", relative)
            return result is not None and result.returncode == 0
        gitignore = self.root / ".gitignore"
        if not gitignore.is_file():
            return False
        name = PurePosixPath(relative).name
        for raw in gitignore.read_text(encoding="utf-8", errors="replace").splitlines():
            pattern = raw.strip().lstrip("/")
            if pattern and not pattern.startswith("#") and PurePosixPath(name).match(pattern):
                return True
        return False

    @cached_property
    def pyproject(self) -> dict[str, Any]:
        """The parsed pyproject.toml (``{}`` when absent).

        Raises:
            ConfigError: the file exists but is not valid TOML.
        """
        path = self.root / "pyproject.toml"
        if not path.is_file():
            return {}
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read {path}: {e}") from e

    @cached_property
    def packages(self) -> list[str]:
        """Import packages directly under ``src/`` (folders with an ``__init__.py``)."""
        src = self.root / "src"
        if not src.is_dir():
            return []
        return sorted(p.name for p in src.iterdir() if (p / "__init__.py").is_file())

    def exists(self, relative: str) -> bool:
        """Whether a file or folder exists under the root."""
        return (self.root / relative).exists()


def open_project(root: Path) -> Project:
    """A project for a folder.

    Raises:
        TrainwellError: the folder does not exist.
    """
    if not root.is_dir():
        raise TrainwellError(f"not a folder: {root}")
    return Project(root=root.resolve())
