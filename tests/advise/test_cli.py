"""`trainwell advise` as a user runs it: flags, --data on real data, --json, errors, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from sklearn.datasets import load_breast_cancer
from typer.testing import CliRunner

from trainwell.advise.cli import advise_command
from trainwell.utils.logging import configure_logging

EXIT_BAD_INPUT = 2
runner = CliRunner()
app = typer.Typer()
app.command("advise")(advise_command)


@app.callback()
def _root() -> None:
    """A root callback so `advise` stays a subcommand, as in trainwell's app."""


@pytest.fixture(autouse=True)
def _quiet_logs() -> None:
    configure_logging("console", "warning")


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["advise", *args], env={"COLUMNS": "400"})
    return result.exit_code, result.stdout, result.stderr


def test_object_detection_for_speed() -> None:
    code, out, _ = invoke("--task", "object-detection", "--priority", "speed")
    assert code == 0, out
    assert "ultralytics: YOLOv8  model.architecture: yolov8" in out
    assert "priority is speed" in out
    assert "not available: trainwell cannot train 'yolov8' yet" in out


def test_large_categorical_tabular() -> None:
    code, out, _ = invoke(
        "--task", "tabular-classification", "--rows", "40000000", "--categorical-share", "0.7"
    )
    assert code == 0, out
    assert "model.architecture: catboost" in out
    assert "70% of feature columns are categorical" in out
    assert "40,000,000 rows is past the 1,000,000-row threshold" in out


def test_data_on_real_bundled_data(tmp_path: Path) -> None:
    path = tmp_path / "breast_cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    code, out, _ = invoke("--data", str(path), "--target", "target", "--json")
    assert code == 0, out
    payload = json.loads(out)
    assert payload["task"] == "tabular-classification"
    assert payload["profile"]["rows"] == 569
    assert payload["profile"]["n_features"] == 30
    assert payload["primary"]["config_name"] == "sklearn-hgb"
    assert payload["primary"]["available"] is True
    assert "569 rows" in payload["primary"]["reason"]


def test_data_text_output(tmp_path: Path) -> None:
    path = tmp_path / "breast_cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    code, out, _ = invoke(
        "--data", str(path), "--target", "target", "--priority", "interpretability"
    )
    assert code == 0, out
    assert "model.architecture: sklearn-linear" in out


def test_json_shape_for_text_generation() -> None:
    code, out, _ = invoke("--task", "text-generation", "--json")
    assert code == 0, out
    payload = json.loads(out)
    assert {"primary", "alternatives", "profile", "tooling"} <= set(payload)
    for choice in [payload["primary"], *payload["alternatives"]]:
        assert {"library", "architecture", "config_name", "reason", "available"} <= set(choice)
    assert payload["primary"]["config_name"] == "llama"


def test_tooling_question() -> None:
    code, out, _ = invoke("--task", "data-processing", "--size-gb", "25")
    assert code == 0, out
    assert "polars" in out and "25 GB of data is past the 10 GB threshold" in out


def test_all_profile_flags_are_accepted() -> None:
    code, out, _ = invoke(
        "--task", "experiment-tracking", "--hardware", "tpu", "--domain", "medical",
        "--setting", "enterprise", "--distributed", "--team-size", "12",
    )  # fmt: skip
    assert code == 0, out
    assert "Neptune" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--task", "vision"), "unknown task 'vision'; accepted ML tasks: tabular-classification"),
        (("--task", "segmentation", "--rows", "-5"), "invalid --rows"),
        (("--task", "tabular-regression", "--categorical-share", "1.5"),
         "invalid --categorical-share: input should be less than or equal to 1 (got 1.5)"),
        (("--task", "segmentation", "--hardware", "gpu"), "'cpu', 'cuda', 'tpu' or 'edge'"),
        (("--task", "segmentation", "--size-gb", "0"), "invalid --size-gb"),
        (("--data", "x.csv"), "--data x.csv needs --target COL"),
        (("--data", "missing.csv", "--target", "y"), "data file not found: missing.csv"),
        ((), "give --task TASK or --data FILE --target COL"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke(*args)
    assert code == EXIT_BAD_INPUT
    assert out == ""
    assert err.startswith("error: ")
    assert message in err
    assert err.strip().count("\n") == 0, err


def test_help_lists_every_flag() -> None:
    result = runner.invoke(app, ["advise", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for flag in (
        "--task", "--rows", "--size-gb", "--categorical-share", "--hardware", "--priority",
        "--domain", "--setting", "--distributed", "--team-size", "--data", "--target", "--json",
    ):  # fmt: skip
        assert flag in result.stdout


def test_cli_module_imports_no_heavy_libraries() -> None:
    code = (
        "import sys, trainwell.advise.cli; "
        "heavy = ('pydantic', 'pandas', 'sklearn', 'numpy', 'trainwell.advise.engine'); "
        "print([m for m in sys.modules if m.split('.')[0] in heavy or m in heavy])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
