"""The server's Prometheus metrics, in a registry of its own (one per app, never the global one).

Names are fixed: the alert rules ``serve --write-alert-rules`` generates
(:mod:`trainwell.inference.alerts`) and docs/serve.md refer to them. One process per server
(the default, and the only mode offered): several worker processes would each count alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# seconds; single-row requests take a millisecond, batches tens
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)  # fmt: skip
VALUE_BUCKETS_QUANTILES = 10
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServeMetrics:
    """Counters, gauges and histograms of one app.

    Attributes:
        registry: the CollectorRegistry ``/metrics`` renders.
    """

    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        # no `_created` series: they double the size of every scrape
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "trainwell_requests", "Prediction requests by arm, model version and HTTP status.",
            ("variant", "version", "status"), registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "trainwell_request_duration_seconds", "Prediction request latency in the server.",
            ("variant",), buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.in_flight = Gauge(
            "trainwell_requests_in_flight", "Prediction requests being answered now.", registry=r
        )
        self.rows = Counter(
            "trainwell_predicted_rows", "Rows predicted, by arm.", ("variant",), registry=r
        )
        self.classes = Counter(
            "trainwell_predicted_class", "Predicted labels, by arm and class.",
            ("variant", "class"), registry=r,
        )  # fmt: skip
        self.values = Histogram(
            "trainwell_prediction_value", "Predicted values (regression) or anomaly scores.",
            ("variant",), buckets=(-1e3, -10, -1, -0.5, 0, 0.5, 1, 10, 100, 1e3, 1e4, 1e6),
            registry=r,
        )  # fmt: skip
        self.rejected = Counter(
            "trainwell_rejected_requests", "Requests refused before prediction, by reason.",
            ("reason",), registry=r,
        )  # fmt: skip
        self.load_failures = Counter(
            "trainwell_model_load_failures", "Model loads (start, reload, promote) that failed.",
            registry=r,
        )  # fmt: skip
        self.ready = Gauge("trainwell_ready", "1 when the server answers predictions.", registry=r)
        self.model_info = Gauge(
            "trainwell_model_info", "The served models (value 1).",
            ("variant", "name", "version", "runtime"), registry=r,
        )  # fmt: skip
        self.feature_psi = Gauge(
            "trainwell_feature_drift_psi", "PSI of each feature's serving window vs training.",
            ("feature",), registry=r,
        )  # fmt: skip
        self.feature_statistic = Gauge(
            "trainwell_feature_drift_statistic",
            "KS (numeric) or Jensen-Shannon distance (categorical) vs training.",
            ("feature", "statistic"), registry=r,
        )  # fmt: skip
        self.prediction_psi = Gauge(
            "trainwell_prediction_drift_psi", "PSI of the predictions' window vs training.",
            registry=r,
        )  # fmt: skip
        self.drift_window = Gauge(
            "trainwell_drift_window_rows", "Rows in the drift window.", registry=r
        )
        self.shadow_requests = Counter(
            "trainwell_shadow_requests", "Requests answered by the shadow model.",
            ("version",), registry=r,
        )  # fmt: skip
        self.shadow_disagreements = Counter(
            "trainwell_shadow_disagreements", "Rows where the shadow's prediction differs.",
            ("version",), registry=r,
        )  # fmt: skip
        self.shadow_rows = Counter(
            "trainwell_shadow_rows", "Rows answered by the shadow model.", ("version",),
            registry=r,
        )  # fmt: skip
        self.shadow_dropped = Counter(
            "trainwell_shadow_dropped", "Requests not shadowed because the shadow was busy.",
            registry=r,
        )  # fmt: skip
        self.shadow_latency = Histogram(
            "trainwell_shadow_duration_seconds", "Shadow model latency (off the response path).",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self._children: dict[tuple[str, ...], Any] = {}

    def request_counter(self, variant: str, version: str, status: int) -> Any:
        """The bound counter child (looked up once per label set: ``labels()`` is not free)."""
        key = ("req", variant, version, str(status))
        child = self._children.get(key)
        if child is None:
            child = self.requests.labels(variant, version, str(status))
            self._children[key] = child
        return child

    def latency_of(self, variant: str) -> Any:
        """The bound latency histogram child of an arm."""
        key = ("lat", variant)
        child = self._children.get(key)
        if child is None:
            child = self.latency.labels(variant)
            self._children[key] = child
        return child

    def observe_outputs(self, variant: str, predictions: np.ndarray, labels: bool) -> None:
        """Count predicted classes (labels) or observe values."""
        rows_key: tuple[str, ...] = ("rows", variant)
        rows = self._children.get(rows_key)
        if rows is None:
            rows = self._children[rows_key] = self.rows.labels(variant)
        rows.inc(len(predictions))
        if labels:
            for value in predictions.tolist():
                key = ("cls", variant, str(value))
                child = self._children.get(key)
                if child is None:
                    child = self.classes.labels(variant, str(value))
                    self._children[key] = child
                child.inc()
        else:
            child = self.values.labels(variant)
            for value in predictions.tolist():
                child.observe(float(value))

    def render(self) -> bytes:
        """The text exposition of every metric."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
