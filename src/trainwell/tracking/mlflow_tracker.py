"""One MLflow run per `train`, through ``MlflowClient`` (no global active-run state).

By default runs go to ``sqlite:///<cwd>/mlruns/mlflow.db`` with artifacts under
``<cwd>/mlruns/artifacts/`` — an absolute URI, never relying on MLflow's cwd default. Set
``tracking.uri`` to an MLflow server's address when a team has one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from trainwell.errors import TrackingError
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

LOCAL_STORE_DIR = "mlruns"
LOCAL_DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "artifacts"
# MLflow rejects longer parameter values; longer ones are cut and marked.
MAX_PARAM_LENGTH = 6000
MS_PER_SECOND = 1000  # MLflow timestamps are milliseconds
QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    # Fail fast when a tracking server is unreachable instead of retrying for minutes.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


def default_tracking_uri(base: Path | None = None) -> str:
    """``sqlite:///<base or cwd>/mlruns/mlflow.db`` as an absolute URI."""
    root = (base or Path.cwd()).resolve() / LOCAL_STORE_DIR
    return f"sqlite:///{root / LOCAL_DB_FILE}"


def ui_command(uri: str) -> str:
    """The shell command that opens the MLflow UI on ``uri``."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    return f"mlflow ui --backend-store-uri {uri}"


class Tracker(Protocol):
    """What training code needs from a tracker."""

    run_id: str | None

    def log_params(self, params: Mapping[str, str]) -> None:
        """Log hyperparameters (flattened config)."""

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log numeric metrics at ``step``."""

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Attach string tags to the run."""

    def log_artifacts(self, directory: Path, artifact_path: str) -> None:
        """Upload every file under ``directory``."""

    def finish(self, status: str) -> None:
        """End the run with FINISHED / FAILED / KILLED."""

    def logged_params(self) -> dict[str, str]:
        """The parameters the tracker holds for this run (read back)."""


class NullTracker:
    """Tracking disabled: every call is a no-op, ``run_id`` is None."""

    run_id: str | None = None

    def log_params(self, params: Mapping[str, str]) -> None:
        """Do nothing."""

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Do nothing."""

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Do nothing."""

    def log_artifacts(self, directory: Path, artifact_path: str) -> None:
        """Do nothing."""

    def finish(self, status: str) -> None:
        """Do nothing."""

    def logged_params(self) -> dict[str, str]:
        """Nothing is logged."""
        return {}


class RunTracker:
    """One MLflow run, written through an explicit ``MlflowClient``."""

    def __init__(self, client: Any, run_id: str, uri: str) -> None:
        self.client = client
        self.run_id: str | None = run_id
        self.uri = uri

    def _call(self, what: str, *args: Any, **kwargs: Any) -> None:
        from mlflow.exceptions import MlflowException

        try:
            getattr(self.client, what)(self.run_id, *args, **kwargs)
        except (MlflowException, OSError) as exc:
            raise TrackingError(f"MLflow {what} failed at {self.uri}: {exc}") from exc

    def log_params(self, params: Mapping[str, str]) -> None:
        """Log parameters in one batch (values cut to MLflow's limit)."""
        from mlflow.entities import Param

        batch = [
            Param(key, value if len(value) <= MAX_PARAM_LENGTH else value[:MAX_PARAM_LENGTH])
            for key, value in params.items()
        ]
        self._call("log_batch", params=batch)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log finite numeric metrics in one batch."""
        import math
        import time

        from mlflow.entities import Metric

        now = int(time.time() * MS_PER_SECOND)
        batch = [
            Metric(key, float(value), now, step)
            for key, value in metrics.items()
            if isinstance(value, int | float) and math.isfinite(value)
        ]
        if batch:
            self._call("log_batch", metrics=batch)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Set tags in one batch."""
        from mlflow.entities import RunTag

        self._call("log_batch", tags=[RunTag(k, v) for k, v in tags.items()])

    def log_artifacts(self, directory: Path, artifact_path: str) -> None:
        """Upload a directory (the model bundle)."""
        self._call("log_artifacts", str(directory), artifact_path)

    def finish(self, status: str) -> None:
        """Mark the run terminated."""
        self._call("set_terminated", status=status)

    def logged_params(self) -> dict[str, str]:
        """Read the run's parameters back from the store."""
        from mlflow.exceptions import MlflowException

        try:
            params: dict[str, str] = dict(self.client.get_run(self.run_id).data.params)
        except (MlflowException, OSError) as exc:
            raise TrackingError(f"cannot read run {self.run_id} at {self.uri}: {exc}") from exc
        return params


def open_tracker(
    enabled: bool, uri: str | None, experiment: str, run_name: str | None
) -> NullTracker | RunTracker:
    """Start a run (or a NullTracker when tracking is off).

    Raises:
        TrackingError: the store cannot be created or the server cannot be reached.
    """
    if not enabled:
        return NullTracker()
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    resolved = uri or default_tracking_uri()
    artifact_location: str | None = None
    if uri is None:
        store = Path(resolved.removeprefix("sqlite:///")).parent
        store.mkdir(parents=True, exist_ok=True)
        artifact_location = (store / ARTIFACTS_DIR / experiment).as_uri()
    try:
        client = MlflowClient(tracking_uri=resolved)
        found = client.get_experiment_by_name(experiment)
        experiment_id = (
            found.experiment_id
            if found is not None
            else client.create_experiment(experiment, artifact_location=artifact_location)
        )
        run = client.create_run(experiment_id, run_name=run_name)
    except (MlflowException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrackingError(f"cannot open MLflow tracking at {resolved}: {first}") from exc
    logger.info("tracking_run_started", uri=resolved, run_id=run.info.run_id, experiment=experiment)
    return RunTracker(client, run.info.run_id, resolved)
