"""Bundles written by a released trainwell keep loading and predicting identically.

``tests/fixtures/bundles/v1-*/`` hold bundles written by the released code (commit ef163e7,
bundle ``format_version`` 1), each beside a fixed input (15 iris rows: every 10th row, feature
columns only) and the ``trainwell predict`` output that code wrote for it. The current code must
read those bundles and write the same CSV, byte for byte. A failure here means users' saved
bundles would predict differently (or not at all) after upgrading: fix the code, never the
expected files. Regenerate them only with the released code, from a scratch directory::

    git worktree add /tmp/bundle-head ef163e7
    PYTHONPATH=/tmp/bundle-head/src python -m trainwell.cli train data.path=sklearn:iris \\
        model.architecture=sklearn-linear tracking.enabled=false name=iris-linear
    PYTHONPATH=/tmp/bundle-head/src python -m trainwell.cli train data.path=sklearn:iris \\
        model.architecture=mlp training.epochs=5 training.batch_size=16 \\
        'model.params.hidden_dims=[64,64]' tracking.enabled=false name=iris-mlp
    PYTHONPATH=/tmp/bundle-head/src python -m trainwell.cli predict models/<bundle> \\
        -i input.csv -o expected.csv

The probabilities are compared exactly (pandas writes the shortest round-trip repr of every
float). They are computed on the CPU; a different BLAS or CPU vector unit could in principle
move the last digit, which the labels-and-columns assertions that run first tell apart from a
real change.

The same fixtures check the format-version gate: a bundle from a newer trainwell is refused
with one line that says to upgrade.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trainwell.cli import app
from trainwell.errors import BundleError
from trainwell.inference.bundle import BUNDLE_FORMAT_VERSION, MANIFEST_FILE, verify_bundle
from trainwell.inference.predictor import Predictor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bundles"
OLD_BUNDLES = ("v1-sklearn-linear-iris", "v1-mlp-iris")
EXIT_BAD_INPUT = 2
ABSENT = object()  # the manifest has no format_version key at all

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def copy_bundle(name: str, tmp_path: Path) -> Path:
    """A private copy of a fixture bundle, so nothing a load might write touches the repo."""
    return Path(shutil.copytree(FIXTURES / name / "bundle", tmp_path / name))


def read_manifest(bundle: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((bundle / MANIFEST_FILE).read_text(encoding="utf-8"))
    return manifest


def write_manifest(bundle: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (bundle / MANIFEST_FILE).write_text(text, encoding="utf-8")


def newer_message(bundle: Path, version: int) -> str:
    return (
        f"bundle {bundle} was written by a newer trainwell (format_version {version}, "
        f"this version reads up to {BUNDLE_FORMAT_VERSION}): upgrade trainwell"
    )


# --- old bundles predict exactly as they did -------------------------------------------------


@pytest.mark.parametrize("name", OLD_BUNDLES)
def test_fixture_is_a_format_version_1_bundle(name: str) -> None:
    manifest = read_manifest(FIXTURES / name / "bundle")
    assert manifest["format_version"] == 1
    assert manifest["trainwell_version"] == "0.1.0"
    assert MANIFEST_FILE not in manifest["files"]  # editing the manifest breaks no hash


@pytest.mark.parametrize("name", OLD_BUNDLES)
def test_old_bundle_predicts_the_stored_output(name: str, tmp_path: Path) -> None:
    bundle = copy_bundle(name, tmp_path)
    output = tmp_path / "predictions.csv"
    code, out = invoke(
        "predict", str(bundle), "-i", str(FIXTURES / name / "input.csv"), "-o", str(output)
    )
    assert code == 0, out

    expected_path = FIXTURES / name / "expected.csv"
    expected, actual = pd.read_csv(expected_path), pd.read_csv(output)
    assert list(actual.columns) == list(expected.columns)
    assert actual["prediction"].tolist() == expected["prediction"].tolist()
    # The same numbers up to rounding: the fixtures were written on an AVX-512 CPU, and BLAS /
    # torch float32 kernels round differently on AVX2 (measured: <= 2e-7 relative for the MLP,
    # 1 ulp for the linear model), so the file is not byte-identical across machines. A real
    # format or preprocessing change moves probabilities by orders of magnitude more.
    numeric = [c for c in expected.columns if c != "prediction"]
    np.testing.assert_allclose(
        actual[numeric].to_numpy(), expected[numeric].to_numpy(), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("name", OLD_BUNDLES)
def test_old_bundle_loads_and_predicts_in_memory(name: str, tmp_path: Path) -> None:
    bundle = copy_bundle(name, tmp_path)
    predictor = Predictor.load(bundle)
    frame = pd.read_csv(FIXTURES / name / "input.csv")
    # the schema stores class labels as strings, so in memory the labels are strings too
    expected = pd.read_csv(FIXTURES / name / "expected.csv", dtype={"prediction": str})
    predictions = predictor.predict_frame(frame).reset_index(drop=True)
    assert all(isinstance(label, str) for label in predictions["prediction"])
    # rounding differs across CPUs: see test_old_bundle_predicts_the_stored_output
    pd.testing.assert_frame_equal(
        predictions, expected, check_exact=False, rtol=1e-5, atol=1e-7, check_dtype=False
    )


# --- the format-version gate -----------------------------------------------------------------


@pytest.mark.parametrize("version", [BUNDLE_FORMAT_VERSION + 1, 17])
def test_a_bundle_from_a_newer_trainwell_is_refused(version: int, tmp_path: Path) -> None:
    bundle = copy_bundle("v1-sklearn-linear-iris", tmp_path)
    write_manifest(bundle, {**read_manifest(bundle), "format_version": version})
    with pytest.raises(BundleError) as exc:
        verify_bundle(bundle)
    assert str(exc.value) == newer_message(bundle, version)
    with pytest.raises(BundleError) as exc:
        Predictor.load(bundle)
    assert str(exc.value) == newer_message(bundle, version)


def test_predict_cli_refuses_a_newer_bundle_in_one_line(tmp_path: Path) -> None:
    bundle = copy_bundle("v1-sklearn-linear-iris", tmp_path)
    write_manifest(bundle, {**read_manifest(bundle), "format_version": 2})
    output = tmp_path / "predictions.csv"
    input_csv = str(FIXTURES / "v1-sklearn-linear-iris" / "input.csv")
    code, out = invoke("predict", str(bundle), "-i", input_csv, "-o", str(output))
    assert code == EXIT_BAD_INPUT
    assert out.strip().splitlines() == [f"error: {newer_message(bundle, 2)}"]
    assert not output.exists()


def test_the_newer_version_is_reported_before_other_differences(tmp_path: Path) -> None:
    # a newer format may lay its files out differently: say "upgrade", not "altered"
    bundle = copy_bundle("v1-sklearn-linear-iris", tmp_path)
    manifest = read_manifest(bundle)
    write_manifest(bundle, {**manifest, "format_version": 2, "files": {"weights.v2": "0" * 64}})
    with pytest.raises(BundleError) as exc:
        verify_bundle(bundle)
    assert str(exc.value) == newer_message(bundle, 2)


@pytest.mark.parametrize(
    ("value", "finding"),
    [
        (ABSENT, "is missing"),
        (None, "is missing"),
        ("1", "must be a positive integer, got '1'"),
        (1.0, "must be a positive integer, got 1.0"),
        (True, "must be a positive integer, got True"),
        ([1], "must be a positive integer, got [1]"),
        (0, "must be a positive integer, got 0"),
    ],
    ids=["absent", "null", "string", "float", "bool", "list", "zero"],
)
def test_a_missing_or_non_integer_format_version_is_corrupt(
    value: object, finding: str, tmp_path: Path
) -> None:
    bundle = copy_bundle("v1-sklearn-linear-iris", tmp_path)
    manifest = read_manifest(bundle)
    if value is ABSENT:
        del manifest["format_version"]
    else:
        manifest["format_version"] = value
    write_manifest(bundle, manifest)
    with pytest.raises(BundleError) as exc:
        verify_bundle(bundle)
    assert str(exc.value) == f"{bundle}: {MANIFEST_FILE} is corrupt: format_version {finding}"


def test_the_current_format_version_still_verifies_after_a_manifest_rewrite(
    tmp_path: Path,
) -> None:
    bundle = copy_bundle("v1-mlp-iris", tmp_path)
    manifest = read_manifest(bundle)
    write_manifest(bundle, manifest)
    assert verify_bundle(bundle).manifest == manifest
