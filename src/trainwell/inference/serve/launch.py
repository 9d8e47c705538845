"""Putting a server together from a :class:`ServeConfig`: load and warm up every arm first (a
bad bundle is one clear error before anything listens), then the app and its helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from trainwell.inference.serve.settings import ServeConfig
    from trainwell.inference.serve.state import ServeState


def build(config: ServeConfig) -> tuple[FastAPI, ServeState]:
    """The app and its state, every model loaded and warmed up.

    Raises:
        TrainwellError: a model failed to load, or the registry refused a ref.
    """
    from trainwell.inference.serve.app import create_app
    from trainwell.inference.serve.metrics import ServeMetrics
    from trainwell.inference.serve.state import ServeState

    state = ServeState(config, ServeMetrics())
    state.load_all()
    log = None
    if config.request_log is not None:
        from trainwell.inference.serve.requestlog import RequestLog

        log = RequestLog(
            config.request_log, config.request_log_max_bytes, config.request_log_backups
        )
    from trainwell.inference.alerts import AlertSink

    alerts = AlertSink(config.webhook_url)
    return create_app(state, log=log, alerts=alerts), state


def serve_forever(app: FastAPI, state: ServeState) -> None:
    """Run until SIGTERM / Ctrl-C (graceful: see ``server``)."""
    from trainwell.inference.serve.server import run_server

    run_server(app, state)
