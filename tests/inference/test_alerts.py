"""Alerts: the structlog event, the webhook (a real HTTP receiver on 127.0.0.1), the cooldown,
and the Prometheus rules file."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_breast_cancer
from structlog.testing import capture_logs

from trainwell.data.preprocessing import build_schema
from trainwell.data.table import drift_columns
from trainwell.errors import ConfigError
from trainwell.inference.alerts import (
    ALERT_EVENT,
    METRICS,
    Alert,
    AlertSink,
    alert_rules,
    drift_alerts,
    write_alert_rules,
)
from trainwell.inference.drift import DriftMonitor, DriftThresholds, build_reference

# a webhook that answers at once; what a test waits for at most
DELIVERY_TIMEOUT_S = 5.0
FAST_BACKOFF_S = 0.05


class Receiver:
    """A webhook on 127.0.0.1 (a port the OS picks): records bodies, fails the first
    ``fail_first`` attempts (``"503"``: an HTTP 503; ``"drop"``: closes the connection without
    answering), holds each request ``delay_s``, or until ``gate`` is set."""

    def __init__(self, fail_first: int = 0, failure: str = "503", status: int = 200) -> None:
        self.fail_first = fail_first
        self.failure = failure
        self.status = status
        self.delay_s = 0.0
        self.gate: threading.Event | None = None
        self.attempts = 0
        self.bodies: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    receiver.attempts += 1
                    attempt = receiver.attempts
                receiver.arrived.set()
                if receiver.gate is not None:
                    receiver.gate.wait(DELIVERY_TIMEOUT_S)
                time.sleep(receiver.delay_s)
                if attempt <= receiver.fail_first and receiver.failure == "drop":
                    self.close_connection = True
                    return  # no status line: the client sees the connection closed
                status = 503 if attempt <= receiver.fail_first else receiver.status
                if status < 300:
                    with receiver._lock:
                        receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: pytest shows only the test's output."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(DELIVERY_TIMEOUT_S)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def alert(key: str = "churn:feature_drift:age") -> Alert:
    return Alert(
        key=key, kind="feature_drift", summary=f"{key} drifted", details={"psi": 0.31, "n": 3}
    )


def wait_for(condition: Any, timeout_s: float = DELIVERY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# --- the sink --------------------------------------------------------------------------------


def test_emit_logs_a_warning_event_without_a_webhook() -> None:
    sink = AlertSink()
    with capture_logs() as logs:
        assert sink.emit(alert()) is True
    (event,) = [e for e in logs if e["event"] == ALERT_EVENT]
    assert event["log_level"] == "warning"
    assert event["key"] == "churn:feature_drift:age"
    assert event["details"] == {"psi": 0.31, "n": 3}
    assert sink.close() == 0


@pytest.mark.parametrize("failure", ["503", "drop"])
def test_a_failed_first_attempt_is_retried(failure: str) -> None:
    receiver = Receiver(fail_first=1, failure=failure)
    try:
        sink = AlertSink(receiver.url, retries=3, backoff_s=FAST_BACKOFF_S)
        with capture_logs() as logs:
            assert sink.emit(alert()) is True
            assert sink.close(timeout_s=DELIVERY_TIMEOUT_S) == 0
        assert receiver.attempts == 2
        (body,) = receiver.bodies
        assert body["event"] == ALERT_EVENT
        assert body["key"] == "churn:feature_drift:age"
        assert body["details"] == {"psi": 0.31, "n": 3}
        assert (sink.delivered, sink.failed) == (1, 0)
        retry = next(e for e in logs if e["event"] == "alert_webhook_retry")
        assert retry["retry_in_s"] == FAST_BACKOFF_S
        assert ("HTTP 503" in retry["problem"]) == (failure == "503")
        assert any(e["event"] == "alert_delivered" and e["attempts"] == 2 for e in logs)
    finally:
        receiver.stop()


def test_retries_stop_after_the_last_one_and_back_off() -> None:
    receiver = Receiver(fail_first=10)
    try:
        sink = AlertSink(receiver.url, retries=2, backoff_s=FAST_BACKOFF_S)
        started = time.monotonic()
        sink.emit(alert())
        assert sink.close(timeout_s=DELIVERY_TIMEOUT_S) == 0
        # 3 attempts, waiting 0.05 s then 0.1 s between them
        assert receiver.attempts == 3
        assert time.monotonic() - started >= 3 * FAST_BACKOFF_S
        assert (sink.delivered, sink.failed) == (0, 1)
    finally:
        receiver.stop()


def test_a_refusing_receiver_is_not_retried() -> None:
    receiver = Receiver(status=400)
    try:
        sink = AlertSink(receiver.url, retries=3, backoff_s=FAST_BACKOFF_S)
        sink.emit(alert())
        sink.close(timeout_s=DELIVERY_TIMEOUT_S)
        assert receiver.attempts == 1
        assert sink.failed == 1
    finally:
        receiver.stop()


def test_emit_returns_at_once_while_the_receiver_is_slow(receiver: Receiver) -> None:
    receiver.delay_s = 0.5
    sink = AlertSink(receiver.url, backoff_s=FAST_BACKOFF_S)
    durations = []
    for i in range(5):
        started = time.perf_counter()
        assert sink.emit(alert(f"m:feature_drift:f{i}")) is True
        durations.append(time.perf_counter() - started)
    # five deliveries take 2.5 s at the receiver; the caller waited for none of them
    assert max(durations) < 0.1
    assert receiver.attempts <= 1
    assert sink.close(timeout_s=DELIVERY_TIMEOUT_S) == 0
    assert sorted(b["key"] for b in receiver.bodies) == [f"m:feature_drift:f{i}" for i in range(5)]


def test_a_full_queue_drops_with_a_warning(receiver: Receiver) -> None:
    receiver.gate = threading.Event()  # the receiver holds the first request until set
    sink = AlertSink(receiver.url, queue_size=1)
    assert sink.emit(alert("a")) is True
    assert receiver.arrived.wait(DELIVERY_TIMEOUT_S)  # the worker is busy with "a"
    assert sink.emit(alert("b")) is True  # waits in the queue
    with capture_logs() as logs:
        started = time.perf_counter()
        assert sink.emit(alert("c")) is False
        assert time.perf_counter() - started < 0.1
    assert any(e["event"] == "alert_dropped" and e["key"] == "c" for e in logs)
    assert sink.dropped == 1
    receiver.gate.set()
    assert sink.close(timeout_s=DELIVERY_TIMEOUT_S) == 0
    assert [b["key"] for b in receiver.bodies] == ["a", "b"]


def test_the_cooldown_holds_a_repeated_key_back() -> None:
    now = [1_000.0]
    sink = AlertSink(cooldown_s=600, clock=lambda: now[0])
    with capture_logs() as logs:
        assert sink.emit(alert("k")) is True
        now[0] += 599
        assert sink.emit(alert("k")) is False  # the same drift, still in cooldown
        assert sink.emit(alert("other")) is True  # another key is not held back
        now[0] += 2
        assert sink.emit(alert("k")) is True
    assert [e["key"] for e in logs if e["event"] == ALERT_EVENT] == ["k", "other", "k"]


def test_close_gives_up_on_a_stuck_receiver(receiver: Receiver) -> None:
    receiver.gate = threading.Event()  # never set before close: the receiver hangs
    sink = AlertSink(receiver.url, timeout_s=DELIVERY_TIMEOUT_S)
    sink.emit(alert("a"))
    assert receiver.arrived.wait(DELIVERY_TIMEOUT_S)
    sink.emit(alert("b"))
    started = time.monotonic()
    with capture_logs() as logs:
        pending = sink.close(timeout_s=0.2)
    assert time.monotonic() - started < 1.0
    assert pending >= 1  # "b" (and the stop marker) never left the queue
    assert any(e["event"] == "alert_sink_close_timeout" for e in logs)
    assert sink.emit(alert("late")) is False  # a closed sink sends nothing more


def test_the_sink_refuses_a_bad_configuration() -> None:
    with pytest.raises(ConfigError, match="http:// or https://"):
        AlertSink("ftp://example.com/hook")
    with pytest.raises(ConfigError, match="http:// or https://"):
        AlertSink("localhost:9000")
    with pytest.raises(ConfigError, match="retries"):
        AlertSink("http://127.0.0.1:9/hook", retries=-1)
    with pytest.raises(ConfigError, match="queue_size"):
        AlertSink(queue_size=0)


def test_drift_alerts_name_the_drifting_features() -> None:
    frame = load_breast_cancer(as_frame=True).frame.sample(frac=1.0, random_state=0)
    train, held = frame.iloc[:341], frame.iloc[341:]
    schema = build_schema(train, "target")
    monitor = DriftMonitor(build_reference(schema, drift_columns(train, schema)), DriftThresholds())
    shifted = held.assign(**{"mean radius": held["mean radius"] * 1.5})
    monitor.observe(drift_columns(shifted, schema), np.array([]))
    (raised,) = drift_alerts(monitor.report(), model="cancer:v2")
    assert raised.key == "cancer:v2:feature_drift:mean radius"
    assert raised.details["psi"] > 2.0
    assert raised.details["window"] == len(held)
    assert "mean radius drifted from training on cancer:v2: PSI" in raised.summary
    assert json.loads(raised.model_dump_json())["details"]["statistic"] == "ks"


# --- Prometheus rules ------------------------------------------------------------------------

METRIC_NAME = re.compile(r"\btrainwell_[a-z_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metrics_named(expr: str) -> set[str]:
    """The metric names in a PromQL expression (a histogram's series as the histogram)."""
    names = set()
    for series in METRIC_NAME.findall(expr):
        base = next(
            (series.removesuffix(s) for s in HISTOGRAM_SUFFIXES if series.endswith(s)), series
        )
        names.add(base if base in METRICS else series)
    return names


def test_alert_rules_parse_and_read_only_the_served_metrics(tmp_path: Path) -> None:
    path = write_alert_rules(tmp_path / "alerts.yml")
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert document == alert_rules()
    (group,) = document["groups"]
    rules = {rule["alert"]: rule for rule in group["rules"]}
    assert set(rules) == {
        "TrainwellFeatureDrift",
        "TrainwellPredictionDrift",
        "TrainwellHighErrorRate",
        "TrainwellHighClientErrorRate",
        "TrainwellHighLatencyP99",
        "TrainwellModelLoadFailed",
        "TrainwellNoReadyReplica",
    }
    for rule in rules.values():
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert set(rule["annotations"]) == {"summary", "description"}
        assert re.fullmatch(r"\d+[smh]", rule["for"])
        assert metrics_named(rule["expr"]) <= set(METRICS), rule["expr"]
    assert rules["TrainwellFeatureDrift"]["expr"] == (
        "max by (feature) (trainwell_feature_drift_psi) > 0.25"
    )
    assert rules["TrainwellPredictionDrift"]["expr"] == "trainwell_prediction_drift_psi > 0.25"
    errors = rules["TrainwellHighErrorRate"]["expr"]
    assert 'trainwell_requests_total{status=~"5.."}[5m]' in errors and errors.endswith("> 0.01")
    assert rules["TrainwellHighClientErrorRate"]["expr"].endswith("> 0.1")
    latency = rules["TrainwellHighLatencyP99"]["expr"]
    assert latency.startswith("histogram_quantile(0.99, ")
    assert "trainwell_request_duration_seconds_bucket[5m]" in latency
    assert latency.endswith("> 0.05")
    assert rules["TrainwellModelLoadFailed"]["expr"] == (
        "increase(trainwell_model_load_failures_total[10m]) > 0"
    )
    assert "max(trainwell_ready) == 0" in rules["TrainwellNoReadyReplica"]["expr"]


def test_alert_rule_thresholds_come_from_the_arguments() -> None:
    rules = {
        rule["alert"]: rule["expr"]
        for rule in alert_rules(
            psi_alert=0.4, error_share=0.05, client_error_share=0.2, p99_latency_s=0.25
        )["groups"][0]["rules"]
    }
    assert rules["TrainwellFeatureDrift"].endswith("> 0.4")
    assert rules["TrainwellPredictionDrift"].endswith("> 0.4")
    assert rules["TrainwellHighErrorRate"].endswith("> 0.05")
    assert rules["TrainwellHighClientErrorRate"].endswith("> 0.2")
    assert rules["TrainwellHighLatencyP99"].endswith("> 0.25")
    with pytest.raises(ConfigError, match="error_share"):
        alert_rules(error_share=5)
    with pytest.raises(ConfigError, match="p99_latency_s"):
        alert_rules(p99_latency_s=0)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    path = write_alert_rules(tmp_path / "alerts.yml")
    done = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
