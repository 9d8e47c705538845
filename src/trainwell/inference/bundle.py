"""The model bundle: one directory that every command after `train` reads.

Layout::

    <bundle>/
      manifest.json        trainwell version, task, architecture, run id, data fingerprint,
                           config hash, environment, split strategy and sizes, each
                           categorical column's encoding (``categorical_encoding``), the refit
                           of the saved model (``refit``: rows and splits, or null), sha256 of
                           every other file
      config.yaml          the resolved experiment config
      schema.json          the input schema (feature columns, kinds, categories, classes)
      preprocessing.skops  the fitted ColumnTransformer (skops, never pickle)
      model/...            the model in its safe format (skops / native GBM / safetensors)
      metrics.json         test and validation metrics beside the baseline's
      decision.json        the architecture decision and its reason
      checks.json          the pre-training checklist result
      reference.json       tables: the training reference `serve` measures drift against
                           (``trainwell.inference.drift``; absent in older bundles)

The bundle is written into a temporary sibling directory and renamed into place, so a crash
never leaves a half-written bundle. Loading re-hashes every file and refuses any difference.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trainwell.data.table import PREPROCESSING_FILE, SCHEMA_FILE
from trainwell.errors import BundleError, ConfigError
from trainwell.utils.environment import sha256_file
from trainwell.utils.files import write_json
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

MANIFEST_FILE = "manifest.json"
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.json"
DECISION_FILE = "decision.json"
CHECKS_FILE = "checks.json"
# optional: a bundle without it (older, or an image bundle) serves with drift monitoring off
REFERENCE_FILE = "reference.json"
MODEL_DIR = "model"
BUNDLE_FORMAT_VERSION = 1
# Every bundle holds these; its task's modality adds its input files (``Modality.input_files``).
REQUIRED_FILES = (CONFIG_FILE, METRICS_FILE)
__all__ = [
    "CHECKS_FILE",
    "CONFIG_FILE",
    "DECISION_FILE",
    "METRICS_FILE",
    "MODEL_DIR",
    "PREPROCESSING_FILE",
    "REFERENCE_FILE",
    "SCHEMA_FILE",
    "VerifiedBundle",
    "verify_bundle",
    "write_bundle",
    "write_json",
]


def _relative_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def write_bundle(destination: Path, fill: Callable[[Path], None], manifest: dict[str, Any]) -> Path:
    """Create the bundle at ``destination`` atomically.

    Args:
        destination: the final bundle directory; must not exist yet.
        fill: writes every bundle file (except the manifest) into the directory it is given.
        manifest: manifest fields; ``files`` (name -> sha256) and ``created_at`` are added.

    Raises:
        BundleError: the destination exists.
    """
    if destination.exists():
        raise BundleError(f"bundle already exists: {destination}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        fill(staging)
        files = {name: sha256_file(staging / name) for name in _relative_files(staging)}
        full = {
            **manifest,
            "format_version": BUNDLE_FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(),
            "files": files,
        }
        write_json(staging / MANIFEST_FILE, full)
        staging.replace(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("bundle_written", path=str(destination), files=len(files))
    return destination


def update_bundle(
    path: Path,
    add: Callable[[Path], None],
    update_manifest: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    """Add files to a verified bundle and record them, all or nothing.

    The bundle is copied into a temporary sibling, ``add`` writes the new files into the copy,
    the manifest is rewritten there with every file's sha256 (and ``update_manifest``'s
    fields), and the copy replaces the bundle by renames: readers see the old bundle or the new
    one, never a mix. A crash between the two renames leaves the old bundle at
    ``.<name>.old-*`` beside it.

    Raises:
        BundleError: the bundle does not verify.
    """
    manifest = verify_bundle(path).manifest
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    retired = staging.with_name(staging.name.replace(f".{path.name}.", f".{path.name}.old-", 1))
    try:
        shutil.copytree(path, staging, dirs_exist_ok=True)
        add(staging)
        (staging / MANIFEST_FILE).unlink()
        files = {name: sha256_file(staging / name) for name in _relative_files(staging)}
        write_json(staging / MANIFEST_FILE, {**update_manifest(manifest), "files": files})
        path.replace(retired)
        staging.replace(path)
    except BaseException:
        if retired.exists() and not path.exists():
            retired.replace(path)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    logger.info("bundle_updated", path=str(path), files=len(files))


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose files were all checked against the manifest."""

    path: Path
    manifest: dict[str, Any]

    def read_json(self, name: str) -> Any:
        """Parse one JSON file of the bundle."""
        return json.loads((self.path / name).read_text(encoding="utf-8"))


def _check_format_version(path: Path, version: object) -> None:
    """Refuse a manifest without an integer ``format_version``, or one newer than this code."""
    # bool is an int subclass; `true` in a manifest is corruption, not version 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        found = "is missing" if version is None else f"must be a positive integer, got {version!r}"
        raise BundleError(f"{path}: {MANIFEST_FILE} is corrupt: format_version {found}")
    if version > BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"bundle {path} was written by a newer trainwell (format_version {version}, "
            f"this version reads up to {BUNDLE_FORMAT_VERSION}): upgrade trainwell"
        )


def verify_bundle(path: Path) -> VerifiedBundle:
    """Check that ``path`` is a complete, unaltered bundle this version can read.

    Raises:
        BundleError: missing directory or manifest, a missing or non-integer
            ``format_version`` or one newer than :data:`BUNDLE_FORMAT_VERSION`, a missing,
            extra or altered file.
    """
    if not path.is_dir():
        raise BundleError(f"bundle not found: {path} (expected a directory written by train)")
    manifest_path = path / MANIFEST_FILE
    try:
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BundleError(f"{path} is not a trainwell bundle: {MANIFEST_FILE} is missing") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: {MANIFEST_FILE} is corrupt: {exc}") from exc
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: {MANIFEST_FILE} is corrupt: expected an object")
    _check_format_version(path, manifest.get("format_version"))
    expected: dict[str, str] = manifest.get("files", {})
    if not isinstance(expected, dict) or not expected:
        raise BundleError(f"{path}: {MANIFEST_FILE} lists no files")
    present = set(_relative_files(path)) - {MANIFEST_FILE}
    missing = sorted(set(expected) - present)
    if missing:
        raise BundleError(f"bundle {path} is incomplete: missing {', '.join(missing)}")
    extra = sorted(present - set(expected))
    if extra:
        raise BundleError(f"bundle {path} was altered: unexpected file(s) {', '.join(extra)}")
    altered = sorted(
        name for name, digest in expected.items() if sha256_file(path / name) != digest
    )
    if altered:
        raise BundleError(
            f"bundle {path} was altered: sha256 mismatch for {', '.join(altered)} "
            "(retrain or restore the original files)"
        )
    for name in (*REQUIRED_FILES, *_input_files(path, manifest)):
        if name not in expected:
            raise BundleError(f"bundle {path} is incomplete: {name} is not in the manifest")
    return VerifiedBundle(path=path, manifest=manifest)


def _input_files(path: Path, manifest: dict[str, Any]) -> tuple[str, ...]:
    from trainwell.tasks import get_task

    try:
        return get_task(str(manifest.get("task", ""))).modality.input_files
    except ConfigError as exc:
        raise BundleError(f"bundle {path}: {exc}") from exc
