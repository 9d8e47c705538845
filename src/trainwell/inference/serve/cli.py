"""``trainwell serve``: the thin command; the server is in :mod:`trainwell.inference.serve.app`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from trainwell.errors import TrainwellError
from trainwell.inference.cli import _fail as fail
from trainwell.inference.cli import console

SERVE_HELP = """Serve a bundle (or a registered model's aliases) over HTTP on 127.0.0.1.

POST /v1/predict takes one JSON record or a list; GET /docs shows the schema with real examples.
Also /v1/model, /v1/drift, /v1/feedback, /livez, /readyz and /metrics (Prometheus).
"""


def serve_command(
    bundle: Annotated[
        Path | None,
        typer.Argument(help="A bundle directory (or use --registry NAME).", show_default=False),
    ] = None,
    registry: Annotated[
        str | None, typer.Option("--registry", help="A model name in the MLflow Model Registry.")
    ] = None,
    ab: Annotated[
        str | None,
        typer.Option(
            "--ab",
            help="Weighted arms: champion:90,challenger:10 (aliases or versions with --registry;"
            " bundle directories otherwise).",
        ),
    ] = None,
    sticky_key: Annotated[
        str | None,
        typer.Option(
            "--sticky-key", help="header:X-User-ID or field:user_id pins a key to an arm."
        ),
    ] = None,
    shadow: Annotated[
        str | None,
        typer.Option("--shadow", help="A ref answered off the response path and compared."),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    runtime: Annotated[
        str, typer.Option("--runtime", help="auto (ONNX when exported), onnx or native.")
    ] = "auto",
    threads: Annotated[int, typer.Option("--threads", min=1, help="ONNX Runtime threads.")] = 1,
    workers: Annotated[
        int, typer.Option("--workers", help="Only 1: scale by running more behind a balancer.")
    ] = 1,
    strict_categories: Annotated[
        bool, typer.Option("--strict-categories", help="Refuse categories never seen (422).")
    ] = False,
    max_rows: Annotated[int, typer.Option("--max-rows", min=1, help="Records per request.")] = (
        1_000
    ),
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", min=1024, help="Largest request body.")
    ] = 4 * 1024 * 1024,
    max_in_flight: Annotated[
        int, typer.Option("--max-in-flight", min=1, help="Past this many at once: a fast 503.")
    ] = 64,
    request_log: Annotated[
        Path | None,
        typer.Option("--request-log", help="JSONL log of predictions and feedback (rotated)."),
    ] = None,
    drift: Annotated[bool, typer.Option("--drift/--no-drift", help="Monitor drift.")] = True,
    drift_every: Annotated[
        float, typer.Option("--drift-every", min=0.1, help="Seconds between drift checks.")
    ] = 15.0,
    drift_window: Annotated[
        int, typer.Option("--drift-window", min=10, help="Served rows the drift window keeps.")
    ] = 2_000,
    psi_alert: Annotated[
        float, typer.Option("--psi-alert", help="PSI above which a feature alerts.")
    ] = 0.25,
    webhook_url: Annotated[
        str | None, typer.Option("--webhook-url", help="POST drift alerts here (retried).")
    ] = None,
    drain_seconds: Annotated[
        float, typer.Option("--drain-seconds", min=0, help="After SIGTERM: readyz 503 this long.")
    ] = 0.0,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow store (default: the project's).")
    ] = None,
    write_alert_rules: Annotated[
        Path | None,
        typer.Option("--write-alert-rules", help="Write Prometheus alert rules and exit."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random A/B split.")] = 0,
) -> None:
    """Serve a bundle or registered model: validated input, metrics, drift, rollback, A/B."""
    from trainwell.errors import ConfigError

    try:
        if workers != 1:
            raise ConfigError(
                "--workers must be 1: Prometheus counters of several worker processes would "
                "each count alone; run more `trainwell serve` processes behind a load balancer "
                "(docs/serve.md)"
            )
        config = _config(
            bundle=bundle, registry=registry, ab=ab, sticky_key=sticky_key, shadow=shadow,
            host=host, port=port, runtime=runtime, threads=threads,
            strict_categories=strict_categories, max_rows=max_rows,
            max_body_bytes=max_body_bytes, max_in_flight=max_in_flight, request_log=request_log,
            drift=drift, drift_check_every_s=drift_every, drift_window=drift_window,
            psi_alert=psi_alert,
            webhook_url=webhook_url, drain_seconds=drain_seconds, tracking_uri=tracking_uri,
            seed=seed,
        )  # fmt: skip
        if write_alert_rules is not None:
            from trainwell.inference.alerts import alert_rules
            from trainwell.inference.alerts import write_alert_rules as write_rules

            write_rules(write_alert_rules, psi_alert=config.psi_alert)
            count = sum(len(g["rules"]) for g in alert_rules(psi_alert=config.psi_alert)["groups"])
            console.print(f"wrote {count} alert rules to [bold]{write_alert_rules}[/]")
            return
        from trainwell.inference.serve.launch import build, serve_forever

        with console.status("loading and warming up…", spinner="dots"):
            app, state = build(config)
        for arm, model in state.arms.items():
            console.print(
                f"[bold]{arm}[/]: {model.identity.name} version {model.identity.version} "
                f"({model.runtime}{', fast path' if model.fast_path else ''}), "
                f"{100 * state.router.shares[arm]:.0f} % of traffic, ready in "
                f"{model.loaded_in_s:.2f}s"
            )
        console.print(f"serving on [bold]http://{config.host}:{config.port}[/] (docs at /docs)")
        serve_forever(app, state)
    except TrainwellError as exc:
        raise fail(exc) from None


def _config(**options: Any) -> Any:
    from pydantic import ValidationError

    from trainwell.errors import ConfigError
    from trainwell.inference.serve.settings import ADMIN_TOKEN_ENV, ServeConfig, parse_arms
    from trainwell.inference.serve.settings import parse_sticky_key as sticky

    ab = options.pop("ab")
    key = options.pop("sticky_key")
    if options["runtime"] not in {"auto", "onnx", "native"}:
        raise ConfigError(f"--runtime must be auto, onnx or native, got {options['runtime']!r}")
    if ab is not None and options["bundle"] is not None and options["registry"] is None:
        raise ConfigError("--ab with bundle directories: give them in --ab alone, no BUNDLE")
    if ab is not None and options["registry"] is None:
        arms = parse_arms(ab)
        options["bundle"] = Path(arms[0].ref)
    try:
        return ServeConfig(
            **options,
            arms=parse_arms(ab) if ab is not None else (),
            sticky_key=sticky(key) if key is not None else None,
            admin_token=os.environ.get(ADMIN_TOKEN_ENV) or None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"serve: {where + ': ' if where else ''}{first['msg']}") from None
