"""Each data check on real bundled data: quiet when clean, firing on a planted fault."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from trainwell.config.schema import ChecksConfig
from trainwell.data.splitting import split_frame
from trainwell.evaluation.checks import data_checks as dc
from trainwell.tasks import get_task

SEED = 0


def make_input(
    frame: pd.DataFrame,
    task: str = "tabular-classification",
    target: str = "target",
    categorical: tuple[str, ...] = (),
    group_column: str | None = None,
    time_column: str | None = None,
    **thresholds: float,
) -> dc.DataCheckInput:
    splits = split_frame(
        frame,
        valid_size=0.15,
        test_size=0.15,
        seed=SEED,
        stratify_on=target if get_task(task).objective.labels else None,
        group_column=group_column,
        time_column=time_column,
    )
    features = tuple(c for c in frame.columns if c not in (target, group_column, time_column))
    return dc.DataCheckInput(
        train=splits.train,
        valid=splits.valid,
        test=splits.test,
        target=target,
        labels=get_task(task).objective.labels,
        feature_columns=features,
        categorical_columns=categorical,
        group_column=group_column,
        time_column=time_column,
        thresholds=ChecksConfig(**thresholds),
        seed=SEED,
    )


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


@pytest.fixture(scope="module")
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine, load_diabetes])
def test_no_check_fails_on_clean_bundled_data(loader: object) -> None:
    frame = loader(as_frame=True).frame  # type: ignore[operator]
    task = "tabular-regression" if loader is load_diabetes else "tabular-classification"
    results = dc.run_data_checks(make_input(frame, task=task))
    assert [r for r in results if r.status in ("fail", "warn")] == []
    assert len(results) == len(dc.DATA_CHECKS)


def test_duplicate_rows_fire_with_examples(cancer: pd.DataFrame) -> None:
    data = make_input(cancer)
    copies = data.train.sample(n=10, random_state=1)
    planted = replace(data, test=pd.concat([data.test, copies]))
    result = dc.check_duplicate_rows(planted)
    assert result.status == "fail"  # 10 of 96 held-out rows > 5%
    assert result.details["test"]["rows"] == 10
    test_index, train_index = result.details["test"]["examples"][0]
    assert test_index == train_index  # the copy kept its source index
    assert dc.check_duplicate_rows(data).status == "pass"


def test_a_single_duplicate_only_warns(cancer: pd.DataFrame) -> None:
    data = make_input(cancer)
    planted = replace(data, valid=pd.concat([data.valid, data.train.iloc[:1]]))
    assert dc.check_duplicate_rows(planted).status == "warn"


def test_same_features_different_target(cancer: pd.DataFrame) -> None:
    data = make_input(cancer)
    flipped = data.train.iloc[:3].copy()
    flipped["target"] = 1 - flipped["target"]
    result = dc.check_same_features(replace(data, test=pd.concat([data.test, flipped])))
    assert result.status == "warn"
    assert result.details["test"]["rows"] == 3
    assert dc.check_same_features(data).status == "pass"


def test_group_overlap(cancer: pd.DataFrame) -> None:
    frame = cancer.assign(patient=np.arange(len(cancer)) % 50)
    grouped = make_input(frame, group_column="patient")
    assert dc.check_group_overlap(grouped).status == "pass"
    random_split = replace(make_input(frame), group_column="patient")
    result = dc.check_group_overlap(random_split)
    assert result.status == "fail"
    assert "patient" in result.message
    assert dc.check_group_overlap(make_input(cancer)).status == "skip"


def test_time_order(cancer: pd.DataFrame) -> None:
    frame = cancer.assign(day=pd.date_range("2024-01-01", periods=len(cancer), freq="D"))
    in_order = make_input(frame, time_column="day")
    assert dc.check_time_order(in_order).status == "pass"
    shuffled = replace(make_input(frame), time_column="day")  # a random split of time data
    result = dc.check_time_order(shuffled)
    assert result.status == "fail"
    assert result.details["test"]["rows"] > 0
    assert "see the future" in result.message


def test_target_proxy_fires_on_a_leaked_column(cancer: pd.DataFrame) -> None:
    leaked = cancer.assign(diagnosis_code=cancer["target"] * 7 + 3)
    result = dc.check_target_proxy(make_input(leaked))
    assert result.status == "fail"
    assert list(result.details["scores"]) == ["diagnosis_code"]
    clean = dc.check_target_proxy(make_input(cancer))
    assert clean.status == "pass"
    assert clean.details["best_score"] < 0.99


def test_target_proxy_regression_and_categorical(diabetes: pd.DataFrame) -> None:
    leaked = diabetes.assign(target_x2=diabetes["target"] * 2.0)
    result = dc.check_target_proxy(make_input(leaked, task="tabular-regression"))
    assert result.status == "fail"
    assert "target_x2" in result.details["scores"]
    assert dc.check_target_proxy(make_input(diabetes, task="tabular-regression")).status == "pass"


def test_target_proxy_categorical_lookup(cancer: pd.DataFrame) -> None:
    codes = np.where(cancer["target"] == 1, "benign-", "malignant-")
    ids = np.arange(len(cancer)) % 4
    leaked = cancer.assign(code=[f"{c}{i}" for c, i in zip(codes, ids, strict=True)])
    result = dc.check_target_proxy(make_input(leaked, categorical=("code",)))
    assert result.status == "fail"
    assert "code" in result.details["scores"]


def test_constant_and_id_like_columns(cancer: pd.DataFrame) -> None:
    frame = cancer.assign(version=1, record_id=np.arange(len(cancer)) + 1000)
    data = make_input(frame)
    constant = dc.check_constant_columns(data)
    assert constant.status == "warn"
    assert constant.details["columns"] == ["version"]
    id_like = dc.check_id_like_columns(data)
    assert id_like.status == "warn"
    assert id_like.details["columns"] == ["record_id"]
    # real-valued measurements are often all distinct: not identifiers
    clean = make_input(cancer)
    assert dc.check_id_like_columns(clean).status == "pass"
    assert dc.check_constant_columns(clean).status == "pass"


def test_target_missing_and_imbalance(cancer: pd.DataFrame) -> None:
    data = make_input(cancer)
    assert dc.check_target_missing(data).status == "pass"
    assert dc.check_target_missing(replace(data, target_missing_rows=4)).status == "warn"
    minority = cancer[cancer["target"] == 0].head(10)
    imbalanced = pd.concat([cancer[cancer["target"] == 1], minority])
    result = dc.check_class_imbalance(make_input(imbalanced))
    assert result.status == "warn"
    assert "balanced accuracy" in result.hint
    assert dc.check_class_imbalance(data).status == "pass"


def test_duplicates_inside_train(cancer: pd.DataFrame) -> None:
    data = make_input(cancer)
    doubled = replace(data, train=pd.concat([data.train, data.train.iloc[:40]]))
    result = dc.check_train_duplicates(doubled)
    assert result.status == "warn"
    assert result.details["rows"] == 40
    assert dc.check_train_duplicates(data).status == "pass"


def test_unseen_categories_and_labels(cancer: pd.DataFrame) -> None:
    frame = cancer.assign(site=np.where(np.arange(len(cancer)) % 2 == 0, "a", "b"))
    data = make_input(frame, categorical=("site",))
    assert dc.check_unseen_values(data).status == "pass"
    test = data.test.copy()
    test.loc[test.index[:2], "site"] = "c"
    warned = dc.check_unseen_values(replace(data, test=test))
    assert warned.status == "warn"
    assert warned.details["columns"]["site"]["test"] == ["c"]
    test.loc[test.index[:1], "target"] = 9
    assert dc.check_unseen_values(replace(data, test=test)).status == "fail"


def test_distribution_shift(cancer: pd.DataFrame) -> None:
    data = make_input(cancer)
    shifted_test = data.test.copy()
    shifted_test["mean radius"] = shifted_test["mean radius"] * 3.0
    result = dc.check_distribution_shift(replace(data, test=shifted_test))
    assert result.status == "warn"
    assert list(result.details["shifted"]) == ["mean radius"]
    assert dc.check_distribution_shift(data).status == "pass"


def test_leakage_checks_scale_by_hashing() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    frame = pd.DataFrame(rng.normal(size=(n, 8)), columns=[f"f{i}" for i in range(8)])
    frame["target"] = (frame["f0"] + rng.normal(size=n) > 0).astype(int)
    results = dc.run_data_checks(make_input(frame))
    statuses = {r.id: r.status for r in results}
    assert statuses["leakage.duplicate_rows"] == "pass"
    assert statuses["leakage.target_proxy"] == "pass"
