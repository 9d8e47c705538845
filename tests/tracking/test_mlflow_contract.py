"""The MLflow contract of `trainwell train`: which params, tags and metrics a run carries.

Users build dashboards, comparisons and alerts on these keys (``test/balanced_accuracy``,
``trainwell.config_hash``, ``val/loss`` per epoch...). The sets below are pinned literally, as
the released trainwell (commit ef163e7) logs them: adding, renaming or removing a key is a
breaking change for those users' dashboards. Change a set here only on purpose, together with
the release notes, never to make a refactor pass.

Each test runs a real, tiny `train` through the CLI into a SQLite store in a temporary
directory and reads the run back with ``MlflowClient``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from trainwell.cli import app
from trainwell.tracking import default_tracking_uri, open_tracker

EXPERIMENT = "trainwell-contract"
TORCH_EPOCHS = 2

# flatten_config(config): every leaf of the config tree, dotted (an empty dict is one leaf)
PARAM_KEYS = frozenset(
    {
        "checks.combination_r2",
        "checks.downgrade",
        "checks.duplicate_share_fail",
        "checks.enabled",
        "checks.id_like_unique_share",
        "checks.imbalance_ratio",
        "checks.sample_rows",
        "checks.shift_alpha",
        "checks.shift_min_sd",
        "checks.shift_statistic",
        "checks.target_proxy_score",
        "checks.target_proxy_standout_error_ratio",
        "checks.target_proxy_standout_score",
        "checks.train_duplicate_share",
        "data.drop_columns",
        "data.group_column",
        "data.path",
        "data.target",
        "data.test_path",
        "data.test_size",
        "data.time_column",
        "data.train_path",
        "data.valid_path",
        "data.valid_size",
        "model.architecture",
        "model.params",
        "name",
        "output.dir",
        "output.runs_dir",
        "task.kind",
        "tracking.enabled",
        "tracking.experiment",
        "tracking.run_name",
        "tracking.uri",
        "training.batch_size",
        "training.checkpoint_every_steps",
        "training.compile",
        "training.deterministic",
        "training.device",
        "training.devices",
        "training.early_stopping_patience",
        "training.epochs",
        "training.grad_accumulation",
        "training.grad_clip",
        "training.gradient_checkpointing",
        "training.learning_rate",
        "training.monitor",
        "training.monitor_mode",
        "training.native_categorical",
        "training.num_workers",
        "training.optimizer",
        "training.precision",
        "training.refit_full",
        "training.refit_include_test",
        "training.resume",
        "training.scheduler",
        "training.seed",
        "training.warmup_steps",
        "training.weight_decay",
        "tune.address",
        "tune.backend",
        "tune.direction",
        "tune.metric",
        "tune.n_jobs",
        "tune.n_trials",
        "tune.output_dir",
        "tune.pruner",
        "tune.pruner_startup_trials",
        "tune.report_every",
        "tune.seed",
        "tune.space",
        "tune.storage",
        "tune.study_name",
        "tune.timeout",
    }
)

TRAINWELL_TAGS = frozenset(
    {
        "trainwell.architecture",
        "trainwell.categorical_encoding",
        "trainwell.checks",
        "trainwell.checks_downgraded",
        "trainwell.config_hash",
        "trainwell.data_fingerprint",
        "trainwell.decision",
        "trainwell.git_commit",
        "trainwell.refit",
        "trainwell.seed",
        "trainwell.task",
        "trainwell.version",
    }
)

CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "log_loss", "roc_auc")
# logged once, at step 0, after the fit (and the checklist's counts before it)
FINAL_METRICS = frozenset(
    {
        "baseline_test/accuracy",
        "baseline_test/balanced_accuracy",
        "baseline_test/f1_macro",
        "baseline_test/log_loss",
        "baseline_test/roc_auc",
        "checks/fail",
        "checks/pass",
        "checks/warn",
        "test/accuracy",
        "test/balanced_accuracy",
        "test/f1_macro",
        "test/log_loss",
        "test/roc_auc",
        "valid/accuracy",
        "valid/balanced_accuracy",
        "valid/f1_macro",
        "valid/log_loss",
        "valid/roc_auc",
    }
)
# torch models: the Trainer's metrics at the end of every epoch (step = global optimizer step)
TORCH_EPOCH_METRICS = frozenset(
    {
        "epoch",
        "train/loss",
        "train/lr",
        "train/samples_per_s",
        "val/accuracy",
        "val/loss",
    }
)

runner = CliRunner()


@pytest.fixture(scope="module")
def store_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite store for the module (creating its tables takes seconds)."""
    root = tmp_path_factory.mktemp("contract-store")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        open_tracker(True, None, EXPERIMENT, "setup").finish("FINISHED")
    return default_tracking_uri(root)


def train_and_read(store_uri: str, tmp_path: Path, *overrides: str) -> tuple[Any, Any, Path]:
    """Run `trainwell train` on iris into the store; the run, the client and the bundle."""
    result = runner.invoke(
        app,
        [
            "train",
            "data.path=sklearn:iris",
            f"tracking.uri={store_uri}",
            f"tracking.experiment={EXPERIMENT}",
            f"output.dir={tmp_path / 'models'}",
            f"output.runs_dir={tmp_path / 'outputs'}",
            *overrides,
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    bundles = [p for p in (tmp_path / "models").iterdir() if not p.name.startswith(".")]
    assert len(bundles) == 1, bundles
    manifest = json.loads((bundles[0] / "manifest.json").read_text(encoding="utf-8"))
    client = MlflowClient(tracking_uri=store_uri)
    return client.get_run(manifest["run_id"]), client, bundles[0]


def trainwell_tags(run: Any) -> set[str]:
    return {key for key in run.data.tags if key.startswith("trainwell.")}


def assert_final_metrics_match_the_bundle(run: Any, client: Any, bundle: Path) -> None:
    metrics = json.loads((bundle / "metrics.json").read_text(encoding="utf-8"))
    for split in ("valid", "test", "baseline_test"):
        for name in CLASSIFICATION_METRICS:
            assert run.data.metrics[f"{split}/{name}"] == pytest.approx(metrics[split][name])
    for key in FINAL_METRICS:
        history = client.get_metric_history(run.info.run_id, key)
        assert [m.step for m in history] == [0], key


def assert_tags_match_the_bundle(run: Any, bundle: Path, architecture: str) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    tags = run.data.tags
    assert tags["trainwell.architecture"] == architecture
    assert tags["trainwell.task"] == "tabular-classification"
    assert tags["trainwell.config_hash"] == manifest["config_hash"]
    assert tags["trainwell.data_fingerprint"] == manifest["data_fingerprint"]
    assert tags["trainwell.seed"] == str(manifest["seed"])
    assert tags["trainwell.version"] == manifest["trainwell_version"]


@pytest.mark.slow
def test_sklearn_run_logs_exactly_the_pinned_keys(store_uri: str, tmp_path: Path) -> None:
    run, client, bundle = train_and_read(store_uri, tmp_path, "model.architecture=sklearn-linear")
    assert run.info.status == "FINISHED"
    assert set(run.data.params) == PARAM_KEYS
    assert trainwell_tags(run) == TRAINWELL_TAGS
    assert set(run.data.metrics) == FINAL_METRICS
    assert_final_metrics_match_the_bundle(run, client, bundle)
    assert_tags_match_the_bundle(run, bundle, "sklearn-linear")


@pytest.mark.slow
def test_torch_run_logs_exactly_the_pinned_keys_and_every_epoch(
    store_uri: str, tmp_path: Path
) -> None:
    run, client, bundle = train_and_read(
        store_uri, tmp_path, "model.architecture=mlp", f"training.epochs={TORCH_EPOCHS}"
    )
    assert run.info.status == "FINISHED"
    assert set(run.data.params) == PARAM_KEYS
    assert run.data.params["training.epochs"] == str(TORCH_EPOCHS)
    assert trainwell_tags(run) == TRAINWELL_TAGS
    assert set(run.data.metrics) == FINAL_METRICS | TORCH_EPOCH_METRICS
    assert_final_metrics_match_the_bundle(run, client, bundle)
    assert_tags_match_the_bundle(run, bundle, "mlp")
    # one point per epoch; 104 training rows < batch_size 256 is one optimizer step per epoch
    for key in TORCH_EPOCH_METRICS:
        history = client.get_metric_history(run.info.run_id, key)
        assert sorted(m.step for m in history) == list(range(1, TORCH_EPOCHS + 1)), key
    epochs = sorted(m.value for m in client.get_metric_history(run.info.run_id, "epoch"))
    assert epochs == [float(e) for e in range(1, TORCH_EPOCHS + 1)]
