"""`[tool.trainwell.audit]`."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainwell.audit.settings import AuditSettings, load_audit_settings
from trainwell.errors import ConfigError


def test_defaults_and_section(tmp_path: Path) -> None:
    assert load_audit_settings(tmp_path).make_targets == ("install", "test", "lint", "format")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.trainwell.audit]\nignore = ["twa402"]\n'
        'make-targets = ["train"]\nlarge-file-mb = 50\n'
    )
    settings = load_audit_settings(tmp_path)
    assert settings.ignore == ("TWA402",)
    assert settings.make_targets == ("train",)
    assert settings.large_file_mb == 50
    assert "TWA402" not in settings.enabled(["TWA401", "TWA402"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.trainwell.audit]\nignore = ['TW108']\n", "TW108"),
        ("[tool.trainwell.audit]\nlarge-file-mb = -1\n", "large-file-mb"),
        ("[tool.trainwell.audit]\nunknown = 1\n", "unknown"),
    ],
)
def test_bad_config(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_audit_settings(tmp_path)


def test_cli_overrides() -> None:
    settings = AuditSettings().with_cli(["TWA1"], ["TWA106"])
    assert settings.enabled(["TWA101", "TWA106", "TWA201"]) == {"TWA101"}
    with pytest.raises(ConfigError, match="XYZ"):
        AuditSettings().with_cli(["XYZ"], None)
