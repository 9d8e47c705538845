"""Tracking against the real MLflow library, with a SQLite store in a temporary directory."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from trainwell.errors import TrackingError
from trainwell.tracking.mlflow_tracker import (
    MAX_PARAM_LENGTH,
    NullTracker,
    RunTracker,
    default_tracking_uri,
    open_tracker,
    ui_command,
)

EXPERIMENT = "trainwell-tests"


@dataclass(frozen=True)
class Store:
    root: Path
    uri: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One SQLite store for the module (creating its tables takes seconds), at the default
    location under a directory of its own."""
    root = tmp_path_factory.mktemp("project")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        open_tracker(True, None, EXPERIMENT, "setup").finish("FINISHED")
    return Store(root=root, uri=default_tracking_uri(root))


def open_run(store: Store, name: str = "run") -> RunTracker:
    tracker = open_tracker(True, store.uri, EXPERIMENT, name)
    assert isinstance(tracker, RunTracker)
    return tracker


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_default_store_lives_under_the_working_directory(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store.root)
    tracker = open_tracker(True, None, EXPERIMENT, "default")
    assert isinstance(tracker, RunTracker)
    assert tracker.uri == f"sqlite:///{store.root.resolve()}/mlruns/mlflow.db"
    assert (store.root / "mlruns" / "mlflow.db").is_file()
    experiment = MlflowClient(tracker.uri).get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    expected_artifacts = store.root.resolve() / "mlruns" / "artifacts" / EXPERIMENT
    assert experiment.artifact_location == expected_artifacts.as_uri()


def test_open_tracker_creates_a_running_run(store: Store) -> None:
    tracker = open_run(store, "first-try")
    run = MlflowClient(store.uri).get_run(tracker.run_id)
    assert run.info.run_name == "first-try"
    assert run.info.status == "RUNNING"
    experiment = MlflowClient(store.uri).get_experiment(run.info.experiment_id)
    assert experiment.name == EXPERIMENT


def test_runs_share_the_experiment(store: Store) -> None:
    first, second = open_run(store), open_run(store)
    client = MlflowClient(store.uri)
    assert first.run_id != second.run_id
    experiment_ids = {client.get_run(r.run_id).info.experiment_id for r in (first, second)}
    assert len(experiment_ids) == 1


def test_params_metrics_and_tags_can_be_read_back(store: Store) -> None:
    tracker = open_run(store)
    tracker.log_params({"training.seed": "42", "model.architecture": "sklearn-hgb"})
    tracker.log_metrics({"val/loss": 0.5, "val/acc": 0.75}, step=1)
    tracker.log_metrics({"val/loss": 0.25, "epochs": 3}, step=2)
    tracker.set_tags({"data_fingerprint": "abc123", "git_commit": "deadbeef"})
    tracker.finish("FINISHED")

    client = MlflowClient(store.uri)
    run = client.get_run(tracker.run_id)
    assert run.data.params == {"training.seed": "42", "model.architecture": "sklearn-hgb"}
    assert tracker.logged_params() == run.data.params
    assert run.data.metrics == {"val/loss": 0.25, "val/acc": 0.75, "epochs": 3.0}
    history = client.get_metric_history(tracker.run_id, "val/loss")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.25)]
    assert run.data.tags["data_fingerprint"] == "abc123"
    assert run.data.tags["git_commit"] == "deadbeef"
    assert run.info.status == "FINISHED"
    assert run.info.end_time is not None


def test_non_finite_and_non_numeric_metrics_are_skipped(store: Store) -> None:
    tracker = open_run(store)
    metrics: dict[str, Any] = {"ok": 1.5, "nan": float("nan"), "inf": float("inf"), "text": "hi"}
    tracker.log_metrics(metrics)
    tracker.log_metrics({"nan": float("nan")})  # nothing left to log: no call, no error
    assert MlflowClient(store.uri).get_run(tracker.run_id).data.metrics == {"ok": 1.5}


def test_long_params_are_cut_to_the_limit(store: Store) -> None:
    tracker = open_run(store)
    tracker.log_params({"data.drop_columns": "x" * (MAX_PARAM_LENGTH + 100)})
    assert tracker.logged_params()["data.drop_columns"] == "x" * MAX_PARAM_LENGTH


def test_artifacts_are_uploaded(store: Store, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "model").mkdir(parents=True)
    (bundle / "manifest.json").write_text('{"files": {}}\n', encoding="utf-8")
    (bundle / "model" / "model.skops").write_bytes(b"\x00\x01\x02")
    tracker = open_run(store)
    tracker.log_artifacts(bundle, "bundle")

    client = MlflowClient(store.uri)
    listed = sorted(a.path for a in client.list_artifacts(tracker.run_id, "bundle"))
    assert listed == ["bundle/manifest.json", "bundle/model"]
    local = Path(
        client.download_artifacts(tracker.run_id, "bundle/model/model.skops", str(tmp_path))
    )
    assert local.read_bytes() == b"\x00\x01\x02"
    # stored under the experiment's artifact root beside the database, not in the cwd
    stored = store.root / "mlruns" / "artifacts" / EXPERIMENT / str(tracker.run_id)
    assert (stored / "artifacts" / "bundle" / "model" / "model.skops").is_file()
    assert not (tmp_path / "mlruns").exists()


def test_a_rejected_write_is_a_tracking_error(store: Store) -> None:
    tracker = open_run(store)
    tracker.log_params({"training.seed": "1"})
    with pytest.raises(TrackingError) as exc:
        tracker.log_params({"training.seed": "2"})  # MLflow params are write-once
    assert str(exc.value).startswith(f"MLflow log_batch failed at {store.uri}: ")


def test_disabled_tracking_is_a_null_tracker(tmp_path: Path) -> None:
    tracker = open_tracker(False, "http://tracking.invalid:5000", EXPERIMENT, None)
    assert isinstance(tracker, NullTracker)
    assert tracker.run_id is None
    tracker.log_params({"a": "1"})
    tracker.log_metrics({"m": 1.0})
    tracker.set_tags({"t": "v"})
    tracker.log_artifacts(tmp_path, "bundle")
    tracker.finish("FINISHED")
    assert tracker.logged_params() == {}
    assert list(tmp_path.iterdir()) == []  # no mlruns/ in the working directory


def test_unreachable_server_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(TrackingError) as exc:
        open_tracker(True, uri, EXPERIMENT, None)
    assert time.monotonic() - started < 15
    message = str(exc.value)
    assert message.startswith(f"cannot open MLflow tracking at {uri}: ")
    assert "\n" not in message


def test_default_tracking_uri_is_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    expected = f"sqlite:///{(tmp_path / 'project').resolve()}/mlruns/mlflow.db"
    assert default_tracking_uri() == expected
    assert default_tracking_uri(Path()) == expected  # a relative base is resolved too
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlruns/mlflow.db"
    assert Path(default_tracking_uri().removeprefix("sqlite:///")).is_absolute()


def test_ui_command() -> None:
    uri = "sqlite:////home/me/project/mlruns/mlflow.db"
    assert ui_command(uri) == f"mlflow ui --backend-store-uri {uri}"
    assert ui_command("http://mlflow.team:5000") == "open http://mlflow.team:5000 in a browser"
    assert ui_command("https://mlflow.team") == "open https://mlflow.team in a browser"
