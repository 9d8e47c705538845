"""`[tool.trainwell.lint]` and rule selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainwell.errors import ConfigError
from trainwell.lint.settings import (
    LintSettings,
    glob_match,
    is_selected,
    load_settings,
    split_codes,
)


def test_most_specific_entry_wins_and_ignore_wins_ties() -> None:
    assert is_selected("TW106", ["TW"], [])
    assert not is_selected("TW106", ["TW"], ["TW1"])
    assert is_selected("TW106", ["TW106"], ["TW1"])
    assert not is_selected("TW106", ["TW106"], ["TW106"])
    assert not is_selected("TW201", ["TW1"], [])
    assert is_selected("TW201", ["ALL"], [])


def test_cli_select_replaces_and_ignore_adds() -> None:
    settings = LintSettings(select=("TW1",), ignore=("TW106",))
    updated = settings.with_cli(["TW2,TW108"], ["TW201"])
    assert updated.select == ("TW2", "TW108")
    assert updated.ignore == ("TW106", "TW201")
    enabled = updated.enabled_codes()
    assert "TW108" in enabled and "TW202" in enabled
    assert "TW201" not in enabled and "TW106" not in enabled and "TW101" not in enabled


def test_unknown_codes_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TW999"):
        LintSettings().with_cli(["TW999"], None)
    assert split_codes([" tw1 , TW2", ""]) == ["TW1", "TW2"]


def test_load_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.trainwell.lint]\n"
        'select = ["TW1", "tw2"]\n'
        'ignore = ["TW106"]\n'
        'exclude = ["legacy/**"]\n'
        'per-file-ignores = { "tests/**" = ["TW103"] }\n'
    )
    (tmp_path / "src").mkdir()
    settings = load_settings(None, tmp_path / "src")
    assert settings.select == ("TW1", "TW2")
    assert settings.root == tmp_path
    assert settings.is_excluded(tmp_path / "legacy" / "old.py")
    assert not settings.is_excluded(tmp_path / "src" / "new.py")
    assert settings.file_ignores(tmp_path / "tests" / "test_a.py") == ("TW103",)
    assert settings.file_ignores(tmp_path / "src" / "a.py") == ()


def test_no_pyproject_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, tmp_path)
    assert settings.select == ("TW",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.trainwell.lint]\nselct = ['TW1']\n", "selct"),
        ("[tool.trainwell.lint]\nselect = 'TW1'\n", "select"),
        ("[tool.trainwell.lint]\nignore = ['XX1']\n", "XX1"),
        ("[tool.trainwell.lint\n", "cannot read"),
        ("[tool.trainwell]\nlint = 3\n", "must be a table"),
    ],
)
def test_bad_sections_are_one_clear_config_error(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config, tmp_path)


def test_explicit_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml", tmp_path)


def test_glob_match() -> None:
    assert glob_match("tests/lint/test_a.py", "tests/**")
    assert glob_match("src/a/legacy.py", "*/a/legacy.py")
    assert glob_match("src/notebooks/x.py", "notebooks")
    assert glob_match("deep/x.ipynb", "*.ipynb")
    assert not glob_match("src/a.py", "tests/**")
