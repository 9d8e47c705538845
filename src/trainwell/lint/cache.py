"""A per-file result cache for `trainwell lint`, keyed by content.

A file's findings depend only on its bytes, its path (test files and CLI modules are judged
differently), the rules on for it, and the code that judges it: trainwell's rules and the
delegated tools. :func:`file_key` hashes all of that, so an unchanged file is never parsed again
and a changed rule, tool or setting misses the cache by construction; no timestamps are trusted.

The cache is one JSON file (``results.json`` in the cache folder, by default
``.trainwell_cache/lint`` next to the project's pyproject.toml), holding for each absolute path the
key it was linted under and its finished findings (after ``# noqa`` and per-file ignores). It is
written atomically; a missing, unreadable or foreign file is treated as empty and rebuilt, and a
cache that cannot be written costs speed, never a lint result.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from trainwell import __version__
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

CACHE_FORMAT = 1
CACHE_FILE = "results.json"
DEFAULT_CACHE_DIR = Path(".trainwell_cache") / "lint"  # noqa: TW102 - default; cache-dir / env override
CACHE_DIR_ENV = "TRAINWELL_LINT_CACHE_DIR"
_FIELDS_PER_FINDING = 5  # code, line, column, message, cell
_FIELDS_PER_ENTRY = 2  # key, findings
FINGERPRINT_BYTES = 16
KEY_BYTES = 20
_LINT_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CachedFinding:
    """A finished finding without its displayed path and hint (both are derived on output)."""

    code: str
    line: int
    column: int
    message: str
    cell: int | None = None

    def as_row(self) -> list[str | int | None]:
        """The compact JSON form: ``[code, line, column, message, cell]``."""
        return [self.code, self.line, self.column, self.message, self.cell]


def _identity(path: Path) -> str:
    """A file's name, size and modification time (how a tool's or a rule's code is told
    apart without reading it); empty when it does not exist."""
    try:
        stat = path.stat()
    except OSError:
        return ""
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def code_fingerprint(tools: Iterable[Path | None] = ()) -> str:
    """What the results depend on besides the file: trainwell's version, the Python that parses,
    every module of the lint package, and the delegated tools' executables."""
    parts = [
        f"format={CACHE_FORMAT}",
        f"trainwell={__version__}",
        f"python={sys.version_info.major}.{sys.version_info.minor}",
    ]
    parts.extend(_identity(p) for p in sorted(_LINT_PACKAGE.glob("*.py")))
    parts.extend(_identity(tool) for tool in tools if tool is not None)
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=FINGERPRINT_BYTES).hexdigest()


def file_key(fingerprint: str, path: Path, data: bytes, options: Sequence[str]) -> str:
    """The cache key of one file: code fingerprint, path, the options it is linted with
    (enabled codes, delegated codes), and its content."""
    digest = hashlib.blake2b(digest_size=KEY_BYTES)
    digest.update(fingerprint.encode())
    digest.update(b"\0")
    digest.update(str(path).encode("utf-8", errors="surrogateescape"))
    digest.update(b"\0")
    digest.update(",".join(options).encode())
    digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()


def default_cache_dir(root: Path) -> Path:
    """``$TRAINWELL_LINT_CACHE_DIR``, else ``.trainwell_cache/lint`` under ``root``."""
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override) if override else root / DEFAULT_CACHE_DIR


def _parse_row(row: object) -> CachedFinding | None:
    if not isinstance(row, list) or len(row) != _FIELDS_PER_FINDING:
        return None
    code, line, column, message, cell = row
    if not (
        isinstance(code, str)
        and isinstance(line, int)
        and isinstance(column, int)
        and isinstance(message, str)
        and (cell is None or isinstance(cell, int))
    ):
        return None
    return CachedFinding(code, line, column, message, cell)


class LintCache:
    """The cache of one project (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.file = directory / CACHE_FILE
        self._entries: dict[str, list[object]] = {}
        self._changed = False
        self.hits = 0
        self.misses = 0
        self._load()

    def _load(self) -> None:
        try:
            raw = self.file.read_bytes()
        except FileNotFoundError:
            return
        except OSError as e:
            logger.warning("lint_cache_unreadable", path=str(self.file), error=str(e))
            return
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            logger.warning("lint_cache_corrupt", path=str(self.file), error=str(e))
            return
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            logger.info("lint_cache_format_changed", path=str(self.file))
            return
        entries = data.get("entries")
        if isinstance(entries, dict):
            self._entries = entries

    def get(self, path: Path, key: str) -> list[CachedFinding] | None:
        """The findings stored for ``path`` under ``key``; None on a miss (or a damaged entry)."""
        entry = self._entries.get(str(path))
        if not (isinstance(entry, list) and len(entry) == _FIELDS_PER_ENTRY):
            self.misses += 1
            return None
        stored_key, rows = entry
        if stored_key != key or not isinstance(rows, list):
            self.misses += 1
            return None
        out: list[CachedFinding] = []
        for row in rows:
            parsed = _parse_row(row)
            if parsed is None:
                self.misses += 1
                return None
            out.append(parsed)
        self.hits += 1
        return out

    def put(self, path: Path, key: str, findings: Iterable[CachedFinding]) -> None:
        """Store a file's finished findings under ``key`` (replacing what the path had)."""
        self._entries[str(path)] = [key, [f.as_row() for f in findings]]
        self._changed = True

    def save(self) -> None:
        """Write the cache atomically, dropping files that no longer exist. Failing to write is
        logged, not raised: the cache only ever costs or saves time."""
        if not self._changed:
            return
        entries = {path: entry for path, entry in self._entries.items() if Path(path).exists()}
        payload = json.dumps(
            {"format": CACHE_FORMAT, "entries": entries}, separators=(",", ":")
        ).encode()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            gitignore = self.directory.parent / ".gitignore"
            if self.directory.parent.name == DEFAULT_CACHE_DIR.parts[0] and not gitignore.exists():
                gitignore.write_text("# created by trainwell lint\n*\n", encoding="utf-8")
            _write_atomically(self.file, payload)
        except OSError as e:
            logger.warning("lint_cache_not_written", path=str(self.file), error=str(e))
            return
        self._changed = False
        logger.debug("lint_cache_saved", path=str(self.file), files=len(entries))


def _write_atomically(target: Path, payload: bytes) -> None:
    """Write through a temporary file in the same folder, then rename (readers never see half a
    file; the temporary file is removed if writing fails).

    Raises:
        OSError: the folder is not writable or the disk is full.
    """
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".results-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
        Path(temporary).replace(target)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise
