"""The experiment config tree. Every section is frozen and rejects unknown keys.

An experiment YAML holds only what differs from these defaults::

    data:
      path: sklearn:breast_cancer
      target: target
    model:
      architecture: auto
    training:
      seed: 7
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trainwell.config.tune import TuneConfig

TaskKind = Literal[
    "tabular-classification", "tabular-regression", "anomaly-detection", "image-classification"
]
TASK_KINDS: tuple[str, ...] = (
    "tabular-classification",
    "tabular-regression",
    "anomaly-detection",
    "image-classification",
)

DEFAULT_SEED = 42
DEFAULT_VALID_SIZE = 0.15
DEFAULT_TEST_SIZE = 0.15
DEFAULT_EPOCHS = 20
DEFAULT_BATCH_SIZE = 256
DEFAULT_LEARNING_RATE = 1e-3


class _Section(BaseModel):
    """Base for every config section: immutable, unknown keys are errors."""

    # CSV column names are strings even when they look like numbers (data.target=1)
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, coerce_numbers_to_str=True
    )


class DataConfig(_Section):
    """Where the data comes from and how it is split."""

    path: str | None = Field(
        None,
        description="A CSV or Parquet file, or `sklearn:<name>` for a dataset scikit-learn ships; "
        "for images also a folder with one subfolder per class.",
    )
    train_path: str | None = Field(None, description="Pre-split training file (instead of path).")
    valid_path: str | None = Field(None, description="Pre-split validation file.")
    test_path: str | None = Field(None, description="Pre-split test file.")
    target: str | None = Field(
        None, description="Target column. Bundled datasets default to `target`."
    )
    group_column: str | None = Field(
        None,
        description="Rows sharing a value stay in one split (GroupShuffleSplit); not a feature.",
    )
    time_column: str | None = Field(
        None, description="Split by time: oldest rows train, newest rows test; not a feature."
    )
    drop_columns: tuple[str, ...] = Field((), description="Columns removed before training.")
    # Fields of one task family are left out of the saved config while unset, so adding a
    # family never changes another family's config hash or tracked parameters.
    image_column: str | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="Images from a CSV/Parquet: the column of image paths (relative paths are "
        "resolved against the file's folder).",
    )
    valid_size: float = Field(DEFAULT_VALID_SIZE, gt=0.0, lt=0.5)
    test_size: float = Field(DEFAULT_TEST_SIZE, gt=0.0, lt=0.5)

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        presplit = (self.train_path, self.valid_path, self.test_path)
        if self.path is not None and any(p is not None for p in presplit):
            msg = (
                "give either `data.path` or the pre-split files `data.train_path`/"
                "`data.valid_path`/`data.test_path`, not both"
            )
            raise ValueError(msg)
        if any(p is not None for p in presplit) and self.train_path is None:
            msg = "pre-split data needs `data.train_path` (valid/test are optional)"
            raise ValueError(msg)
        if self.group_column is not None and self.time_column is not None:
            msg = "choose one of `data.group_column` and `data.time_column`, not both"
            raise ValueError(msg)
        return self


class TaskConfig(_Section):
    """What is being learned. `kind` is inferred from the target when omitted."""

    kind: TaskKind | None = Field(None, description="One of: " + ", ".join(TASK_KINDS))


class ModelConfig(_Section):
    """Which architecture, and its hyperparameters."""

    architecture: str = Field(
        "auto", description="`auto` (decided by the playbook's tables) or an architecture name."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments for the architecture's builder."
    )
    pretrained: bool = Field(
        False,
        exclude_if=lambda v: v is False,
        description="Start from pretrained weights (`model.weights`, else the local Hugging Face "
        "cache); architectures without pretrained weights refuse it.",
    )
    weights: str | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="A local .safetensors file or model folder with the pretrained weights "
        "(implies pretrained=true).",
    )

    @property
    def uses_pretrained(self) -> bool:
        """``pretrained`` set, or weights given."""
        return self.pretrained or self.weights is not None


class TrainingConfig(_Section):
    """Seeds, the training loop (its settings apply to torch models) and how estimators fit.

    ``native_categorical`` and ``refit_*`` are read by the `train` job for estimator rows
    (docs/training.md): categorical columns as categories, and the refit on train+valid once
    the held-out evaluation is recorded.
    """

    seed: int = Field(DEFAULT_SEED, ge=0, le=2**32 - 1)
    deterministic: bool = Field(
        False, description="torch.use_deterministic_algorithms(True) and friends."
    )
    epochs: int = Field(DEFAULT_EPOCHS, ge=1)
    batch_size: int = Field(DEFAULT_BATCH_SIZE, ge=1)
    learning_rate: float = Field(DEFAULT_LEARNING_RATE, gt=0.0, le=10.0)
    weight_decay: float = Field(0.0, ge=0.0)
    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    scheduler: Literal["none", "cosine", "linear", "step"] = "none"
    warmup_steps: int = Field(0, ge=0)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    grad_clip: float | None = Field(1.0, gt=0.0, description="Max gradient norm; null disables.")
    grad_accumulation: int = Field(1, ge=1)
    compile: bool = False
    gradient_checkpointing: bool = False
    early_stopping_patience: int | None = Field(None, ge=1)
    monitor: str = Field("val/loss", description="Metric early stopping and `best` watch.")
    monitor_mode: Literal["min", "max"] = "min"
    num_workers: int = Field(0, ge=0)
    checkpoint_every_steps: int | None = Field(None, ge=1)
    resume: str | None = Field(None, description="A checkpoint path, or `latest`.")
    devices: int = Field(1, ge=1, description="Processes for DDP (torchrun); 1 = no DDP.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    native_categorical: bool = Field(
        True,
        description="GBMs take the categorical columns' ordinal codes as categories (CatBoost "
        "cat_features, LightGBM categorical_feature, XGBoost enable_categorical, "
        "HistGradientBoosting categorical_features); false: the codes are plain numbers.",
    )
    refit_full: bool = Field(
        True,
        description="Estimators (not torch models): after the held-out evaluation is recorded, "
        "refit the same settings on train+valid; the saved model is the refit one.",
    )
    refit_include_test: bool = Field(
        False, description="With refit_full, the test rows join the refit too (train+valid+test)."
    )

    @model_validator(mode="after")
    def _refit_test_needs_refit(self) -> TrainingConfig:
        if self.refit_include_test and not self.refit_full:
            msg = (
                "`training.refit_include_test=true` needs `training.refit_full=true` (it adds "
                "the test rows to that refit)"
            )
            raise ValueError(msg)
        return self


class TrackingConfig(_Section):
    """MLflow tracking. The default store is a SQLite file under ./mlruns/."""

    enabled: bool = True
    uri: str | None = Field(
        None, description="MLflow tracking URI; default sqlite:///<cwd>/mlruns/mlflow.db."
    )
    experiment: str = "trainwell"
    run_name: str | None = None


CheckLevel = Literal["fail", "warn", "skip"]


class ChecksConfig(_Section):
    """The pre-training checklist (`trainwell check`, and the gate before every `train`).

    A failing check stops `train`. To accept a finding knowingly, downgrade that check
    (``checks.downgrade={leakage.duplicate_rows: warn}``); the downgrade is recorded in the
    bundle and the MLflow run.
    """

    enabled: bool = Field(True, description="Run the checklist before training.")
    downgrade: dict[str, CheckLevel] = Field(
        default_factory=dict, description="Check id -> warn or skip (never silently ignored)."
    )
    # Thresholds, each with the reasoning in docs/checks.md.
    duplicate_share_fail: float = Field(
        0.05, ge=0.0, le=1.0, description="Share of valid/test rows also in train that fails."
    )
    target_proxy_score: float = Field(
        0.99, gt=0.5, le=1.0, description="Single-feature score that marks target leakage."
    )
    # The next four are measured on clean real datasets (docs/checks.md, from benchmarks/
    # measure_check_quality.py --calibrate). Standout: on 1 of 1,080 clean labelled splits does
    # an honest best feature >= 0.8 make under a third of the runner-up's errors (1st
    # percentile 0.35); a field that agrees with the target in 98% of rows makes 0.02-0.3.
    target_proxy_standout_score: float = Field(
        0.8,
        gt=0.0,
        le=1.0,
        description="Best single-feature score that warns when it stands out from the rest.",
    )
    target_proxy_standout_error_ratio: float = Field(
        0.33,
        gt=0.0,
        lt=1.0,
        description="Warn when the best feature's error (1 - score) is at most this share "
        "of the second best's.",
    )
    # honest fits on 2-5 features reach at most 0.89 held out; an exact sum 1 - 1e-12
    combination_r2: float = Field(
        0.999,
        gt=0.5,
        le=1.0,
        description="Held-out R² of a fit on <= 5 features that marks parts of the target.",
    )
    imbalance_ratio: float = Field(
        20.0, gt=1.0, description="Majority/minority class ratio reported as severe imbalance."
    )
    id_like_unique_share: float = Field(0.99, gt=0.5, le=1.0)
    shift_statistic: float = Field(
        0.3, gt=0.0, le=1.0, description="KS statistic that warns (a change of shape)."
    )
    # below the 1st percentile of the family-wise p of clean random splits (0.028-0.047)
    shift_alpha: float = Field(
        0.02, gt=0.0, lt=1.0, description="Family-wise significance of a distribution shift."
    )
    # a judgement for large tables, where everything is significant: below the 0.33 SD
    # by more than the estimate's sampling error at 1,000 test rows (0.05 SD)
    shift_min_sd: float = Field(
        0.2, ge=0.0, description="Smallest shift of a feature's location, in training SDs."
    )
    # a judgement for large tables (clean tables without natural repeats repeat at most 1 row):
    # a handful of repeats among 1,000s of rows changes no metric
    train_duplicate_share: float = Field(
        0.001, ge=0.0, le=1.0, description="Share of duplicated training rows that warns."
    )
    sample_rows: int = Field(
        50_000, ge=1000, description="Rows sampled for the per-feature and shift checks."
    )


class OutputConfig(_Section):
    """Where model bundles and run outputs go."""

    dir: Path = Field(Path("models"), description="Bundles are written under this directory.")
    runs_dir: Path = Field(
        Path("outputs"), description="Run outputs (torch checkpoints) go under this directory."
    )


class ExperimentConfig(_Section):
    """The whole experiment: what `trainwell train` runs."""

    name: str = Field("experiment", min_length=1, description="Used in bundle and run names.")
    data: DataConfig = DataConfig()
    task: TaskConfig = TaskConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    tracking: TrackingConfig = TrackingConfig()
    checks: ChecksConfig = ChecksConfig()
    tune: TuneConfig = TuneConfig()
    output: OutputConfig = OutputConfig()

    @model_validator(mode="after")
    def _has_data(self) -> ExperimentConfig:
        if self.data.path is None and self.data.train_path is None:
            msg = "no data: set `data.path` (file or sklearn:<name>) or `data.train_path`"
            raise ValueError(msg)
        return self
