"""`[tool.trainwell.audit]` in pyproject.toml.

Example::

    [tool.trainwell.audit]
    ignore = ["TWA402"]                       # codes or prefixes
    make-targets = ["install", "test", "lint", "format", "train"]
    large-file-mb = 20
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trainwell.errors import ConfigError
from trainwell.lint.settings import is_selected, read_tool_section, split_codes

DEFAULT_MAKE_TARGETS = ("install", "test", "lint", "format")
DEFAULT_LARGE_FILE_MB = 10


class AuditSettings(BaseModel):
    """The audit's configuration."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    select: tuple[str, ...] = Field(default=("TWA",), description="Codes or prefixes to run.")
    ignore: tuple[str, ...] = Field(default=(), description="Codes or prefixes to skip.")
    make_targets: tuple[str, ...] = Field(
        default=DEFAULT_MAKE_TARGETS,
        alias="make-targets",
        description="Targets the Makefile must define.",
    )
    large_file_mb: float = Field(
        default=DEFAULT_LARGE_FILE_MB,
        gt=0,
        alias="large-file-mb",
        description="Committed files above this size are reported.",
    )

    def enabled(self, codes: Iterable[str]) -> frozenset[str]:
        """The codes among ``codes`` that are on."""
        return frozenset(c for c in codes if is_selected(c, self.select, self.ignore))

    def with_cli(self, select: Iterable[str] | None, ignore: Iterable[str] | None) -> AuditSettings:
        """``--select`` replaces, ``--ignore`` adds."""
        update: dict[str, tuple[str, ...]] = {}
        if select:
            update["select"] = tuple(split_codes(select))
        if ignore:
            update["ignore"] = self.ignore + tuple(split_codes(ignore))
        settings = self.model_copy(update=update)
        validate_audit_codes([*settings.select, *settings.ignore])
        return settings


def validate_audit_codes(codes: Iterable[str]) -> None:
    """Raise ConfigError for an entry that is not an audit code or a prefix of one."""
    from trainwell.audit.checks import AUDIT_RULES

    for code in codes:
        if code != "ALL" and not any(known.startswith(code) for known in AUDIT_RULES):
            raise ConfigError(
                f"unknown audit code or prefix {code!r}; `trainwell audit --explain TWA` lists them"
            )


def load_audit_settings(root: Path, config: Path | None = None) -> AuditSettings:
    """Settings from ``config`` or the project's own pyproject.toml (defaults when absent).

    Raises:
        ConfigError: unreadable file, unknown key, bad value or unknown code.
    """
    pyproject = config if config is not None else root / "pyproject.toml"
    if config is not None and not config.is_file():
        raise ConfigError(f"config file not found: {config}")
    if not pyproject.is_file():
        return AuditSettings()
    section = read_tool_section(pyproject, "audit")
    try:
        settings = AuditSettings.model_validate(section)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{pyproject}: [tool.trainwell.audit] {where}: {first['msg']}") from e
    settings = settings.model_copy(
        update={
            "select": tuple(split_codes(settings.select)),
            "ignore": tuple(split_codes(settings.ignore)),
        }
    )
    validate_audit_codes([*settings.select, *settings.ignore])
    return settings
