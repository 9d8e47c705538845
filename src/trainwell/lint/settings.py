"""`[tool.trainwell.lint]` in pyproject.toml, and which rules are on.

Example::

    [tool.trainwell.lint]
    select = ["TW"]                      # codes or prefixes; default: every rule but opt-in ones
    extend-select = ["TW9"]              # added to select (TW9: the TorchFix rules, opt-in)
    ignore = ["TW106"]
    exclude = ["build/**", "legacy/*.py"]
    per-file-ignores = { "tests/**" = ["TW103", "TW106"] }
    notebooks = true                     # lint code cells of .ipynb files (their rule subset)
    exclude-generated = true             # skip *_pb2.py and "DO NOT EDIT" files in folders
    cache = true                         # skip files unchanged since the last run
    cache-dir = ".trainwell_cache/lint"  # relative to this file

Selection works like ruff's: the most specific matching entry of ``select``/``ignore`` wins,
and on a tie ``ignore`` wins. ``--select`` on the command line replaces ``select``; ``--ignore``
adds to ``ignore``; ``extend-select`` (``--extend-select``) adds to ``select``.

Opt-in rules (``Rule.default_enabled=False``, the TorchFix TW9xx ones) are on only when the
winning ``select`` entry names them or their group: ``TW9``, ``TW92`` or ``TW921`` turns TW921
on, ``TW`` and ``ALL`` do not.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from trainwell.errors import ConfigError
from trainwell.lint.cache import default_cache_dir
from trainwell.lint.rules import ALL_RULES

ALL_PREFIX = "ALL"
# a select entry must be longer than this ("TW") to turn on an opt-in rule
FAMILY_PREFIX_CHARS = len("TW")


class LintSettings(BaseModel):
    """The linter's configuration (pyproject ``[tool.trainwell.lint]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    select: tuple[str, ...] = Field(
        default=("TW",), description="Rule codes or prefixes to run (TW: all)."
    )
    extend_select: tuple[str, ...] = Field(
        default=(),
        alias="extend-select",
        description="Rule codes or prefixes to run on top of select (e.g. TW9, opt-in).",
    )
    ignore: tuple[str, ...] = Field(default=(), description="Rule codes or prefixes to skip.")
    exclude: tuple[str, ...] = Field(
        default=(), description="Glob patterns (relative to the config file) of files to skip."
    )
    per_file_ignores: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        alias="per-file-ignores",
        description="Glob pattern -> codes or prefixes ignored in matching files.",
    )
    notebooks: bool = Field(default=True, description="Lint code cells of .ipynb files.")
    exclude_generated: bool = Field(
        default=True,
        alias="exclude-generated",
        description="Skip generated code found in folders: protobuf/gRPC modules (*_pb2.py, "
        "*_pb2_grpc.py) and files whose first lines say 'DO NOT EDIT' or '@generated'. "
        "Files named on the command line are always linted.",
    )
    cache: bool = Field(
        default=True,
        description="Keep each file's findings keyed by its content, rules and tool versions, "
        "so unchanged files are not linted again (`--no-cache` turns it off for one run).",
    )
    cache_dir: Path | None = Field(
        default=None,
        alias="cache-dir",
        description="Where the cache lives, relative to the config file (default: "
        "$TRAINWELL_LINT_CACHE_DIR or .trainwell_cache/lint).",
    )
    root: Path = Field(
        default=Path(), exclude=True, description="Directory that patterns are relative to."
    )

    def cache_folder(self) -> Path:
        """The cache folder: ``cache-dir`` (relative to the config file) or the default."""
        if self.cache_dir is not None:
            return self.cache_dir if self.cache_dir.is_absolute() else self.root / self.cache_dir
        return default_cache_dir(self.root)

    def with_cli(
        self,
        select: Iterable[str] | None,
        ignore: Iterable[str] | None,
        extend_select: Iterable[str] | None = None,
    ) -> LintSettings:
        """These settings with ``--select`` (replaces), ``--ignore`` and ``--extend-select``
        (add) applied."""
        update: dict[str, tuple[str, ...]] = {}
        if select:
            update["select"] = tuple(split_codes(select))
        if ignore:
            update["ignore"] = self.ignore + tuple(split_codes(ignore))
        if extend_select:
            update["extend_select"] = self.extend_select + tuple(split_codes(extend_select))
        settings = self.model_copy(update=update)
        validate_codes(settings.select + settings.extend_select + settings.ignore)
        return settings

    def enabled_codes(self, extra_ignore: Iterable[str] = ()) -> frozenset[str]:
        """The rule codes that are on (optionally with more ignores, e.g. per-file).

        An opt-in rule counts only the select entries that name it or its group (not ``TW``
        or ``ALL``).
        """
        ignore = (*self.ignore, *extra_ignore)
        select = (*self.select, *self.extend_select)
        explicit = tuple(
            entry for entry in select if entry != ALL_PREFIX and len(entry) > FAMILY_PREFIX_CHARS
        )
        return frozenset(
            code
            for code, rule in ALL_RULES.items()
            if is_selected(code, select if rule.default_enabled else explicit, ignore)
        )

    def file_ignores(self, path: Path) -> tuple[str, ...]:
        """The per-file-ignores entries whose pattern matches ``path``."""
        if not self.per_file_ignores:
            return ()
        relative = relative_posix(path, self.root)
        out: list[str] = []
        for pattern, codes in self.per_file_ignores.items():
            if glob_match(relative, pattern):
                out.extend(codes)
        return tuple(out)

    def is_excluded(self, path: Path) -> bool:
        """Whether ``path`` matches one of the ``exclude`` patterns."""
        if not self.exclude:
            return False
        relative = relative_posix(path, self.root)
        return any(glob_match(relative, pattern) for pattern in self.exclude)


def relative_posix(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it, as a POSIX string."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def glob_match(relative: str, pattern: str) -> bool:
    """Match a POSIX relative path against a glob (``**`` spans folders; a bare name matches
    any path component, like ``tests`` or ``*.ipynb``)."""
    if fnmatch.fnmatchcase(relative, pattern):
        return True
    if pattern.endswith("/**") and (relative + "/").startswith(pattern[: -len("**")]):
        return True
    if "/" not in pattern:
        return any(fnmatch.fnmatchcase(part, pattern) for part in relative.split("/"))
    return False


def split_codes(values: Iterable[str]) -> list[str]:
    """``["TW1,TW2", "TW3"]`` -> ``["TW1", "TW2", "TW3"]`` (upper-cased, blanks dropped)."""
    return [part.strip().upper() for value in values for part in value.split(",") if part.strip()]


def validate_codes(codes: Iterable[str]) -> None:
    """Raise ConfigError for an entry that is neither a known code nor a prefix of one."""
    for code in codes:
        if code == ALL_PREFIX:
            continue
        if not any(known.startswith(code) for known in ALL_RULES):
            raise ConfigError(
                f"unknown rule code or prefix {code!r}; `trainwell lint --explain TW` lists them"
            )


def _specificity(code: str, entries: Iterable[str]) -> int:
    best = -1
    for entry in entries:
        if entry == ALL_PREFIX:
            best = max(best, 0)
        elif code.startswith(entry):
            best = max(best, len(entry))
    return best


def is_selected(code: str, select: Iterable[str], ignore: Iterable[str]) -> bool:
    """Whether ``code`` is on: the longest matching select entry beats shorter ignores."""
    chosen = _specificity(code, select)
    if chosen < 0:
        return False
    return chosen > _specificity(code, ignore)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` (a file or a folder)."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            return pyproject
    return None


def read_tool_section(pyproject: Path, tool: str) -> dict[str, object]:
    """``[tool.trainwell.<tool>]`` of a pyproject.toml, ``{}`` when absent."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read {pyproject}: {e}") from e
    section: object = data.get("tool", {})
    for key in ("trainwell", tool):
        section = section.get(key, {}) if isinstance(section, dict) else {}
    if not isinstance(section, dict):
        raise ConfigError(f"{pyproject}: [tool.trainwell.{tool}] must be a table")
    return section


def load_settings(config: Path | None, start: Path) -> LintSettings:
    """Settings from ``config`` (a pyproject.toml) or the nearest pyproject above ``start``.

    Raises:
        ConfigError: the file is unreadable, the section has an unknown key or a bad value,
            or a code is unknown.
    """
    pyproject = config if config is not None else find_pyproject(start)
    if config is not None and not config.is_file():
        raise ConfigError(f"config file not found: {config}")
    if pyproject is None:
        return LintSettings()
    section = read_tool_section(pyproject, "lint")
    try:
        settings = LintSettings.model_validate({**section, "root": pyproject.parent})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{pyproject}: [tool.trainwell.lint] {where}: {first['msg']}") from e
    codes = [*settings.select, *settings.extend_select, *settings.ignore]
    for entries in settings.per_file_ignores.values():
        codes.extend(entries)
    validate_codes(code.upper() for code in codes)
    return settings.model_copy(
        update={
            "select": tuple(split_codes(settings.select)),
            "extend_select": tuple(split_codes(settings.extend_select)),
            "ignore": tuple(split_codes(settings.ignore)),
            "per_file_ignores": {
                k: tuple(split_codes(v)) for k, v in settings.per_file_ignores.items()
            },
        }
    )
