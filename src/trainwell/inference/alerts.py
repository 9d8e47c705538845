"""Alerts: a structlog event, an optional webhook that never blocks, and Prometheus alert rules.

``AlertSink.emit`` logs a ``drift_alert`` warning and, when a webhook URL is set, queues the
alert for a background thread that POSTs it as JSON, retrying connection errors and 5xx answers
with exponential backoff. The caller never waits: a full queue drops the alert with a warning. A
cooldown per alert key keeps a drift that persists from repeating every check.

``alert_rules`` / ``write_alert_rules`` produce the Prometheus alerting rules for what
`trainwell serve` exports at ``GET /metrics`` (drift, error shares, p99 latency, model load
failures, readiness)::

    trainwell serve models/<bundle> --write-alert-rules alerts.yml
    promtool check rules alerts.yml   # where Prometheus is installed

Example:
    >>> sink = AlertSink("https://hooks.example.com/trainwell", cooldown_s=600)
    >>> for alert in drift_alerts(monitor.report(), model="churn:v3"):  # doctest: +SKIP
    ...     sink.emit(alert)
    >>> sink.close()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field

from trainwell.errors import ConfigError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import httpx

    from trainwell.inference.drift import DriftReport

logger = get_logger(__name__)

ALERT_EVENT = "drift_alert"
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = 0.5
DEFAULT_TIMEOUT_S = 5.0
# a drift that persists is reported again after this long, not at every check
DEFAULT_COOLDOWN_S = 600.0
DEFAULT_QUEUE_SIZE = 256
DEFAULT_CLOSE_TIMEOUT_S = 5.0
WEBHOOK_SCHEMES = ("http", "https")
FIRST_SERVER_ERROR = 500
FIRST_CLIENT_ERROR = 400
TOO_MANY_REQUESTS = 429

Severity = Literal["warning", "critical"]


class Alert(BaseModel):
    """One alert: what the log event and the webhook's JSON body say.

    Attributes:
        key: what the cooldown is kept per (``<model>:feature_drift:<feature>``).
        kind: ``feature_drift``, ``prediction_drift``, ...
        severity: ``warning`` or ``critical``.
        summary: one line for a person.
        details: the numbers behind it (JSON values).
        created_at: when it was raised (UTC, ISO 8601).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1)
    kind: str
    severity: Severity = "warning"
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())


def drift_alerts(report: DriftReport, *, model: str = "default") -> list[Alert]:
    """One alert per feature in alert, and one when the predictions are in alert.

    Args:
        model: which model the report is of (an arm, a version); part of each alert's key.
    """
    alerts = []
    drifted = [f for f in report.features if f.status == "alert"]
    if report.prediction is not None and report.prediction.status == "alert":
        drifted.append(report.prediction)
    for drift in drifted:
        kind = "prediction_drift" if drift is report.prediction else "feature_drift"
        psi = "n/a" if drift.psi is None else f"{drift.psi:.3f}"
        shown = "n/a" if drift.statistic_value is None else f"{drift.statistic_value:.3f}"
        alerts.append(
            Alert(
                key=f"{model}:{kind}:{drift.name}",
                kind=kind,
                summary=(
                    f"{drift.name} drifted from training on {model}: PSI {psi}, "
                    f"{drift.statistic.upper()} {shown} over the last {report.window} rows"
                ),
                details={"model": model, "window": report.window, **drift.model_dump()},
            )
        )
    return alerts


class AlertSink:
    """Logs alerts and, with a webhook URL, POSTs them from a background thread.

    Args:
        webhook_url: an ``http(s)://`` URL to POST each alert's JSON to (None: log only).
        retries: further attempts after a connection error, a timeout, a 429 or a 5xx answer.
        backoff_s: the wait before the first retry; it doubles at each further one.
        timeout_s: the timeout of one POST (connect, read and write).
        cooldown_s: an alert with the same key is not repeated within this many seconds.
        queue_size: alerts waiting for the webhook at most; more are dropped with a warning.
        clock: monotonic seconds (tests pass a fake one to step through the cooldown).

    Raises:
        ConfigError: the URL is not http(s), or a number is out of range.
    """

    def __init__(
        self,
        webhook_url: str | None = None,
        *,
        retries: int = DEFAULT_RETRIES,
        backoff_s: float = DEFAULT_BACKOFF_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if webhook_url is not None:
            parts = urlsplit(webhook_url)
            if parts.scheme not in WEBHOOK_SCHEMES or not parts.netloc:
                raise ConfigError(
                    f"the alert webhook must be an http:// or https:// URL; got {webhook_url!r}"
                )
        if retries < 0:
            raise ConfigError(f"alert sink retries must be >= 0; got {retries}")
        if queue_size < 1:
            raise ConfigError(f"alert sink queue_size must be >= 1; got {queue_size}")
        for name, number in (("backoff_s", backoff_s), ("cooldown_s", cooldown_s)):
            if number < 0:
                raise ConfigError(f"alert sink {name} must be >= 0; got {number}")
        if timeout_s <= 0:
            raise ConfigError(f"alert sink timeout_s must be > 0; got {timeout_s}")
        self.webhook_url = webhook_url
        self.retries = retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._last_emitted: dict[str, float] = {}
        self._worker: threading.Thread | None = None
        self._closed = False
        self._abort = threading.Event()
        self.delivered = 0
        self.failed = 0
        self.dropped = 0

    def emit(self, alert: Alert) -> bool:
        """Log ``alert`` and queue it for the webhook; returns at once.

        Returns:
            False when the alert was held back (its key is in cooldown) or dropped (the queue
            is full, or the sink is closed); True otherwise.
        """
        now = self._clock()
        with self._lock:
            last = self._last_emitted.get(alert.key)
            if last is not None and now - last < self.cooldown_s:
                logger.debug("alert_in_cooldown", key=alert.key)
                return False
            self._last_emitted[alert.key] = now
            closed = self._closed
            if self.webhook_url is not None and not closed and self._worker is None:
                self._worker = threading.Thread(
                    target=self._run, name="trainwell-alerts", daemon=True
                )
                self._worker.start()
        logger.warning(
            ALERT_EVENT,
            key=alert.key,
            kind=alert.kind,
            severity=alert.severity,
            summary=alert.summary,
            details=alert.details,
        )
        if self.webhook_url is None:
            return True
        if closed:
            logger.warning("alert_not_sent", key=alert.key, reason="the alert sink is closed")
            return False
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            with self._lock:
                self.dropped += 1
            logger.warning(
                "alert_dropped",
                key=alert.key,
                reason=f"the webhook queue is full ({self._queue.maxsize} alerts waiting)",
            )
            return False
        return True

    def _run(self) -> None:
        """The worker: POST queued alerts until the stop marker (None) or an abort."""
        import httpx

        with httpx.Client(timeout=self.timeout_s) as client:
            while True:
                alert = self._queue.get()
                try:
                    if alert is None:
                        return
                    self._deliver(client, alert)
                finally:
                    self._queue.task_done()
                if self._abort.is_set():
                    return

    def _deliver(self, client: httpx.Client, alert: Alert) -> None:
        import httpx

        assert self.webhook_url is not None  # the worker runs only with a URL
        payload = {"event": ALERT_EVENT, **alert.model_dump(mode="json")}
        problem = ""
        for attempt in range(self.retries + 1):
            if self._abort.is_set():
                break
            try:
                response = client.post(self.webhook_url, json=payload)
            except httpx.TransportError as exc:  # connection refused, timeout, reset
                problem = f"{type(exc).__name__}: {exc}"
            except httpx.HTTPError as exc:  # not worth retrying (too many redirects, ...)
                problem = f"{type(exc).__name__}: {exc}"
                break
            else:
                status = response.status_code
                if status < FIRST_CLIENT_ERROR:
                    self.delivered += 1
                    logger.info("alert_delivered", key=alert.key, attempts=attempt + 1)
                    return
                problem = f"HTTP {status}"
                if status < FIRST_SERVER_ERROR and status != TOO_MANY_REQUESTS:
                    break  # the receiver refuses this alert: retrying will not change it
            if attempt < self.retries:
                delay = self.backoff_s * 2**attempt
                logger.warning(
                    "alert_webhook_retry",
                    key=alert.key,
                    attempt=attempt + 1,
                    problem=problem,
                    retry_in_s=delay,
                )
                self._abort.wait(delay)
        self.failed += 1
        logger.error("alert_webhook_failed", key=alert.key, problem=problem or "aborted")

    def close(self, timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S) -> int:
        """Stop taking alerts and deliver the queued ones, waiting at most ``timeout_s``.

        Returns:
            How many queued alerts were left undelivered (0: all were sent or failed).
        """
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is None:
            return 0
        deadline = time.monotonic() + timeout_s
        # a full queue means the worker is stuck on a slow receiver: the abort below ends it
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout_s)
        worker.join(max(deadline - time.monotonic(), 0.0))
        if not worker.is_alive():
            return 0
        self._abort.set()
        pending = self._queue.qsize()
        logger.warning("alert_sink_close_timeout", pending=pending, timeout_s=timeout_s)
        return pending

    def __enter__(self) -> AlertSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- Prometheus alerting rules ---------------------------------------------------------------

RULES_GROUP = "trainwell"
# the metrics `trainwell serve` exports, which the rules below read
METRICS = (
    "trainwell_requests_total",
    "trainwell_request_duration_seconds",
    "trainwell_requests_in_flight",
    "trainwell_model_load_failures_total",
    "trainwell_feature_drift_psi",
    "trainwell_feature_drift_statistic",
    "trainwell_prediction_drift_psi",
    "trainwell_ready",
)
DEFAULT_PSI_ALERT = 0.25
DEFAULT_ERROR_SHARE = 0.01
DEFAULT_CLIENT_ERROR_SHARE = 0.10
DEFAULT_P99_LATENCY_S = 0.05
RATE_WINDOW = "5m"
LOAD_FAILURE_WINDOW = "10m"
# how long a condition must hold before the alert fires
DRIFT_FOR = "15m"
ERRORS_FOR = "5m"
LATENCY_FOR = "10m"
NOT_READY_FOR = "1m"
RUNBOOK = "GET /v1/drift on the server gives the per-feature report"


def _share(status_pattern: str) -> str:
    """The share of requests whose status matches, per variant, over ``RATE_WINDOW``."""
    return (
        f'sum by (variant) (rate(trainwell_requests_total{{status=~"{status_pattern}"}}'
        f"[{RATE_WINDOW}])) / sum by (variant) (rate(trainwell_requests_total[{RATE_WINDOW}]))"
    )


def _rule(
    name: str, expr: str, duration: str, severity: Severity, summary: str, description: str
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    }


def alert_rules(
    *,
    psi_alert: float = DEFAULT_PSI_ALERT,
    error_share: float = DEFAULT_ERROR_SHARE,
    client_error_share: float = DEFAULT_CLIENT_ERROR_SHARE,
    p99_latency_s: float = DEFAULT_P99_LATENCY_S,
) -> dict[str, Any]:
    """Prometheus alerting rules (one group) for `trainwell serve`'s metrics.

    Args:
        psi_alert: feature or prediction PSI above this fires a drift alert (the server's
            ``psi_alert``).
        error_share: share of 5xx answers per variant above this fires (0.01: 1 %).
        client_error_share: share of 4xx answers per variant above this fires (clients sending
            what the model does not accept).
        p99_latency_s: p99 request latency per variant above this fires (seconds).

    Raises:
        ConfigError: a threshold is not positive, or a share is above 1.

    Returns:
        ``{"groups": [{"name": "trainwell", "rules": [...]}]}``, as Prometheus reads it.
    """
    for name, value in (
        ("psi_alert", psi_alert),
        ("error_share", error_share),
        ("client_error_share", client_error_share),
        ("p99_latency_s", p99_latency_s),
    ):
        if not value > 0:
            raise ConfigError(f"alert rule threshold {name} must be > 0; got {value}")
    for name, value in (("error_share", error_share), ("client_error_share", client_error_share)):
        if value > 1:
            raise ConfigError(f"{name} is a share of requests, in (0, 1]; got {value}")
    shown = "{{ $value | humanize }}"
    share = "{{ $value | humanizePercentage }}"
    variant = "{{ $labels.variant }}"
    rules = [
        _rule(
            "TrainwellFeatureDrift",
            f"max by (feature) (trainwell_feature_drift_psi) > {psi_alert:g}",
            DRIFT_FOR,
            "warning",
            f"Feature {{{{ $labels.feature }}}} drifted from training (PSI {shown})",
            f"The served rows' PSI against the training reference is above {psi_alert:g} "
            f"for {DRIFT_FOR}. {RUNBOOK}.",
        ),
        _rule(
            "TrainwellPredictionDrift",
            f"trainwell_prediction_drift_psi > {psi_alert:g}",
            DRIFT_FOR,
            "warning",
            f"Predictions drifted from the validation reference (PSI {shown})",
            f"The model's outputs on served rows differ from its outputs on validation rows "
            f"(PSI above {psi_alert:g} for {DRIFT_FOR}). {RUNBOOK}.",
        ),
        _rule(
            "TrainwellHighErrorRate",
            f"{_share('5..')} > {error_share:g}",
            ERRORS_FOR,
            "critical",
            f"{share} of requests to {variant} fail with 5xx",
            f"More than {error_share * 100:g} % of requests answered 5xx over {RATE_WINDOW}: the "
            "server's log has each error.",
        ),
        _rule(
            "TrainwellHighClientErrorRate",
            f"{_share('4..')} > {client_error_share:g}",
            ERRORS_FOR,
            "warning",
            f"{share} of requests to {variant} are refused with 4xx",
            f"More than {client_error_share * 100:g} % of requests were refused over "
            f"{RATE_WINDOW}: clients send rows the model's schema does not accept.",
        ),
        _rule(
            "TrainwellHighLatencyP99",
            "histogram_quantile(0.99, sum by (le, variant) "
            f"(rate(trainwell_request_duration_seconds_bucket[{RATE_WINDOW}]))) "
            f"> {p99_latency_s:g}",
            LATENCY_FOR,
            "warning",
            f"p99 latency of {variant} is {{{{ $value | humanizeDuration }}}}",
            f"The 99th percentile request duration is above {p99_latency_s:g} s for {LATENCY_FOR}.",
        ),
        _rule(
            "TrainwellModelLoadFailed",
            f"increase(trainwell_model_load_failures_total[{LOAD_FAILURE_WINDOW}]) > 0",
            "0m",
            "warning",
            "A model failed to load",
            f"A reload, promote or rollback failed in the last {LOAD_FAILURE_WINDOW}; the "
            "previous model keeps serving. The server's log says why.",
        ),
        _rule(
            "TrainwellNoReadyReplica",
            "max(trainwell_ready) == 0 or absent(trainwell_ready)",
            NOT_READY_FOR,
            "critical",
            "No trainwell replica is ready",
            f"No replica has answered /readyz with 200 for {NOT_READY_FOR} (or none is "
            "scraped): requests are not being served.",
        ),
    ]
    return {"groups": [{"name": RULES_GROUP, "rules": rules}]}


def write_alert_rules(
    path: Path,
    *,
    psi_alert: float = DEFAULT_PSI_ALERT,
    error_share: float = DEFAULT_ERROR_SHARE,
    client_error_share: float = DEFAULT_CLIENT_ERROR_SHARE,
    p99_latency_s: float = DEFAULT_P99_LATENCY_S,
) -> Path:
    """Write :func:`alert_rules` as a Prometheus rule file (YAML); see it for the arguments.

    Raises:
        ConfigError: a threshold is out of range, or the file cannot be written.
    """
    rules = alert_rules(
        psi_alert=psi_alert,
        error_share=error_share,
        client_error_share=client_error_share,
        p99_latency_s=p99_latency_s,
    )
    text = "# Prometheus alerting rules for `trainwell serve` (generated by trainwell)\n"
    text += yaml.safe_dump(rules, sort_keys=False, allow_unicode=True, width=1_000)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the alert rules to {path}: {exc}") from exc
    logger.info("alert_rules_written", path=str(path), rules=len(rules["groups"][0]["rules"]))
    return path
