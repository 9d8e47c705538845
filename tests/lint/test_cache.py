"""The lint result cache: keys, round trips, damaged and unwritable caches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from trainwell.lint import engine
from trainwell.lint.cache import (
    CACHE_DIR_ENV,
    CACHE_FILE,
    DEFAULT_CACHE_DIR,
    CachedFinding,
    LintCache,
    code_fingerprint,
    default_cache_dir,
    file_key,
)
from trainwell.lint.cli import lint_command
from trainwell.lint.engine import Linter
from trainwell.lint.findings import Finding
from trainwell.lint.settings import LintSettings, load_settings

FINDINGS = [
    CachedFinding("TW106", 3, 9, "magic number 42"),
    CachedFinding("TW204", 7, 5, "model not in eval mode", cell=2),
]


def _source(tmp_path: Path, text: str = "x = 42\n") -> Path:
    path = tmp_path / "train.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_key_depends_on_content_path_options_and_code() -> None:
    base = file_key("fp", Path("/a/train.py"), b"x = 1\n", ("TW106",))
    assert base == file_key("fp", Path("/a/train.py"), b"x = 1\n", ("TW106",))
    assert base != file_key("fp", Path("/a/train.py"), b"x = 2\n", ("TW106",))
    assert base != file_key("fp", Path("/a/test_train.py"), b"x = 1\n", ("TW106",))
    assert base != file_key("fp", Path("/a/train.py"), b"x = 1\n", ("TW106", "TW108"))
    assert base != file_key("fp2", Path("/a/train.py"), b"x = 1\n", ("TW106",))


def test_fingerprint_changes_when_a_delegated_tool_changes(tmp_path: Path) -> None:
    tool = tmp_path / "ruff"
    tool.write_bytes(b"v1")
    before = code_fingerprint([tool])
    assert before == code_fingerprint([tool])
    tool.write_bytes(b"version 2")
    assert code_fingerprint([tool]) != before
    assert code_fingerprint([None]) == code_fingerprint([])


def test_round_trip_through_the_file(tmp_path: Path) -> None:
    source = _source(tmp_path)
    cache = LintCache(tmp_path / "cache")
    assert cache.get(source, "k1") is None
    cache.put(source, "k1", FINDINGS)
    cache.save()

    again = LintCache(tmp_path / "cache")
    assert again.get(source, "k1") == FINDINGS
    assert again.get(source, "k2") is None
    assert (again.hits, again.misses) == (1, 1)


def test_clean_file_is_cached_as_no_findings(tmp_path: Path) -> None:
    source = _source(tmp_path)
    cache = LintCache(tmp_path / "cache")
    cache.put(source, "k", [])
    cache.save()
    assert LintCache(tmp_path / "cache").get(source, "k") == []


def test_entries_of_deleted_files_are_dropped_on_save(tmp_path: Path) -> None:
    kept = _source(tmp_path)
    gone = tmp_path / "gone.py"
    cache = LintCache(tmp_path / "cache")
    cache.put(kept, "k", FINDINGS)
    cache.put(gone, "k", FINDINGS)
    cache.save()
    stored = json.loads((tmp_path / "cache" / CACHE_FILE).read_text(encoding="utf-8"))
    assert list(stored["entries"]) == [str(kept)]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'{"format": 999, "entries": {}}', b"\xff\xfe\x00"],
    ids=["corrupt", "not-an-object", "other-format", "binary"],
)
def test_a_damaged_cache_is_treated_as_empty(tmp_path: Path, content: bytes) -> None:
    source = _source(tmp_path)
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / CACHE_FILE).write_bytes(content)
    cache = LintCache(folder)
    assert cache.get(source, "k") is None
    cache.put(source, "k", FINDINGS)
    cache.save()
    assert LintCache(folder).get(source, "k") == FINDINGS


def test_a_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    source = _source(tmp_path)
    folder = tmp_path / "cache"
    folder.mkdir()
    entries = {str(source): ["k", [["TW106", "three", 1, "m", None]]]}
    (folder / CACHE_FILE).write_text(json.dumps({"format": 1, "entries": entries}))
    assert LintCache(folder).get(source, "k") is None


def test_an_unwritable_cache_costs_speed_not_results(tmp_path: Path) -> None:
    source = _source(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    cache = LintCache(blocker / "lint")
    cache.put(source, "k", FINDINGS)
    cache.save()  # logged, not raised
    assert not (blocker / "lint").exists()


def test_default_folder_is_ignored_by_git(tmp_path: Path) -> None:
    source = _source(tmp_path)
    cache = LintCache(tmp_path / DEFAULT_CACHE_DIR)
    cache.put(source, "k", [])
    cache.save()
    gitignore = tmp_path / DEFAULT_CACHE_DIR.parts[0] / ".gitignore"
    assert gitignore.read_text(encoding="utf-8").splitlines()[-1] == "*"


def test_default_cache_dir_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    assert default_cache_dir(tmp_path) == tmp_path / DEFAULT_CACHE_DIR
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "elsewhere"))
    assert default_cache_dir(tmp_path) == tmp_path / "elsewhere"


# --- the cache inside a lint run ----------------------------------------------------------------

SMELLY = (
    "import torch\n\n\n"
    "def load(p: str) -> object:\n"
    "    return torch.load(p)\n\n\n"
    "def helper(x):  # no hints: TW110 comes from ruff\n"
    "    return x\n"
)


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "smelly.py").write_text(SMELLY, encoding="utf-8")
    (folder / "clean.py").write_text("VALUE = 1\n", encoding="utf-8")
    return folder


def _lint(folder: Path, cache: LintCache | None) -> tuple[Finding, ...]:
    report = Linter(LintSettings(root=folder), jobs=1, cache=cache).lint([folder], base=folder)
    return report.findings


def test_a_warm_run_reports_the_same_without_linting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _project(tmp_path)
    uncached = _lint(folder, None)
    assert {f.code for f in uncached} == {"TW108", "TW110"}
    assert _lint(folder, LintCache(tmp_path / "cache")) == uncached

    def no_linting(*_: object) -> None:
        raise AssertionError("a cached file was linted again")

    monkeypatch.setattr(engine, "_analyze_all", no_linting)
    monkeypatch.setattr(engine, "RuffRun", no_linting)
    warm = LintCache(tmp_path / "cache")
    assert _lint(folder, warm) == uncached
    assert (warm.hits, warm.misses) == (2, 0)
    assert all(f.hint for f in uncached)


def test_an_edited_file_is_linted_again_and_only_it(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    _lint(folder, LintCache(tmp_path / "cache"))
    (folder / "smelly.py").write_text(
        SMELLY.replace("torch.load(p)", "torch.load(p, weights_only=True)"), encoding="utf-8"
    )
    cache = LintCache(tmp_path / "cache")
    assert {f.code for f in _lint(folder, cache)} == {"TW110"}
    assert (cache.hits, cache.misses) == (1, 1)


def test_changed_settings_miss_the_cache(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    _lint(folder, LintCache(tmp_path / "cache"))
    cache = LintCache(tmp_path / "cache")
    settings = LintSettings(root=folder).with_cli(None, ["TW108"])
    report = Linter(settings, jobs=1, cache=cache).lint([folder], base=folder)
    assert {f.code for f in report.findings} == {"TW110"}
    assert cache.hits == 0


def test_cli_caches_by_default_and_no_cache_turns_it_off(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    runner = CliRunner()
    app = typer.Typer()
    app.command("lint")(lint_command)
    app.command("other")(lambda: None)
    (folder / "pyproject.toml").write_text("[tool.trainwell.lint]\n", encoding="utf-8")
    first = runner.invoke(app, ["lint", "--no-cache", str(folder)])
    assert first.exit_code == 1
    assert not (folder / DEFAULT_CACHE_DIR).exists()
    second = runner.invoke(app, ["lint", str(folder)])
    assert (second.exit_code, second.output) == (1, first.output)
    assert (folder / DEFAULT_CACHE_DIR / CACHE_FILE).is_file()  # next to pyproject.toml
    third = runner.invoke(app, ["lint", str(folder)])
    assert (third.exit_code, third.output) == (1, first.output)


def test_cache_settings_from_pyproject(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    (folder / "pyproject.toml").write_text(
        '[tool.trainwell.lint]\ncache-dir = "build/lint-cache"\n', encoding="utf-8"
    )
    settings = load_settings(None, folder)
    assert settings.cache_folder() == folder / "build" / "lint-cache"
    (folder / "pyproject.toml").write_text("[tool.trainwell.lint]\ncache = false\n")
    assert load_settings(None, folder).cache is False


def test_notebook_findings_keep_their_cell_through_the_cache(tmp_path: Path) -> None:
    code_cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# EDA"]},
        {**code_cell, "source": ["import torch\n"]},
        {**code_cell, "source": ["x = 1\n", "state = torch.load(p)\n"]},
    ]
    folder = tmp_path / "nb"
    folder.mkdir()
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "eda.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    first = _lint(folder, LintCache(tmp_path / "cache"))
    assert [(f.code, f.cell, f.line) for f in first] == [("TW108", 3, 2)]
    warm = LintCache(tmp_path / "cache")
    assert _lint(folder, warm) == first
    assert warm.hits == 1
