"""Every row of both playbook tables selects what it should, with its reason; precedence;
availability; the tooling stack; notes."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from trainwell.advise import Advice, Profile, advise, engine
from trainwell.advise.engine import applies, describe_rule, format_bytes, rules_for
from trainwell.advise.rules import DEFAULT, ML_TASKS, RULES, TASKS, TOOLING_TASKS, Rule
from trainwell.models import registry

M = 1_000_000
GB = 10**9

# (case id, profile fields, expected primary (config_name, or library for tooling/hosted),
#  substrings the primary's reason must contain)
PRIMARY_CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    # --- library table: Tabular ML (scikit-learn; XGBoost/LightGBM large; CatBoost categoricals)
    ("tabular-ordinary", {"task": "tabular-classification", "rows": 50_000,
     "categorical_share": 0.1}, "sklearn-hgb", ("50,000 rows", "scikit-learn first")),
    ("tabular-no-profile", {"task": "tabular-regression"}, "sklearn-hgb",
     ("scikit-learn first",)),
    ("tabular-large-rows", {"task": "tabular-classification", "rows": 40 * M}, "lightgbm",
     ("40,000,000 rows is past the 1,000,000-row threshold",
      "scikit-learn's exact trees stop scaling")),
    ("tabular-large-gpu", {"task": "tabular-regression", "rows": 40 * M, "hardware": "cuda"},
     "xgboost", ("40,000,000 rows is past", "hardware is cuda", "GPU")),
    ("tabular-categoricals", {"task": "tabular-classification", "rows": 10_000,
     "categorical_share": 0.7}, "catboost", ("70% of feature columns are categorical",)),
    ("tabular-interpretable", {"task": "tabular-regression", "priority": "interpretability"},
     "sklearn-linear", ("priority is interpretability", "coefficients")),
    # --- library table: Deep Learning (PyTorch; TensorFlow production TPU; JAX research)
    ("dl-default", {"task": "deep-learning-framework"}, "PyTorch", ("playbook's primary",)),
    ("dl-production-tpu", {"task": "deep-learning-framework", "hardware": "tpu"}, "TensorFlow",
     ("hardware is tpu and setting is production", "TPU")),
    ("dl-research", {"task": "deep-learning-framework", "setting": "research"}, "JAX",
     ("setting is research",)),
    # --- library table: Data Processing (pandas; polars >10GB; dask distributed)
    ("data-default", {"task": "data-processing", "size_bytes": 2 * GB}, "pandas",
     ("2 GB of data",)),
    ("data-large", {"task": "data-processing", "size_bytes": 15 * GB}, "polars",
     ("15 GB of data is past the 10 GB threshold",)),
    ("data-distributed", {"task": "data-processing", "distributed": True}, "dask",
     ("the work is distributed",)),
    # --- library table: Experiment Tracking (MLflow; W&B teams; Neptune enterprise)
    ("tracking-default", {"task": "experiment-tracking", "team_size": 1}, "MLflow",
     ("a team of 1", "local store")),
    ("tracking-team", {"task": "experiment-tracking", "team_size": 6}, "Weights & Biases",
     ("a team of 6 (threshold 2)",)),
    ("tracking-enterprise", {"task": "experiment-tracking", "setting": "enterprise"}, "Neptune",
     ("setting is enterprise",)),
    # --- library table: Hyperparameter Tuning (Optuna; Ray Tune distributed)
    ("tuning-default", {"task": "hyperparameter-tuning"}, "Optuna", ("pruning",)),
    ("tuning-distributed", {"task": "hyperparameter-tuning", "distributed": True}, "Ray Tune",
     ("the work is distributed",)),
    # --- library table: NLP/LLM (transformers; vLLM serving; llama.cpp edge)
    ("serving-gpu", {"task": "llm-serving", "hardware": "cuda"}, "vLLM", ("PagedAttention",)),
    ("serving-edge", {"task": "llm-serving", "hardware": "edge"}, "llama.cpp",
     ("hardware is edge", "GGUF")),
    ("serving-cpu", {"task": "llm-serving"}, "llama.cpp", ("hardware is cpu",)),
    # --- architecture table: Classification (images) ResNet/EfficientNet (simple), ViT (SOTA)
    ("image-default", {"task": "image-classification"}, "resnet18", ("simple pick",)),
    ("image-accuracy", {"task": "image-classification", "priority": "accuracy"},
     "vit_base_patch16_224", ("priority is accuracy", "state-of-the-art")),
    ("image-edge", {"task": "image-classification", "hardware": "edge"}, "efficientnet_b0",
     ("hardware is edge",)),
    ("image-tiny", {"task": "image-classification", "images": "tiny"}, "small-cnn",
     ("images is tiny", "native resolution")),
    ("image-gpu-data", {"task": "image-classification", "hardware": "cuda", "rows": 50_000},
     "vit_small_patch16_224", ("hardware is cuda", "50,000 rows")),
    # --- Object Detection: YOLOv8 (speed), DETR (accuracy), RT-DETR (balanced)
    ("detect-speed", {"task": "object-detection", "priority": "speed"}, "yolov8",
     ("priority is speed", "speed pick")),
    ("detect-edge", {"task": "object-detection", "hardware": "edge"}, "yolov8",
     ("hardware is edge",)),
    ("detect-accuracy", {"task": "object-detection", "priority": "accuracy"}, "detr",
     ("priority is accuracy", "accuracy pick")),
    ("detect-balanced", {"task": "object-detection"}, "rt-detr", ("balanced pick",)),
    # --- Segmentation: U-Net (medical), Mask2Former (general), SAM (zero-shot)
    ("segment-medical", {"task": "segmentation", "domain": "medical"}, "unet",
     ("domain is medical", "medical pick")),
    ("segment-general", {"task": "segmentation"}, "mask2former", ("general pick",)),
    ("segment-zero-shot", {"task": "segmentation", "priority": "zero-shot"}, "sam",
     ("priority is zero-shot", "no labels")),
    # --- Text Classification: DistilBERT (fast), RoBERTa (accuracy)
    ("text-cls-default", {"task": "text-classification"}, "distilbert", ("fast pick",)),
    ("text-cls-edge", {"task": "text-classification", "hardware": "edge"}, "distilbert",
     ("hardware is edge",)),
    ("text-cls-accuracy", {"task": "text-classification", "priority": "accuracy"}, "roberta",
     ("priority is accuracy",)),
    # --- Text Generation: Llama/Mistral (open), GPT-4 (quality)
    ("text-gen-open", {"task": "text-generation"}, "llama", ("open pick", "LoRA")),
    ("text-gen-quality", {"task": "text-generation", "priority": "accuracy"}, "OpenAI API",
     ("priority is accuracy", "quality pick")),
    ("text-gen-edge", {"task": "text-generation", "hardware": "edge"}, "llama",
     ("hardware is edge", "llama.cpp")),
    # --- Embeddings: sentence-transformers, text-embedding-3-large
    ("embeddings", {"task": "embeddings"}, "sentence-transformers", ("locally",)),
    # --- Time Series: TSMixer, PatchTST, temporal fusion transformer
    ("ts-default", {"task": "time-series-forecasting"}, "tsmixer", ("all-MLP",)),
    ("ts-accuracy", {"task": "time-series-forecasting", "priority": "accuracy"}, "patchtst",
     ("priority is accuracy",)),
    ("ts-interpretable", {"task": "time-series-forecasting", "priority": "interpretability"},
     "tft", ("priority is interpretability", "variable-selection")),
    # --- Anomaly Detection: IsolationForest (simple), AutoEncoder (deep)
    ("anomaly-simple", {"task": "anomaly-detection", "n_features": 30}, "isolation-forest",
     ("30 feature columns", "simple pick")),
    ("anomaly-deep", {"task": "anomaly-detection", "n_features": 500}, "autoencoder",
     ("500 feature columns is past the 100-feature threshold", "deep pick")),
    # --- Recommendation: Two-tower, NCF, LightFM (cold start)
    ("recommend-default", {"task": "recommendation"}, "two-tower", ("nearest neighbours",)),
    ("recommend-cold-start", {"task": "recommendation", "priority": "cold-start"}, "lightfm",
     ("priority is cold-start", "new users")),
]  # fmt: skip

# (case id, profile fields, config_name or library of an alternative-only choice, reason part)
ALTERNATIVE_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("tabular-xgboost-general", {"task": "tabular-classification"}, "xgboost", "general-purpose"),
    ("tabular-random-forest", {"task": "tabular-classification"}, "sklearn-rf", "sanity check"),
    ("tabular-ft-transformer", {"task": "tabular-classification", "priority": "accuracy",
     "hardware": "cuda"}, "ft-transformer", "priority is accuracy and hardware is cuda"),
    ("tabular-tabnet", {"task": "tabular-regression", "priority": "interpretability"},
     "tabnet", "priority is interpretability"),
    ("tabular-mlp", {"task": "tabular-classification"}, "mlp", "deep baseline"),
    ("text-gen-mistral", {"task": "text-generation"}, "mistral", "Apache-2.0"),
    ("embeddings-hosted", {"task": "embeddings"}, "OpenAI API", "hosted"),
    ("recommend-ncf", {"task": "recommendation"}, "ncf", "collaborative filtering"),
]  # fmt: skip


def _id(choice: Any) -> str:
    return str(choice.config_name or choice.library)


def _winner(profile: Profile) -> Rule:
    return next(r for r in rules_for(profile.task) if applies(r, profile))


@pytest.mark.parametrize(
    ("fields", "expected", "reason_parts"),
    [case[1:] for case in PRIMARY_CASES],
    ids=[case[0] for case in PRIMARY_CASES],
)
def test_table_row_selects_its_choice(
    fields: dict[str, Any], expected: str, reason_parts: tuple[str, ...]
) -> None:
    advice = advise(Profile(**fields))
    assert _id(advice.primary) == expected
    assert advice.primary.applies
    for part in reason_parts:
        assert part in advice.primary.reason


@pytest.mark.parametrize(
    ("fields", "expected", "reason_part"),
    [case[1:] for case in ALTERNATIVE_CASES],
    ids=[case[0] for case in ALTERNATIVE_CASES],
)
def test_alternative_only_rows_are_listed(
    fields: dict[str, Any], expected: str, reason_part: str
) -> None:
    advice = advise(Profile(**fields))
    listed = {_id(c): c for c in advice.alternatives}
    assert expected in listed
    assert reason_part in listed[expected].reason


def test_every_rule_that_can_win_has_a_case() -> None:
    won = {id(_winner(Profile(**fields))) for _, fields, _, _ in PRIMARY_CASES}
    can_win = {id(r) for r in RULES if r.precedence <= DEFAULT}
    missing = [describe_rule(r) or r.library for r in RULES if id(r) in can_win - won]
    assert not missing, f"rules with no test case making them primary: {missing}"


def test_every_alternative_only_rule_has_a_case() -> None:
    covered = {(fields["task"], expected) for _, fields, expected, _ in ALTERNATIVE_CASES}
    for rule in RULES:
        if rule.precedence > DEFAULT:
            assert any((t, rule.config_name or rule.library) in covered for t in rule.tasks), rule


# --- precedence: conflicting conditions --------------------------------------------------------


def test_large_and_categorical_dominant_picks_catboost_and_lists_lightgbm_as_applying() -> None:
    advice = advise(Profile(task="tabular-classification", rows=40 * M, categorical_share=0.7))
    assert advice.primary.config_name == "catboost"
    assert "70% of feature columns are categorical" in advice.primary.reason
    first = advice.alternatives[0]
    assert first.config_name == "lightgbm" and first.applies
    assert "40,000,000 rows is past the 1,000,000-row threshold" in first.reason


def test_interpretability_beats_large_and_categorical() -> None:
    advice = advise(
        Profile(
            task="tabular-regression",
            rows=40 * M,
            categorical_share=0.9,
            priority="interpretability",
        )
    )
    assert advice.primary.config_name == "sklearn-linear"
    applying = [c.config_name for c in advice.alternatives if c.applies]
    assert applying[:2] == ["catboost", "lightgbm"]


def test_large_data_by_bytes_alone() -> None:
    advice = advise(Profile(task="tabular-classification", size_bytes=3 * GB))
    assert advice.primary.config_name == "lightgbm"
    assert "3 GB of data is past the 1 GB threshold" in advice.primary.reason


@pytest.mark.parametrize(
    ("rows", "share", "expected", "phrase"),
    [
        (1_000_000, None, "lightgbm", "1,000,000 rows reaches the 1,000,000-row threshold"),
        (999_999, None, "sklearn-hgb", "999,999 rows"),
        (1000, 0.5, "catboost", "50% of feature columns are categorical"),
        (1000, 0.49, "sklearn-hgb", "49% of feature columns categorical"),
    ],
)
def test_thresholds_are_inclusive(
    rows: int, share: float | None, expected: str, phrase: str
) -> None:
    advice = advise(Profile(task="tabular-classification", rows=rows, categorical_share=share))
    assert advice.primary.config_name == expected
    assert phrase in advice.primary.reason


def test_polars_threshold_is_strict() -> None:
    assert advise(Profile(task="data-processing", size_bytes=10 * GB)).primary.library == "pandas"
    assert advise(Profile(task="data-processing", size_bytes=10 * GB + 1)).primary.library == (
        "polars"
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"task": "data-processing", "distributed": True, "size_bytes": 50 * GB}, "dask"),
        ({"task": "experiment-tracking", "setting": "enterprise", "team_size": 40}, "Neptune"),
        ({"task": "segmentation", "priority": "zero-shot", "domain": "medical"}, "sam"),
        ({"task": "image-classification", "hardware": "edge", "priority": "accuracy"},
         "efficientnet_b0"),
        ({"task": "image-classification", "images": "tiny", "hardware": "cuda", "rows": 50_000},
         "small-cnn"),
        ({"task": "text-classification", "hardware": "edge", "priority": "accuracy"},
         "distilbert"),
        ({"task": "text-generation", "hardware": "edge", "priority": "accuracy"}, "llama"),
        ({"task": "object-detection", "hardware": "edge", "priority": "accuracy"}, "yolov8"),
        ({"task": "deep-learning-framework", "hardware": "tpu", "setting": "research"}, "JAX"),
        ({"task": "deep-learning-framework", "hardware": "tpu", "setting": "enterprise"},
         "TensorFlow"),
        ({"task": "tabular-classification", "rows": 5 * M, "hardware": "cpu"}, "lightgbm"),
        ({"task": "tabular-classification", "rows": 5 * M, "hardware": "cuda"}, "xgboost"),
    ],
)  # fmt: skip
def test_documented_conflicts_resolve_by_precedence(fields: dict[str, Any], expected: str) -> None:
    assert _id(advise(Profile(**fields)).primary) == expected


# --- shape of every answer ------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_every_task_gets_a_full_answer(task: str) -> None:
    advice = advise(Profile(task=task))
    assert isinstance(advice, Advice) and advice.task == task
    assert advice.primary.reason
    keys = [_id(advice.primary)] + [_id(c) for c in advice.alternatives]
    assert len(keys) == len(set(keys)), "no choice is listed twice"
    flags = [c.applies for c in advice.alternatives]
    assert flags == sorted(flags, reverse=True), "applicable alternatives come first"
    for choice in advice.alternatives:
        if not choice.applies:
            assert choice.reason.startswith("when ")
    if task in ML_TASKS:
        concerns = [t.concern for t in advice.tooling]
        assert "experiment-tracking" in concerns
    else:
        assert advice.tooling == ()


def test_unregistered_architecture_is_answered_but_not_available() -> None:
    primary = advise(Profile(task="object-detection", priority="speed")).primary
    assert primary.config_name == "yolov8" and primary.library == "ultralytics"
    assert primary.available is False
    assert primary.install_hint is not None
    assert "trainwell cannot train 'yolov8' yet" in primary.install_hint
    assert "pip install ultralytics" in primary.install_hint


def test_hosted_api_has_no_config_name_and_says_so() -> None:
    primary = advise(Profile(task="text-generation", priority="accuracy")).primary
    assert primary.config_name is None and primary.available is False
    assert primary.install_hint is not None and "OpenAI API" in primary.install_hint


def test_registered_architecture_availability_comes_from_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    profile = Profile(task="tabular-classification", categorical_share=0.8)
    primary = advise(profile).primary
    assert primary.available is registry.is_available("catboost")
    monkeypatch.setattr(registry, "is_available", lambda name: False)
    primary = advise(profile).primary
    assert primary.available is False
    assert primary.install_hint == "pip install 'trainwell[tabular]'"


def test_core_default_is_available_here() -> None:
    primary = advise(Profile(task="tabular-classification")).primary
    assert primary.config_name == "sklearn-hgb"
    assert primary.available is True and primary.install_hint is None


@pytest.mark.parametrize(("task", "library", "module"), [
    ("experiment-tracking", "MLflow", "mlflow"),
    ("data-processing", "pandas", "pandas"),
])  # fmt: skip
def test_tooling_availability_is_the_package_importing(
    task: str, library: str, module: str
) -> None:
    primary = advise(Profile(task=task)).primary
    assert primary.library == library
    assert primary.available is (importlib.util.find_spec(module) is not None)


def test_missing_tooling_package_gets_an_install_hint() -> None:
    primary = advise(Profile(task="experiment-tracking", team_size=5)).primary
    assert primary.library == "Weights & Biases"
    installed = importlib.util.find_spec("wandb") is not None
    assert primary.available is installed
    assert primary.install_hint == (None if installed else "pip install wandb")


# --- the tooling stack of an ML task -----------------------------------------------------------


def test_tabular_stack_follows_the_profile() -> None:
    advice = advise(
        Profile(
            task="tabular-classification",
            rows=200 * M,
            size_bytes=40 * GB,
            distributed=True,
            team_size=8,
        )
    )
    stack = {t.concern: t.library for t in advice.tooling}
    assert stack == {
        "data-processing": "dask",
        "experiment-tracking": "Weights & Biases",
        "hyperparameter-tuning": "Ray Tune",
    }
    assert advice.primary.config_name == "lightgbm"


def test_default_tabular_stack() -> None:
    advice = advise(Profile(task="tabular-regression", size_bytes=20 * GB))
    stack = {t.concern: t.library for t in advice.tooling}
    assert stack == {
        "data-processing": "polars",
        "experiment-tracking": "MLflow",
        "hyperparameter-tuning": "Optuna",
    }


def test_deep_task_stack_includes_the_framework() -> None:
    advice = advise(Profile(task="image-classification", hardware="tpu"))
    stack = {t.concern: t.library for t in advice.tooling}
    assert stack["deep-learning-framework"] == "TensorFlow"


def test_text_generation_stack_includes_serving() -> None:
    advice = advise(Profile(task="text-generation", hardware="cuda"))
    stack = {t.concern: t.library for t in advice.tooling}
    assert stack["llm-serving"] == "vLLM"
    assert advice.primary.config_name == "llama"


# --- notes ------------------------------------------------------------------------------


def test_setting_no_rule_looks_at_gets_a_note() -> None:
    advice = advise(Profile(task="object-detection", priority="interpretability"))
    assert advice.primary.config_name == "rt-detr"
    assert advice.notes == (
        "priority interpretability changes nothing for object-detection: no rule for it "
        "(or its tooling) looks at priority interpretability",
    )


def test_setting_the_tooling_looks_at_gets_no_note() -> None:
    advice = advise(Profile(task="tabular-classification", setting="enterprise", team_size=3))
    assert advice.notes == ()
    assert {t.concern: t.library for t in advice.tooling}["experiment-tracking"] == "Neptune"


def test_defaults_get_no_notes() -> None:
    assert advise(Profile(task="segmentation")).notes == ()


# --- words ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_bytes", "text"),
    [(10 * GB, "10 GB"), (1_500_000_000, "1.5 GB"), (3_100_000, "3.1 MB"), (141_200, "141.2 KB")],
)
def test_format_bytes(n_bytes: int, text: str) -> None:
    assert format_bytes(n_bytes) == text


def test_rule_conditions_read_as_written() -> None:
    texts = {describe_rule(r) for r in RULES}
    assert "(rows ≥ 1,000,000 or size ≥ 1 GB) and hardware is cuda" in texts
    assert "size > 10 GB" in texts
    assert "hardware is tpu and setting is production or enterprise" in texts
    assert "categorical share ≥ 50%" in texts


def test_tooling_tasks_are_tooling_questions() -> None:
    for task in TOOLING_TASKS:
        assert all(c.config_name is None for c in [advise(Profile(task=task)).primary])


def test_engine_holds_no_rule_data() -> None:
    # The engine evaluates the table; the choices live only in rules.py.
    source = importlib.util.find_spec("trainwell.advise.engine")
    assert source is not None and source.origin is not None
    text = Path(source.origin).read_text(encoding="utf-8")
    for name in ("catboost", "lightgbm", "sklearn-hgb", "yolov8", "polars"):
        assert f'"{name}"' not in text
    assert engine.RULES is RULES
