"""Running the app: uvicorn (uvloop + httptools) in one process, with a graceful shutdown.

SIGTERM (or Ctrl-C): ``/readyz`` turns 503 at once, requests keep being answered for
``drain_seconds`` (a load balancer notices and stops sending), then uvicorn stops accepting,
lets the requests in flight finish (at most ``graceful_timeout_s``) and the process exits 0.
A further Ctrl-C during the shutdown exits at once.
"""

from __future__ import annotations

import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    from fastapi import FastAPI

    from trainwell.inference.serve.state import ServeState

logger = get_logger(__name__)


def _server_class() -> type[Any]:
    import uvicorn

    class DrainingServer(uvicorn.Server):
        """uvicorn's server, told about the drain before it stops."""

        def __init__(self, config: uvicorn.Config, state: ServeState) -> None:
            super().__init__(config)
            self.state = state
            self._timer: threading.Timer | None = None

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            drain = self.state.config.drain_seconds
            if self.state.draining or drain <= 0:
                self.state.start_draining()
                self._stop(sig, frame)
                return
            self.state.start_draining()
            logger.info("shutdown_requested", signal=sig, drain_seconds=drain)
            self._timer = threading.Timer(drain, self._stop, (sig, frame))
            self._timer.daemon = True
            self._timer.start()

        def _stop(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            # uvicorn re-raises the signal after its shutdown (the process then dies of it);
            # a shutdown that finished every request is a success: exit 0
            self._captured_signals.clear()

    return DrainingServer


def count_pending(app: FastAPI, server: Any) -> None:
    """Let the app's overload check count uvicorn's request tasks (this request included)."""
    tasks = server.server_state.tasks
    app.state.services.pending = lambda: len(tasks)


def run_server(app: FastAPI, state: ServeState) -> None:
    """Serve ``app`` until a signal stops it (blocking)."""
    import uvicorn

    config = state.config
    uv_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        workers=1,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=int(config.graceful_timeout_s),
        timeout_keep_alive=5,
    )
    server = _server_class()(uv_config, state)
    count_pending(app, server)
    logger.info("serving", host=config.host, port=config.port, arms=list(state.arms))
    server.run()
