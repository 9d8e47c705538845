"""A project in the mandatory layout, built in a temporary folder (optionally under git)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from trainwell.utils.logging import configure_logging

PYPROJECT = """\
[project]
name = "demo"
version = "0.1.0"
dependencies = ["numpy>=2.0,<3", "pandas==2.2.3", "demo-core @ file:///tmp/core"]

[project.optional-dependencies]
dev = ["pytest>=8,<9"]
all = ["demo[dev]"]

[tool.ruff]
line-length = 100

[tool.mypy]
strict = true
"""
MAKEFILE = (
    "install:\n\tpip install -e .\ntest:\n\tpytest\nlint:\n\truff check .\n"
    "format:\n\truff format .\n"
)
FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": "# demo\n",
    ".gitignore": ".env\n.venv/\n__pycache__/\n",
    ".env.example": "MLFLOW_TRACKING_URI=\n",
    "Makefile": MAKEFILE,
    "docker/Dockerfile": "FROM python:3.11-slim\n",
    "docker/docker-compose.yml": "services: {}\n",
    ".github/workflows/ci.yml": "on: push\n",
    "configs/train.yaml": "lr: 0.001\n",
    "notebooks/01-explore.ipynb": "{}\n",
    "scripts/train.py": "",
    "src/demo/__init__.py": "",
    "src/demo/training/__init__.py": "",
    "src/demo/training/loop.py": "",
    "src/demo/_version.py": "",
    "tests/training/test_loop.py": "",
    "data/raw/.gitkeep": "",
    "data/processed/.gitkeep": "",
    "data/features/.gitkeep": "",
    "models/.gitkeep": "",
    "outputs/.gitkeep": "",
}
LAYERS = ("config", "data", "models", "inference", "evaluation", "utils")


@pytest.fixture(autouse=True)
def _quiet_logs() -> None:
    configure_logging("console", "warning")


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """``make_project(git=True, drop=(), extra={})`` -> the root of a complete project."""

    def build(
        use_git: bool = True, drop: tuple[str, ...] = (), extra: dict[str, str] | None = None
    ) -> Path:
        root = tmp_path / "demo"
        files = {**FILES, **{f"src/demo/{layer}/__init__.py": "" for layer in LAYERS}}
        files.update(extra or {})
        for name, text in files.items():
            if any(name == d or name.startswith(d.rstrip("/") + "/") for d in drop):
                continue
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        if use_git:
            if shutil.which("git") is None:
                pytest.skip("git is not installed")
            git(root, "init", "-q")
            git(root, "add", "-A")
        return root

    return build
