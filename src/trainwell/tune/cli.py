"""`trainwell tune`: the command. Imports only the standard library, typer and rich at load time.

Registered by ``trainwell.cli`` with ``app.command("tune")(tune_command)``::

    trainwell tune configs/examples/wine_lightgbm.yaml --trials 40 --timeout 600
    trainwell tune configs/examples/wine_lightgbm.yaml --backend ray --trials 40
    trainwell tune configs/examples/wine_lightgbm.yaml --study wine-lgbm      # resume it
    trainwell tune configs/examples/wine_lightgbm.yaml tune.metric=log_loss --json
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from trainwell.config.schema import ExperimentConfig
    from trainwell.config.tune import TuneConfig

console = Console()
err_console = Console(stderr=True)

TUNE_PREFIX = "tune."


def tune_command(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="An experiment YAML, then key=value overrides, as for `train` "
            "(tune.metric=log_loss tune.pruner=hyperband work too).",
            show_default=False,
        ),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option("--trials", min=1, help="Trials in the study, resumed ones included."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.001, help="Seconds after which no new trial starts."),
    ] = None,
    backend: Annotated[
        str | None, typer.Option("--backend", help="optuna (one machine) or ray.")
    ] = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray cluster address; default: a local Ray runtime."),
    ] = None,
    study: Annotated[
        str | None,
        typer.Option("--study", help="Study name; an existing study of this name resumes."),
    ] = None,
    n_jobs: Annotated[
        int | None,
        typer.Option("--n-jobs", min=1, help="Trials in parallel (at most the CPU count)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary instead of the table.")
    ] = False,
) -> None:
    """Tune hyperparameters: trials on train/valid, best config trained once, tested once."""
    from trainwell.errors import TrainwellError

    flags = {
        "n_trials": trials,
        "timeout": timeout,
        "backend": backend,
        "address": address,
        "study_name": study,
        "n_jobs": n_jobs,
    }
    try:
        config, tune = load_tune_experiment(args or [], flags)
        from trainwell.tune.pipeline import run_tuning

        if as_json:
            result = run_tuning(config, tune)
        else:
            with console.status("tuning…", spinner="dots"):
                result = run_tuning(config, tune)
    except TrainwellError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
        return
    from trainwell.tune.report import render_tune_result

    render_tune_result(console, result)


def load_tune_experiment(
    args: list[str], flags: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[ExperimentConfig, TuneConfig]:
    """The experiment config and its `tune` section from ``[CONFIG] [key=value ...]``.

    One loader reads both (``trainwell.config.loader.load_experiment``). Precedence (last
    wins): defaults < YAML < ``TRAINWELL_*`` environment < overrides < flags. The experiment
    handed on carries the default `tune` section, so the bundle the best trial trains is the
    one `train` would write for that config (the study's settings live in the study).
    """
    from trainwell.config.loader import load_experiment
    from trainwell.config.tune import TuneConfig

    values = {f"{TUNE_PREFIX}{k}": v for k, v in flags.items() if v is not None}
    config = load_experiment(args, environ, values)
    return config.model_copy(update={"tune": TuneConfig()}), config.tune
