"""Golden artefacts: what `train` and `predict` wrote at commit ef163e7, before the refactor.

The refactor (docs/architecture.md) must not change behaviour, so each case in ``CASES`` trains
through the CLI exactly as a user would (``python -m trainwell.cli train ...`` in a fresh
directory, tracking off) and predicts on the stored ``tests/golden/<case>/input.csv``; what it
writes must equal the files in ``tests/golden/<case>/`` exactly:

* ``metrics.json``, ``schema.json``, ``decision.json`` (the reason included): byte for byte, as
  the bundle holds them;
* ``checks.json``: each check's ``{id, status, message}``. One normalisation: every
  ``<number> MiB`` in a message becomes ``<n> MiB``, because the memory check reports the
  measured peak RSS and the memory available on the host, which vary from run to run;
* ``manifest.json``: every value except ``created_at`` (time), ``run_id`` (a fresh id; null
  with tracking off) and ``environment`` (host, platform and package versions). ``files``
  becomes the sorted file names, and ``files_sha256`` keeps the hashes of the files whose bytes
  two identical runs reproduce: the JSON/YAML files, ``weights.safetensors``, the XGBoost and
  LightGBM model files. Names only for ``checks.json`` (the memory figures above),
  ``model/estimator.json`` (the torch estimator's parameters include its checkpoint directory,
  ``runs/<experiment>/checkpoints/<arch>-<timestamp>-<random>``), ``*.skops`` (zip archives
  whose member timestamps are the write time) and CatBoost's ``*.cbm`` (differs between two
  identical runs); what those files hold is still covered by ``metrics.json`` and
  ``predict.csv``;
* ``predict.csv``: `trainwell predict` on ``input.csv``.

On the machine that captured them, two runs agree byte for byte: ``scripts/capture_golden.py``
trains every case twice and refuses to write goldens unless both runs agree on every artefact.
Across machines, floats differ in their last bits (AVX2 and AVX-512 BLAS/libm paths round
differently: measured 1 ulp for float64 metrics, ~1e-8 relative for float32 torch models), so
the comparison is exact on all text and on every number to a relative 1e-6; the hashes of
``metrics.json`` and ``weights.safetensors`` are left out of the manifest comparison (their
numbers are compared instead). A behaviour change moves numbers by far more. The runs are
pinned to what makes float results reproducible: one BLAS/OpenMP thread
(``OMP_NUM_THREADS=1`` ...), the CPU only (``CUDA_VISIBLE_DEVICES=""``),
``PYTHONHASHSEED=0``, no ``TRAINWELL_*`` variables. The torch cases train 3 epochs so the
whole file runs in about 3 minutes on 2 cores.

The runs use whichever ``trainwell`` the interpreter imports: the installed checkout, or
``PYTHONPATH=<other checkout>/src`` (inherited by the subprocesses).

Deliberate changes since ef163e7: ``autoencoder`` (its eval_mode check failed on every run at
ef163e7, a probe false positive, and passes now; captured after the fix).

To regenerate deliberately (a change of behaviour that is meant), review the diff after::

    .venv/bin/python scripts/capture_golden.py tests/golden
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
REPO = Path(__file__).resolve().parents[1]
INPUT_FILE = "input.csv"
INPUT_ROWS = 20
# what each case compares, in this order
ARTEFACTS = (
    "metrics.json",
    "schema.json",
    "decision.json",
    "checks.json",
    "manifest.json",
    "predict.csv",
)
VOLATILE_MANIFEST = ("created_at", "run_id", "environment")
# samples.csv (export's parity rows, added after capture): raw test rows that follow from the
# split, which metrics.json and predict.csv already cover
UNHASHED_FILES = frozenset({"checks.json", "model/estimator.json", "samples.csv"})
UNHASHED_SUFFIXES = (".skops", ".cbm")
# Files of computed floats: their bytes differ in the last bits between CPUs (AVX2 vs AVX-512
# BLAS and libm paths), so their hashes are not compared; their numbers are (metrics.json and
# predict.csv, to FLOAT_RTOL), and that covers what the weights compute.
# reference.json (serve's drift baseline, added after capture) holds quantiles of the training
# columns and of the model's outputs: computed floats too.
FLOAT_FILES = frozenset({"metrics.json", "model/weights.safetensors", "reference.json"})
FLOAT_RTOL = 1e-6
FLOAT_ATOL = 1e-9
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
MIB = re.compile(r"\d+(?:\.\d+)? MiB")
PINNED_ENV = {
    "HF_HUB_OFFLINE": "1",
    "PYTHONHASHSEED": "0",
    "CUDA_VISIBLE_DEVICES": "",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
TRAIN_OUTPUT = ("tracking.enabled=false", "output.dir=models", "output.runs_dir=runs")
TORCH_FAST = ("training.epochs=3", "training.batch_size=32")

# name -> (data source for input.csv, train arguments after `trainwell train`)
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "default": ("sklearn:breast_cancer", ()),
    "example-breast-cancer": ("sklearn:breast_cancer", ("configs/examples/breast_cancer.yaml",)),
    "example-diabetes-regression": (
        "sklearn:diabetes",
        ("configs/examples/diabetes_regression.yaml",),
    ),
    "example-iris-linear": ("sklearn:iris", ("configs/examples/iris_linear.yaml",)),
    "example-wine-lightgbm": ("sklearn:wine", ("configs/examples/wine_lightgbm.yaml",)),
    "sklearn-hgb": ("sklearn:wine", ("data.path=sklearn:wine", "model.architecture=sklearn-hgb")),
    "sklearn-rf": (
        "sklearn:wine",
        ("data.path=sklearn:wine", "model.architecture=sklearn-rf", "model.params.n_jobs=1"),
    ),
    "sklearn-linear-regression": (
        "sklearn:diabetes",
        ("data.path=sklearn:diabetes", "model.architecture=sklearn-linear"),
    ),
    "xgboost": (
        "sklearn:wine",
        ("data.path=sklearn:wine", "model.architecture=xgboost", "model.params.n_jobs=1"),
    ),
    "lightgbm": (
        "sklearn:diabetes",
        ("data.path=sklearn:diabetes", "model.architecture=lightgbm", "model.params.n_jobs=1"),
    ),
    "catboost": (
        "sklearn:iris",
        (
            "data.path=sklearn:iris",
            "model.architecture=catboost",
            "model.params.iterations=50",
            "model.params.thread_count=1",
        ),
    ),
    "isolation-forest": (
        "sklearn:breast_cancer",
        (
            "data.path=sklearn:breast_cancer",
            "task.kind=anomaly-detection",
            "model.architecture=isolation-forest",
            "model.params.n_jobs=1",
        ),
    ),
    "mlp": (
        "sklearn:iris",
        (
            "data.path=sklearn:iris",
            "model.architecture=mlp",
            "model.params.hidden_dims=[64,64]",
            *TORCH_FAST,
        ),
    ),
    "mlp-regression": (
        "sklearn:diabetes",
        (
            "data.path=sklearn:diabetes",
            "model.architecture=mlp",
            "model.params.hidden_dims=[64,64]",
            *TORCH_FAST,
        ),
    ),
    "ft-transformer": (
        "sklearn:wine",
        (
            "data.path=sklearn:wine",
            "model.architecture=ft-transformer",
            "model.params.n_blocks=1",
            "model.params.d_block=16",
            "model.params.attention_n_heads=2",
            *TORCH_FAST,
        ),
    ),
    "autoencoder": (
        "sklearn:breast_cancer",
        (
            "data.path=sklearn:breast_cancer",
            "task.kind=anomaly-detection",
            "model.architecture=autoencoder",
            "training.epochs=3",
        ),
    ),
}


INHERITED_STATE = frozenset({"CUBLAS_WORKSPACE_CONFIG"})


def _env(workdir: Path, pythonpath: str | None) -> dict[str, str]:
    # seeding state an earlier in-process test may have left (deterministic runs set
    # CUBLAS_WORKSPACE_CONFIG, which the manifest records) must not reach the runs
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRAINWELL_") and k not in INHERITED_STATE
    }
    env.update(PINNED_ENV)
    # tracking is off (tracking.enabled=false); should anything reach MLflow, it stays here
    env["MLFLOW_TRACKING_URI"] = (workdir / "mlruns").as_uri()
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return env


def _cli(args: list[str], cwd: Path, pythonpath: str | None) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trainwell.cli", *args],
        cwd=cwd,
        env=_env(cwd, pythonpath),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"trainwell {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def _checks(payload: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"id": c["id"], "status": c["status"], "message": MIB.sub("<n> MiB", c["message"])}
        for c in payload["checks"]
    ]


def _manifest(payload: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in payload.items() if k not in VOLATILE_MANIFEST}
    files: dict[str, str] = payload["files"]
    kept["files"] = sorted(files)
    kept["files_sha256"] = {
        k: v
        for k, v in files.items()
        if k not in UNHASHED_FILES and not k.endswith(UNHASHED_SUFFIXES)
    }
    return kept


def produce(
    case: str, workdir: Path, input_csv: Path, pythonpath: str | None = None
) -> dict[str, str]:
    """Train ``case`` in ``workdir`` and predict on ``input_csv``: each artefact's text."""
    _, args = CASES[case]
    workdir.mkdir(parents=True, exist_ok=True)
    resolved = [str(REPO / a) if a.endswith(".yaml") else a for a in args]
    _cli(["train", *resolved, *TRAIN_OUTPUT], workdir, pythonpath)
    (bundle,) = [p for p in (workdir / "models").iterdir() if not p.name.startswith(".")]
    shutil.copyfile(input_csv, workdir / INPUT_FILE)
    _cli(["predict", str(bundle), "-i", INPUT_FILE, "-o", "predict.csv"], workdir, pythonpath)

    def read(name: str) -> Any:
        return json.loads((bundle / name).read_text(encoding="utf-8"))

    return {
        "metrics.json": (bundle / "metrics.json").read_text(encoding="utf-8"),
        "schema.json": (bundle / "schema.json").read_text(encoding="utf-8"),
        "decision.json": (bundle / "decision.json").read_text(encoding="utf-8"),
        "checks.json": _dump(_checks(read("checks.json"))),
        "manifest.json": _dump(_manifest(read("manifest.json"))),
        "predict.csv": (workdir / "predict.csv").read_text(encoding="utf-8"),
    }


def _drop_float_hashes(text: str) -> str:
    """manifest.json without the hashes of files that hold computed floats (see FLOAT_FILES)."""
    manifest = json.loads(text)
    hashes = manifest.get("files_sha256", {})
    manifest["files_sha256"] = {k: v for k, v in hashes.items() if k not in FLOAT_FILES}
    return json.dumps(manifest, indent=2, sort_keys=True)


def same_up_to_rounding(expected: str, actual: str) -> bool:
    """Equal text, except numbers that agree to ``FLOAT_RTOL`` (see the module docstring)."""
    expected_parts, actual_parts = NUMBER.split(expected), NUMBER.split(actual)
    expected_numbers, actual_numbers = NUMBER.findall(expected), NUMBER.findall(actual)
    if expected_parts != actual_parts or len(expected_numbers) != len(actual_numbers):
        return False
    return all(
        math.isclose(float(a), float(b), rel_tol=FLOAT_RTOL, abs_tol=FLOAT_ATOL)
        for a, b in zip(expected_numbers, actual_numbers, strict=True)
    )


def differences(case: str, expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """A unified diff per artefact that differs beyond float rounding (empty: all equal)."""
    out: list[str] = []
    for name in ARTEFACTS:
        want, got = expected.get(name) or "", actual.get(name) or ""
        if name == "manifest.json" and want and got:
            want, got = _drop_float_hashes(want), _drop_float_hashes(got)
        if want != got and not same_up_to_rounding(want, got):
            diff = difflib.unified_diff(
                (expected.get(name) or "").splitlines(keepends=True),
                (actual.get(name) or "").splitlines(keepends=True),
                fromfile=f"golden/{case}/{name}",
                tofile=f"produced/{case}/{name}",
            )
            out.append("".join(diff))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_artefacts_match_the_golden_run(case: str, tmp_path: Path) -> None:
    golden = GOLDEN / case
    assert golden.is_dir(), f"no golden files for {case}: run scripts/capture_golden.py"
    expected = {name: (golden / name).read_text(encoding="utf-8") for name in ARTEFACTS}
    actual = produce(case, tmp_path / case, golden / INPUT_FILE)
    diffs = differences(case, expected, actual)
    assert not diffs, f"{len(diffs)} artefact(s) of {case} changed:\n" + "\n".join(diffs)


def test_every_case_has_golden_files() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == sorted(CASES)
    for case in CASES:
        assert {p.name for p in (GOLDEN / case).iterdir()} == {*ARTEFACTS, INPUT_FILE}, case
