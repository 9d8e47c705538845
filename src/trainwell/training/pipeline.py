"""`trainwell train`, in the order things happen.

1. seeds; 2. data: load, profile, split; 3. task and architecture (the advisor decides `auto`);
4. preprocessing fitted on train only; 5. fit; 6. evaluate on validation and test beside a
trivial baseline; 7. refit the same settings on train+valid (``training.refit_full``,
estimators only: the metrics stay the held-out ones); 8. write the bundle atomically (with the
drift reference `serve` compares served rows with); 9. log everything to MLflow.

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
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from trainwell import __version__
from trainwell.config.loader import config_hash, flatten_config
from trainwell.config.schema import ExperimentConfig
from trainwell.errors import CheckFailedError, ConfigError, DataError, ModelError
from trainwell.tasks import get_task
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np

    from trainwell.data.modality import Features, Modality, PreparedData
    from trainwell.data.profile import DataProfile
    from trainwell.evaluation.checks import CheckReport, CheckResult
    from trainwell.evaluation.checks.torch_checks import TorchCheckInput
    from trainwell.evaluation.objectives import Objective
    from trainwell.models.registry import ArchitectureSpec
    from trainwell.tracking import NullTracker, RunTracker
    from trainwell.training.fit import CategoricalEncoding

logger = get_logger(__name__)

SLUG_MAX_LENGTH = 40
RUN_SUFFIX_LENGTH = 6
SPLIT_NAMES = ("train", "valid", "test")
NVIDIA_DRIVER = Path("/proc/driver/nvidia/version")
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
class Refit:
    """The saved model was fitted again, on these splits, after the held-out evaluation."""

    rows: int
    splits: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The manifest's ``refit`` entry (the metrics in the bundle are the held-out ones)."""
        return {"rows": self.rows, "splits": list(self.splits), "held_out_metrics": True}

    def summary(self) -> str:
        """The sentence `train` prints under its metrics."""
        return (
            f"metrics are from held-out rows; the saved model was refit on {self.rows:,} rows "
            f"({'+'.join(self.splits)})"
        )

    def tag(self) -> str:
        """The MLflow tag ``trainwell.refit``."""
        return f"{'+'.join(self.splits)} ({self.rows} rows)"


@dataclass(frozen=True)
class TrainResult:
    """What a finished `train` reports to the user.

    Attributes:
        refit: the saved model was refit on more rows than the evaluated one (None: the saved
            model is the evaluated one); ``metrics`` are the held-out ones either way.
    """

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
    refit: Refit | None = None


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()
    return slug[:SLUG_MAX_LENGTH] or "data"


def _modality(config: ExperimentConfig) -> Modality:
    from trainwell.tasks import DEFAULT_MODALITY

    kind = config.task.kind
    return DEFAULT_MODALITY if kind is None else get_task(kind).modality


def prepare_data(config: ExperimentConfig, *, include_test: bool = True) -> PreparedData:
    """Load, profile and split the data the config names (its task's modality does the work).

    Args:
        include_test: False for tuning: a pre-split test file is never opened, and a test split
            carved from the data is held out exactly as in `train` and then emptied, so no
            trial can see a test row.
    """
    from trainwell.data.modality import PreparedData

    modality = _modality(config)
    kind = config.task.kind
    # anomaly detection learns without labels (when present, they only score it)
    target_optional = kind is not None and not get_task(kind).objective.supervised
    loaded = modality.load(config, target_optional, include_test)
    task = _resolve_task(config, loaded.profile)
    splits = modality.split(loaded, config, get_task(task).objective.labels, include_test)
    return PreparedData(
        splits=splits,
        target=loaded.target,
        task=task,
        profile=loaded.profile,
        fingerprint=loaded.fingerprint,
        dataset=loaded.dataset,
        size_bytes=loaded.size_bytes,
        target_missing_rows=loaded.target_missing_rows,
    )


def _resolve_task(config: ExperimentConfig, profile: DataProfile) -> str:
    task = config.task.kind or profile.inferred_task
    if task is None:
        raise ConfigError("cannot infer the task: set `task.kind` or `data.target`")
    get_task(task).objective.check_target(profile)
    return task


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
            n_features=profile.n_features or None,
            hardware=_hardware(config.training.device),
            images=_image_scale(profile),
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
    row = get_task(task)
    if (
        prepared.target is not None
        and row.small_data_selection
        and selection.applies(row.objective.name, len(train), advice.primary.library)
    ):
        split_columns = tuple(c for c in (config.data.group_column, config.data.time_column) if c)
        chosen = selection.select_small_data(
            train,
            prepared.target,
            row.objective.name,
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


def _hardware(device: str) -> Literal["cpu", "cuda"]:
    """What the advisor is told: CUDA when asked for, or when `auto` finds an NVIDIA driver
    (read from /proc, so no torch import for a run that may not need torch)."""
    if device == "cuda" or (device == "auto" and NVIDIA_DRIVER.exists()):
        return "cuda"
    return "cpu"


def _image_scale(profile: DataProfile) -> Literal["tiny", "photo"] | None:
    from trainwell.advise.profile import TINY_IMAGE_SIDE

    if profile.image_size is None:
        return None
    return "tiny" if max(profile.image_size) <= TINY_IMAGE_SIDE else "photo"


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
    from trainwell.training import fit

    model = fit.build_model(
        setup.spec,
        setup.objective,
        setup.config,
        callbacks=callbacks or (),
        checkpoint_dir=checkpoint_dir,
    )
    return fit.fit_model(
        setup.spec,
        model,
        setup.objective,
        setup.features.X,
        setup.features.y,
        categorical=setup.categorical.positions,
    )


def refit_splits(config: ExperimentConfig, spec: ArchitectureSpec) -> tuple[str, ...]:
    """The splits the saved model is refit on; empty: it is not (``training.refit_full`` off,
    or a torch loop row, which validates every epoch on a split a refit would swallow)."""
    if spec.loop or not config.training.refit_full:
        return ()
    return SPLIT_NAMES if config.training.refit_include_test else ("train", "valid")


def refit(setup: RunSetup, evaluated: Any) -> tuple[Any, Refit | None]:
    """Step 7: the evaluated settings fitted on train+valid (+test), after the evaluation.

    The preprocessing stays the one fitted on the training split, as the schema, the checks,
    the drift reference and the evaluated model saw it: the refit model reads the same columns
    the same way (a category only the validation rows have is -1, unknown, as in `predict`).

    Returns:
        (the model to save, what was refit; None and ``evaluated`` when nothing is).
    """
    from trainwell.training import fit

    splits = tuple(s for s in refit_splits(setup.config, setup.spec) if len(setup.features.X[s]))
    if not set(splits) - {"train"}:  # the training split alone: that is the evaluated fit
        return evaluated, None
    X, y = setup.features.X, setup.features.y
    model = fit.refit_model(
        setup.spec,
        evaluated,
        setup.objective,
        setup.config,
        X,
        y,
        splits,
        categorical=setup.categorical.positions,
    )
    done = Refit(rows=sum(len(X[s]) for s in splits), splits=splits)
    logger.info("model_refit", architecture=setup.spec.name, rows=done.rows, splits=done.splits)
    return model, done


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
    return setup.objective.evaluate(
        model, features.X[split], features.y[split], len(features.classes)
    )


def _experiment_slug(config: ExperimentConfig, dataset: str) -> str:
    base = config.name if config.name != "experiment" else dataset.removeprefix("sklearn:")
    return _slug(base)


def _bundle_name(config: ExperimentConfig, dataset: str, architecture: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = uuid.uuid4().hex[:RUN_SUFFIX_LENGTH]
    return f"{_experiment_slug(config, dataset)}-{architecture}-{stamp}-{suffix}"


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

    @property
    def objective(self) -> Objective:
        """What this run learns (from the task table)."""
        return get_task(self.prepared.task).objective

    @cached_property
    def categorical(self) -> CategoricalEncoding:
        """How the categorical columns reach the model (native categories or codes)."""
        from trainwell.training.fit import categorical_encoding

        return categorical_encoding(
            self.spec,
            self.features,
            self.config.model.params,
            self.config.training.native_categorical,
        )


def build_features(
    config: ExperimentConfig, prepared: PreparedData, spec: ArchitectureSpec
) -> Features:
    """Encode the targets, fit the preprocessing on the training split only, transform all."""
    row = get_task(prepared.task)
    splits = prepared.splits
    targets = row.objective.targets(
        {name: getattr(splits, name) for name in SPLIT_NAMES}, prepared.target
    )
    return row.modality.fit_inputs(config, prepared, spec, targets)


def set_up_run(config: ExperimentConfig, *, include_test: bool = True) -> RunSetup:
    """Steps 1-4: seeds, data, architecture, features (see ``prepare_data`` for include_test)."""
    from trainwell.evaluation.checks.run_checks import verify_seeds
    from trainwell.utils.seeding import seed_everything

    torch = _modality(config).seeds_torch
    seed_report = seed_everything(config.training.seed, config.training.deterministic, torch=torch)
    seeds = verify_seeds(config.training.seed, config.training.deterministic, torch=torch)
    prepared = prepare_data(config, include_test=include_test)
    spec, decision = choose_architecture(config, prepared.task, prepared)
    logger.info("architecture_chosen", architecture=spec.name, reason=decision.reason)
    features = build_features(config, prepared, spec)
    return RunSetup(config, seeds, seed_report, prepared, spec, decision, features)


def run_checklist(setup: RunSetup, tracker: NullTracker | RunTracker | None) -> CheckReport:
    """The pre-training checklist for this run, with the config's downgrades applied."""
    from trainwell.evaluation.checks import CheckReport
    from trainwell.evaluation.checks import run_checks as rc

    config, features = setup.config, setup.features
    modality = get_task(setup.prepared.task).modality
    results = [setup.seeds]
    results += modality.checks(config, setup.prepared, features, setup.objective)
    if setup.spec.loop and _distributed():
        for check_id, what in (*TORCH_ONLY_CHECKS, ("memory", "the measured memory check")):
            results.append(rc.skipped_under_ddp(check_id, what))
    elif setup.spec.loop:
        from trainwell.evaluation.checks.torch_checks import run_torch_checks

        results += run_torch_checks(torch_check_input(setup))
    else:
        results.append(rc.check_estimator_memory(features.X["train"]))
        for check_id, what in TORCH_ONLY_CHECKS:
            results.append(rc.estimator_only(check_id, what))
    results.append(rc.check_hyperparameters_tracked(tracker, flatten_config(config)))
    report = CheckReport(checks=tuple(results))
    return report.apply_downgrades(dict(config.checks.downgrade))


def torch_check_input(setup: RunSetup) -> TorchCheckInput:
    """What the torch checks need: a factory for short probe fits and the model inputs."""
    from trainwell.evaluation.checks.torch_checks import TorchCheckInput
    from trainwell.training import fit

    config, spec, objective = setup.config, setup.spec, setup.objective
    X, y = setup.features.X, setup.features.y
    quiet = {"resume": None, "progress_bar": False, "early_stopping_patience": None, "devices": 1}

    def build(**overrides: Any) -> Any:
        return fit.build_model(spec, objective, config, overrides={**quiet, **overrides})

    return TorchCheckInput(
        build=build,
        X_train=X["train"],
        y_train=y["train"] if objective.supervised else None,
        X_valid=X["valid"],
        y_valid=y["valid"] if objective.supervised else None,
        batch_size=config.training.batch_size,
        device=config.training.device,
        scheduler=config.training.scheduler,
    )


def _distributed() -> bool:
    """True inside a torchrun worker (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def run_training_worker(config: ExperimentConfig) -> None:
    """A DDP rank other than 0: the same set-up, gate and fit; no tracking, no bundle."""
    setup = set_up_run(config)
    if config.checks.enabled:
        _gate(run_checklist(setup, tracker=None))
    refuse_unseen_labels(setup)
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
    from trainwell.evaluation.metrics import lift
    from trainwell.inference import bundle as bundle_io
    from trainwell.inference import drift
    from trainwell.tracking import open_tracker
    from trainwell.utils.environment import capture_environment

    started = time.perf_counter()
    # 1-4. seeds, data, architecture, preprocessing fitted on train only
    setup = set_up_run(config)
    prepared, spec, decision, features = setup.prepared, setup.spec, setup.decision, setup.features
    task, splits, X, y = prepared.task, prepared.splits, features.X, features.y
    objective = setup.objective
    categorical = setup.categorical
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
                "trainwell.categorical_encoding": categorical.counts(),
            }
        )
        # 5. the checklist gate
        report = _run_gate(setup, tracker)
        refuse_unseen_labels(setup)
        # 6. fit
        model = _fit_tracked(setup, tracker)
        # 7. evaluate beside the baseline
        n_classes = len(features.classes)
        baseline = objective.baseline(config.training.seed)
        baseline.fit(X["train"], y["train"] if y["train"] is not None else _zeros(len(X["train"])))
        metrics: dict[str, Any] = {
            "valid": evaluate(setup, model, "valid"),
            "test": evaluate(setup, model, "test"),
            "baseline_test": objective.evaluate_baseline(baseline, X["test"], y["test"], n_classes),
        }
        metrics["lift_test"] = lift(metrics["test"], metrics["baseline_test"])
        for split in ("valid", "test", "baseline_test"):
            tracker.log_metrics(
                {f"{split}/{k}": v for k, v in metrics[split].items() if isinstance(v, float)}
            )
        bundle_name = _bundle_name(config, prepared.dataset, spec.name)
        _write_reports(setup, model, bundle_name, tracker)
        # 7. refit on train+valid(+test); the metrics above stay the held-out ones
        final, refitted = refit(setup, model)
        tracker.set_tags({"trainwell.refit": refitted.tag() if refitted else "none"})
        # 8. bundle
        destination = Path(config.output.dir) / bundle_name

        def fill(directory: Path) -> None:
            (directory / bundle_io.CONFIG_FILE).write_text(
                yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), encoding="utf-8"
            )
            modality = get_task(task).modality
            modality.save_inputs(features, directory)
            modality.save_samples(prepared, features, directory)
            # what `serve` measures drift against (nothing for a modality without columns); the
            # predictions' reference is the evaluated model's on the validation rows, which the
            # refit model has trained on: its outputs there would look more certain than on
            # the new rows `serve` sees
            drift.write_reference(
                directory, modality, prepared, features, objective, model, config.training.seed
            )
            model_dir = directory / bundle_io.MODEL_DIR
            model_dir.mkdir()
            spec.save(final, model_dir)
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
            "categorical_encoding": categorical.columns,
            "refit": refitted.as_dict() if refitted else None,
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
        baseline_name=objective.baseline_name,
        primary_metric=objective.primary,
        bundle_path=bundle_path,
        run_id=tracker.run_id,
        tracking_uri=getattr(tracker, "uri", None),
        split_sizes=splits.sizes(),
        seed=config.training.seed,
        duration_s=time.perf_counter() - started,
        profile=prepared.profile,
        checks=report,
        refit=refitted,
    )


def _fit_tracked(setup: RunSetup, tracker: NullTracker | RunTracker) -> Any:
    """Fit, with per-step/epoch metrics to the tracker and checkpoints for torch models."""
    if not setup.spec.loop:
        return fit_model(setup)
    from trainwell.training.callbacks import MetricsLogger

    checkpoint_dir = checkpoint_dir_for(setup.config, setup.prepared.dataset, setup.spec.name)
    logger.info("checkpoints", directory=str(checkpoint_dir))
    return fit_model(setup, [MetricsLogger(tracker.log_metrics)], checkpoint_dir)


def _write_reports(
    setup: RunSetup, model: Any, bundle_name: str, tracker: NullTracker | RunTracker
) -> None:
    """The objective's plots for the validation split, under ``output.runs_dir`` and the run."""
    features = setup.features
    y_valid = features.y.get("valid")
    if y_valid is None or len(y_valid) == 0:
        return
    directory = (
        Path(setup.config.output.runs_dir)
        / _experiment_slug(setup.config, setup.prepared.dataset)
        / "reports"
        / bundle_name
    )
    written = setup.objective.report(
        model, features.X["valid"], y_valid, features.classes, directory
    )
    if written:
        logger.info("reports_written", directory=str(directory), files=[p.name for p in written])
        tracker.log_artifacts(directory, "reports")


def refuse_unseen_labels(setup: RunSetup) -> None:
    """Labels never seen in training cannot be predicted or scored."""
    y = setup.features.y
    for name in ("valid", "test"):
        problem = setup.objective.unseen_problem(name, y.get(name))
        if problem is not None:
            raise DataError(problem)


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
