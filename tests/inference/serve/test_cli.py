"""`trainwell serve` as a user runs it: refusals in one line with exit 2, alert rules, and the
real process under load through SIGTERM (graceful: nothing in flight is dropped)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml
from tests.cli_helpers import EXIT_BAD_INPUT, invoke
from tests.inference.serve.live import free_port, sample_records

READY_TIMEOUT_S = 60.0
LOAD_THREADS = 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "serve a bundle directory or --registry NAME"),
        (("no/such/bundle",), "no bundle at no/such/bundle"),
        (("BUNDLE", "--workers", "2"), "--workers must be 1"),
        (("BUNDLE", "--runtime", "tensorrt"), "--runtime must be auto, onnx or native"),
        (("--ab", "champion"), "must be REF:WEIGHT"),
        (("BUNDLE", "--sticky-key", "cookie:sid"), "header:NAME or field:NAME"),
        (("BUNDLE", "--webhook-url", "ftp://alerts"), "must be an http:// or https:// URL"),
        (("BUNDLE", "--registry", "churn"), "one of the two"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    wine_bundle: Path, args: tuple[str, ...], message: str
) -> None:
    code, output = invoke("serve", *(str(wine_bundle) if a == "BUNDLE" else a for a in args))
    assert code == EXIT_BAD_INPUT, output
    assert message in " ".join(output.split())
    assert "Traceback" not in output


def test_onnx_runtime_on_a_bundle_without_export(diabetes_native: Path) -> None:
    code, output = invoke("serve", str(diabetes_native), "--runtime", "onnx")
    assert code == EXIT_BAD_INPUT
    assert "the bundle has no ONNX export: run `trainwell export BUNDLE --format onnx`" in output


def test_an_altered_bundle_is_refused(wine_bundle: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / wine_bundle.name
    shutil.copytree(wine_bundle, copy)
    (copy / "schema.json").write_text((copy / "schema.json").read_text().replace("band", "bend"))
    code, output = invoke("serve", str(copy))
    assert code == EXIT_BAD_INPUT
    assert "schema.json" in output and "altered" in " ".join(output.split())


def test_alert_rules_are_written(wine_bundle: Path, tmp_path: Path) -> None:
    target = tmp_path / "alerts.yml"
    code, output = invoke(
        "serve", str(wine_bundle), "--write-alert-rules", str(target), "--psi-alert", "0.3"
    )
    assert code == 0, output
    assert f"alert rules to {target}" in " ".join(output.split())
    rules = yaml.safe_load(target.read_text())["groups"][0]["rules"]
    exprs = " ".join(r["expr"] for r in rules)
    assert "trainwell_feature_drift_psi" in exprs and "> 0.3" in exprs
    assert "trainwell_request_duration_seconds_bucket" in exprs


def _serve(bundle: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "trainwell.cli", "serve", str(bundle), "--port", str(port)]
    return subprocess.Popen([*command, *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < READY_TIMEOUT_S:
        if process.poll() is not None:
            out = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"serve exited early: {out}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("serve did not become ready")


@pytest.mark.slow
def test_sigterm_under_load_drops_nothing_in_flight(wine_bundle: Path) -> None:
    """Load from several threads, as behind a load balancer that health-checks /readyz every
    100 ms; SIGTERM; readyz turns 503 during the drain; the balancer stops sending; every request
    sent — batches in flight at the signal included — is answered 200; the process exits 0."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _serve(wine_bundle, port, "--drain-seconds", "1.5")
    record = sample_records(wine_bundle, 1)[0]
    ok: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def balancer() -> None:
        while not stop.is_set():
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 503:
                    stop.set()
            except httpx.TransportError:
                stop.set()
            time.sleep(0.1)

    def load(body: object) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post("/v1/predict", json=body)
                except httpx.ConnectError:
                    return  # the server closed its socket: not a request in flight
                except httpx.TransportError as exc:
                    failures.append(repr(exc))
                    return
                if response.status_code == 200:
                    ok.append(1)
                else:
                    failures.append(f"{response.status_code}: {response.text}")

    try:
        _wait_ready(url, process)
        threads = [threading.Thread(target=load, args=(record,)) for _ in range(LOAD_THREADS)]
        threads.append(threading.Thread(target=load, args=([record] * 500,)))  # slow batches
        threads.append(threading.Thread(target=balancer))
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        before = len(ok)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        draining = httpx.get(f"{url}/readyz", timeout=5)
        for thread in threads:
            thread.join(10)
        assert process.wait(timeout=30) == 0
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
    assert draining.status_code == 503 and "draining" in draining.text
    assert before > 50 and len(ok) >= before
    assert failures == []


def test_the_compose_file_serves_a_bundle_behind_a_readiness_check(repo_root: Path) -> None:
    compose = yaml.safe_load((repo_root / "docker" / "docker-compose.yml").read_text())
    serve = compose["services"]["serve"]
    command = serve["command"].split()
    assert command[0] == "serve" and "--drain-seconds" in command
    assert serve["ports"] == ["127.0.0.1:8000:8000"]
    assert "/readyz" in " ".join(serve["healthcheck"]["test"])
    drain = float(command[command.index("--drain-seconds") + 1])
    assert float(serve["stop_grace_period"].rstrip("s")) > drain
