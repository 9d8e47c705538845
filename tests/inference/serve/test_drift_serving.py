"""Drift while serving: the training reference in the bundle, a sliding window of served rows,
GET /v1/drift, Prometheus gauges, and alerts delivered to a webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
from tests.inference.serve.live import free_port, live

from trainwell.inference.alerts import AlertSink
from trainwell.inference.serve.app import check_drift
from trainwell.inference.serve.settings import ServeConfig

WINDOW = 400
BATCH = 100


def wine_rows(bundle: Path) -> list[dict[str, Any]]:
    """Every row of the wine file the bundle was trained from (its features only)."""
    frame = pd.read_csv(bundle.parents[1] / "wine.csv").drop(columns="target")
    return json.loads(frame.to_json(orient="records"))


def shifted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same rows after an upstream change: magnesium in other units, one band only."""
    return [{**r, "magnesium": (r["magnesium"] or 100) * 1.6, "band": "high"} for r in rows]


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def send(client: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        response = client.post("/v1/predict", json=rows[start : start + BATCH])
        assert response.status_code == 200, response.text


def test_drift_is_reported_gauged_and_alerted(wine_bundle: Path) -> None:
    assert (wine_bundle / "reference.json").is_file()
    rows = wine_rows(wine_bundle)
    webhook = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    sink = AlertSink(f"http://127.0.0.1:{webhook.server_address[1]}/hook", cooldown_s=0)
    config = ServeConfig(bundle=wine_bundle, port=free_port(), drift_window=WINDOW)
    try:
        with live(config, alerts=sink) as server, server.client() as client:
            services = server.app.state.services
            send(client, (rows * 3)[:WINDOW])
            calm = client.get("/v1/drift").json()
            check_drift(services)
            sink.close()
            quiet_alerts = list(Receiver.received)
            send(client, shifted((rows * 3)[:WINDOW]))
            storm = client.get("/v1/drift").json()
            sink2 = AlertSink(f"http://127.0.0.1:{webhook.server_address[1]}/hook", cooldown_s=0)
            services.alerts = sink2
            check_drift(services)
            sink2.close()
            metrics = client.get("/metrics").text
    finally:
        webhook.shutdown()
    assert calm["enabled"] is True
    report = calm["arms"]["default"]
    assert report["window"] == WINDOW
    assert report["features_in_alert"] == [], report["features_in_alert"]
    assert quiet_alerts == []
    drifted = storm["arms"]["default"]
    assert {"magnesium", "band"} <= set(drifted["features_in_alert"])
    by_name = {f["name"]: f for f in drifted["features"]}
    assert by_name["magnesium"]["psi"] > 1.0 and by_name["magnesium"]["statistic"] == "ks"
    assert by_name["band"]["statistic"] == "js" and by_name["band"]["statistic_value"] > 0.3
    assert by_name["hue"]["status"] in {"ok", "warn"}
    keys = {alert["key"] for alert in Receiver.received}
    assert any(k.endswith("feature_drift:magnesium") for k in keys), keys
    assert 'trainwell_feature_drift_psi{feature="magnesium"}' in metrics
    assert 'trainwell_feature_drift_statistic{feature="band",statistic="js"}' in metrics
    assert f"trainwell_drift_window_rows {float(WINDOW)}" in metrics


def test_a_bundle_without_reference_serves_with_drift_off(
    wine_bundle: Path, tmp_path: Path
) -> None:
    import shutil

    from trainwell.inference.bundle import MANIFEST_FILE

    old = tmp_path / "old-bundle"
    shutil.copytree(wine_bundle, old)
    (old / "reference.json").unlink()
    manifest = json.loads((old / MANIFEST_FILE).read_text())
    del manifest["files"]["reference.json"]  # as a bundle written before references existed
    (old / MANIFEST_FILE).write_text(json.dumps(manifest))
    with live(ServeConfig(bundle=old, port=free_port())) as server, server.client() as client:
        drift = client.get("/v1/drift").json()
        info = client.get("/v1/model").json()
    assert drift == {
        "enabled": False,
        "reason": "the served bundles hold no training reference (trained before trainwell "
        "wrote one)",
    }
    assert info["arms"][0]["drift_reference"] is False
