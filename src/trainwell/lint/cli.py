"""The `trainwell lint` command. Only stdlib, typer and rich at import time (``--help`` speed);
the linter itself is imported when the command runs.

Register with ``app.command("lint")(lint_command)``.
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
    err_console.print(
        f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True, markup=True
    )
    return typer.Exit(EXIT_ERROR)


def _explain(code: str) -> None:
    from trainwell.lint.output import explain, list_rules
    from trainwell.lint.rules import RULES

    wanted = code.strip().upper()
    if wanted in RULES:
        typer.echo(explain(RULES[wanted]))
        return
    listing = list_rules(RULES, prefix=wanted)
    if not listing:
        raise _fail(f"unknown rule {code!r}; `trainwell lint --explain TW` lists them")
    typer.echo(listing)


def lint_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or folders to lint (default: the current folder).", show_default=False
        ),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="Report format: text, json or sarif.")
    ] = "text",
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            help="Rule codes or prefixes to run, comma-separated (replaces the config's select).",
            show_default=False,
        ),
    ] = None,
    extend_select: Annotated[
        list[str] | None,
        typer.Option(
            "--extend-select",
            help="Rule codes or prefixes to run on top of select (e.g. TW9: the opt-in TorchFix "
            "rules).",
            show_default=False,
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            help="Rule codes or prefixes to skip, comma-separated (added to the config's ignore).",
            show_default=False,
        ),
    ] = None,
    explain: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="CODE",
            help="Show a rule (playbook item, bad and good example); a prefix lists rules.",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="pyproject.toml to read the lint settings from (default: the nearest one).",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file.", show_default=False),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Lint every file again instead of reusing cached findings."
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Worker processes for large trees.", show_default=False
        ),
    ] = None,
) -> None:
    """Lint ML code against the playbook: its anti-patterns, code standards and checklist.

    Exit 0: no findings; 1: findings; 2: could not run (bad path, bad config).
    """
    if explain is not None:
        _explain(explain)
        raise typer.Exit(EXIT_CLEAN)
    if output_format not in FORMAT_CHOICES:
        raise _fail(f"--format must be one of {', '.join(FORMAT_CHOICES)}, not {output_format!r}")

    from trainwell.errors import TrainwellError
    from trainwell.lint.cache import LintCache
    from trainwell.lint.engine import Linter
    from trainwell.lint.output import render
    from trainwell.lint.rules import ALL_RULES
    from trainwell.lint.settings import load_settings

    targets = paths or [Path()]
    try:
        settings = load_settings(config, targets[0]).with_cli(select, ignore, extend_select)
        cache = LintCache(settings.cache_folder()) if settings.cache and not no_cache else None
        report = Linter(settings, jobs=jobs, cache=cache).lint(targets)
    except TrainwellError as exc:
        raise _fail(str(exc)) from None
    text = render(
        report.findings,
        "json" if output_format == "json" else "sarif" if output_format == "sarif" else "text",
        ALL_RULES,
        tool="trainwell-lint",
        checked=report.files,
    )
    if output is not None:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise _fail(f"cannot write {output}: {exc}") from None
    else:
        typer.echo(text)
    raise typer.Exit(EXIT_FINDINGS if report.findings else EXIT_CLEAN)
