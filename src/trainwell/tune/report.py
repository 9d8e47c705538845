"""A study's outputs: the best config as YAML, the trial table, PNG plots, and the rich summary.

Everything is written under ``<tune.output_dir>/<study>/``::

    best_config.yaml             the best trial's experiment, ready for `trainwell train`
    trials.csv                   every trial: number, state, value, parameters, timings
    optimization_history.png     value per trial and the best so far
    param_importances.png        fANOVA importance of each parameter (2+ complete trials)

The directory is logged to the study's MLflow parent run under ``tune/``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Console
from rich.table import Table

from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import optuna

    from trainwell.config.schema import ExperimentConfig
    from trainwell.tune.pipeline import TuneResult

logger = get_logger(__name__)

BEST_CONFIG_FILE = "best_config.yaml"
TRIALS_FILE = "trials.csv"
HISTORY_PLOT = "optimization_history.png"
IMPORTANCE_PLOT = "param_importances.png"
PLOT_DPI = 120
TABLE_ROWS = 10
MIN_TRIALS_FOR_IMPORTANCE = 2
# The tune section is not part of what `trainwell train` needs from the best config.
NOT_IN_BEST_CONFIG = {"tune"}


def write_best_config(config: ExperimentConfig, path: Path, header: list[str]) -> Path:
    """Write ``config`` as YAML with a comment header; returns the absolute path."""
    body = yaml.safe_dump(
        config.model_dump(mode="json", exclude=NOT_IN_BEST_CONFIG), sort_keys=False
    )
    comments = "".join(f"# {line}\n" for line in header)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(comments + body, encoding="utf-8")
    return path.resolve()


def write_trials(study: optuna.Study, path: Path) -> Path:
    """Every trial of the study as CSV."""
    frame = study.trials_dataframe(
        attrs=("number", "state", "value", "params", "duration", "user_attrs")
    )
    frame.to_csv(path, index=False)
    return path


def write_plots(study: optuna.Study, directory: Path, seed: int) -> list[Path]:
    """Optimisation history and parameter importances as PNG; skips what the study cannot show.

    Importances need two or more complete trials with varying parameters.
    """
    import matplotlib.pyplot as plt
    import optuna
    from matplotlib.figure import Figure
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.visualization import matplotlib as optuna_plots

    def history() -> Any:
        return optuna_plots.plot_optimization_history(study)

    def importances() -> Any:
        return optuna_plots.plot_param_importances(
            study, evaluator=FanovaImportanceEvaluator(seed=seed)
        )

    plots = [(HISTORY_PLOT, history)]
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) >= MIN_TRIALS_FOR_IMPORTANCE:
        plots.append((IMPORTANCE_PLOT, importances))
    else:
        logger.warning("plot_skipped", plot=IMPORTANCE_PLOT, reason="fewer than 2 complete trials")
    written: list[Path] = []
    for name, draw in plots:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                axes = draw()
            except (ValueError, RuntimeError, ZeroDivisionError) as exc:
                logger.warning("plot_skipped", plot=name, reason=str(exc))
                continue
        figure = axes.get_figure()
        assert isinstance(figure, Figure)  # optuna draws on a top-level figure
        figure.tight_layout()
        figure.savefig(directory / name, dpi=PLOT_DPI)
        plt.close(figure)
        written.append(directory / name)
    return written


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def render_tune_result(console: Console, result: TuneResult) -> None:
    """The results table and where everything went."""
    console.print()
    console.rule("[bold]trainwell tune[/]")
    counts = result.counts
    console.print(
        f"[bold]study[/]      {result.study} ({result.backend}) in {result.storage}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"[bold]trials[/]     {result.n_trials} in the study: {counts['complete']} complete, "
        f"{counts['pruned']} pruned, {counts['failed']} failed ({result.duration_s:.1f} s)"
    )
    console.print(f"[bold]objective[/]  {result.direction} {result.metric} on validation")
    table = Table(title=f"best trials by {result.metric}", title_justify="left")
    for column in ("trial", "state", result.metric, "parameters"):
        table.add_column(column, justify="right" if column != "parameters" else "left")
    for row in result.top_trials(TABLE_ROWS):
        params = ", ".join(f"{_short(k)}={_fmt(v)}" for k, v in row["params"].items())
        value = f"{row['value']:.4f}" if isinstance(row["value"], float) else "—"
        table.add_row(str(row["number"]), row["state"], value, params)
    console.print(table)
    console.print(
        f"[bold]best[/]       trial {result.best_trial}: {result.metric} = {result.best_value:.4f}",
        highlight=False,
        soft_wrap=True,
    )
    if result.test_metrics:
        tested = ", ".join(
            f"{k} {v:.4f}" for k, v in result.test_metrics.items() if isinstance(v, float)
        )
        console.print(
            f"[bold]test[/]       {tested} (evaluated once)", highlight=False, soft_wrap=True
        )
    console.print(f"[bold]config[/]     {result.best_config_path}", highlight=False, soft_wrap=True)
    if result.bundle_path is not None:
        console.print(f"[bold]bundle[/]     {result.bundle_path}", highlight=False, soft_wrap=True)
    for plot in result.plots:
        console.print(f"[bold]plot[/]       {plot}", highlight=False, soft_wrap=True)
    if result.tracking_uri is not None:
        from trainwell.tracking import ui_command

        console.print(
            f"[bold]mlflow[/]     parent run {result.parent_run_id}: "
            f"{ui_command(result.tracking_uri)}",
            highlight=False,
            soft_wrap=True,
        )
