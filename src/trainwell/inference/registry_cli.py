"""`trainwell registry ...` and `trainwell ab report`: thin commands over ``registry`` and
``abreport``; every failure is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trainwell.errors import TrainwellError

if TYPE_CHECKING:
    from trainwell.inference.abreport import ABReport, Estimate

console = Console()
err_console = Console(stderr=True)

registry_app = typer.Typer(
    help="Model versions and aliases in the MLflow Model Registry (the training store).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ab_app = typer.Typer(
    help="A/B analysis of a `trainwell serve` request log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow store (default: tracking.uri as training resolves it, "
        "else sqlite:///<cwd>/mlruns/mlflow.db).",
        show_default=False,
    ),
]
Alias = Annotated[str, typer.Option("--alias", help="The alias to move.")]


def _fail(exc: TrainwellError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def _say(text: str) -> None:
    console.print(escape(text), highlight=False, soft_wrap=True)


@registry_app.command("register")
def register_command(
    bundle: Annotated[Path, typer.Argument(help="A model bundle directory written by train.")],
    name: Annotated[str, typer.Option("--name", "-n", help="The registered model's name.")],
    tracking_uri: TrackingUri = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the version as JSON.")] = False,
) -> None:
    """Register a verified bundle as a new model version; prints its number."""
    try:
        from trainwell.inference.registry import register

        info = register(bundle, name, tracking_uri)
    except TrainwellError as exc:
        raise _fail(exc) from None
    if as_json:
        console.print_json(json.dumps(info.model_dump(mode="json")))
        return
    metric = (
        f", {info.primary_metric} {info.primary_value:.4f}"
        if info.primary_value is not None
        else ""
    )
    _say(f"registered {info.name} version {info.version} ({info.architecture}{metric})")
    _say(f"promote it: trainwell registry promote {info.name} {info.version}")


@registry_app.command("promote")
def promote_command(
    name: Annotated[str, typer.Argument(help="The registered model.")],
    version: Annotated[int, typer.Argument(help="The version to promote.", min=1)],
    alias: Alias = "champion",
    tracking_uri: TrackingUri = None,
) -> None:
    """Point an alias at a version; the version it held is kept for rollback."""
    try:
        from trainwell.inference.registry import promote

        change = promote(name, version, alias, tracking_uri)
    except TrainwellError as exc:
        raise _fail(exc) from None
    _say(change.message)


@registry_app.command("rollback")
def rollback_command(
    name: Annotated[str, typer.Argument(help="The registered model.")],
    alias: Alias = "champion",
    tracking_uri: TrackingUri = None,
) -> None:
    """Move an alias back to the version that held it before (repeat to go further back)."""
    try:
        from trainwell.inference.registry import rollback

        change = rollback(name, alias, tracking_uri)
    except TrainwellError as exc:
        raise _fail(exc) from None
    _say(change.message)


@registry_app.command("list")
def list_command(
    name: Annotated[str, typer.Argument(help="The registered model.")],
    tracking_uri: TrackingUri = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"versions": [...]}.')] = False,
) -> None:
    """Versions with their aliases, bundle metrics and creation time."""
    try:
        from trainwell.inference.registry import list_versions

        versions = list_versions(name, tracking_uri)
    except TrainwellError as exc:
        raise _fail(exc) from None
    if as_json:
        console.print_json(json.dumps({"versions": [v.model_dump(mode="json") for v in versions]}))
        return
    table = Table(title=f"{name}: {len(versions)} version(s)")
    for column in ("version", "aliases", "architecture", "test metric", "created (UTC)", "sha"):
        table.add_column(column, justify="right" if column == "version" else "left")
    for info in versions:
        metric = (
            "-" if info.primary_value is None else f"{info.primary_metric} {info.primary_value:.4f}"
        )
        table.add_row(
            str(info.version),
            ", ".join(info.aliases) or "-",
            info.architecture or "-",
            metric,
            info.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            (info.bundle_sha256 or "-")[:12],
        )
    console.print(table)


# --- ab ---------------------------------------------------------------------------------------


@ab_app.callback()
def ab_callback() -> None:
    """A/B analysis of a `trainwell serve` request log."""


def _estimate(estimate: Estimate | None, fmt: str, interval: bool = True) -> str:
    if estimate is None:
        return "-"
    if not interval or estimate.ci_low is None or estimate.ci_high is None:
        return format(estimate.value, fmt)
    low, high = format(estimate.ci_low, fmt), format(estimate.ci_high, fmt)
    return f"{format(estimate.value, fmt)} [{low}, {high}]"


def _render_ab(report: ABReport) -> None:
    level = f"{(1 - report.alpha) * 100:g} % CI"
    regression = report.metric == "mae"
    table = Table(
        title=f"A/B: {report.objective}, control {report.control}", box=box.SIMPLE, pad_edge=False
    )
    table.add_column("arm")
    table.add_column("version")
    table.add_column("requests", justify="right")
    table.add_column("labelled/rows", justify="right")
    table.add_column(f"{report.metric} [{level}]", justify="right", no_wrap=True)
    if regression:
        table.add_column("rmse", justify="right")
    table.add_column("p50/p95 ms", justify="right")
    for arm in report.arms:
        metrics = (
            [_estimate(arm.mae, ".4g"), _estimate(arm.rmse, ".4g", interval=False)]
            if regression
            else [_estimate(arm.accuracy, ".3f")]
        )
        table.add_row(
            arm.arm,
            ", ".join(arm.versions),
            f"{arm.requests:,}",
            f"{arm.labelled_rows:,}/{arm.rows:,}",
            *metrics,
            f"{arm.latency_p50_ms:.2f}/{arm.latency_p95_ms:.2f}",
        )
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]note: {escape(note)}[/]", soft_wrap=True)
    for comparison in report.comparisons:
        if comparison.p_value is not None and comparison.difference is not None:
            _say(
                f"{comparison.treatment} - {comparison.control}: {comparison.metric} "
                f"{comparison.difference:+.4f} [{comparison.ci_low:+.4f}, "
                f"{comparison.ci_high:+.4f}], {comparison.test}, p = {comparison.p_value:.3g}"
            )
        colour = {"better": "green", "worse": "red"}.get(comparison.outcome, "yellow")
        console.print(f"[bold {colour}]{escape(comparison.verdict)}[/]", soft_wrap=True)


@ab_app.command("report")
def report_command(
    log: Annotated[Path, typer.Argument(help="The server's JSONL request log (LOG.1... too).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    alpha: Annotated[
        float, typer.Option("--alpha", min=0.0001, max=0.5, help="Significance level.")
    ] = 0.05,
    control: Annotated[str, typer.Option("--control", help="The arm others are compared to.")] = (
        "champion"
    ),
    min_effect: Annotated[
        float,
        typer.Option(
            "--min-effect",
            min=0.0001,
            help="The smallest difference worth detecting, for the rows-needed estimate: "
            "accuracy points (0.02 = 2 points) or a relative change of MAE (0.02 = 2 %).",
        ),
    ] = 0.02,
) -> None:
    """Per-arm metrics from logged predictions and feedback, a significance test, a verdict."""
    try:
        from trainwell.inference.abreport import compare_arms

        report = compare_arms(log, alpha=alpha, control=control, min_effect=min_effect)
    except TrainwellError as exc:
        raise _fail(exc) from None
    if as_json:
        console.print_json(json.dumps(report.model_dump(mode="json")))
        return
    if report.skipped_lines:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(report.skipped.items()))
        err_console.print(
            f"[yellow]warning: skipped {report.skipped_lines} malformed line(s) ({reasons})[/]",
            soft_wrap=True,
        )
    _render_ab(report)
