"""Shadow traffic: a second model answers the same requests off the response path.

The champion's response is sent first; the request (already validated) goes onto a bounded queue
that one background thread drains through the shadow model. When the shadow falls behind, new
requests are dropped from shadowing (counted), never queued without bound — the champion's
latency does not depend on the shadow's.

Disagreement: a different label (classification, anomaly flags), or a value differing by more
than ``VALUE_RTOL`` of the champion's (regression).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainwell.errors import TrainwellError
from trainwell.evaluation.objectives import PREDICTION_COLUMN
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import numpy as np

    from trainwell.inference.serve.metrics import ServeMetrics
    from trainwell.inference.serve.models import ServedModel
    from trainwell.inference.serve.records import ValidatedBatch
    from trainwell.inference.serve.requestlog import RequestLog

logger = get_logger(__name__)

QUEUE_SIZE = 256
VALUE_RTOL = 0.01
VALUE_ATOL = 1e-9
STOP_TIMEOUT_S = 5.0


@dataclass
class ShadowTotals:
    """What ``GET /v1/model`` reports of the shadow."""

    requests: int = 0
    rows: int = 0
    disagreements: int = 0
    dropped: int = 0
    failures: int = 0
    latency_s_total: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Counts, the disagreement rate and the mean latency."""
        return {
            "requests": self.requests,
            "rows": self.rows,
            "disagreements": self.disagreements,
            "disagreement_rate": self.disagreements / self.rows if self.rows else None,
            "dropped": self.dropped,
            "failures": self.failures,
            "mean_latency_ms": 1000 * self.latency_s_total / self.requests
            if self.requests
            else None,
        }


def disagreements(champion: np.ndarray, shadow: np.ndarray) -> int:
    """Rows where the two predictions differ (labels: any difference; values: beyond 1 %)."""
    import numpy as np

    if champion.dtype.kind in "fc" and shadow.dtype.kind in "fc":
        close = np.isclose(shadow, champion, rtol=VALUE_RTOL, atol=VALUE_ATOL)
        return int((~close).sum())
    return int((champion.astype(str) != shadow.astype(str)).sum())


class ShadowRunner:
    """Runs the shadow model on a background thread.

    Args:
        model: returns the current shadow model (it may be swapped while running).
        metrics: where shadow counters go.
        log: the request log (a ``shadow`` line per request), if any.
    """

    def __init__(
        self,
        model: Callable[[], ServedModel | None],
        metrics: ServeMetrics,
        log: RequestLog | None,
    ) -> None:
        self._model = model
        self._metrics = metrics
        self._log = log
        self.totals = ShadowTotals()
        self._queue: queue.Queue[tuple[str, ValidatedBatch, np.ndarray] | None] = queue.Queue(
            QUEUE_SIZE
        )
        self._thread = threading.Thread(target=self._run, name="trainwell-shadow", daemon=True)
        self._thread.start()

    def submit(self, request_id: str, batch: ValidatedBatch, champion: np.ndarray) -> None:
        """Queue a request for the shadow (dropped, and counted, when the queue is full)."""
        try:
            self._queue.put_nowait((request_id, batch, champion))
        except queue.Full:
            self.totals.dropped += 1
            self._metrics.shadow_dropped.inc()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._answer(*item)
            finally:
                self._queue.task_done()

    def _answer(self, request_id: str, batch: ValidatedBatch, champion: np.ndarray) -> None:
        model = self._model()
        if model is None:
            return
        started = time.perf_counter()
        try:
            outputs = model.predict(batch)
        except TrainwellError as exc:
            self.totals.failures += 1
            logger.warning("shadow_failed", request_id=request_id, error=str(exc))
            return
        elapsed = time.perf_counter() - started
        differ = disagreements(champion, outputs[PREDICTION_COLUMN])
        version = model.identity.version
        self.totals.requests += 1
        self.totals.rows += batch.n_rows
        self.totals.disagreements += differ
        self.totals.latency_s_total += elapsed
        self._metrics.shadow_requests.labels(version).inc()
        self._metrics.shadow_rows.labels(version).inc(batch.n_rows)
        self._metrics.shadow_disagreements.labels(version).inc(differ)
        self._metrics.shadow_latency.observe(elapsed)
        if self._log is not None:
            self._log.write(
                "shadow",
                request_id=request_id,
                version=version,
                rows=batch.n_rows,
                disagreements=differ,
                predictions=outputs[PREDICTION_COLUMN].tolist(),
                latency_ms=round(1000 * elapsed, 3),
            )

    def wait_idle(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Wait until every queued request was answered; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def stop(self) -> None:
        """Finish the queued requests, then stop the thread."""
        self._queue.put(None)
        self._thread.join(STOP_TIMEOUT_S)
