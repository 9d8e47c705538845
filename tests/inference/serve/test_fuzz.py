"""Property-based fuzzing of the served OpenAPI document (schemathesis): valid and invalid bodies
generated from the schema, sent through real HTTP — never a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode
from tests.inference.serve.live import free_port, live

from trainwell.inference.serve.settings import ServeConfig

EXAMPLES = 60
OPERATIONS = [
    ("/v1/predict", "POST"),
    ("/v1/feedback", "POST"),
    ("/v1/model", "GET"),
    ("/v1/drift", "GET"),
    ("/readyz", "GET"),
    ("/livez", "GET"),
]


@pytest.mark.slow
def test_no_generated_request_gets_a_5xx(wine_bundle: Path, tmp_path: Path) -> None:
    config = ServeConfig(
        bundle=wine_bundle, port=free_port(), max_rows=50, request_log=tmp_path / "r.jsonl"
    )
    from trainwell.inference.serve.requestlog import RequestLog

    log = RequestLog(tmp_path / "r.jsonl", config.request_log_max_bytes, 1)
    with live(config, log=log) as server:
        with server.client() as client:
            document = client.get("/openapi.json").json()
        schema = schemathesis.openapi.from_dict(document)
        strategies = [
            schema[path][method].as_strategy(generation_mode=mode)
            for path, method in OPERATIONS
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        statuses: list[int] = []

        @settings(
            max_examples=EXAMPLES * len(OPERATIONS),
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(base_url=server.url, timeout=30)
            statuses.append(response.status_code)
            assert response.status_code < 500, (case.path, case.body, response.text)

        no_server_error()
    # the fuzzer reached both answers: predictions and refusals
    assert 200 in statuses and any(400 <= s < 500 for s in statuses)
