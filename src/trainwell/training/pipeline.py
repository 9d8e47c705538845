"""`trainwell train`, in the order things happen.

1. seeds; 2. data: load, profile, split; 3. task and architecture (the advisor decides `auto`);
4. preprocessing fitted on train only; 5. fit; 6. evaluate on validation and test beside a
trivial baseline; 7. write the bundle atomically; 8. log everything to MLflow.

The config stops here: components below receive plain values (STYLE.md §3).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from trainwell import __version__
from trainwell.config.loader import config_hash, flatten_config
from trainwell.config.schema import ExperimentConfig
from trainwell.errors import CheckFailedError, ConfigError, DataError, ModelError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from trainwell.data.profile import DataProfile
    from trainwell.data.schema import InputSchema
    from trainwell.data.splitting import Splits
    from trainwell.evaluation.checks import CheckReport, CheckResult
    from trainwell.models.registry import ArchitectureSpec
    from trainwell.tracking import NullTracker, RunTracker

logger = get_logger(__name__)

MIN_CLASSES = 2
SLUG_MAX_LENGTH = 40
RUN_SUFFIX_LENGTH = 6
ANOMALY_LABEL = 1
SPLIT_NAMES = ("train", "valid", "test")
UNSEEN_LABEL = -1
# set by `trainwell train` before it launches DDP workers (see cli._train_distributed)
DDP_RUN_ID = "TRAINWELL_RUN_ID"
TORCH_ONLY_CHECKS = (
    ("one_batch.overfit", "overfitting one batch"),
    ("eval_mode", "the eval-mode check"),
    ("checkpoint.completeness", "checkpoint completeness"),
)


@dataclass(frozen=True)
class Decision:
    """Which architecture trains, and why."""

    architecture: str
    requested: str
    reason: str
    alternatives: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON form saved in the bundle."""
        return {
            "architecture": self.architecture,
            "requested": self.requested,
            "reason": self.reason,
            "alternatives": list(self.alternatives),
        }


@dataclass(frozen=True)
class TrainResult:
    """What a finished `train` reports to the user."""

    dataset: str
    task: str
    decision: Decision
    metrics: dict[str, Any]
    baseline_name: str
    primary_metric: str
    bundle_path: Path
    run_id: str | None
    tracking_uri: str | None
    split_sizes: dict[str, int]
    seed: int
    duration_s: float
    profile: DataProfile
    checks: CheckReport


@dataclass(frozen=True)
class PreparedData:
    """Splits with the target separated, and what describes them."""

    splits: Splits
    target: str | None
    task: str
    profile: DataProfile
    fingerprint: str
    dataset: str
    size_bytes: int | None
    target_missing_rows: int = 0


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    return slug[:SLUG_MAX_LENGTH] or "data"


def _dataset_name(config: ExperimentConfig) -> str:
    source = config.data.path or config.data.train_path or "data"
    if source.startswith("sklearn:"):
        return source
    return Path(source).name


def _resolve_target(config: ExperimentConfig) -> str | None:
    from trainwell.data.loading import BUNDLED_TARGET, is_bundled

    if config.data.target is not None:
        return config.data.target
    source = config.data.path or config.data.train_path or ""
    if is_bundled(source):
        return BUNDLED_TARGET
    if config.task.kind == "anomaly-detection":
        return None
    raise ConfigError("`data.target` is required: name the column to predict (data.target=...)")


def _drop_missing_target(
    frame: pd.DataFrame, target: str | None, where: str, dropped: list[int]
) -> pd.DataFrame:
    """Rows without a target cannot be learned from; drop them and count them in ``dropped``."""
    if target is None or target not in frame.columns:
        return frame
    missing = int(frame[target].isna().sum())
    if missing == len(frame):
        raise DataError(f"target column {target!r} has no values in the {where} data")
    if missing:
        logger.warning("rows_without_target_dropped", rows=missing, split=where)
        dropped.append(missing)
        return frame[frame[target].notna()]
    return frame


def prepare_data(config: ExperimentConfig, *, include_test: bool = True) -> PreparedData:
    """Load, profile and split the data the config names.

    Args:
        include_test: False for tuning: a pre-split test file is never opened, and a test split
            carved from the data is held out exactly as in `train` and then emptied, so no
            trial can see a test row.
    """
    import pandas as pd

    from trainwell.data.loading import fingerprint_frame, load_table, source_size_bytes
    from trainwell.data.profile import profile_frame
    from trainwell.data.splitting import Splits, split_frame

    data = config.data
    target = _resolve_target(config)
    dropped: list[int] = []
    if data.path is not None:
        frame = _drop_missing_target(load_table(data.path), target, "input", dropped)
        profile = profile_frame(frame, target)
        size_bytes = source_size_bytes(data.path)
    else:
        assert data.train_path is not None  # guaranteed by DataConfig's validator
        train = _drop_missing_target(load_table(data.train_path), target, "training", dropped)
        parts = {"train": train}
        for name, path in (("valid", data.valid_path), ("test", data.test_path)):
            if name == "test" and path is not None and not include_test:
                parts[name] = train.iloc[0:0]
                continue
            if path is not None:
                part = _drop_missing_target(load_table(path), target, name, dropped)
                if list(part.columns) != list(train.columns):
                    raise DataError(
                        f"the {name} file's columns differ from the training file's: {path}"
                    )
                parts[name] = part
        frame = pd.concat(parts.values(), keys=list(parts), names=["split", None])
        profile = profile_frame(frame.reset_index(drop=True), target)
        size_bytes = sum(
            source_size_bytes(p) or 0
            for p in (data.train_path, data.valid_path, data.test_path)
            if p
        )
    task = _resolve_task(config, profile)
    stratify = target if task != "tabular-regression" else None
    if data.path is not None:
        splits = split_frame(
            frame,
            valid_size=data.valid_size,
            test_size=data.test_size,
            seed=config.training.seed,
            stratify_on=stratify,
            group_column=data.group_column,
            time_column=data.time_column,
        )
    else:
        splits = _complete_presplit(parts, config, stratify)
    if not include_test:
        splits = Splits(splits.train, splits.valid, splits.test.iloc[0:0], splits.strategy)
    fingerprint = fingerprint_frame(frame.reset_index(drop=True))
    return PreparedData(
        splits=splits,
        target=target,
        task=task,
        profile=profile,
        fingerprint=fingerprint,
        dataset=_dataset_name(config),
        size_bytes=size_bytes,
        target_missing_rows=sum(dropped),
    )


def _complete_presplit(
    parts: dict[str, pd.DataFrame], config: ExperimentConfig, stratify: str | None
) -> Splits:
    """Use the given files; hold a missing validation or test split out of training."""
    from trainwell.data.splitting import Splits, split_off

    train = parts["train"]
    strategy = "files"
    held: dict[str, pd.DataFrame] = {}
    for name, size in (("test", config.data.test_size), ("valid", config.data.valid_size)):
        if name in parts:
            held[name] = parts[name]
            continue
        train, held[name], how = split_off(
            train,
            size,
            config.training.seed,
            stratify,
            config.data.group_column,
            config.data.time_column,
        )
        strategy = f"files+{how}"
    return Splits(train=train, valid=held["valid"], test=held["test"], strategy=strategy)


def _resolve_task(config: ExperimentConfig, profile: DataProfile) -> str:
    task = config.task.kind or profile.inferred_task
    if task is None:
        raise ConfigError("cannot infer the task: set `task.kind` or `data.target`")
    target = profile.target
    if (
        task == "tabular-classification"
        and profile.n_classes is not None
        and profile.n_classes < MIN_CLASSES
    ):
        only = next(iter(profile.class_counts), "?")
        raise DataError(f"target column {target!r} has a single class ({only!r}): nothing to learn")
    if task == "tabular-regression" and profile.target_kind != "continuous":
        kind = profile.target_kind
        if kind is not None and not _numeric_target(profile):
            raise DataError(
                f"target column {target!r} is not numeric, so it cannot be a regression target "
                "(use task.kind=tabular-classification for labels)"
            )
    return task


def _numeric_target(profile: DataProfile) -> bool:
    labels = list(profile.class_counts)
    try:
        [float(v) for v in labels]
    except ValueError:
        return False
    return True


def choose_architecture(
    config: ExperimentConfig, task: str, prepared: PreparedData
) -> tuple[ArchitectureSpec, Decision]:
    """A named architecture is used as given; `auto` asks the advisor."""
    from trainwell.models.registry import get_spec, is_available, require_available

    requested = config.model.architecture
    if requested != "auto":
        spec = get_spec(requested)
        if task not in spec.tasks:
            raise ModelError(
                f"architecture {requested!r} does not serve {task} "
                f"(it serves: {', '.join(sorted(spec.tasks))})"
            )
        require_available(spec)
        return spec, Decision(requested, requested, "named in the config (model.architecture)")

    from trainwell.advise import Profile, advise
    from trainwell.training import selection

    profile = prepared.profile
    advice = advise(
        Profile(
            task=task,
            rows=profile.n_rows,
            size_bytes=prepared.size_bytes or profile.memory_bytes,
            categorical_share=profile.categorical_share,
            n_features=profile.n_features,
        )
    )
    candidates = [advice.primary, *advice.alternatives]
    alternatives = tuple(
        {
            "architecture": c.config_name,
            "library": c.library,
            "reason": c.reason,
            "available": c.available,
        }
        for c in advice.alternatives
    )
    train = prepared.splits.train
    if prepared.target is not None and selection.applies(task, len(train), advice.primary.library):
        split_columns = tuple(c for c in (config.data.group_column, config.data.time_column) if c)
        chosen = selection.select_small_data(
            train,
            prepared.target,
            task,
            (*config.data.drop_columns, *split_columns),
            config.training.seed,
        )
        reason = chosen.reason(len(train))
        return get_spec(chosen.architecture), Decision(
            chosen.architecture, "auto", reason, alternatives
        )
    for choice in candidates:
        name = choice.config_name
        if name is not None and is_available(name) and task in get_spec(name).tasks:
            reason = choice.reason
            if choice is not advice.primary:
                reason = (
                    f"{reason} (the advisor's first choice, {advice.primary.library}, "
                    "is not installed here)"
                )
            return get_spec(name), Decision(name, "auto", reason, alternatives)
    raise ModelError(
        f"no architecture for {task} is installed here; try pip install 'trainwell[tabular]'"
    )


def _encode_labels(splits: Splits, target: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Classes seen in training (sorted) and the encoded y of each split.

    A label never seen in training is encoded as -1: the checklist reports it
    (sanity.unseen_values) and `train` refuses to evaluate on it.
    """
    import numpy as np

    train_labels = splits.train[target]
    classes = sorted(train_labels.unique().tolist(), key=lambda v: (str(type(v)), v))
    index = {value: position for position, value in enumerate(classes)}
    encoded: dict[str, Any] = {}
    for name in ("train", "valid", "test"):
        labels = getattr(splits, name)[target]
        encoded[name] = labels.map(index).fillna(UNSEEN_LABEL).to_numpy(dtype=np.int64)
    return tuple(str(c) for c in classes), encoded


def _targets(prepared: PreparedData) -> tuple[tuple[str, ...], dict[str, Any]]:
    import numpy as np

    splits, target = prepared.splits, prepared.target
    if prepared.task == "tabular-classification":
        assert target is not None
        return _encode_labels(splits, target)
    encoded: dict[str, Any] = {}
    for name in ("train", "valid", "test"):
        part = getattr(splits, name)
        if target is None:
            encoded[name] = None
        elif prepared.task == "anomaly-detection":
            encoded[name] = (part[target].to_numpy() == ANOMALY_LABEL).astype(np.int64)
        else:
            encoded[name] = part[target].to_numpy(dtype=np.float64)
    return (), encoded


def _evaluate(task: str, model: Any, X: np.ndarray, y: Any, n_classes: int) -> dict[str, Any]:
    import numpy as np

    from trainwell.evaluation.metrics import (
        anomaly_metrics,
        classification_metrics,
        regression_metrics,
    )

    if task == "tabular-classification":
        return classification_metrics(y, np.asarray(model.predict_proba(X)), n_classes)
    if task == "anomaly-detection":
        if hasattr(model, "score_samples"):
            scores = -np.asarray(model.score_samples(X))
        else:
            scores = np.asarray(model.predict_proba(X))[:, -1]
        return anomaly_metrics(y, scores)
    return regression_metrics(y, np.asarray(model.predict(X)))


def fit_model(
    setup: RunSetup, callbacks: list[Any] | None = None, checkpoint_dir: Path | None = None
) -> Any:
    """Build the architecture with the config's params and fit it on the training split.

    Torch models train through trainwell's Trainer with the `training.*` loop settings,
    validate on the validation split every epoch, and checkpoint into ``checkpoint_dir``
    (None: no checkpoints and no resume, as in tuning trials).

    Args:
        callbacks: Trainer callbacks (tracking, pruning) for torch models; estimators take none.
        checkpoint_dir: where a torch model's checkpoints go.
    """
    config, spec, task = setup.config, setup.spec, setup.prepared.task
    X, y = setup.features.X, setup.features.y
    params = dict(config.model.params)
    if spec.family == "torch":
        from trainwell.models.torch_tabular import training_kwargs

        loop = training_kwargs(config.training)
        if checkpoint_dir is None:
            loop.update(resume=None, checkpoint_every_steps=None)
        params = {
            **loop,
            "checkpoint_dir": None if checkpoint_dir is None else str(checkpoint_dir),
            "callbacks": list(callbacks or []),
            **params,
        }
    model = spec.build(task, config.training.seed, params)
    started = time.perf_counter()
    try:
        if spec.family == "torch":
            eval_set = X["valid"] if task == "anomaly-detection" else (X["valid"], y["valid"])
            model.fit(X["train"], y["train"], eval_set=eval_set)
        elif task == "anomaly-detection":
            model.fit(X["train"])
        else:
            model.fit(X["train"], y["train"])
    except (ValueError, TypeError) as exc:
        raise ModelError(f"{spec.name} failed to fit: {exc}") from exc
    logger.info("model_fitted", architecture=spec.name, seconds=time.perf_counter() - started)
    return model


def checkpoint_dir_for(config: ExperimentConfig, dataset: str, architecture: str) -> Path:
    """This run's checkpoint directory under ``output.runs_dir``.

    ``training.resume=latest`` continues the newest run of the same experiment and
    architecture that left checkpoints; a checkpoint file continues in that file's directory;
    otherwise each run gets a new directory (so runs never mix checkpoints).
    """
    root = Path(config.output.runs_dir) / _experiment_slug(config, dataset) / "checkpoints"
    resume = config.training.resume
    if resume == "latest":
        previous = sorted(
            (p for p in root.glob(f"{architecture}-*") if any(p.glob("step-*.pt"))),
            key=lambda p: p.name,
        )
        if previous:
            return previous[-1]
    elif resume is not None:
        return Path(resume).expanduser().parent
    run_id = os.environ.get(DDP_RUN_ID)
    if _distributed() and run_id:
        # every rank must name the same directory: the launcher gave all of them one run id
        return root / f"{architecture}-ddp-{_slug(run_id)}"
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return root / f"{architecture}-{stamp}-{uuid.uuid4().hex[:RUN_SUFFIX_LENGTH]}"


def evaluate(setup: RunSetup, model: Any, split: str) -> dict[str, Any]:
    """The task's metrics for ``model`` on one split ("valid" or "test")."""
    features = setup.features
    return _evaluate(
        setup.prepared.task, model, features.X[split], features.y[split], len(features.classes)
    )


def _experiment_slug(config: ExperimentConfig, dataset: str) -> str:
    base = config.name if config.name != "experiment" else dataset.removeprefix("sklearn:")
    return _slug(base)


def _bundle_name(config: ExperimentConfig, dataset: str, architecture: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = uuid.uuid4().hex[:RUN_SUFFIX_LENGTH]
    return f"{_experiment_slug(config, dataset)}-{architecture}-{stamp}-{suffix}"


@dataclass(frozen=True)
class Features:
    """The schema and fitted preprocessing, and every split turned into model inputs."""

    schema: InputSchema
    preprocessor: Any
    X: dict[str, np.ndarray]
    y: dict[str, Any]
    classes: tuple[str, ...]


@dataclass(frozen=True)
class RunSetup:
    """Everything decided before a model is fitted: what `check` inspects and `train` uses."""

    config: ExperimentConfig
    seeds: CheckResult
    seed_report: Any
    prepared: PreparedData
    spec: ArchitectureSpec
    decision: Decision
    features: Features


def build_features(
    config: ExperimentConfig, prepared: PreparedData, spec: ArchitectureSpec
) -> Features:
    """Fit the preprocessing on the training split only and transform every split."""
    import numpy as np

    from trainwell.data.preprocessing import (
        build_preprocessor,
        build_schema,
        prepare_frame,
        transform,
    )

    splits = prepared.splits
    split_columns = tuple(c for c in (config.data.group_column, config.data.time_column) if c)
    schema = build_schema(
        splits.train, prepared.target, (*config.data.drop_columns, *split_columns)
    )
    classes, y = _targets(prepared)
    schema = schema.model_copy(update={"classes": classes})
    preprocessor = build_preprocessor(schema, spec.encoding, spec.scale)
    preprocessor.fit(prepare_frame(splits.train, schema))
    X = {
        name: transform(preprocessor, part, schema)
        if len(part := getattr(splits, name))
        else np.empty((0, len(preprocessor.get_feature_names_out())))
        for name in SPLIT_NAMES
    }
    return Features(schema=schema, preprocessor=preprocessor, X=X, y=y, classes=classes)


def set_up_run(config: ExperimentConfig, *, include_test: bool = True) -> RunSetup:
    """Steps 1-4: seeds, data, architecture, features (see ``prepare_data`` for include_test)."""
    from trainwell.evaluation.checks.run_checks import verify_seeds
    from trainwell.utils.seeding import seed_everything

    seed_report = seed_everything(config.training.seed, config.training.deterministic)
    seeds = verify_seeds(config.training.seed, config.training.deterministic)
    prepared = prepare_data(config, include_test=include_test)
    spec, decision = choose_architecture(config, prepared.task, prepared)
    logger.info("architecture_chosen", architecture=spec.name, reason=decision.reason)
    features = build_features(config, prepared, spec)
    return RunSetup(config, seeds, seed_report, prepared, spec, decision, features)


def run_checklist(setup: RunSetup, tracker: NullTracker | RunTracker | None) -> CheckReport:
    """The pre-training checklist for this run, with the config's downgrades applied."""
    from trainwell.evaluation.checks import CheckReport
    from trainwell.evaluation.checks import run_checks as rc
    from trainwell.evaluation.checks.data_checks import DataCheckInput, run_data_checks

    config, prepared, features = setup.config, setup.prepared, setup.features
    schema = features.schema
    splits = prepared.splits
    results = [setup.seeds]
    results += run_data_checks(
        DataCheckInput(
            train=splits.train,
            valid=splits.valid,
            test=splits.test,
            target=prepared.target,
            task=prepared.task,
            feature_columns=tuple(schema.feature_names),
            categorical_columns=tuple(c.name for c in schema.columns if c.kind == "categorical"),
            group_column=config.data.group_column,
            time_column=config.data.time_column,
            thresholds=config.checks,
            seed=config.training.seed,
            target_missing_rows=prepared.target_missing_rows,
        )
    )
    results.append(
        rc.check_one_batch_shapes(
            prepared.task,
            features.X["train"],
            features.y["train"],
            schema,
            features.X["train"].shape[1],
            len(features.classes),
        )
    )
    results.append(
        rc.check_preprocessing_parity(
            features.preprocessor, schema, splits.train, features.X["train"]
        )
    )
    if setup.spec.family == "torch" and _distributed():
        for check_id, what in (*TORCH_ONLY_CHECKS, ("memory", "the measured memory check")):
            results.append(rc.skipped_under_ddp(check_id, what))
    elif setup.spec.family == "torch":
        from trainwell.evaluation.checks.torch_checks import run_torch_checks

        results += run_torch_checks(setup)
    else:
        results.append(rc.check_estimator_memory(features.X["train"]))
        for check_id, what in TORCH_ONLY_CHECKS:
            results.append(rc.estimator_only(check_id, what))
    results.append(rc.check_hyperparameters_tracked(tracker, flatten_config(config)))
    report = CheckReport(checks=tuple(results))
    return report.apply_downgrades(dict(config.checks.downgrade))


def _distributed() -> bool:
    """True inside a torchrun worker (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def run_training_worker(config: ExperimentConfig) -> None:
    """A DDP rank other than 0: the same set-up, gate and fit; no tracking, no bundle."""
    setup = set_up_run(config)
    if config.checks.enabled:
        _gate(run_checklist(setup, tracker=None))
    _refuse_unseen_labels(setup)
    fit_model(setup, [], checkpoint_dir_for(config, setup.prepared.dataset, setup.spec.name))


def check_run(config: ExperimentConfig) -> CheckReport:
    """`trainwell check`: set the run up and run the checklist, without fitting."""
    return run_checklist(set_up_run(config), tracker=None)


def _gate(report: CheckReport) -> None:
    failed = report.failed
    if failed:
        first = failed[0]
        more = f" (+{len(failed) - 1} more failing check(s))" if len(failed) > 1 else ""
        raise CheckFailedError(
            f"pre-training check {first.id} failed: {first.message}{more}. Fix: {first.hint}. "
            f"To accept it knowingly: checks.downgrade={{{first.id}: warn}}"
        )


def run_training(config: ExperimentConfig) -> TrainResult:
    """Run the whole `train` job for a validated config.

    Raises:
        TrainwellError: any subclass, with a message that names the problem.
    """
    from trainwell.evaluation.baselines import baseline_name, build_baseline
    from trainwell.evaluation.metrics import PRIMARY_METRIC, lift
    from trainwell.inference import bundle as bundle_io
    from trainwell.models.sklearn_models import save_skops
    from trainwell.tracking import open_tracker
    from trainwell.utils.environment import capture_environment

    started = time.perf_counter()
    # 1-4. seeds, data, architecture, preprocessing fitted on train only
    setup = set_up_run(config)
    prepared, spec, decision, features = setup.prepared, setup.spec, setup.decision, setup.features
    task, splits, schema, X, y = (
        prepared.task,
        prepared.splits,
        features.schema,
        features.X,
        (features.y),
    )
    tracker = open_tracker(
        config.tracking.enabled,
        config.tracking.uri,
        config.tracking.experiment,
        config.tracking.run_name,
    )
    status = "FAILED"
    try:
        tracker.log_params(flatten_config(config))
        chash = config_hash(config)
        environment = capture_environment()
        tracker.set_tags(
            {
                "trainwell.version": __version__,
                "trainwell.task": task,
                "trainwell.architecture": spec.name,
                "trainwell.decision": decision.reason,
                "trainwell.data_fingerprint": prepared.fingerprint,
                "trainwell.config_hash": chash,
                "trainwell.seed": str(config.training.seed),
                "trainwell.git_commit": str(environment.get("git_commit") or "none"),
            }
        )
        # 5. the checklist gate
        report = _run_gate(setup, tracker)
        _refuse_unseen_labels(setup)
        # 6. fit
        model = _fit_tracked(setup, tracker)
        # 7. evaluate beside the baseline
        n_classes = len(features.classes)
        baseline = build_baseline(task, config.training.seed)
        baseline.fit(X["train"], y["train"] if y["train"] is not None else _zeros(len(X["train"])))
        metrics: dict[str, Any] = {
            "valid": evaluate(setup, model, "valid"),
            "test": evaluate(setup, model, "test"),
            "baseline_test": _evaluate_baseline(task, baseline, X["test"], y["test"], n_classes),
        }
        metrics["lift_test"] = lift(metrics["test"], metrics["baseline_test"])
        for split in ("valid", "test", "baseline_test"):
            tracker.log_metrics(
                {f"{split}/{k}": v for k, v in metrics[split].items() if isinstance(v, float)}
            )
        # 8. bundle
        destination = Path(config.output.dir) / _bundle_name(config, prepared.dataset, spec.name)

        def fill(directory: Path) -> None:
            (directory / bundle_io.CONFIG_FILE).write_text(
                yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
            )
            bundle_io.write_json(directory / bundle_io.SCHEMA_FILE, schema.model_dump(mode="json"))
            save_skops(features.preprocessor, directory, bundle_io.PREPROCESSING_FILE)
            model_dir = directory / bundle_io.MODEL_DIR
            model_dir.mkdir()
            spec.save(model, model_dir)
            bundle_io.write_json(directory / bundle_io.METRICS_FILE, metrics)
            bundle_io.write_json(directory / bundle_io.DECISION_FILE, decision.as_dict())
            bundle_io.write_json(directory / bundle_io.CHECKS_FILE, report.model_dump(mode="json"))

        manifest = {
            "trainwell_version": __version__,
            "task": task,
            "architecture": spec.name,
            "run_id": tracker.run_id,
            "data_fingerprint": prepared.fingerprint,
            "config_hash": chash,
            "seed": config.training.seed,
            "seeding": setup.seed_report,
            "dataset": prepared.dataset,
            "environment": environment,
            "decision_reason": decision.reason,
            "split_strategy": splits.strategy,
            "split_sizes": splits.sizes(),
            "checks": _check_summary(report),
        }
        bundle_path = bundle_io.write_bundle(destination, fill, manifest)
        # 9. tracking: the bundle itself
        tracker.log_artifacts(bundle_path, "bundle")
        status = "FINISHED"
    finally:
        tracker.finish(status)
    return TrainResult(
        dataset=prepared.dataset,
        task=task,
        decision=decision,
        metrics=metrics,
        baseline_name=baseline_name(task),
        primary_metric=PRIMARY_METRIC[task],
        bundle_path=bundle_path,
        run_id=tracker.run_id,
        tracking_uri=getattr(tracker, "uri", None),
        split_sizes=splits.sizes(),
        seed=config.training.seed,
        duration_s=time.perf_counter() - started,
        profile=prepared.profile,
        checks=report,
    )


def _fit_tracked(setup: RunSetup, tracker: NullTracker | RunTracker) -> Any:
    """Fit, with per-step/epoch metrics to the tracker and checkpoints for torch models."""
    if setup.spec.family != "torch":
        return fit_model(setup)
    from trainwell.training.callbacks import MetricsLogger

    checkpoint_dir = checkpoint_dir_for(setup.config, setup.prepared.dataset, setup.spec.name)
    logger.info("checkpoints", directory=str(checkpoint_dir))
    return fit_model(setup, [MetricsLogger(tracker.log_metrics)], checkpoint_dir)


def _refuse_unseen_labels(setup: RunSetup) -> None:
    """Labels never seen in training cannot be predicted or scored."""
    y = setup.features.y
    for name in ("valid", "test"):
        labels = y.get(name)
        if labels is not None and setup.prepared.task == "tabular-classification":
            unseen = int((labels == UNSEEN_LABEL).sum())
            if unseen:
                raise DataError(
                    f"{unseen} {name} row(s) have labels never seen in training "
                    "(stratify the split, or drop those classes)"
                )


def _check_summary(report: CheckReport) -> dict[str, Any]:
    counts = {status: 0 for status in ("pass", "warn", "fail", "skip")}
    for check in report.checks:
        counts[check.status] += 1
    downgraded = {c.id: c.status for c in report.checks if c.downgraded_from is not None}
    return {**counts, "downgraded": downgraded}


def _run_gate(setup: RunSetup, tracker: NullTracker | RunTracker) -> CheckReport:
    """Run the checklist, record it in the tracker, stop on a failing check."""
    from trainwell.evaluation.checks import CheckReport

    if not setup.config.checks.enabled:
        logger.warning("checks_disabled")
        return CheckReport(checks=())
    report = run_checklist(setup, tracker)
    summary = _check_summary(report)
    tracker.set_tags(
        {
            "trainwell.checks": ", ".join(f"{summary[s]} {s}" for s in ("pass", "warn", "fail")),
            "trainwell.checks_downgraded": json.dumps(summary["downgraded"], sort_keys=True),
        }
    )
    tracker.log_metrics({f"checks/{s}": float(summary[s]) for s in ("pass", "warn", "fail")})
    for check in report.warnings:
        logger.warning("check_warning", check=check.id, finding=check.message, hint=check.hint)
    _gate(report)
    return report


def _zeros(n: int) -> np.ndarray:
    import numpy as np

    return np.zeros(n, dtype=np.int64)


def _evaluate_baseline(
    task: str, baseline: Any, X: np.ndarray, y: Any, n_classes: int
) -> dict[str, Any]:
    import numpy as np

    from trainwell.evaluation.metrics import anomaly_metrics

    if task == "anomaly-detection":
        # a constant score ranks nothing: ROC-AUC 0.5 and average precision = prevalence
        return anomaly_metrics(y, np.zeros(len(X)))
    return _evaluate(task, baseline, X, y, n_classes)
