"""`trainwell export` and `trainwell bench`: thin commands over ``export`` and ``bench``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from trainwell.errors import TrainwellError

if TYPE_CHECKING:
    from trainwell.inference.bench import BenchReport

console = Console()
err_console = Console(stderr=True)


def _fail(exc: TrainwellError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def export_command(
    bundle: Annotated[Path, typer.Argument(help="A model bundle directory written by train.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="onnx (every model) or torchscript (torch).")
    ] = "onnx",
    opset: Annotated[
        int | None, typer.Option("--opset", help="ONNX opset (default: the converter's).")
    ] = None,
    allow_mismatch: Annotated[
        bool,
        typer.Option(
            "--allow-mismatch", help="Record the export even if parity fails (a visible waiver)."
        ),
    ] = False,
) -> None:
    """Export the model with a numerical parity gate (exit 1 when parity fails)."""
    from trainwell.errors import ConfigError

    try:
        from trainwell.inference.export import export_bundle
        from trainwell.inference.runtime import FORMATS

        if fmt not in FORMATS:
            raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        with console.status(f"exporting to {fmt} and checking parity…", spinner="dots"):
            result = export_bundle(bundle, fmt, opset=opset, allow_mismatch=allow_mismatch)
    except TrainwellError as exc:
        raise _fail(exc) from None
    parity = result.parity
    colour = "green" if parity.passed else "yellow"
    console.print(
        f"[bold]{fmt}[/] export of {result.record.route} model: {result.path} "
        f"({result.size_bytes / 1e6:.2f} MB, sha256 {result.sha256[:12]}…, "
        f"{result.seconds:.1f} s)"
    )
    console.print(f"[{colour}]parity {escape(parity.summary())}[/]")
    if parity.waived:
        console.print("[bold yellow]waiver recorded: parity failed, --allow-mismatch[/]")


def _render(report: BenchReport) -> Table:
    table = Table(title=f"{report.architecture}: {report.threads} thread(s)")
    for column in ("runtime", "batch", "p50 ms", "p95 ms", "p99 ms", report.unit, "speed-up"):
        table.add_column(column, justify="left" if column == "runtime" else "right")
    for row in report.rows:
        mark = "" if row.settled else " *"
        speedup = "" if row.speedup is None else f"{row.speedup:.2f}x"
        table.add_row(
            row.runtime,
            str(row.batch_size),
            f"{row.p50_ms:.3f}{mark}",
            f"{row.p95_ms:.3f}",
            f"{row.p99_ms:.3f}",
            f"{row.throughput:,.0f}",
            speedup,
        )
    return table


def bench_command(
    bundle: Annotated[Path, typer.Argument(help="A model bundle directory written by train.")],
    batch_sizes: Annotated[
        str, typer.Option("--batch-sizes", help="Comma-separated batch sizes, each >= 1.")
    ] = "1,8,64",
    runtime: Annotated[
        str, typer.Option("--runtime", help="all, native, onnx, torchscript (comma-separated).")
    ] = "all",
    threads: Annotated[int, typer.Option("--threads", min=1, help="Intra-op threads.")] = 1,
    window: Annotated[
        float, typer.Option("--window", min=0.01, help="Seconds per measurement window.")
    ] = 0.2,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report as JSON here.")
    ] = None,
    no_fresh_process: Annotated[
        bool,
        typer.Option("--no-fresh-process", help="Skip peak RSS / cold start (fresh processes)."),
    ] = False,
) -> None:
    """Latency p50/p95/p99 and throughput per batch size, native vs exported; memory, size."""
    try:
        from trainwell.inference.bench import bench_bundle, parse_batch_sizes, tracked

        sizes = parse_batch_sizes(batch_sizes)
        with console.status("benchmarking…", spinner="dots") as status:
            report = bench_bundle(
                bundle,
                runtimes=runtime,
                batch_sizes=sizes,
                threads=threads,
                window_s=window,
                fresh_process=not no_fresh_process,
                progress=lambda step: status.update(f"benchmarking: {step}…"),
            )
        logged = tracked(bundle, report)
    except TrainwellError as exc:
        raise _fail(exc) from None
    console.print(_render(report))
    facts = Table(title="per runtime")
    for column in ("runtime", "file MB", "peak RSS MB", "cold start s"):
        facts.add_column(column, justify="left" if column == "runtime" else "right")
    for item in report.runtimes:
        facts.add_row(
            item.runtime,
            f"{item.file_size_bytes / 1e6:.3f}",
            "-" if item.peak_rss_mb is None else f"{item.peak_rss_mb:.0f}",
            "-" if item.cold_start_s is None else f"{item.cold_start_s:.2f}",
        )
    console.print(facts)
    if any(not row.settled for row in report.rows):
        console.print("* did not settle: the last three windows differed by more than 10 %")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report.model_dump(mode="json"), indent=2) + "\n")
        console.print(f"wrote {output}")
    if logged:
        console.print(f"logged to MLflow run {logged}")
