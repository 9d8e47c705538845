"""Capture what a run needs to be reproduced: python, platform, package versions, git commit."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

# The packages whose versions change results; recorded in every bundle and run.
TRACKED_PACKAGES: tuple[str, ...] = (
    "trainwell",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "torch",
    "xgboost-cpu",
    "xgboost",
    "lightgbm",
    "catboost",
    "mlflow",
    "skops",
    "safetensors",
    "pydantic",
    "rtdl_revisiting_models",
)
GIT_TIMEOUT_SECONDS = 5
HASH_CHUNK_BYTES = 1 << 20


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (absent packages are left out)."""
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit(directory: Path | None = None) -> str | None:
    """The HEAD commit of the git work tree containing ``directory`` (default: cwd), if any.

    A ``-dirty`` suffix marks uncommitted changes.
    """
    cwd = directory or Path.cwd()
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}-dirty" if status else head


def capture_environment() -> dict[str, object]:
    """Python, platform, package versions and git commit, as plain JSON-able values."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": package_versions(),
        "git_commit": git_commit(),
    }


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()
