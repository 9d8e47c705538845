"""What the CLI shows a person (rich). Library code never prints; the CLI calls these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from trainwell.config.schema import ExperimentConfig
    from trainwell.errors import TrainwellError
    from trainwell.evaluation.checks import CheckReport
    from trainwell.training.pipeline import TrainResult

# `check --json` when the data cannot be used at all: the one failing check it reports
DATA_USABLE_CHECK = "data_usable"
DATA_USABLE_FIX = (
    "fix what the error names in the data file (or leave the column out with "
    "data.drop_columns=[...]), then run trainwell check again"
)


def render_config(console: Console, config: ExperimentConfig) -> None:
    """Print the resolved config as YAML."""
    console.print(
        yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False),
        end="",
        highlight=False,
        markup=False,
    )


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "—"


def render_train_result(console: Console, result: TrainResult) -> None:
    """The short, readable summary `train` ends with."""
    profile = result.profile
    sizes = result.split_sizes
    console.print()
    console.rule("[bold]trainwell train[/]")
    console.print(f"[bold]dataset[/]   {result.dataset}: {profile.describe()} → {result.task}")
    console.print(
        f"[bold]splits[/]    train {sizes['train']} / valid {sizes['valid']} / "
        f"test {sizes['test']} (seed {result.seed})"
    )
    console.print(
        f"[bold]model[/]     {result.decision.architecture} — {result.decision.reason}",
        highlight=False,
    )
    table = Table(title="test metrics", title_justify="left")
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column(f"baseline ({result.baseline_name})", justify="right")
    test, baseline = result.metrics["test"], result.metrics["baseline_test"]
    from trainwell.tasks import get_task

    for name in get_task(result.task).objective.metric_names:
        marker = " *" if name == result.primary_metric else ""
        table.add_row(f"{name}{marker}", _fmt(test.get(name)), _fmt(baseline.get(name)))
    console.print(table)
    if result.refit is not None:
        console.print(f"[bold]refit[/]     {result.refit.summary()}", highlight=False)
    summary = {s: sum(c.status == s for c in result.checks.checks) for s in STATUS_STYLE}
    console.print(
        f"[bold]checks[/]    {summary['pass']} pass, {summary['warn']} warn, "
        f"{summary['skip']} skip (details: checks.json in the bundle)"
    )
    for check in result.checks.warnings:
        console.print(f"  [yellow]warn[/] {check.id}: {check.message}", highlight=False)
    console.print(f"[bold]bundle[/]    {result.bundle_path}", highlight=False)
    if result.run_id is not None and result.tracking_uri is not None:
        from trainwell.tracking import ui_command

        console.print(f"[bold]mlflow run[/] {result.run_id}", highlight=False)
        console.print(
            f"[bold]open UI[/]   {ui_command(result.tracking_uri)}", highlight=False, soft_wrap=True
        )
    else:
        console.print("[bold]mlflow[/]    tracking disabled (tracking.enabled=false)")
    console.print(f"[dim]done in {result.duration_s:.1f}s[/]")


STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def render_checks(console: Console, report: CheckReport) -> None:
    """The checklist as a table: id, status, finding, hint."""
    table = Table(title="pre-training checklist", title_justify="left", show_lines=False)
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("finding", overflow="fold")
    table.add_column("hint", overflow="fold", style="dim")
    for check in report.checks:
        style = STATUS_STYLE[check.status]
        status = f"[{style}]{check.status}[/]"
        if check.downgraded_from is not None:
            status += f" [dim](was {check.downgraded_from})[/]"
        table.add_row(check.id, status, check.message, check.hint)
    console.print(table)
    failed, warned = len(report.failed), len(report.warnings)
    verdict = "[bold red]blocked[/]" if failed else "[green]ready to train[/]"
    console.print(f"{verdict}: {failed} failing, {warned} warning(s), {len(report.checks)} checks")


def unusable_data_payload(exc: TrainwellError) -> str:
    """`check --json` for data that could not be checked: ``{"checks": [one failing
    data_usable check], "error": "<the one line>"}``, the check shaped as every other one
    (``CheckResult``; its ``hint`` is the fix, also given as ``fix``)."""
    import json

    from trainwell.evaluation.checks import CheckResult

    message = str(exc)
    check = CheckResult(
        id=DATA_USABLE_CHECK,
        status="fail",
        message=message,
        hint=DATA_USABLE_FIX,
        details={"error": type(exc).__name__},
    )
    return json.dumps(
        {"checks": [{**check.model_dump(mode="json"), "fix": DATA_USABLE_FIX}], "error": message}
    )
