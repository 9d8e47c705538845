"""`trainwell serve`'s routes through real HTTP on 127.0.0.1: predictions, refusals, health,
metadata, metrics, feedback and the request log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.inference.serve.live import LiveServer, free_port, live, sample_records

from trainwell.inference.predictor import Predictor
from trainwell.inference.serve.requestlog import RequestLog
from trainwell.inference.serve.settings import ServeConfig

PROBA_ATOL = 1e-4
MAX_BODY = 512 * 1024


@pytest.fixture(scope="module")
def server(wine_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    log_path = tmp_path_factory.mktemp("log") / "requests.jsonl"
    config = ServeConfig(
        bundle=wine_bundle, port=free_port(), max_rows=500, max_body_bytes=MAX_BODY,
        request_log=log_path,
    )  # fmt: skip
    log = RequestLog(log_path, config.request_log_max_bytes, config.request_log_backups)
    with live(config, log=log) as running:
        running.log_path = log_path  # type: ignore[attr-defined]
        yield running


def post(server: LiveServer, body: Any, **headers: str) -> Any:
    with server.client() as client:
        return client.post("/v1/predict", json=body, headers=headers)


def post_raw(server: LiveServer, content: bytes, content_type: str = "application/json") -> Any:
    with server.client() as client:
        return client.post("/v1/predict", content=content, headers={"content-type": content_type})


def test_one_record_is_served_from_the_onnx_fast_path(server: LiveServer) -> None:
    model = server.state.arms["default"]
    assert model.runtime == "onnx" and model.fast_path
    record = sample_records(model.path, 1)[0]
    response = post(server, record)
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["X-Model-Version"] == model.identity.version
    assert response.headers["X-Request-ID"] == body["request_id"]
    assert body["model"] == {
        "name": model.path.name, "version": model.identity.version, "arm": "default",
    }  # fmt: skip
    (prediction,) = body["predictions"]
    probabilities = [prediction[f"proba_{c}"] for c in model.classes]
    assert prediction["prediction"] in model.classes
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
    assert body["warnings"] == []


def test_served_predictions_match_the_native_model(server: LiveServer) -> None:
    """The fast path (records -> graph feeds, no pandas) answers what `predict` answers."""
    model = server.state.arms["default"]
    records = sample_records(model.path)
    response = post(server, records)
    assert response.status_code == 200, response.text
    served = pd.DataFrame(response.json()["predictions"])
    native = Predictor.load(model.path).predict_frame(pd.DataFrame(records))
    assert len(served) == len(records) > 20
    assert (served["prediction"].to_numpy() == native["prediction"].to_numpy()).all()
    for column in (c for c in native.columns if c.startswith("proba_")):
        np.testing.assert_allclose(served[column], native[column], atol=PROBA_ATOL)


def test_unseen_categories_and_out_of_range_values_are_served_with_warnings(
    server: LiveServer,
) -> None:
    record = dict(sample_records(server.state.arms["default"].path, 1)[0])
    record["band"] = "enormous"
    record["magnesium"] = 10_000.0
    record["customer_id"] = "c-17"
    response = post(server, record)
    assert response.status_code == 200, response.text
    warnings = " | ".join(response.json()["warnings"])
    assert "band: categories never seen in training served as unknown: 'enormous'" in warnings
    assert "magnesium: 1 value(s) outside the training range" in warnings
    assert "fields that are not features were ignored: customer_id" in warnings


def test_missing_values_are_null(server: LiveServer) -> None:
    record = dict(sample_records(server.state.arms["default"].path, 1)[0])
    record["magnesium"] = None
    record["band"] = None
    assert post(server, record).status_code == 200


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b'{"magnesium": ', 400, "body is not valid JSON"),
        (b'{"magnesium": NaN}', 400, "NaN and Infinity are not JSON"),
        (b'{"magnesium": Infinity}', 400, "NaN and Infinity are not JSON"),
        (b"[" * 5000 + b"]" * 5000, 400, "body is not valid JSON"),
        (b"[]", 422, "an empty list: send at least one record"),
        (b'"a string"', 422, "a JSON object (one record) or a list of them"),
        (b"[1, 2]", 422, "Input should be a valid dictionary"),
    ],
)
def test_malformed_bodies_are_4xx_with_a_clear_message(
    server: LiveServer, content: bytes, status: int, message: str
) -> None:
    response = post_raw(server, content)
    assert response.status_code == status, response.text
    assert message in json.dumps(response.json()["detail"])


def test_wrong_types_name_the_field(server: LiveServer) -> None:
    record = dict(sample_records(server.state.arms["default"].path, 1)[0])
    record["magnesium"] = "plenty"
    record["ash"] = [1, 2]
    del record["hue"]
    response = post(server, [record])
    assert response.status_code == 422
    errors = {tuple(e["loc"]): e["msg"] for e in response.json()["detail"]}
    assert errors[("body", 0, "magnesium")].startswith("Input should be a valid number")
    assert errors[("body", 0, "ash")].startswith("Input should be a valid number")
    assert errors[("body", 0, "hue")] == "Field required"


@pytest.mark.parametrize(
    ("literal", "status", "message"),
    [
        ("1e400", 400, "number is infinity when parsed as double"),
        ("1e39", 422, "1e+39 is beyond ±3.4e38, the float32 range an exported graph computes in"),
    ],
)
def test_numbers_past_float32_are_refused(
    server: LiveServer, literal: str, status: int, message: str
) -> None:
    """An exported graph computes in float32: a larger magnitude would turn infinite in it."""
    record = dict(sample_records(server.state.arms["default"].path, 1)[0])
    record["hue"] = 12345.678
    body = json.dumps(record).replace("12345.678", literal).encode()
    response = post_raw(server, body)
    assert response.status_code == status, response.text
    assert message in response.text
    if status == 422:
        assert response.json()["detail"][0]["loc"] == ["body", "hue"]


def test_batches_over_the_row_cap_and_huge_bodies_are_413(server: LiveServer) -> None:
    record = sample_records(server.state.arms["default"].path, 1)[0]
    small = {k: (1.0 if isinstance(v, float) else v) for k, v in record.items()}
    rows = post(server, [small] * 501)
    assert rows.status_code == 413
    assert rows.json()["detail"] == "501 records; at most 500 per request"
    huge = post_raw(server, json.dumps([record] * 10_000).encode())
    assert huge.status_code == 413
    assert huge.json()["detail"] == f"body over {MAX_BODY} bytes"


def test_wrong_content_type_is_415(server: LiveServer) -> None:
    response = post_raw(server, b"magnesium=1", "application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "send application/json" in response.json()["detail"]


def test_health_and_model_routes(server: LiveServer) -> None:
    model = server.state.arms["default"]
    with server.client() as client:
        assert client.get("/livez").json() == {"status": "alive"}
        ready = client.get("/readyz")
        info = client.get("/v1/model").json()
    assert ready.status_code == 200
    assert ready.json()["versions"] == {"default": model.identity.version}
    (arm,) = info["arms"]
    assert arm["version"] == model.identity.version and arm["runtime"] == "onnx"
    assert arm["architecture"] == "lightgbm" and arm["traffic_share"] == 1.0
    assert arm["training_metrics"]["test"]["balanced_accuracy"] > 0.8
    assert [c["name"] for c in info["schema"]["columns"]][-1] == "band"
    assert info["limits"] == {"max_rows": 500, "max_body_bytes": MAX_BODY}


def test_openapi_documents_the_record_with_real_examples(server: LiveServer) -> None:
    with server.client() as client:
        document = client.get("/openapi.json").json()
    record = document["components"]["schemas"]["Record"]
    assert set(record["required"]) == {
        c.name for c in server.state.arms["default"].codec.schema.columns
    }
    assert record["properties"]["band"]["description"].startswith("a category seen in training")
    content = document["paths"]["/v1/predict"]["post"]["requestBody"]["content"]["application/json"]
    example = content["examples"]["one record"]["value"]
    assert example == sample_records(server.state.arms["default"].path, 1)[0]


def test_metrics_count_requests_by_arm_version_and_status(server: LiveServer) -> None:
    model = server.state.arms["default"]
    post(server, sample_records(model.path, 1)[0])
    post_raw(server, b"{")
    with server.client() as client:
        text = client.get("/metrics").text
    version = model.identity.version
    assert f'trainwell_requests_total{{status="200",variant="default",version="{version}"}}' in text
    assert 'trainwell_requests_total{status="400",variant="none",version="none"}' in text
    assert "trainwell_request_duration_seconds_bucket" in text
    assert 'trainwell_predicted_class_total{class="' in text
    assert "trainwell_ready 1.0" in text
    assert 'trainwell_rejected_requests_total{reason="malformed_json"}' in text


def test_feedback_lands_in_the_request_log_beside_the_prediction(server: LiveServer) -> None:
    model = server.state.arms["default"]
    response = post(server, sample_records(model.path, 2), **{"X-Request-ID": "req-42"})
    assert response.status_code == 200
    with server.client() as client:
        accepted = client.post(
            "/v1/feedback", json={"request_id": "req-42", "outcomes": ["0", "1"]}
        )
        both = client.post("/v1/feedback", json={"request_id": "x", "outcome": 1, "outcomes": [1]})
        unknown_field = client.post("/v1/feedback", json={"request_id": "x", "label": 1})
    assert accepted.status_code == 202 and accepted.json() == {"recorded": 2}
    assert both.status_code == 422
    assert unknown_field.status_code == 422
    server.app.state.services.log.close()  # flush the background writer
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines()]  # type: ignore[attr-defined]
    prediction = next(
        x for x in lines if x["event"] == "prediction" and x["request_id"] == "req-42"
    )
    assert prediction["rows"] == 2 and len(prediction["predictions"]) == 2
    assert (
        prediction["objective"] == "classification"
        and prediction["version"] == model.identity.version
    )
    feedback = next(x for x in lines if x["event"] == "feedback")
    assert feedback == {**feedback, "request_id": "req-42", "outcomes": ["0", "1"]}


def test_admin_routes_do_not_exist_without_a_token(server: LiveServer) -> None:
    with server.client() as client:
        assert client.post("/admin/reload").status_code == 404


def test_feedback_without_a_request_log_is_409(wine_bundle: Path) -> None:
    with live(ServeConfig(bundle=wine_bundle, port=free_port())) as running, running.client() as c:
        response = c.post("/v1/feedback", json={"request_id": "a", "outcome": "1"})
    assert response.status_code == 409
    assert "serve with --request-log PATH" in response.json()["detail"]


def test_a_bundle_without_export_is_served_natively(diabetes_native: Path) -> None:
    records = sample_records(diabetes_native, 5)
    with live(ServeConfig(bundle=diabetes_native, port=free_port())) as running:
        model = running.state.arms["default"]
        assert model.runtime == "native" and not model.fast_path
        with running.client() as client:
            response = client.post("/v1/predict", json=records)
    assert response.status_code == 200, response.text
    served = [p["prediction"] for p in response.json()["predictions"]]
    native = Predictor.load(diabetes_native).predict_frame(pd.DataFrame(records))["prediction"]
    np.testing.assert_allclose(served, native.to_numpy(), rtol=1e-9)


def test_past_the_concurrency_limit_requests_get_a_fast_503(wine_bundle: Path) -> None:
    """12 clients sending 400-row batches at a server that takes 2 at a time: the others get a
    503 with Retry-After at once instead of waiting in a queue; nothing else fails."""
    import threading

    records = sample_records(wine_bundle)
    batch = (records * (400 // len(records) + 1))[:400]
    statuses: list[int] = []
    refusals: list[Any] = []
    config = ServeConfig(bundle=wine_bundle, port=free_port(), max_in_flight=2)
    with live(config) as running:

        def client() -> None:
            with running.client() as c:
                for _ in range(4):
                    response = c.post("/v1/predict", json=batch)
                    statuses.append(response.status_code)
                    if response.status_code == 503:
                        refusals.append(response)

        threads = [threading.Thread(target=client) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with running.client() as c:
            metrics = c.get("/metrics").text
    assert set(statuses) == {200, 503}, statuses
    assert refusals[0].headers["Retry-After"] == "1"
    assert refusals[0].json()["detail"] == "more than 2 requests in flight"
    assert (
        f'trainwell_rejected_requests_total{{reason="overloaded"}} {float(len(refusals))}'
        in metrics
    )
