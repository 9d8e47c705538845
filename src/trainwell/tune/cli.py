"""`trainwell tune`: the command. Imports only the standard library, typer and rich at load time.

Registered by ``trainwell.cli`` with ``app.command("tune")(tune_command)``::

    trainwell tune configs/examples/wine_lightgbm.yaml --trials 40 --timeout 600
    trainwell tune configs/examples/wine_lightgbm.yaml --backend ray --trials 40
    trainwell tune configs/examples/wine_lightgbm.yaml --study wine-lgbm      # resume it
    trainwell tune configs/examples/wine_lightgbm.yaml tune.metric=log_loss --json
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from pydantic import ValidationError

    from trainwell.config.schema import ExperimentConfig
    from trainwell.config.tune import TuneConfig

console = Console()
err_console = Console(stderr=True)

TUNE_PREFIX = "tune."
TUNE_ENV_PREFIX = "TRAINWELL_TUNE__"
SPACE_PREFIX = "space."
# Fields of a parameter spec an override may set one at a time (tune.space.<key>.<field>=...).
SPEC_FIELDS = frozenset({"type", "low", "high", "log", "step", "choices"})


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

    Precedence (last wins): defaults < YAML < ``TRAINWELL_*`` environment < overrides < flags.

    Note:
        Interim: ``ExperimentConfig`` has no ``tune`` field yet, so the section is taken out of
        the YAML (and ``tune.*`` overrides out of the command line) before the rest is
        resolved. Once the field exists this becomes
        ``config = _load_experiment(args); tune = config.tune``.
    """
    from trainwell.cli import split_config_args
    from trainwell.config.defaults import default_experiment
    from trainwell.config.loader import parse_override, resolve_config

    env = dict(os.environ if environ is None else environ)
    path, overrides = split_config_args(args)
    tune_overrides = [o for o in overrides if o.startswith(TUNE_PREFIX)]
    config_overrides = [o for o in overrides if not o.startswith(TUNE_PREFIX)]
    tune_env = {k: v for k, v in env.items() if k.startswith(TUNE_ENV_PREFIX)}
    config_env = {k: v for k, v in env.items() if k not in tune_env}
    if path is None:
        keys = {parse_override(text)[0] for text in config_overrides}
        keys |= {k.removeprefix("TRAINWELL_").lower().replace("__", ".") for k in config_env}
        raw: dict[str, Any] = dict(default_experiment(keys))
        source = "built-in default"
    else:
        raw = _read_yaml(path)
        source = str(path)
    tune_raw = raw.pop("tune", None) or {}
    if not isinstance(tune_raw, dict):
        from trainwell.errors import ConfigError

        raise ConfigError(f"{source}: `tune` must be a mapping of settings, got {tune_raw!r}")
    config = resolve_config(raw, config_overrides, config_env, source=source)
    for name, value in sorted(tune_env.items()):
        dotted = name.removeprefix(TUNE_ENV_PREFIX).lower().replace("__", ".")
        tune_raw = _set_tune_key(tune_raw, f"{dotted}={value}")
    for text in tune_overrides:
        tune_raw = _set_tune_key(tune_raw, text.removeprefix(TUNE_PREFIX))
    tune_raw.update({k: v for k, v in flags.items() if v is not None})
    return config, validate_tune(tune_raw, source)


def _read_yaml(path: Path) -> dict[str, Any]:
    """The YAML mapping at ``path`` (same messages as the config loader's reader)."""
    import yaml

    from trainwell.errors import ConfigError

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {loaded!r}")
    return loaded


def _set_tune_key(tune_raw: dict[str, Any], text: str) -> dict[str, Any]:
    """Apply ``key=value`` inside the tune section.

    Space keys contain dots themselves, so ``space.<config key>.<field>=v`` sets one field of a
    parameter (field: type/low/high/log/step/choices) and ``space.<config key>={...}`` sets a
    whole parameter.
    """
    from trainwell.config.loader import parse_override

    key, value = parse_override(text)
    out = dict(tune_raw)
    if not key.startswith(SPACE_PREFIX):
        out[key] = value
        return out
    param = key.removeprefix(SPACE_PREFIX)
    space = dict(out.get("space") or {})
    head, _, last = param.rpartition(".")
    if last in SPEC_FIELDS and head:
        space[head] = {**dict(space.get(head) or {}), last: value}
    else:
        space[param] = value
    out["space"] = space
    return out


def validate_tune(raw: Mapping[str, Any], source: str) -> TuneConfig:
    """Validate the tune section; every problem becomes one ConfigError line.

    Raises:
        ConfigError: an unknown key or a bad value, named as ``tune.<field>``.
    """
    from pydantic import ValidationError

    from trainwell.config.tune import TuneConfig
    from trainwell.errors import ConfigError

    try:
        return TuneConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(format_tune_error(exc, source)) from None


PARAM_TYPES = frozenset({"float", "int", "categorical"})
# pydantic reports a discriminated union's member as an extra location part: space.<key>.<tag>
TAG_POSITION = 2


def format_tune_error(exc: ValidationError, source: str) -> str:
    """``<source>: tune.<field>: <problem>``, one clause per problem."""
    lines: list[str] = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        if len(loc) > TAG_POSITION and loc[0] == "space" and loc[TAG_POSITION] in PARAM_TYPES:
            del loc[TAG_POSITION]  # the discriminator tag pydantic inserts
        field = ".".join(["tune", *loc])
        if err["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key `{field}`")
            continue
        message = str(err["msg"]).removeprefix("Value error, ")
        got = err.get("input")
        shown = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{source}: `{field}`: {message}{shown}")
    return "; ".join(lines)
