"""Load an experiment config: YAML file, then `TRAINWELL_*` environment, then CLI overrides.

Precedence (last wins): built-in defaults < YAML file < environment < command-line overrides.

* A CLI override is ``dotted.key=value`` (``training.seed=7``); the value is parsed as YAML, so
  ``7`` is an int, ``true`` a bool, ``null`` None and ``[a, b]`` a list.
* An environment override is ``TRAINWELL_<SECTION>__<KEY>=value``
  (``TRAINWELL_TRAINING__SEED=7``); double underscores separate levels.

Every error becomes one :class:`~trainwell.errors.ConfigError` line naming the source, the field
and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from trainwell.config.schema import ExperimentConfig
from trainwell.errors import ConfigError

ENV_PREFIX = "TRAINWELL_"
ENV_LEVEL_SEPARATOR = "__"
CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
SPACE_KEY_PREFIX = "tune.space."
# Fields of a parameter spec an override may set one at a time (tune.space.<key>.<field>=...).
SPACE_SPEC_FIELDS = frozenset({"type", "low", "high", "log", "step", "choices"})
SPACE_PARAM_TYPES = frozenset({"float", "int", "categorical"})
# pydantic reports a space parameter's union member as an extra location part:
# tune.space.<key>.<tag>.<field>
SPACE_TAG_POSITION = 3
# Variables with the prefix that configure the process, not the experiment.
ENV_RESERVED = frozenset(
    {
        "TRAINWELL_LOG_FORMAT",
        "TRAINWELL_LOG_LEVEL",
        "TRAINWELL_HOME",
        "TRAINWELL_RUN_ID",
        "TRAINWELL_ADMIN_TOKEN",  # `serve`'s admin routes
    }
)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {loaded!r}")
    return loaded


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    if dotted.startswith(SPACE_KEY_PREFIX):
        _set_space_key(tree, dotted.removeprefix(SPACE_KEY_PREFIX), value)
        return
    keys = dotted.split(".")
    if not all(keys):
        raise ConfigError(f"{source}: malformed key {dotted!r} (expected e.g. training.seed)")
    node = tree
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{source}: {dotted!r}: `{key}` is a value, not a section")
        node = child
    node[keys[-1]] = value


def _set_space_key(tree: dict[str, Any], param: str, value: Any) -> None:
    """``tune.space.<config key>[.<field>]``: space keys contain dots themselves.

    ``tune.space.model.params.lr.low=0.01`` sets one field of a parameter (type, low, high,
    log, step, choices); ``tune.space.model.params.lr={...}`` sets the whole parameter.
    """
    tune = tree.setdefault("tune", {})
    if not isinstance(tune, dict):
        tune = tree["tune"] = {}
    space = dict(tune.get("space") or {})
    head, _, last = param.rpartition(".")
    if last in SPACE_SPEC_FIELDS and head:
        space[head] = {**dict(space.get(head) or {}), last: value}
    else:
        space[param] = value
    tune["space"] = space


def split_config_args(args: Sequence[str]) -> tuple[Path | None, list[str]]:
    """``[CONFIG] [key=value ...]`` -> (config path or None, overrides).

    Raises:
        ConfigError: the first argument is neither a config file nor an override.
    """
    if args and "=" not in args[0]:
        first = args[0]
        if not first.endswith(CONFIG_SUFFIXES):
            raise ConfigError(
                f"{first!r} is neither a config file (.yaml/.yml/.json) nor a key=value override"
            )
        return Path(first), list(args[1:])
    return None, list(args)


def load_experiment(
    args: Sequence[str],
    environ: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> ExperimentConfig:
    """The experiment a command line names: ``[CONFIG] [key=value ...]``, the one loader.

    Precedence (last wins): defaults < YAML < ``TRAINWELL_*`` environment < overrides <
    ``values`` (already-parsed dotted keys, e.g. a command's flags).
    """
    from trainwell.config.defaults import default_experiment

    env = os.environ if environ is None else environ
    path, overrides = split_config_args(args)
    keys = {parse_override(text)[0] for text in overrides}
    keys |= {k.removeprefix(ENV_PREFIX).lower().replace(ENV_LEVEL_SEPARATOR, ".") for k in env}
    keys |= set(values or {})
    return load_config(path, overrides, env, default=default_experiment(keys), values=values)


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key=value`` and parse the value as YAML (``7`` -> 7, ``null`` -> None)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not key=value (e.g. training.seed=7)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def _env_overrides(environ: Mapping[str, str]) -> list[tuple[str, Any, str]]:
    out: list[tuple[str, Any, str]] = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in ENV_RESERVED:
            continue
        dotted = name[len(ENV_PREFIX) :].lower().replace(ENV_LEVEL_SEPARATOR, ".")
        _, value = parse_override(f"{dotted}={environ[name]}")
        out.append((dotted, value, f"environment variable {name}"))
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The field names allowed at ``loc`` (the parent of an unknown key)."""
    current: type[BaseModel] = model
    for part in loc:
        field = current.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
        else:
            return []
    return sorted(current.model_fields)


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: ``<source>: <field>: <what is wrong> (<what is allowed>)``."""
    lines: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        tagged = len(loc) > SPACE_TAG_POSITION and loc[SPACE_TAG_POSITION] in SPACE_PARAM_TYPES
        if loc[:2] == ("tune", "space") and tagged:  # the union tag pydantic inserts
            loc = loc[:SPACE_TAG_POSITION] + loc[SPACE_TAG_POSITION + 1 :]
        field = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(ExperimentConfig, loc[:-1])
            shown = f" (allowed: {', '.join(allowed)})" if allowed else ""
            lines.append(f"{source}: unknown key `{field}`{shown}")
            continue
        msg = str(err["msg"]).removeprefix("Value error, ")
        got = err.get("input")
        got_text = "" if isinstance(got, dict) or field == "(top level)" else f" (got {got!r})"
        lines.append(f"{source}: `{field}`: {msg}{got_text}")
    return "; ".join(lines)


def resolve_config(
    raw: Mapping[str, Any],
    overrides: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    source: str = "config",
    values: Mapping[str, Any] | None = None,
) -> ExperimentConfig:
    """Build the validated config from a raw mapping plus environment and CLI overrides.

    Args:
        raw: the YAML content (sections as nested dicts).
        overrides: ``dotted.key=value`` strings from the command line.
        environ: environment to read ``TRAINWELL_*`` from (default: ``os.environ``).
        source: a name for error messages (the file path).
        values: ``{dotted key: value}`` applied last (a command's flags).

    Raises:
        ConfigError: an unknown key, a bad value or a malformed override.
    """
    tree: dict[str, Any] = json.loads(json.dumps(raw, default=str))
    sources = [source]
    for dotted, value, origin in _env_overrides(os.environ if environ is None else environ):
        _set_dotted(tree, dotted, value, origin)
        sources.append(origin)
    for text in overrides:
        dotted, value = parse_override(text)
        _set_dotted(tree, dotted, value, f"override {text!r}")
        sources.append("command line")
    for dotted, value in (values or {}).items():
        _set_dotted(tree, dotted, value, f"option {dotted}")
        sources.append("command line")
    try:
        return ExperimentConfig.model_validate(tree)
    except ValidationError as exc:
        where = (
            source if len(sources) == 1 else f"{source} (+ {', '.join(sorted(set(sources[1:])))})"
        )
        raise ConfigError(format_validation_error(exc, where)) from exc


def load_config(
    path: Path | None,
    overrides: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
    default: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
) -> ExperimentConfig:
    """Load a YAML experiment (or ``default`` when no path is given) and apply overrides."""
    if path is None:
        return resolve_config(
            default or {}, overrides, environ, source="built-in default", values=values
        )
    return resolve_config(_read_yaml(path), overrides, environ, source=str(path), values=values)


def config_hash(config: ExperimentConfig) -> str:
    """sha256 of the resolved config's canonical JSON: equal configs hash equally."""
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def flatten_config(config: ExperimentConfig) -> dict[str, str]:
    """Dotted key -> string value, for experiment trackers (``training.seed`` -> ``"42"``)."""
    flat: dict[str, str] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            flat[prefix] = json.dumps(node) if isinstance(node, list | dict) else str(node)

    walk("", config.model_dump(mode="json"))
    return flat
