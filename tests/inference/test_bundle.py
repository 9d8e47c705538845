"""The model bundle: atomic writes, a sha256 manifest, and verification that refuses tampering."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from trainwell.errors import BundleError
from trainwell.inference.bundle import (
    BUNDLE_FORMAT_VERSION,
    MANIFEST_FILE,
    VerifiedBundle,
    verify_bundle,
    write_bundle,
)

FILES = {
    "config.yaml": b"data:\n  path: sklearn:iris\n",
    "schema.json": b'{"columns": []}\n',
    "preprocessing.skops": b"\x00skops-bytes\x01" * 64,
    "metrics.json": b'{"test": {"accuracy": 0.9}}\n',
    "model/model.skops": b"\x02model-bytes\x03" * 128,
}
MANIFEST = {"task": "tabular-classification", "architecture": "sklearn-hgb", "run_id": None}


def fill_with(files: dict[str, bytes]) -> Callable[[Path], None]:
    def fill(directory: Path) -> None:
        for name, content in files.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(content)

    return fill


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    return write_bundle(tmp_path / "models" / "iris-1", fill_with(FILES), MANIFEST)


def manifest_of(path: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    return manifest


def refusal(path: Path) -> str:
    with pytest.raises(BundleError) as exc:
        verify_bundle(path)
    return str(exc.value)


def test_write_bundle_lists_the_sha256_of_every_file(bundle: Path) -> None:
    manifest = manifest_of(bundle)
    assert manifest["files"] == {
        name: hashlib.sha256(content).hexdigest() for name, content in FILES.items()
    }
    assert manifest["format_version"] == BUNDLE_FORMAT_VERSION
    assert datetime.fromisoformat(str(manifest["created_at"])).tzinfo is not None
    assert {k: manifest[k] for k in MANIFEST} == MANIFEST
    assert sorted(p.name for p in bundle.iterdir()) == [
        "config.yaml",
        "manifest.json",
        "metrics.json",
        "model",
        "preprocessing.skops",
        "schema.json",
    ]


def test_write_bundle_leaves_no_staging_directory(bundle: Path) -> None:
    assert [p.name for p in bundle.parent.iterdir()] == ["iris-1"]


def test_manifest_json_has_sorted_keys(bundle: Path) -> None:
    text = (bundle / MANIFEST_FILE).read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failed_fill_leaves_nothing_behind(tmp_path: Path, error: BaseException) -> None:
    def fill(directory: Path) -> None:
        (directory / "config.yaml").write_text("half", encoding="utf-8")
        raise error

    parent = tmp_path / "models"
    with pytest.raises(type(error)):
        write_bundle(parent / "b", fill, MANIFEST)
    assert list(parent.iterdir()) == []


def test_existing_destination_is_refused_before_filling(bundle: Path) -> None:
    calls: list[Path] = []
    with pytest.raises(BundleError) as exc:
        write_bundle(bundle, calls.append, MANIFEST)
    assert str(exc.value) == f"bundle already exists: {bundle}"
    assert calls == []
    verify_bundle(bundle)  # the existing bundle is untouched


def test_verify_accepts_an_untouched_bundle(bundle: Path) -> None:
    verified = verify_bundle(bundle)
    assert isinstance(verified, VerifiedBundle)
    assert verified.path == bundle
    assert verified.manifest == manifest_of(bundle)
    assert verified.read_json("metrics.json") == {"test": {"accuracy": 0.9}}


def test_verify_refuses_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "nope"
    assert refusal(path) == f"bundle not found: {path} (expected a directory written by train)"


def test_verify_refuses_a_file_instead_of_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"PK")
    assert refusal(path).startswith(f"bundle not found: {path}")


def test_verify_refuses_a_missing_manifest(bundle: Path) -> None:
    (bundle / MANIFEST_FILE).unlink()
    assert refusal(bundle) == f"{bundle} is not a trainwell bundle: manifest.json is missing"


def test_verify_refuses_a_corrupt_manifest(bundle: Path) -> None:
    (bundle / MANIFEST_FILE).write_text('{"files": {', encoding="utf-8")
    assert refusal(bundle).startswith(f"{bundle}: manifest.json is corrupt: ")


@pytest.mark.parametrize("files", [{}, [], "config.yaml"])
def test_verify_refuses_a_manifest_without_files(bundle: Path, files: object) -> None:
    manifest = manifest_of(bundle)
    (bundle / MANIFEST_FILE).write_text(json.dumps({**manifest, "files": files}), encoding="utf-8")
    assert refusal(bundle) == f"{bundle}: manifest.json lists no files"


@pytest.mark.parametrize("content", ["[]", '"files"', "42"])
def test_verify_refuses_a_manifest_that_is_not_an_object(bundle: Path, content: str) -> None:
    (bundle / MANIFEST_FILE).write_text(content, encoding="utf-8")
    assert refusal(bundle).startswith(f"{bundle}: manifest.json")


def test_verify_refuses_an_altered_file(bundle: Path) -> None:
    (bundle / "metrics.json").write_bytes(b'{"test": {"accuracy": 1.0}}\n')
    assert refusal(bundle) == (
        f"bundle {bundle} was altered: sha256 mismatch for metrics.json "
        "(retrain or restore the original files)"
    )


def test_verify_refuses_a_truncated_nested_file(bundle: Path) -> None:
    model = bundle / "model" / "model.skops"
    model.write_bytes(model.read_bytes()[:100])
    assert "sha256 mismatch for model/model.skops" in refusal(bundle)


def test_verify_refuses_an_extra_file(bundle: Path) -> None:
    (bundle / "model" / "backdoor.pkl").write_bytes(b"\x80\x04")
    assert refusal(bundle) == (
        f"bundle {bundle} was altered: unexpected file(s) model/backdoor.pkl"
    )


def test_verify_refuses_a_missing_file(bundle: Path) -> None:
    (bundle / "schema.json").unlink()
    assert refusal(bundle) == f"bundle {bundle} is incomplete: missing schema.json"


def test_verify_refuses_a_manifest_edited_to_match_a_removed_file(bundle: Path) -> None:
    manifest = manifest_of(bundle)
    files = dict(manifest["files"])
    del files["metrics.json"]
    (bundle / "metrics.json").unlink()
    (bundle / MANIFEST_FILE).write_text(json.dumps({**manifest, "files": files}), encoding="utf-8")
    assert refusal(bundle) == f"bundle {bundle} is incomplete: metrics.json is not in the manifest"


def test_bundle_without_a_required_file_is_refused(tmp_path: Path) -> None:
    files = {k: v for k, v in FILES.items() if k != "preprocessing.skops"}
    path = write_bundle(tmp_path / "b", fill_with(files), MANIFEST)
    assert refusal(path) == (
        f"bundle {path} is incomplete: preprocessing.skops is not in the manifest"
    )
