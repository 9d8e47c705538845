"""Experiment tracking with MLflow: a local SQLite store by default, a server when configured."""

from trainwell.tracking.mlflow_tracker import (
    NullTracker,
    RunTracker,
    Tracker,
    default_tracking_uri,
    open_tracker,
    ui_command,
)

__all__ = [
    "NullTracker",
    "RunTracker",
    "Tracker",
    "default_tracking_uri",
    "open_tracker",
    "ui_command",
]
