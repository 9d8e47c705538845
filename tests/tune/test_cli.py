"""`trainwell tune` as a user runs it, registered on a tiny Typer app as on the real one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner, Result

from trainwell.tune.cli import tune_command

EXIT_BAD_INPUT = 2
app = typer.Typer()
app.command("tune")(tune_command)


@app.callback()
def _group() -> None:
    """Keep `tune` a subcommand, as on the real app."""


runner = CliRunner()

EXPERIMENT: dict[str, Any] = {
    "name": "cancer",
    "data": {"path": "sklearn:breast_cancer"},
    "model": {"architecture": "lightgbm", "params": {"n_estimators": 20}},
    "tracking": {"enabled": False},
    "tune": {
        "metric": "log_loss",
        "report_every": 5,
        "space": {
            "model.params.learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
            "model.params.num_leaves": {"type": "int", "low": 4, "high": 32},
        },
    },
}


def write_config(directory: Path, **changes: Any) -> str:
    raw = json.loads(json.dumps(EXPERIMENT))
    raw["tune"].update(changes)
    path = directory / "experiment.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return str(path)


def invoke(*args: str) -> Result:
    return runner.invoke(app, ["tune", *args])


def test_json_summary_then_resume_with_study(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    result = invoke(config, "--trials", "3", "--study", "cli", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["study"] == "cli"
    assert summary["n_trials"] == 3 and summary["resumed"] is False
    assert summary["metric"] == "log_loss" and summary["direction"] == "minimize"
    assert set(summary["best_params"]) == set(EXPERIMENT["tune"]["space"])
    assert isinstance(summary["best_value"], float)
    assert Path(summary["best_config_path"]).is_file()
    assert (Path(summary["bundle_path"]) / "manifest.json").is_file()
    assert summary["storage"] == str(tmp_path / "mlruns" / "optuna.db")

    again = invoke(config, "--trials", "4", "--study", "cli", "--json")
    assert again.exit_code == 0, again.output
    resumed = json.loads(again.stdout)
    assert resumed["resumed"] is True and resumed["n_trials"] == 4

    # the same name with another config: refused before any trial
    other = invoke(config, "model.params.n_estimators=25", "--trials", "5", "--study", "cli")
    assert other.exit_code == EXIT_BAD_INPUT
    assert "study 'cli' in " in other.stderr and "belongs to a different config" in other.stderr


def test_table_output(tmp_path: Path) -> None:
    result = invoke(write_config(tmp_path), "--trials", "2", "--study", "table")
    assert result.exit_code == 0, result.output
    assert "trainwell tune" in result.stdout
    assert "best trials by log_loss" in result.stdout
    assert "best_config.yaml" in result.stdout


@pytest.mark.parametrize(
    ("changes", "overrides", "message"),
    [
        ({"space": {}}, [], "`space` is empty"),
        ({}, ["tune.space.model.params.learning_rate.low=0.9"], "low (0.9) is above high (0.3)"),
        ({}, ["tune.space.model.params.learning_rate.low=0"], "`log: true` needs low > 0"),
        (
            {"space": {"model.params.boosting_type": {"type": "categorical", "choices": []}}},
            [],
            "`choices` is empty",
        ),
        (
            {},
            ["tune.space.training.learnig_rate={type: float, low: 0.001, high: 0.1}"],
            "unknown parameter `training.learnig_rate`",
        ),
        (
            {},
            ["tune.space.model.params.num_leafs={type: int, low: 2, high: 8}"],
            "unknown parameter `model.params.num_leafs`",
        ),
        ({}, ["tune.metric=rmse"], "tune.metric 'rmse' is not a metric tabular-classification"),
        ({}, ["tune.trials=3"], "unknown key `tune.trials`"),
        ({}, ["--backend", "dask"], "`tune.backend`"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    tmp_path: Path, changes: dict[str, Any], overrides: list[str], message: str
) -> None:
    result = invoke(write_config(tmp_path, **changes), *overrides, "--trials", "1")
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert message in result.stderr
    assert result.stderr.startswith("error:") and result.stderr.count("\n") == 1
    assert not (tmp_path / "outputs").exists()  # nothing ran


def test_help_lists_the_options() -> None:
    result = runner.invoke(app, ["tune", "--help"])
    assert result.exit_code == 0
    for option in (
        "--trials",
        "--timeout",
        "--backend",
        "--address",
        "--study",
        "--n-jobs",
        "--json",
    ):
        assert option in result.stdout


def test_the_command_module_imports_no_heavy_library() -> None:
    heavy = (
        "optuna",
        "ray",
        "sklearn",
        "torch",
        "mlflow",
        "pandas",
        "pydantic",
        "trainwell.tune.pipeline",
    )
    code = f"import sys, trainwell.tune.cli; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_labels_the_validation_split_has_but_training_lacks_are_one_clear_line(
    tmp_path: Path,
) -> None:
    """An integer target with many values (here: 12 body weights in 20 rows) is inferred as
    classes; labels only the validation split has cannot be scored, so tuning stops before any
    trial (at ef163e7 the first trial raised a scikit-learn traceback)."""
    from sklearn.datasets import load_linnerud

    data = load_linnerud(as_frame=True)
    frame = data.data.assign(Weight=data.target["Weight"])
    source = tmp_path / "linnerud.csv"
    frame.to_csv(source, index=False)
    result = invoke(
        f"data.path={source}",
        "data.target=Weight",
        "model.architecture=sklearn-linear",
        "tracking.enabled=false",
        "--trials",
        "2",
    )
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    last = result.stderr.strip().splitlines()[-1]  # above it: the split's log warnings
    assert last.startswith("error: ") and "row(s) have labels never seen in training" in last
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.output
