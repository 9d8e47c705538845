"""Small-data selection: cross-validation on the training split only, recorded as the reason."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine

from trainwell.training import selection


def test_applies_only_to_small_scikit_learn_tabular_runs() -> None:
    assert selection.applies("regression", 300, "scikit-learn")
    assert not selection.applies("regression", selection.SMALL_DATA_ROWS, "scikit-learn")
    assert not selection.applies("classification", 300, "LightGBM")
    assert not selection.applies("anomaly", 300, "scikit-learn")
    # fewer training rows than folds: no cross-validation (the advisor's default stands)
    assert not selection.applies("regression", selection.CV_FOLDS - 1, "scikit-learn")
    assert selection.applies("regression", selection.CV_FOLDS, "scikit-learn")


def test_every_candidate_failing_is_one_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np
    import sklearn.model_selection

    from trainwell.errors import DataError

    # scikit-learn scores a fit that raised as NaN (error_score=nan): every fit failed
    monkeypatch.setattr(
        sklearn.model_selection, "cross_val_score", lambda *a, **k: np.full(5, np.nan)
    )
    frame = load_wine(as_frame=True).frame
    with pytest.raises(DataError, match="cross-validation failed for every candidate"):
        selection.select_small_data(frame, "target", "classification", (), seed=0)


def test_linear_wins_on_diabetes_and_the_reason_shows_every_score() -> None:
    frame = load_diabetes(as_frame=True).frame.iloc[:300]
    chosen = selection.select_small_data(frame, "target", "regression", (), seed=0)
    assert chosen.architecture == "sklearn-linear"
    assert set(chosen.scores) == set(selection.CANDIDATES)
    assert chosen.scores["sklearn-linear"] == min(chosen.scores.values())  # RMSE: lower wins
    reason = chosen.reason(300)
    assert "5-fold cross-validation on the training split" in reason
    assert "RMSE" in reason


def test_selection_is_deterministic_for_a_seed() -> None:
    frame = load_wine(as_frame=True).frame
    first = selection.select_small_data(frame, "target", "classification", (), seed=3)
    second = selection.select_small_data(frame, "target", "classification", (), seed=3)
    assert first == second
    assert all(0.8 < score <= 1.0 for score in first.scores.values())


def test_validation_and_test_rows_are_never_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    original = selection.select_small_data

    def spy(train: pd.DataFrame, *args: object, **kwargs: object) -> selection.Selection:
        seen.append(len(train))
        return original(train, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(selection, "select_small_data", spy)
    from trainwell.config.loader import resolve_config
    from trainwell.training.pipeline import prepare_data, set_up_run

    config = resolve_config({"data": {"path": "sklearn:wine"}, "tracking": {"enabled": False}})
    setup = set_up_run(config)
    assert seen == [len(prepare_data(config).splits.train)]
    assert "cross-validation" in setup.decision.reason
