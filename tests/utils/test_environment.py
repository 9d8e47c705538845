"""What every run records about its environment: versions, git commit, file hashes."""

from __future__ import annotations

import hashlib
import platform
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn

from trainwell.utils.environment import (
    HASH_CHUNK_BYTES,
    capture_environment,
    git_commit,
    package_versions,
    sha256_file,
)

GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
GIT_NO_SIGNING = ["-c", "commit.gpgsign=false"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_IDENTITY, *GIT_NO_SIGNING, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()


@pytest.fixture
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No git repository above tmp_path counts, and no user/system git config applies."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-such-gitconfig"))
    return tmp_path


@pytest.fixture
def repo(isolated_git: Path) -> Path:
    path = isolated_git / "project"
    path.mkdir()
    git(path, "init", "--quiet")
    (path / "train.py").write_text("print('v1')\n", encoding="utf-8")
    git(path, "add", "train.py")
    git(path, "commit", "--quiet", "-m", "first")
    return path


def test_git_commit_is_the_head_sha(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert re.fullmatch(r"[0-9a-f]{40}", head)
    assert git_commit(repo) == head


def test_git_commit_defaults_to_the_working_directory(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    assert git_commit() == git(repo, "rev-parse", "HEAD")


def test_git_commit_from_a_subdirectory(repo: Path) -> None:
    (repo / "src").mkdir()
    assert git_commit(repo / "src") == git(repo, "rev-parse", "HEAD")


def test_an_edit_marks_the_commit_dirty(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    (repo / "train.py").write_text("print('v2')\n", encoding="utf-8")
    assert git_commit(repo) == f"{head}-dirty"


def test_untracked_files_do_not_make_it_dirty(repo: Path) -> None:
    (repo / "notes.txt").write_text("scratch\n", encoding="utf-8")
    assert git_commit(repo) == git(repo, "rev-parse", "HEAD")


def test_no_repository_gives_none(isolated_git: Path) -> None:
    plain = isolated_git / "plain"
    plain.mkdir()
    assert git_commit(plain) is None


def test_repository_without_commits_gives_none(isolated_git: Path) -> None:
    git(isolated_git, "init", "--quiet")
    assert git_commit(isolated_git) is None


def test_missing_git_executable_gives_none(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    assert git_commit(repo) is None


def test_package_versions() -> None:
    versions = package_versions()
    assert versions["numpy"] == np.__version__
    assert versions["pandas"] == pd.__version__
    assert versions["scikit-learn"] == sklearn.__version__
    assert versions["trainwell"] == "0.1.0"


def test_package_versions_leaves_out_absent_packages() -> None:
    assert package_versions(("numpy", "no-such-package-trainwell")) == {"numpy": np.__version__}


def test_capture_environment(isolated_git: Path) -> None:
    env = capture_environment()
    assert env["python"] == platform.python_version()
    assert env["implementation"] == platform.python_implementation()
    assert env["machine"] == platform.machine()
    assert env["packages"] == package_versions()
    assert env["git_commit"] is None  # the test's working directory is not a repository


@pytest.mark.parametrize(
    ("content", "digest"),
    [
        (b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        (b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ],
)
def test_sha256_file_known_values(tmp_path: Path, content: bytes, digest: str) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(content)
    assert sha256_file(path) == digest


def test_sha256_file_across_chunks(tmp_path: Path) -> None:
    content = bytes(range(256)) * (2 * HASH_CHUNK_BYTES // 256) + b"tail"
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    assert sha256_file(path) == hashlib.sha256(content).hexdigest()
