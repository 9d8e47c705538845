"""The `trainwell audit` command. Only stdlib, typer and rich at import time (``--help`` speed);
the audit itself is imported when the command runs.

Register with ``app.command("audit")(audit_command)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMAT_CHOICES = ("text", "json", "sarif")

err_console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_ERROR)


def _explain(code: str) -> None:
    from trainwell.audit.checks import AUDIT_RULES
    from trainwell.lint.output import explain, list_rules

    wanted = code.strip().upper()
    if wanted in AUDIT_RULES:
        typer.echo(explain(AUDIT_RULES[wanted]))
        return
    listing = list_rules(AUDIT_RULES, prefix=wanted)
    if not listing:
        raise _fail(f"unknown audit check {code!r}; `trainwell audit --explain TWA` lists them")
    typer.echo(listing)


def audit_command(
    directory: Annotated[
        Path,
        typer.Argument(help="The project folder to audit.", show_default="the current folder"),
    ] = Path(),
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="Report format: text, json or sarif.")
    ] = "text",
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Check codes or prefixes to run.", show_default=False),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="Check codes or prefixes to skip.", show_default=False),
    ] = None,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="CODE",
            help="Show a check (playbook item, bad and good layout); a prefix lists checks.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="pyproject.toml to read the audit settings from (default: the project's own).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file.", show_default=False),
    ] = None,
) -> None:
    """Audit a project against the playbook's mandatory layout and habits.

    Exit 0: no findings; 1: findings; 2: could not run (bad folder, bad config).
    """
    if explain is not None:
        _explain(explain)
        raise typer.Exit(EXIT_CLEAN)
    if output_format not in FORMAT_CHOICES:
        raise _fail(f"--format must be one of {', '.join(FORMAT_CHOICES)}, not {output_format!r}")

    from trainwell.audit.checks import AUDIT_RULES
    from trainwell.audit.engine import audit_project
    from trainwell.audit.settings import load_audit_settings
    from trainwell.errors import TrainwellError
    from trainwell.lint.output import render

    try:
        if not directory.is_dir():
            raise TrainwellError(f"not a folder: {directory}")
        settings = load_audit_settings(directory, config).with_cli(select, ignore)
        report = audit_project(directory, settings)
    except TrainwellError as exc:
        raise _fail(str(exc)) from None
    text = render(
        report.findings,
        "json" if output_format == "json" else "sarif" if output_format == "sarif" else "text",
        AUDIT_RULES,
        tool="trainwell-audit",
        noun="check",
        checked=report.checks,
    )
    if output is not None:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {output}: {exc}") from None
    else:
        typer.echo(text)
    raise typer.Exit(EXIT_FINDINGS if report.findings else EXIT_CLEAN)
