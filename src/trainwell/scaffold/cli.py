"""The `trainwell new` command. Imports only stdlib, typer and rich at module level, so
`trainwell --help` stays fast; the generator (Pydantic, Copier) loads when the command runs.

    trainwell new churn-model --task tabular-classification
    cd churn-model && make test && make train && trainwell audit && trainwell lint src
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

# Kept in step with generator.SUPPORTED_TASKS by tests/scaffold/test_cli.py.
TASK_HELP = "tabular-classification, tabular-regression or anomaly-detection"


def new_command(
    name: Annotated[
        str,
        typer.Argument(
            help="Project name, also the directory created (churn-model -> package churn_model).",
            show_default=False,
        ),
    ],
    task: Annotated[
        str, typer.Option("--task", "-t", help=f"The example the project trains: {TASK_HELP}.")
    ] = "tabular-classification",
    directory: Annotated[
        Path | None,
        typer.Option(
            "--directory",
            "-d",
            help="Parent directory the project is created in (default: the current directory).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", help="One line for pyproject.toml and the README."),
    ] = None,
) -> None:
    """Create a project in the playbook's layout that trains, tests and lints clean."""
    from trainwell.errors import TrainwellError

    console = Console()
    try:
        from trainwell.scaffold.generator import TEMPLATE_VERSION, generate_project, plan_project

        spec = plan_project(name, task=task, parent=directory, description=description)
        console.print(
            f"package name: [bold]{spec.package_name}[/]  task: {spec.task}  "
            f"template: {TEMPLATE_VERSION}",
            highlight=False,
        )
        destination = generate_project(spec)
    except TrainwellError as exc:
        Console(stderr=True).print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(exc.exit_code) from None
    shown = (
        destination.relative_to(Path.cwd())
        if destination.is_relative_to(Path.cwd())
        else destination
    )
    console.print(f"created [bold]{escape(str(shown))}[/]", highlight=False)
    console.print("next steps:", style="bold")
    for step in (
        f"cd {shown}",
        "make test      # PYTHON=/path/to/python reuses an env that has trainwell",
        "make train",
        "trainwell audit && trainwell lint src",
    ):
        console.print(f"  {escape(step)}", highlight=False, soft_wrap=True)
