"""`trainwell advise`: the decision framework on the command line.

Registered in ``trainwell/cli.py`` with ``app.command("advise")(advise_command)``. Imports only
typer and rich here; the engine loads inside the command, so ``trainwell --help`` stays fast::

    trainwell advise --task object-detection --priority speed
    trainwell advise --task tabular-classification --rows 40000000 --categorical-share 0.7
    trainwell advise --data data/raw/churn.csv --target churned
    trainwell advise --task text-generation --json

Exit codes: 0 advice given; 2 an unknown task, an impossible profile or unreadable data (one
line on stderr naming the problem and what is accepted).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from trainwell.errors import TrainwellError


def advise_command(
    task: Annotated[
        str | None,
        typer.Option(
            "--task",
            help="An ML task (tabular-classification, object-detection, text-generation, ...) "
            "or a tooling question (deep-learning-framework, data-processing, "
            "experiment-tracking, hyperparameter-tuning, llm-serving). Inferred with --data.",
            show_default=False,
        ),
    ] = None,
    rows: Annotated[
        int | None, typer.Option("--rows", help="Rows in the training data.", show_default=False)
    ] = None,
    size_gb: Annotated[
        float | None,
        typer.Option("--size-gb", help="Data size in GB (decimal).", show_default=False),
    ] = None,
    categorical_share: Annotated[
        float | None,
        typer.Option(
            "--categorical-share",
            help="Share of feature columns that are categorical, 0..1.",
            show_default=False,
        ),
    ] = None,
    hardware: Annotated[str, typer.Option("--hardware", help="cpu, cuda, tpu or edge.")] = "cpu",
    priority: Annotated[
        str,
        typer.Option(
            "--priority",
            help="speed, accuracy, balanced, interpretability, zero-shot or cold-start.",
        ),
    ] = "balanced",
    domain: Annotated[str, typer.Option("--domain", help="general or medical.")] = "general",
    setting: Annotated[
        str, typer.Option("--setting", help="research, production or enterprise.")
    ] = "production",
    distributed: Annotated[
        bool, typer.Option("--distributed", help="The work runs across machines.")
    ] = False,
    team_size: Annotated[
        int | None,
        typer.Option("--team-size", help="People sharing the experiments.", show_default=False),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="Profile this CSV/Parquet file (or sklearn:<name>) to fill rows, size and "
            "categorical share; flags given as well override it.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="The column to predict (with --data).", show_default=False),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object (primary, alternatives, profile, tooling)."
        ),
    ] = False,
) -> None:
    """Recommend a library and architecture for a task and data profile, and say why."""
    console = Console()
    try:
        from trainwell.advise.engine import advise
        from trainwell.advise.profile import profile_from_options
        from trainwell.advise.render import advice_payload, render_advice

        profile = profile_from_options(
            task=task,
            data=data,
            target=target,
            size_gb=size_gb,
            rows=rows,
            categorical_share=categorical_share,
            hardware=hardware,
            priority=priority,
            domain=domain,
            setting=setting,
            distributed=distributed,
            team_size=team_size,
        )
        advice = advise(profile)
    except TrainwellError as exc:
        Console(stderr=True).print(Text.assemble(("error: ", "bold red"), str(exc)), soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        console.print_json(json.dumps(advice_payload(advice)))
    else:
        render_advice(console, advice)
