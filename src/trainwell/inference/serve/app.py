"""The HTTP routes of ``trainwell serve`` (FastAPI), built around a loaded :class:`ServeState`.

Routes: ``POST /v1/predict``, ``POST /v1/feedback``, ``GET /v1/model``, ``GET /v1/drift``,
``GET /livez``, ``GET /readyz``, ``GET /metrics``; with ``TRAINWELL_ADMIN_TOKEN`` set, also
``POST /admin/reload``, ``/admin/promote`` and ``/admin/rollback`` (a bearer token, compared in
constant time; without a token the routes do not exist).

The prediction route reads the body itself (size cap, content type, orjson) and validates it
with the request model generated from the bundle's schema: every refusal is a 4xx with a
field-level message. Its request model and real examples are put into the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Receive, Scope, Send

from trainwell.errors import SchemaError, TrainwellError
from trainwell.evaluation.objectives import PREDICTION_COLUMN
from trainwell.inference.serve.records import RecordError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    from trainwell.inference.alerts import AlertSink
    from trainwell.inference.serve.models import ServedModel
    from trainwell.inference.serve.requestlog import RequestLog
    from trainwell.inference.serve.shadow import ShadowRunner
    from trainwell.inference.serve.state import ServeState

logger = get_logger(__name__)

JSON = "application/json"
PREDICT_PATH = "/v1/predict"
THREADPOOL_ROWS = 64  # batches past this size are predicted off the event loop
MAX_FEEDBACK_ROWS = 10_000
_DETAIL = {JSON: {"schema": {"type": "object", "properties": {"detail": {}}}}}
PREDICT_RESPONSES: dict[str, Any] = {
    "200": {
        "description": "Predictions, one per record, in order",
        "content": {JSON: {"schema": {"type": "object", "required": ["predictions"]}}},
    },
    "400": {"description": "The body is not JSON", "content": _DETAIL},
    "413": {"description": "Body or batch too large", "content": _DETAIL},
    "415": {"description": "Not application/json", "content": _DETAIL},
    "422": {"description": "Records that do not match the model's schema", "content": _DETAIL},
    "503": {"description": "Not ready, draining, or too many requests in flight",
            "content": _DETAIL},
}  # fmt: skip


class Feedback(BaseModel):
    """An observed outcome for an earlier prediction request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(min_length=1, max_length=64, description="X-Request-ID of it")
    outcome: Any = Field(None, description="one record's outcome (its label or value)")
    outcomes: list[Any] | None = Field(
        None, max_length=MAX_FEEDBACK_ROWS, description="a batch's outcomes, row by row"
    )


class Promotion(BaseModel):
    """``POST /admin/promote``: point an alias at a registered version and serve it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(pattern=r"^\d+$")
    alias: str = Field("champion", min_length=1, max_length=64)


class Rollback(BaseModel):
    """``POST /admin/rollback``: the alias's previous version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str = Field("champion", min_length=1, max_length=64)


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def _error(status: int, detail: Any, headers: dict[str, str] | None = None) -> Response:
    return _json({"detail": detail}, status, headers)


class ServeApp(FastAPI):
    """FastAPI with ``POST /v1/predict`` answered directly.

    The prediction route reads and validates its body itself, so FastAPI's middleware stack
    (error telemetry, body limits, exit stacks) and its router only add time to every request:
    measured by benchmarks/bench_serve.py, they were a fifth of the server's time per request.
    Every other route goes through FastAPI as usual. An unexpected exception still becomes a
    500 (uvicorn answers it and logs the traceback).
    """

    predict: Callable[[Request], Awaitable[Response]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.predict is not None
            and scope["type"] == "http"
            and scope["path"] == PREDICT_PATH
            and scope["method"] == "POST"
        ):
            response = await self.predict(Request(scope, receive))
            await response(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class Services:
    """The app's helpers beside the state: the request log, the shadow and the alert sink."""

    def __init__(
        self,
        state: ServeState,
        log: RequestLog | None,
        shadow: ShadowRunner | None,
        alerts: AlertSink | None,
    ) -> None:
        self.state = state
        self.log = log
        self.shadow = shadow
        self.alerts = alerts
        self.in_flight = 0
        # requests accepted and not yet answered: the server's own count (uvicorn's request
        # tasks, set by ``server.run_server``) sees those still queued on the event loop, which
        # a counter inside the handler cannot (a single-row request never yields)
        self.pending: Callable[[], int] = lambda: self.in_flight + 1  # this one included


def create_app(
    state: ServeState,
    *,
    log: RequestLog | None = None,
    alerts: AlertSink | None = None,
) -> FastAPI:
    """The FastAPI app serving ``state`` (its models already loaded).

    Args:
        log: the JSONL request log (``ab report``, feedback); None: off.
        alerts: where drift alerts go (a structlog event, a webhook).
    """
    from trainwell.inference.serve.shadow import ShadowRunner

    config = state.config
    metrics = state.metrics
    shadow = ShadowRunner(lambda: state.shadow, metrics, log) if config.shadow is not None else None
    services = Services(state, log, shadow, alerts)
    # read at scrape time: requests accepted and not answered, the scrape itself left out
    metrics.in_flight.set_function(lambda: max(0, services.pending() - 1))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_drift_loop(services))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if shadow is not None:
                shadow.stop()
            if log is not None:
                log.close()
            if alerts is not None:
                alerts.close()

    app = ServeApp(
        title="trainwell serve",
        version=_control(state).identity.version if state.arms else "0",
        description=_describe(state),
        lifespan=lifespan,
    )
    app.state.services = services
    max_body = config.max_body_bytes
    max_rows = config.max_rows
    sticky = config.sticky_key

    overloaded = metrics.rejected.labels("overloaded")

    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        if not state.ready:
            return _error(503, "not ready", {"Retry-After": "1"})
        if services.pending() > config.max_in_flight:
            overloaded.inc()
            return _error(503, f"more than {config.max_in_flight} requests in flight",
                          {"Retry-After": "1"})  # fmt: skip
        services.in_flight += 1
        try:
            return await _predict(request, started)
        finally:
            services.in_flight -= 1

    async def _predict(request: Request, started: float) -> Response:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != JSON:
            return _refuse(415, "unsupported_media_type", f"send {JSON} (got {content_type!r})")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body:
            return _refuse(413, "body_too_large", f"body over {max_body} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                return _refuse(413, "body_too_large", f"body over {max_body} bytes")
            chunks.append(chunk)
        try:
            body = orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as exc:
            return _refuse(
                400, "malformed_json",
                f"body is not valid JSON ({exc}); NaN and Infinity are not JSON: send null for a"
                " missing value",
            )  # fmt: skip
        if isinstance(body, list):
            if not body:
                return _refuse(422, "empty_batch", "an empty list: send at least one record")
            if len(body) > max_rows:
                return _refuse(413, "too_many_rows",
                               f"{len(body)} records; at most {max_rows} per request")  # fmt: skip
        elif not isinstance(body, dict):
            return _refuse(
                422, "not_records", "the body must be a JSON object (one record) or a list of them"
            )
        key = _sticky_value(request, body, sticky)
        arm = state.router.choose(key)
        model = state.arms[arm]
        try:
            batch = model.codec.plain_columns(body)
            if batch is None:  # coercions, extra fields, or errors to name: the record model
                records, _, errors = model.codec.validate(body)
                if errors:
                    detail = [e.model_dump() for e in errors]
                    return _refuse(422, "invalid_records", detail, model)
                batch = model.codec.columns(records)
        except RecordError as exc:
            return _refuse(422, "invalid_records", [e.model_dump() for e in exc.errors], model)
        try:
            if batch.n_rows > THREADPOOL_ROWS:
                outputs = await asyncio.to_thread(model.predict, batch)
            else:
                outputs = model.predict(batch)
        except SchemaError as exc:
            return _refuse(422, "invalid_records", str(exc), model)
        except TrainwellError as exc:
            logger.error("prediction_failed", arm=arm, error=str(exc))
            return _refuse(500, "prediction_failed", str(exc), model)
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request_id = request_id[:64]
        observed = model.observed(outputs)
        if model.monitor is not None:
            model.monitor.observe(model.codec.drift_columns(batch), observed)
        metrics.observe_outputs(arm, observed, observed.dtype.kind not in "fc")
        if shadow is not None:
            shadow.submit(request_id, batch, outputs[PREDICTION_COLUMN])
        rows = _rows(outputs)
        identity = model.identity
        elapsed = time.perf_counter() - started
        if log is not None:
            log.write(
                "prediction",
                request_id=request_id,
                arm=arm,
                model=identity.name,
                version=identity.version,
                objective=model.task.objective.name,
                rows=batch.n_rows,
                predictions=outputs[PREDICTION_COLUMN].tolist(),
                latency_ms=round(1000 * elapsed, 3),
            )
        metrics.request_counter(arm, identity.version, 200).inc()
        metrics.latency_of(arm).observe(elapsed)
        payload = {
            "request_id": request_id,
            "model": {"name": identity.name, "version": identity.version, "arm": arm},
            "predictions": rows,
            "warnings": list(batch.warnings),
        }
        return _json(payload, 200, _model_headers(model, request_id))

    # the hot path: ServeApp answers it before FastAPI's middleware and routing (the body is
    # read and validated here); _document() puts the route into the OpenAPI document
    app.predict = predict

    def _refuse(
        status: int, reason: str, detail: Any, model: ServedModel | None = None
    ) -> Response:
        metrics.rejected.labels(reason).inc()
        if model is not None:
            metrics.request_counter(model.identity.arm, model.identity.version, status).inc()
        else:
            metrics.request_counter("none", "none", status).inc()
        return _error(status, detail, _model_headers(model, None) if model else None)

    @app.post("/v1/feedback", status_code=202, summary="Record the observed outcome of a request")
    async def feedback(item: Feedback) -> Response:
        if log is None:
            return _error(409, "feedback needs the request log: serve with --request-log PATH")
        if (item.outcome is None) == (item.outcomes is None):
            return _error(422, "send one of outcome (a record) or outcomes (a batch)")
        outcomes = item.outcomes if item.outcomes is not None else [item.outcome]
        log.write("feedback", request_id=item.request_id, outcomes=outcomes)
        return _json({"recorded": len(outcomes)}, 202)

    @app.get("/v1/model", summary="The served models: versions, aliases, schema, metrics")
    async def model_info() -> Response:
        arms = []
        for arm, model in state.arms.items():
            described = model.describe()
            described["traffic_share"] = state.router.shares.get(arm)
            arms.append(described)
        control = _control(state)
        payload: dict[str, Any] = {
            "arms": arms,
            "sticky_key": config.sticky_key.model_dump() if config.sticky_key else None,
            "registry": config.registry,
            "schema": control.codec.schema.model_dump(mode="json"),
            "limits": {"max_rows": max_rows, "max_body_bytes": max_body},
        }
        if state.shadow is not None and shadow is not None:
            payload["shadow"] = {**state.shadow.describe(), **shadow.totals.summary()}
        return _json(payload)

    @app.get("/v1/drift", summary="Drift of the served inputs and predictions vs training")
    async def drift() -> Response:
        reports = await asyncio.to_thread(_drift_reports, state)
        if not reports:
            return _json({"enabled": False, "reason": _drift_off_reason(state)})
        return _json({"enabled": True, "arms": reports})

    @app.get("/livez", summary="The process is up")
    async def livez() -> Response:
        return _json({"status": "alive"})

    @app.get("/readyz", summary="Ready: the models answered a warm-up prediction, not draining")
    async def readyz() -> Response:
        if state.draining:
            return _error(503, "draining: shutting down")
        if not state.ready:
            return _error(503, "loading")
        return _json({"status": "ready", "versions": {a: m.identity.version
                                                      for a, m in state.arms.items()}})  # fmt: skip

    @app.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def prometheus() -> Response:
        from trainwell.inference.serve.metrics import CONTENT_TYPE

        return Response(metrics.render(), media_type=CONTENT_TYPE)

    if config.admin_token:
        _admin_routes(app, services, config.admin_token)
    _document(app, state)
    return app


def _admin_routes(app: FastAPI, services: Services, token: str) -> None:
    state = services.state
    expected = f"Bearer {token}".encode()

    def allowed(request: Request) -> bool:
        given = request.headers.get("authorization", "").encode()
        return hmac.compare_digest(given, expected)

    async def swap() -> Response:
        try:
            changes = await asyncio.to_thread(state.load_all)
        except TrainwellError as exc:
            return _error(409, f"refused, still serving the previous models: {exc}")
        return _json({"changed": changes, "versions": _versions(state)})

    @app.post("/admin/reload", summary="Reload the models (aliases looked up again)")
    async def reload(request: Request) -> Response:
        if not allowed(request):
            return _error(401, "a valid admin token is required", {"WWW-Authenticate": "Bearer"})
        return await swap()

    @app.post("/admin/promote", summary="Point an alias at a version and serve it")
    async def promote(request: Request, body: Promotion) -> Response:
        if not allowed(request):
            return _error(401, "a valid admin token is required", {"WWW-Authenticate": "Bearer"})
        try:
            await asyncio.to_thread(_check_loads, state, body.version)
            await asyncio.to_thread(state.source.promote, body.version, body.alias)
        except TrainwellError as exc:
            return _error(409, f"refused, still serving the previous models: {exc}")
        return await swap()

    @app.post("/admin/rollback", summary="Point an alias back at its previous version")
    async def rollback(request: Request, body: Rollback) -> Response:
        if not allowed(request):
            return _error(401, "a valid admin token is required", {"WWW-Authenticate": "Bearer"})
        try:
            await asyncio.to_thread(state.source.rollback, body.alias)
        except TrainwellError as exc:
            return _error(409, f"refused: {exc}")
        return await swap()


def _check_loads(state: ServeState, version: str) -> None:
    """Load a version beside the served ones (verify + warm-up) before the registry changes."""
    from trainwell.inference.serve.models import load_served

    try:
        resolved = state.source.resolve(version, f"v{version}")
        load_served(resolved.path, resolved.identity, runtime=state.config.runtime,
                    threads=state.config.threads, drift=False)  # fmt: skip
    except TrainwellError:
        state.metrics.load_failures.inc()
        raise


def _versions(state: ServeState) -> dict[str, str]:
    return {arm: model.identity.version for arm, model in state.arms.items()}


def _control(state: ServeState) -> ServedModel:
    return state.arms[state.control]


def _rows(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    names = list(outputs)
    columns = [outputs[name].tolist() for name in names]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def _model_headers(model: ServedModel | None, request_id: str | None) -> dict[str, str]:
    if model is None:
        return {}
    headers = {"X-Model-Version": model.identity.version, "X-Model-Arm": model.identity.arm}
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return headers


def _sticky_value(request: Request, body: Any, sticky: Any) -> str | None:
    if sticky is None:
        return None
    if sticky.source == "header":
        return request.headers.get(sticky.name)
    record = body if isinstance(body, dict) else body[0] if body else None
    if isinstance(record, dict) and record.get(sticky.name) is not None:
        return str(record[sticky.name])
    return None


def _drift_reports(state: ServeState) -> dict[str, Any]:
    return {
        arm: model.monitor.report().model_dump(mode="json")
        for arm, model in state.arms.items()
        if model.monitor is not None
    }


def _drift_off_reason(state: ServeState) -> str:
    if not state.config.drift:
        return "drift monitoring was turned off (--no-drift)"
    return "the served bundles hold no training reference (trained before trainwell wrote one)"


async def _drift_loop(services: Services) -> None:
    """Every ``drift_check_every_s``: drift gauges from the control arm; alerts when over."""
    state = services.state
    while True:
        await asyncio.sleep(state.config.drift_check_every_s)
        await asyncio.to_thread(check_drift, services)


def check_drift(services: Services) -> None:
    """One drift check: set the gauges from the control arm's report and raise alerts."""
    state = services.state
    model = state.arms.get(state.control)
    if model is None or model.monitor is None:
        return
    report = model.monitor.report()
    metrics = state.metrics
    metrics.drift_window.set(report.window)
    for feature in report.features:
        if feature.psi is not None:
            metrics.feature_psi.labels(feature.name).set(feature.psi)
        if feature.statistic_value is not None:
            metrics.feature_statistic.labels(feature.name, feature.statistic).set(
                feature.statistic_value
            )
    if report.prediction is not None and report.prediction.psi is not None:
        metrics.prediction_psi.set(report.prediction.psi)
    if services.alerts is not None:
        from trainwell.inference.alerts import drift_alerts

        identity = model.identity
        for alert in drift_alerts(report, model=f"{identity.name} v{identity.version}"):
            services.alerts.emit(alert)


def _describe(state: ServeState) -> str:
    if not state.arms:
        return "trainwell serve"
    control = _control(state)
    arms = ", ".join(
        f"{arm} ({m.identity.name} v{m.identity.version}, {100 * state.router.shares[arm]:.0f} %)"
        for arm, m in state.arms.items()
    )
    return (
        f"{control.task.name} model served by trainwell: {arms}. POST one record (a JSON object) "
        "or a list of records to /v1/predict."
    )


def _document(app: FastAPI, state: ServeState) -> None:
    """Put the generated request model and real examples into the OpenAPI document."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = original()
        if not state.arms:
            return schema
        codec = _control(state).codec
        record = codec.json_schema()
        schema.setdefault("components", {}).setdefault("schemas", {})["Record"] = record
        ref = {"$ref": "#/components/schemas/Record"}
        body_schema = {
            "oneOf": [
                ref,
                {"type": "array", "items": ref, "minItems": 1, "maxItems": state.config.max_rows},
            ]
        }
        examples: dict[str, Any] = {}
        if codec.examples:
            examples["one record"] = {"value": codec.examples[0]}
            examples["a batch"] = {"value": codec.examples}
        content: dict[str, Any] = {"schema": body_schema}
        if examples:
            content["examples"] = examples
        schema["paths"][PREDICT_PATH] = {
            "post": {
                "summary": "Predict one record or a batch",
                "operationId": "predict",
                "requestBody": {"required": True, "content": {JSON: content}},
                "responses": PREDICT_RESPONSES,
            }
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
