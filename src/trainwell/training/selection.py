"""Small-data model selection: when the advisor says scikit-learn and the training split is
small, cross-validate the scikit-learn candidates on the training split and keep the best.

Why: on a few hundred rows the variance between sensible defaults is larger than any rule of
thumb can predict (benchmarks/bench_auto.py: on diabetes, 442 rows, ridge beats gradient
boosting by 10% RMSE; on wine, 178 rows, the forest is perfect), while cross-validating three
cheap models costs seconds at this size. Only the training split is used: validation and test
rows never influence the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainwell.errors import DataError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import pandas as pd

logger = get_logger(__name__)

# Below this many training rows, fitting each candidate five times takes seconds; above it,
# the advisor's rule alone decides (and trees have enough rows to show their strength).
SMALL_DATA_ROWS = 1_000
CV_FOLDS = 5
# Ties (within this margin of the best mean score) go to the earlier, simpler candidate.
TIE_MARGIN = 0.002
CANDIDATES = ("sklearn-linear", "sklearn-hgb", "sklearn-rf")
# The forest is scored with fewer trees than it trains with: the ranking is stable from ~100
# trees and the cross-validation stays cheap.
CANDIDATE_PARAMS: dict[str, dict[str, Any]] = {"sklearn-rf": {"n_estimators": 100}}
# Objective name -> (scikit-learn scorer, the name shown in the reason).
SCORING: dict[str, tuple[str, str]] = {
    "classification": ("balanced_accuracy", "balanced accuracy"),
    "regression": ("neg_root_mean_squared_error", "RMSE"),
}


@dataclass(frozen=True)
class Selection:
    """The cross-validated choice and every candidate's mean score."""

    architecture: str
    scores: dict[str, float]
    scoring: str

    def reason(self, rows: int) -> str:
        """The sentence recorded as the decision's reason."""
        shown = ", ".join(f"{name} {score:.4f}" for name, score in self.scores.items())
        return (
            f"{rows} training rows is small (< {SMALL_DATA_ROWS:,}): scikit-learn (the playbook's "
            f"primary), with the architecture chosen by {CV_FOLDS}-fold cross-validation on the "
            f"training split ({self.scoring}: {shown})"
        )


def applies(objective: str, train_rows: int, advised_library: str) -> bool:
    """Selection runs for small data when the advisor's primary is scikit-learn.

    Args:
        objective: the objective's name (``classification``, ``regression``, ...).
    """
    return (
        objective in SCORING
        and CV_FOLDS <= train_rows < SMALL_DATA_ROWS
        and advised_library == "scikit-learn"
    )


def select_small_data(
    train: pd.DataFrame, target: str, objective: str, drop_columns: tuple[str, ...], seed: int
) -> Selection:
    """Cross-validate the candidates on ``train`` (preprocessing refitted inside each fold)."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.pipeline import Pipeline

    from trainwell.data.preprocessing import build_preprocessor, build_schema, prepare_frame
    from trainwell.models.registry import get_spec

    schema = build_schema(train, target, drop_columns)
    X = prepare_frame(train, schema)
    classification = objective == "classification"
    y: Any = train[target].astype(str) if classification else train[target]
    scorer, scoring = SCORING[objective]
    min_class = int(y.value_counts().min()) if classification else 0
    folds = (
        StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
        if classification and min_class >= CV_FOLDS
        else KFold(CV_FOLDS, shuffle=True, random_state=seed)
    )
    scores: dict[str, float] = {}
    for name in CANDIDATES:
        spec = get_spec(name)
        pipeline = Pipeline(
            [
                ("preprocess", build_preprocessor(schema, spec.encoding, spec.scale)),
                ("model", spec.build(objective, seed, dict(CANDIDATE_PARAMS.get(name, {})))),
            ]
        )
        result = cross_val_score(pipeline, X, y, cv=folds, scoring=scorer)
        scores[name] = float(np.mean(result))
    finite = {name: score for name, score in scores.items() if np.isfinite(score)}
    if not finite:
        raise DataError(
            f"{CV_FOLDS}-fold cross-validation failed for every candidate "
            f"({', '.join(CANDIDATES)}) on the {len(X)} training rows; name a model with "
            "model.architecture=... or add rows"
        )
    best = max(finite.values())
    chosen = next(name for name in CANDIDATES if finite.get(name, -np.inf) >= best - TIE_MARGIN)
    logger.info("small_data_selection", scores=scores, chosen=chosen)
    shown = {k: abs(v) for k, v in scores.items()}
    return Selection(architecture=chosen, scores=shown, scoring=scoring)
