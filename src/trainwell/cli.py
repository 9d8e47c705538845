"""The `trainwell` command line: a thin layer that parses arguments and wires commands.

Every command is one function below; heavy libraries are imported inside the command that
needs them, so `trainwell --help` stays fast. Any :class:`~trainwell.errors.TrainwellError`
becomes one red line on stderr and the error's exit code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from trainwell import __version__
from trainwell.errors import TrainwellError

# Offline and quiet: set before any command imports MLflow, Hugging Face or Ray.
OFFLINE_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "GIT_PYTHON_REFRESH": "quiet",
}

app = typer.Typer(
    name="trainwell",
    help="A senior ML engineer's playbook as software: decide, train, check, track, predict, ship.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(exc: TrainwellError) -> typer.Exit:
    """Print one clear line for ``exc`` and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


@app.callback()
def main_options(
    log_format: Annotated[
        str, typer.Option("--log-format", help="console or json (structlog events on stderr).")
    ] = "console",
    log_level: Annotated[str, typer.Option("--log-level", help="debug/info/warning/error.")] = (
        "warning"
    ),
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    """trainwell: from a dataset and a task to a tested, tracked, served model."""
    from trainwell.utils.logging import configure_logging

    if version:
        console.print(f"trainwell {__version__}")
        raise typer.Exit(0)
    if log_format not in {"console", "json"}:
        err_console.print("[bold red]error:[/] --log-format must be console or json")
        raise typer.Exit(2)
    configure_logging("json" if log_format == "json" else "console", log_level)


def _load_experiment(args: list[str]) -> Any:
    from trainwell.config.loader import load_experiment

    return load_experiment(args)


@app.command()
def train(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="An experiment YAML, then key=value overrides (training.seed=7 "
            "data.path=my.csv data.target=label). With no config: the built-in example.",
            show_default=False,
        ),
    ] = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Show the resolved config and exit.")
    ] = False,
) -> None:
    """Train a model: data -> checks -> fit -> evaluate vs baseline -> bundle -> MLflow."""
    try:
        config = _load_experiment(args or [])
        if print_config:
            from trainwell.cli_render import render_config

            render_config(console, config)
            return
        if config.training.devices > 1:
            _train_distributed(config, args or [])
            return
        from trainwell.cli_render import render_train_result
        from trainwell.training.pipeline import run_training

        with console.status("training…", spinner="dots"):
            result = run_training(config)
        render_train_result(console, result)
    except TrainwellError as exc:
        raise fail(exc) from None


def _train_distributed(config: Any, args: list[str]) -> None:
    """training.devices=N: relaunch `train` in N DDP processes; rank 0 reports."""
    from trainwell.training.distributed import is_launched, is_main_process, launch

    if not is_launched():
        import uuid

        console.print(f"launching {config.training.devices} DDP processes (torchrun)…")
        # one id for every worker of this launch: they must agree on the checkpoint directory
        os.environ.setdefault("TRAINWELL_RUN_ID", uuid.uuid4().hex[:12])
        launch(["-m", "trainwell.cli", "train", *args], nproc=config.training.devices)
        return
    from trainwell.cli_render import render_train_result
    from trainwell.training.pipeline import run_training, run_training_worker

    if is_main_process():
        render_train_result(console, run_training(config))
    else:
        run_training_worker(config)


@app.command()
def check(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="The same experiment YAML and key=value overrides as `train`.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Print {"checks": [...]} instead of a table.')
    ] = False,
) -> None:
    """Run the pre-training checklist alone (exit 0 pass, 1 a check failed, 2 could not run)."""
    from trainwell.errors import DataError, SchemaError

    try:
        config = _load_experiment(args or [])
        from trainwell.cli_render import render_checks
        from trainwell.training.pipeline import check_run

        report = check_run(config)
    except (DataError, SchemaError) as exc:
        if not as_json:
            raise fail(exc) from None
        # the data could not be checked at all: still one valid JSON document, exit 2
        from trainwell.cli_render import unusable_data_payload

        console.print_json(unusable_data_payload(exc))
        raise typer.Exit(exc.exit_code) from None
    except TrainwellError as exc:
        raise fail(exc) from None
    if as_json:
        import json

        payload = {"checks": [c.model_dump(mode="json") for c in report.checks]}
        console.print_json(json.dumps(payload))
    else:
        render_checks(console, report)
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def predict(
    bundle: Annotated[Path, typer.Argument(help="A model bundle directory written by train.")],
    input_path: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            help="CSV or Parquet rows; for image bundles a folder, a CSV of paths or one image.",
        ),
    ],
    output_path: Annotated[
        Path, typer.Option("--output", "-o", help="Where predictions go (.csv or .parquet).")
    ],
    strict_categories: Annotated[
        bool,
        typer.Option("--strict-categories", help="Refuse categories never seen in training."),
    ] = False,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per batch.")] = (
        50_000
    ),
    runtime: Annotated[
        str,
        typer.Option(
            "--runtime",
            help="native (the model as trained), or an export: onnx or torchscript.",
        ),
    ] = "native",
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="Image inputs: skip files that cannot be read and list them in "
            "<output>.rejected.csv instead of stopping.",
        ),
    ] = False,
) -> None:
    """Validated batch inference from a saved bundle."""
    try:
        from trainwell.errors import ConfigError
        from trainwell.inference.predictor import Predictor
        from trainwell.inference.runtime import RUNTIMES

        if runtime not in RUNTIMES:
            raise ConfigError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        predictor = Predictor.load(bundle, runtime=runtime)
        report = predictor.predict_file(
            input_path,
            output_path,
            chunk_rows=chunk_rows,
            strict_categories=strict_categories,
            skip_invalid=skip_invalid,
        )
        console.print(f"wrote {report.rows} prediction(s) to [bold]{output_path}[/]")
        if report.rejected:
            console.print(
                f"[yellow]skipped {report.rejected} input(s) that could not be read; "
                f"listed in {report.rejected_path}[/]"
            )
    except TrainwellError as exc:
        raise fail(exc) from None


# Commands built in their own subpackages register here (each module imports only typer/rich).
from trainwell.advise.cli import advise_command  # noqa: E402
from trainwell.audit.cli import audit_command  # noqa: E402
from trainwell.inference.cli import bench_command, export_command  # noqa: E402
from trainwell.inference.serve.cli import serve_command  # noqa: E402
from trainwell.lint.cli import lint_command  # noqa: E402
from trainwell.scaffold.cli import new_command  # noqa: E402
from trainwell.tune.cli import tune_command  # noqa: E402

app.command("advise")(advise_command)
app.command("tune")(tune_command)
app.command("lint")(lint_command)
app.command("audit")(audit_command)
app.command("new")(new_command)
app.command("export")(export_command)
app.command("bench")(bench_command)

from trainwell.inference.registry_cli import ab_app, registry_app  # noqa: E402

app.add_typer(registry_app, name="registry")
app.add_typer(ab_app, name="ab")
app.command("serve")(serve_command)


def main() -> None:
    """Console-script entry point."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    sys.exit(app())


if __name__ == "__main__":
    main()
