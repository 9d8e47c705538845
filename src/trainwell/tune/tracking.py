"""MLflow for a study: one parent run, every trial a nested run under it.

Nesting is MLflow's own convention: a child run carries the tag ``mlflow.parentRunId``. The
parent run's id is stored in the study, so a resumed study keeps adding trials under the same
parent. Trials finish on worker threads (``n_jobs``) and write through one lock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainwell.config.loader import flatten_config
from trainwell.errors import TrackingError
from trainwell.tracking import RunTracker, default_tracking_uri, open_tracker
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import optuna

    from trainwell.config.schema import ExperimentConfig

logger = get_logger(__name__)

PARENT_TAG = "mlflow.parentRunId"
PARENT_RUN_ATTR = "trainwell.mlflow_parent_run_id"
TRACKING_URI_ATTR = "trainwell.mlflow_uri"
RUN_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}
MS_PER_SECOND = 1000


def _ms(moment: Any) -> int | None:
    return int(moment.timestamp() * MS_PER_SECOND) if moment is not None else None


class StudyTracker:
    """The study's parent run, and a nested run per trial."""

    def __init__(self, parent: RunTracker, experiment_id: str) -> None:
        self.parent = parent
        self.experiment_id = experiment_id
        self._lock = threading.Lock()

    @property
    def run_id(self) -> str:
        """The parent run's id."""
        assert self.parent.run_id is not None  # a RunTracker always has one
        return self.parent.run_id

    @classmethod
    def open(
        cls, config: ExperimentConfig, study: optuna.Study, study_params: Mapping[str, str]
    ) -> StudyTracker | None:
        """Reattach to the study's parent run, or start one (None when tracking is off).

        Args:
            study_params: logged on a new parent run only (MLflow parameters are immutable,
                and a resumed study may run with another budget).
        """
        tracking = config.tracking
        if not tracking.enabled:
            return None
        uri = tracking.uri or default_tracking_uri()
        run_id = study.user_attrs.get(PARENT_RUN_ATTR)
        if run_id is not None and study.user_attrs.get(TRACKING_URI_ATTR) == uri:
            tracker = cls._reattach(uri, str(run_id))
            if tracker is not None:
                return tracker
        opened = open_tracker(True, tracking.uri, tracking.experiment, study.study_name)
        assert isinstance(opened, RunTracker)  # tracking is enabled
        opened.log_params({**flatten_config(config), **study_params})
        study.set_user_attr(PARENT_RUN_ATTR, opened.run_id)
        study.set_user_attr(TRACKING_URI_ATTR, uri)
        experiment_id = opened.client.get_run(opened.run_id).info.experiment_id
        return cls(opened, experiment_id)

    @classmethod
    def _reattach(cls, uri: str, run_id: str) -> StudyTracker | None:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        try:
            run = client.get_run(run_id)
            if run.info.lifecycle_stage != "active":
                return None
            client.update_run(run_id, status="RUNNING")
        except (MlflowException, OSError) as exc:
            logger.warning("parent_run_not_reattached", run_id=run_id, error=str(exc))
            return None
        logger.info("parent_run_reattached", run_id=run_id, uri=uri)
        return cls(RunTracker(client, run_id, uri), run.info.experiment_id)

    def log_trial(self, trial: optuna.trial.FrozenTrial, metric: str) -> None:
        """One nested run: the trial's parameters, scores, intermediate values and state."""
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.exceptions import MlflowException

        client = self.parent.client
        started = _ms(trial.datetime_start)
        ended = _ms(trial.datetime_complete)
        stamp = ended or started or 0
        metrics = [
            Metric(f"valid/{key}", float(value), stamp, 0)
            for key, value in trial.user_attrs.get("valid_metrics", {}).items()
        ]
        metrics += [
            Metric(f"intermediate/{metric}", float(value), stamp, int(step))
            for step, value in sorted(trial.intermediate_values.items())
        ]
        tags = [RunTag("trainwell.trial_state", trial.state.name.lower())]
        if trial.user_attrs.get("error"):
            tags.append(RunTag("trainwell.error", str(trial.user_attrs["error"])[:5000]))
        with self._lock:
            try:
                run = client.create_run(
                    self.experiment_id,
                    start_time=started,
                    run_name=f"trial-{trial.number}",
                    tags={
                        PARENT_TAG: self.run_id,
                        "trainwell.trial": str(trial.number),
                    },
                )
                client.log_batch(
                    run.info.run_id,
                    metrics=metrics,
                    params=[Param(k, json.dumps(v)) for k, v in trial.params.items()],
                    tags=tags,
                )
                client.set_terminated(
                    run.info.run_id,
                    status=RUN_STATUS.get(trial.state.name, "FAILED"),
                    end_time=ended,
                )
            except (MlflowException, OSError) as exc:
                raise TrackingError(
                    f"MLflow could not record trial {trial.number} at {self.parent.uri}: {exc}"
                ) from exc

    def adopt(self, run_id: str) -> None:
        """Nest an existing run (the final `train` run) under the study's parent run."""
        from mlflow.exceptions import MlflowException

        try:
            self.parent.client.set_tag(run_id, PARENT_TAG, self.run_id)
        except (MlflowException, OSError) as exc:
            raise TrackingError(f"MLflow could not nest run {run_id}: {exc}") from exc

    def log_artifacts(self, directory: Path, artifact_path: str) -> None:
        """Upload the study's outputs (best config, plots, trial table)."""
        with self._lock:
            self.parent.log_artifacts(directory, artifact_path)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        """Metrics of the study as a whole (best value, trial counts, test scores)."""
        with self._lock:
            self.parent.log_metrics(metrics)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Tags of the study (mutable: budgets, paths, the best trial)."""
        with self._lock:
            self.parent.set_tags(tags)

    def finish(self, status: str) -> None:
        """End the parent run."""
        with self._lock:
            self.parent.finish(status)
