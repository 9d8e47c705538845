"""The Profile model, its one-line errors, and profiles filled from real data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.datasets import load_breast_cancer

from trainwell.advise import Profile, build_profile, profile_from_data
from trainwell.advise.profile import profile_from_options
from trainwell.errors import ConfigError, DataError

BREAST_CANCER_ROWS = 569
BREAST_CANCER_FEATURES = 30


@pytest.fixture
def breast_cancer_csv(tmp_path: Path) -> Path:
    path = tmp_path / "breast_cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


def test_profile_is_frozen_and_rejects_unknown_fields() -> None:
    profile = Profile(task="segmentation")
    with pytest.raises(ValidationError):
        profile.rows = 3  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Profile(task="segmentation", gpus=2)  # type: ignore[call-arg]


def test_profile_defaults() -> None:
    profile = Profile(task="tabular-classification")
    assert (profile.hardware, profile.priority, profile.domain, profile.setting) == (
        "cpu",
        "balanced",
        "general",
        "production",
    )
    assert profile.rows is None and profile.distributed is False


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"task": "vision"}, "unknown task 'vision'; accepted ML tasks: tabular-classification"),
        ({"task": "segmentation", "rows": -5}, "invalid --rows: input should be greater than or "
         "equal to 1 (got -5)"),
        ({"task": "segmentation", "categorical_share": 1.5}, "invalid --categorical-share: input "
         "should be less than or equal to 1 (got 1.5)"),
        ({"task": "segmentation", "hardware": "gpu"}, "invalid --hardware: input should be "
         "'cpu', 'cuda', 'tpu' or 'edge' (got 'gpu')"),
        ({"task": "segmentation", "priority": "cheap"}, "'interpretability', 'zero-shot' or "
         "'cold-start' (got 'cheap')"),
        ({"task": "segmentation", "team_size": 0}, "invalid --team-size"),
        ({"task": "segmentation", "size_bytes": -(10**9)}, "invalid --size-gb: input should be "
         "greater than or equal to 1 (got '-1 GB')"),
        ({"task": "segmentation", "gpus": 2}, "unknown profile field 'gpus'"),
    ],
)  # fmt: skip
def test_invalid_profile_is_one_config_error_line(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_profile(**fields)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_task_lists_every_accepted_task() -> None:
    with pytest.raises(ConfigError) as caught:
        build_profile(task="vision")
    text = str(caught.value)
    for task in ("object-detection", "recommendation", "llm-serving", "data-processing"):
        assert task in text


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as caught:
        build_profile(task="segmentation", rows=-1, categorical_share=2.0)
    assert "--rows" in str(caught.value) and "--categorical-share" in str(caught.value)


def test_profile_from_real_data(breast_cancer_csv: Path) -> None:
    profile = profile_from_data(str(breast_cancer_csv), "target")
    assert profile.task == "tabular-classification"
    assert profile.rows == BREAST_CANCER_ROWS
    assert profile.n_features == BREAST_CANCER_FEATURES
    assert profile.categorical_share == 0.0
    assert profile.size_bytes is not None
    assert profile.size_bytes >= breast_cancer_csv.stat().st_size


def test_profile_from_data_counts_categoricals(tmp_path: Path) -> None:
    path = tmp_path / "churn.csv"
    pd.DataFrame(
        {
            "plan": ["a", "b", "c", "a"] * 25,
            "region": ["n", "s", "e", "w"] * 25,
            "tenure": range(100),
            "churned": [0, 1] * 50,
        }
    ).to_csv(path, index=False)
    profile = profile_from_data(str(path), "churned")
    assert profile.categorical_share == pytest.approx(2 / 3)
    assert profile.task == "tabular-classification"


def test_profile_from_bundled_regression_data() -> None:
    profile = profile_from_data("sklearn:diabetes", "target")
    assert profile.task == "tabular-regression"
    assert profile.rows == 442


def test_flags_override_what_the_data_says(breast_cancer_csv: Path) -> None:
    profile = profile_from_data(
        str(breast_cancer_csv), "target", task="anomaly-detection", rows=40_000_000, hardware="cuda"
    )
    assert (profile.task, profile.rows, profile.hardware) == (
        "anomaly-detection",
        40_000_000,
        "cuda",
    )
    assert profile.n_features == BREAST_CANCER_FEATURES


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data file not found"):
        profile_from_data(str(tmp_path / "nope.csv"), "y")


def test_missing_target_column_is_a_data_error(breast_cancer_csv: Path) -> None:
    with pytest.raises(DataError, match="target column 'churned' not found"):
        profile_from_data(str(breast_cancer_csv), "churned")


def test_only_a_target_column_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "y.csv"
    pd.DataFrame({"y": [0, 1, 0, 1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="no feature columns"):
        profile_from_data(str(path), "y")


# --- the CLI's flags --------------------------------------------------------------------


def test_options_convert_gigabytes() -> None:
    profile = profile_from_options(task="data-processing", data=None, target=None, size_gb=12.5)
    assert profile.size_bytes == 12_500_000_000


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task": None, "data": "x.csv", "target": None}, "--data x.csv needs --target COL"),
        ({"task": "segmentation", "data": None, "target": "y"}, "--target needs --data FILE"),
        ({"task": None, "data": None, "target": None}, "give --task TASK or --data FILE"),
        ({"task": "segmentation", "data": None, "target": None, "size_gb": -1.0},
         "invalid --size-gb: must be greater than 0 (got -1)"),
    ],
)  # fmt: skip
def test_contradictory_options_are_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        profile_from_options(**options)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_options_ignore_flags_not_given(breast_cancer_csv: Path) -> None:
    profile = profile_from_options(
        task=None, data=str(breast_cancer_csv), target="target", rows=None, team_size=None
    )
    assert profile.rows == BREAST_CANCER_ROWS
