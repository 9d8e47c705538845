"""Model versions and aliases in the MLflow Model Registry: register, promote, roll back, resolve.

The registry is the same MLflow store training writes to (``tracking.uri``; by default
``sqlite:///<cwd>/mlruns/mlflow.db``), so a team's MLflow server works unchanged::

    trainwell registry register models/<bundle> --name churn   # prints the new version
    trainwell registry promote churn 3                         # alias champion -> v3
    trainwell registry rollback churn                          # champion -> the one before
    trainwell registry list churn

What a version holds. ``register`` verifies the bundle, then logs its exact files as artifacts
under ``registry/bundle-<sha12>/`` of an MLflow run and points the new model version at them.
The run is the bundle's training run when that run is in this store (so the version links to
its params and metrics); otherwise a new run in the ``trainwell-registry`` experiment. The
bundle is always logged again rather than reusing the training run's ``bundle/`` artifacts,
because ``trainwell export`` may have changed the bundle since training. ``<sha12>`` starts
the sha256 of the bundle's ``manifest.json``, which lists the sha256 of every other file: one
digest for the whole bundle, stored as the version tag ``trainwell.bundle_sha256``.

How rollback works. MLflow keeps one version per alias and no history, so each alias's
history is a registered-model tag, ``trainwell.alias.<alias>.history``: a JSON list of the
versions that held the alias, oldest first, the last one holding it now. ``promote`` appends,
``rollback`` drops the last entry and moves the alias to the new last one (skipping versions
deleted since), so rolling back twice goes back two promotions. The alias
``previous-<alias>`` always names the entry before the last, for a server that wants to keep
it warm. An alias moved outside trainwell (the MLflow UI) is appended to the history the next
time trainwell changes it. The read-modify-write of the tag is not atomic: two promotions of
the same model at the same instant may lose one history entry.

Where bundles go. ``resolve`` downloads a version once into
``.trainwell/registry-cache/<name>/<version>/`` (under the current directory unless a
``cache_dir`` is given), into a temporary sibling renamed into place, so a reader never sees a
half-written copy. Every resolve verifies the copy (every file's sha256, and the manifest's
sha256 against the version's tag): a corrupt or tampered version raises ``BundleError`` and is
never served. The cache is keyed by name and version only; pointing the same cache at two
stores that both have a ``churn`` v3 is refused the same way (delete the directory).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from trainwell.errors import BundleError, ConfigError, RegistryError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

logger = get_logger(__name__)

DEFAULT_ALIAS = "champion"
PREVIOUS_PREFIX = "previous-"
REGISTRY_EXPERIMENT = "trainwell-registry"
ARTIFACT_DIR = "registry"
CACHE_DIR = Path(".trainwell") / "registry-cache"
# Oldest entries are dropped past this many; a rollback further back than that is a promote.
MAX_HISTORY = 100
MS_PER_SECOND = 1000  # MLflow timestamps are milliseconds

TAG_TASK = "trainwell.task"
TAG_ARCHITECTURE = "trainwell.architecture"
TAG_SHA = "trainwell.bundle_sha256"
TAG_BUNDLE = "trainwell.bundle_name"
TAG_DATA = "trainwell.data_fingerprint"
TAG_CONFIG = "trainwell.config_hash"
TAG_TRAINING_RUN = "trainwell.training_run_id"
TAG_PRIMARY = "trainwell.primary_metric"
TAG_PRIMARY_VALUE = "trainwell.primary_value"
TAG_METRICS = "trainwell.test_metrics"
HISTORY_TAG = "trainwell.alias.{alias}.history"

# Quiet and offline, on top of the tracker's own settings.
QUIET_ENV = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
_VERSION_REF = re.compile(r"^v?(\d+)$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"
_EXISTS = "RESOURCE_ALREADY_EXISTS"


class ModelVersionInfo(BaseModel):
    """One registered version, as ``register`` and ``list_versions`` report it.

    Attributes:
        name: the registered model.
        version: MLflow's version number (1, 2, ...).
        aliases: the aliases that point at this version now.
        task: the bundle's task kind (``trainwell.task`` tag), None for a foreign version.
        architecture: the bundle's architecture.
        bundle_sha256: sha256 of the bundle's manifest (which lists every file's sha256).
        primary_metric: the task's primary metric (``balanced_accuracy``, ``rmse``...).
        primary_value: its value on the bundle's test split.
        test_metrics: every float test metric of the bundle.
        run_id: the MLflow run holding the artifacts (the training run when it was found).
        source: the artifacts' URI.
        created_at: when the version was created (UTC).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: int
    aliases: tuple[str, ...]
    task: str | None
    architecture: str | None
    bundle_sha256: str | None
    primary_metric: str | None
    primary_value: float | None
    test_metrics: dict[str, float]
    run_id: str | None
    source: str
    created_at: datetime


class AliasChange(BaseModel):
    """What ``promote`` or ``rollback`` did to an alias.

    Attributes:
        name: the registered model.
        alias: the alias moved (``champion``).
        old_version: the version it pointed at before (None: it was not set).
        new_version: the version it points at now.
        changed: False when the alias already pointed at ``new_version`` (nothing was written).
        history: the alias's versions, oldest first; the last one holds it now.
        message: one line for people.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    alias: str
    old_version: int | None
    new_version: int
    changed: bool
    history: tuple[int, ...]
    message: str


class ResolvedModel(BaseModel):
    """A registry reference turned into a verified local bundle.

    Attributes:
        name: the registered model.
        version: the version ``ref`` named.
        alias: the alias ``ref`` named, or None when ``ref`` was a version number.
        path: the verified bundle directory in the cache.
        bundle_sha256: sha256 of its manifest.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: int
    alias: str | None
    path: Path
    bundle_sha256: str


# --- the store ------------------------------------------------------------------------------


def configured_uri(tracking_uri: str | None = None) -> str | None:
    """The tracking URI the user asked for: the argument, else ``tracking.uri`` as training
    resolves it (``TRAINWELL_TRACKING__URI``), else None for the default local store.

    Raises:
        ConfigError: a ``TRAINWELL_*`` environment variable is invalid.
    """
    if tracking_uri:
        return tracking_uri
    from trainwell.config.loader import load_experiment

    uri: str | None = load_experiment([]).tracking.uri
    return uri


def store_uri(tracking_uri: str | None = None) -> str:
    """The store every registry call uses: :func:`configured_uri` or the default
    ``sqlite:///<cwd>/mlruns/mlflow.db``."""
    return _or_default(configured_uri(tracking_uri))


def _or_default(configured: str | None) -> str:
    from trainwell.tracking.mlflow_tracker import default_tracking_uri

    return configured or default_tracking_uri()


def _sqlite_file(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def _client(uri: str, *, create: bool = False) -> MlflowClient:
    """A client on ``uri``; a SQLite store that does not exist is created only when ``create``.

    Raises:
        RegistryError: the store does not exist (and ``create`` is False) or cannot be opened.
    """
    from trainwell.tracking.mlflow_tracker import QUIET_ENV as TRACKER_QUIET_ENV

    for key, value in {**TRACKER_QUIET_ENV, **QUIET_ENV}.items():
        os.environ.setdefault(key, value)
    database = _sqlite_file(uri)
    if database is not None and not database.is_file():
        if not create:
            raise RegistryError(
                f"no model registry at {uri} yet: register a bundle first "
                "(trainwell registry register BUNDLE --name NAME)"
            )
        database.parent.mkdir(parents=True, exist_ok=True)
    return _open_client(uri)


@cache
def _open_client(uri: str) -> MlflowClient:
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        # opening is lazy: touch the store so an unreachable one fails here, with the URI
        client.search_registered_models(max_results=1)
    except (MlflowException, OSError) as exc:
        raise RegistryError(f"cannot open the model registry at {uri}: {_first_line(exc)}") from exc
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _error_code(exc: Any) -> str:
    return str(getattr(exc, "error_code", ""))


def _get_model(client: MlflowClient, name: str, uri: str) -> Any:
    """The registered model ``name``.

    Raises:
        RegistryError: there is no such model (the message lists the ones there are).
    """
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException as exc:
        if _error_code(exc) != _NOT_FOUND:
            raise RegistryError(f"cannot read model {name!r} at {uri}: {_first_line(exc)}") from exc
    known = sorted(m.name for m in client.search_registered_models(max_results=50))
    shown = f"registered: {', '.join(known)}" if known else "none registered yet"
    raise RegistryError(f"no registered model named {name!r} at {uri} ({shown})")


def _versions(client: MlflowClient, name: str) -> list[Any]:
    quoted = name.replace("'", "\\'")
    found = list(client.search_model_versions(f"name='{quoted}'"))
    return sorted(found, key=lambda v: int(v.version))


def _get_version(client: MlflowClient, name: str, version: int, uri: str) -> Any:
    """Version ``version`` of ``name``.

    Raises:
        RegistryError: there is no such version (the message lists the ones there are).
    """
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version(name, str(version))
    except MlflowException as exc:
        if _error_code(exc) != _NOT_FOUND:
            raise RegistryError(
                f"cannot read {name} v{version} at {uri}: {_first_line(exc)}"
            ) from exc
    numbers = [str(v.version) for v in _versions(client, name)]
    shown = f"versions: {', '.join(numbers)}" if numbers else "it has no versions yet"
    raise RegistryError(f"model {name!r} has no version {version} ({shown})")


def _write(what: str, uri: str, call: Any, *args: Any) -> Any:
    """Run one registry write, turning MLflow's errors into a RegistryError naming ``what``."""
    from mlflow.exceptions import MlflowException

    try:
        return call(*args)
    except (MlflowException, OSError) as exc:
        raise RegistryError(f"{what} failed at {uri}: {_first_line(exc)}") from exc


def _aliases(model: Any) -> dict[str, int]:
    return {str(alias): int(version) for alias, version in (model.aliases or {}).items()}


def _info(version: Any, aliases: dict[str, int]) -> ModelVersionInfo:
    tags: dict[str, str] = dict(version.tags or {})
    number = int(version.version)
    primary_value = tags.get(TAG_PRIMARY_VALUE)
    try:
        metrics = {k: float(v) for k, v in json.loads(tags.get(TAG_METRICS, "{}")).items()}
    except (ValueError, TypeError, AttributeError):
        metrics = {}
    return ModelVersionInfo(
        name=str(version.name),
        version=number,
        aliases=tuple(sorted(a for a, v in aliases.items() if v == number)),
        task=tags.get(TAG_TASK),
        architecture=tags.get(TAG_ARCHITECTURE),
        bundle_sha256=tags.get(TAG_SHA),
        primary_metric=tags.get(TAG_PRIMARY),
        primary_value=float(primary_value) if primary_value else None,
        test_metrics=metrics,
        run_id=version.run_id or None,
        source=str(version.source),
        created_at=datetime.fromtimestamp(
            int(version.creation_timestamp or 0) / MS_PER_SECOND, tz=UTC
        ),
    )


# --- register -------------------------------------------------------------------------------


def register(bundle: Path, name: str, tracking_uri: str | None = None) -> ModelVersionInfo:
    """Register a verified bundle as a new version of ``name`` (created when new).

    Args:
        bundle: a bundle directory written by ``trainwell train``.
        name: the registered model's name (``churn``).
        tracking_uri: the MLflow store; default as in :func:`store_uri`.

    Returns:
        The new version.

    Raises:
        BundleError: the bundle is missing, incomplete or altered.
        RegistryError: ``name`` holds bundles of another task, or the store refused a write.
        TrackingError: the bundle's artifacts could not be logged.

    Example:
        >>> bundle = Path("models/breast-cancer-sklearn-rf-1a2b3c")
        >>> register(bundle, "churn").version  # doctest: +SKIP
        3
    """
    from trainwell.inference.bundle import MANIFEST_FILE, METRICS_FILE, verify_bundle
    from trainwell.tasks import get_task
    from trainwell.utils.environment import sha256_file

    verified = verify_bundle(bundle)
    manifest = verified.manifest
    sha = sha256_file(bundle / MANIFEST_FILE)
    task = str(manifest.get("task", ""))
    try:
        primary = get_task(task).objective.primary
    except ConfigError as exc:
        raise BundleError(f"bundle {bundle}: {exc}") from exc
    test = (verified.read_json(METRICS_FILE) or {}).get("test") or {}
    metrics = {k: float(v) for k, v in test.items() if isinstance(v, int | float)}
    configured = configured_uri(tracking_uri)
    uri = _or_default(configured)
    client = _client(uri, create=True)
    _ensure_model(client, name, task, uri)
    tags = {
        TAG_TASK: task,
        TAG_ARCHITECTURE: str(manifest.get("architecture", "")),
        TAG_SHA: sha,
        TAG_BUNDLE: bundle.resolve().name,
        TAG_DATA: str(manifest.get("data_fingerprint", "")),
        TAG_CONFIG: str(manifest.get("config_hash", "")),
        TAG_PRIMARY: primary,
        TAG_METRICS: json.dumps(metrics, sort_keys=True),
    }
    if primary in metrics:
        tags[TAG_PRIMARY_VALUE] = repr(metrics[primary])
    run_id = _log_bundle(client, bundle, sha, str(manifest.get("run_id") or ""), tags, configured)
    artifact_uri = _write("reading run", uri, client.get_run, run_id).info.artifact_uri
    source = f"{artifact_uri}/{ARTIFACT_DIR}/bundle-{sha[:12]}"
    version = _write(
        f"creating a version of {name!r}",
        uri,
        lambda: client.create_model_version(
            name, source, run_id=run_id, tags=tags, description=f"bundle {bundle.resolve().name}"
        ),
    )
    logger.info("model_registered", name=name, version=int(version.version), uri=uri, sha=sha)
    return _info(version, _aliases(_get_model(client, name, uri)))


def _ensure_model(client: MlflowClient, name: str, task: str, uri: str) -> None:
    """Create ``name`` tagged with ``task``, or check that the existing one holds that task.

    Raises:
        RegistryError: the model holds another task's bundles, or the store refused.
    """
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(
            name,
            tags={TAG_TASK: task},
            description="trainwell bundles; aliases moved by `trainwell registry promote`",
        )
        return
    except MlflowException as exc:
        if _error_code(exc) != _EXISTS:
            raise RegistryError(
                f"cannot create registered model {name!r} at {uri}: {_first_line(exc)}"
            ) from exc
    held = dict(_get_model(client, name, uri).tags or {}).get(TAG_TASK)
    if held and held != task:
        raise RegistryError(
            f"model {name!r} holds {held} bundles; this bundle is {task}: register it under "
            "another --name"
        )


def _log_bundle(
    client: MlflowClient,
    bundle: Path,
    sha: str,
    training_run: str,
    tags: dict[str, str],
    configured: str | None,
) -> str:
    """Log the bundle's files into the training run when this store has it, else a new run.

    Returns:
        The id of the run that holds ``registry/bundle-<sha12>/``.
    """
    from mlflow.exceptions import MlflowException

    from trainwell.tracking.mlflow_tracker import RunTracker, open_tracker

    artifact_path = f"{ARTIFACT_DIR}/bundle-{sha[:12]}"
    uri = _or_default(configured)
    if training_run:
        try:
            found = client.get_run(training_run)
        except MlflowException:
            found = None
        if found is not None and found.info.lifecycle_stage == "active":
            RunTracker(client, training_run, uri).log_artifacts(bundle, artifact_path)
            return training_run
    _registry_experiment(client, uri)
    tracker = open_tracker(True, configured, REGISTRY_EXPERIMENT, f"register-{bundle.name}")
    status = "FAILED"
    try:
        tracker.set_tags({**tags, TAG_TRAINING_RUN: training_run or "none"})
        tracker.log_metrics({f"test/{k}": v for k, v in json.loads(tags[TAG_METRICS]).items()})
        tracker.log_artifacts(bundle, artifact_path)
        status = "FINISHED"
    finally:
        tracker.finish(status)
    assert tracker.run_id is not None  # open_tracker(True, ...) always starts a run
    return tracker.run_id


def _registry_experiment(client: MlflowClient, uri: str) -> None:
    """For a SQLite store, create the registry experiment with its artifacts beside the
    database (MLflow's default would be ``./mlruns`` of whatever directory runs first)."""
    database = _sqlite_file(uri)
    if database is None or client.get_experiment_by_name(REGISTRY_EXPERIMENT) is not None:
        return
    from trainwell.tracking.mlflow_tracker import ARTIFACTS_DIR

    location = (database.resolve().parent / ARTIFACTS_DIR / REGISTRY_EXPERIMENT).as_uri()
    _write(
        "creating the registry experiment",
        uri,
        client.create_experiment,
        REGISTRY_EXPERIMENT,
        location,
    )


# --- aliases: promote and rollback ----------------------------------------------------------


def _check_alias(alias: str) -> None:
    """Refuse the aliases trainwell or MLflow reserve before writing anything.

    Raises:
        ConfigError: ``alias`` is empty, ``latest``, ``v<digits>``, a number, or starts with
            ``previous-``.
    """
    if not alias or not re.fullmatch(r"[\w-]+", alias):
        raise ConfigError(f"alias must be letters, digits, _ or -, got {alias!r}")
    if alias.lower() == "latest" or _VERSION_REF.match(alias):
        raise ConfigError(f"alias {alias!r} is reserved by MLflow (latest, v<N>, a number)")
    if alias.startswith(PREVIOUS_PREFIX):
        raise ConfigError(
            f"aliases starting with {PREVIOUS_PREFIX!r} are kept by trainwell itself; got {alias!r}"
        )


def _history(model: Any, alias: str) -> list[int]:
    """The alias's recorded versions, with the alias's current holder last."""
    raw = dict(model.tags or {}).get(HISTORY_TAG.format(alias=alias), "[]")
    try:
        history = [int(v) for v in json.loads(raw)]
    except (ValueError, TypeError):
        logger.warning("alias_history_unreadable", model=model.name, alias=alias, value=raw)
        history = []
    current = _aliases(model).get(alias)
    if current is not None and (not history or history[-1] != current):
        history.append(current)  # moved outside trainwell: record it
    return history


def _save(
    client: MlflowClient, name: str, alias: str, version: int, history: list[int], uri: str
) -> tuple[int, ...]:
    """Point ``alias`` (and ``previous-<alias>``) at the history's last entries, record it."""
    kept = history[-MAX_HISTORY:]
    _write(f"setting alias {alias!r}", uri, client.set_registered_model_alias, name, alias, version)
    _write(
        "recording the alias history",
        uri,
        client.set_registered_model_tag,
        name,
        HISTORY_TAG.format(alias=alias),
        json.dumps(kept),
    )
    previous = f"{PREVIOUS_PREFIX}{alias}"
    if len(kept) >= 2:
        _write(
            f"setting alias {previous!r}",
            uri,
            client.set_registered_model_alias,
            name,
            previous,
            kept[-2],
        )
    elif previous in _aliases(client.get_registered_model(name)):
        _write(
            f"removing alias {previous!r}",
            uri,
            client.delete_registered_model_alias,
            name,
            previous,
        )
    return tuple(kept)


def promote(
    name: str, version: int, alias: str = DEFAULT_ALIAS, tracking_uri: str | None = None
) -> AliasChange:
    """Point ``alias`` at ``version``, keeping the version it held in the alias's history.

    Promoting the version that already holds the alias changes nothing (``changed`` False).

    Raises:
        ConfigError: ``alias`` is reserved or malformed.
        RegistryError: unknown model or version, or the store refused the change.

    Example:
        >>> promote("churn", 3).message  # doctest: +SKIP
        'churn: champion v2 -> v3'
    """
    _check_alias(alias)
    uri = store_uri(tracking_uri)
    client = _client(uri)
    model = _get_model(client, name, uri)
    _get_version(client, name, version, uri)
    history = _history(model, alias)
    current = _aliases(model).get(alias)
    if current == version:
        return AliasChange(
            name=name,
            alias=alias,
            old_version=current,
            new_version=version,
            changed=False,
            history=tuple(history),
            message=f"{name}: v{version} already holds {alias}; nothing changed",
        )
    kept = _save(client, name, alias, version, [*history, version], uri)
    before = "unset" if current is None else f"v{current}"
    logger.info("alias_promoted", name=name, alias=alias, old=current, new=version, uri=uri)
    return AliasChange(
        name=name,
        alias=alias,
        old_version=current,
        new_version=version,
        changed=True,
        history=kept,
        message=f"{name}: {alias} {before} -> v{version}",
    )


def rollback(name: str, alias: str = DEFAULT_ALIAS, tracking_uri: str | None = None) -> AliasChange:
    """Point ``alias`` back at the version that held it before the current one.

    Each rollback steps one promotion further back; versions deleted since are skipped.

    Raises:
        ConfigError: ``alias`` is reserved or malformed.
        RegistryError: unknown model, the alias is not set, or no earlier version exists.

    Example:
        >>> rollback("churn").message  # doctest: +SKIP
        'churn: champion v3 -> v2 (rolled back)'
    """
    _check_alias(alias)
    uri = store_uri(tracking_uri)
    client = _client(uri)
    model = _get_model(client, name, uri)
    current = _aliases(model).get(alias)
    if current is None:
        raise RegistryError(
            f"model {name!r} has no {alias!r} alias to roll back: promote a version first "
            f"(trainwell registry promote {name} VERSION --alias {alias})"
        )
    history = _history(model, alias)[:-1]
    existing = {int(v.version) for v in _versions(client, name)}
    while history and history[-1] not in existing:
        logger.warning("rollback_skips_deleted_version", name=name, version=history[-1])
        history.pop()
    if not history:
        raise RegistryError(
            f"model {name!r}: {alias} is v{current} and no earlier version held it, "
            "so there is nothing to roll back to"
        )
    target = history[-1]
    kept = _save(client, name, alias, target, history, uri)
    logger.info("alias_rolled_back", name=name, alias=alias, old=current, new=target, uri=uri)
    return AliasChange(
        name=name,
        alias=alias,
        old_version=current,
        new_version=target,
        changed=True,
        history=kept,
        message=f"{name}: {alias} v{current} -> v{target} (rolled back)",
    )


# --- reading: list and resolve --------------------------------------------------------------


def list_versions(name: str, tracking_uri: str | None = None) -> tuple[ModelVersionInfo, ...]:
    """Every version of ``name``, oldest first, with its aliases and bundle metrics.

    Raises:
        RegistryError: unknown model, or the store cannot be read.
    """
    uri = store_uri(tracking_uri)
    client = _client(uri)
    aliases = _aliases(_get_model(client, name, uri))
    # search results carry no aliases (an MLflow quirk): they come from the registered model
    return tuple(_info(v, aliases) for v in _versions(client, name))


def alias_history(
    name: str, alias: str = DEFAULT_ALIAS, tracking_uri: str | None = None
) -> tuple[int, ...]:
    """The versions that held ``alias``, oldest first; the last holds it now.

    Raises:
        RegistryError: unknown model, or the store cannot be read.
    """
    uri = store_uri(tracking_uri)
    return tuple(_history(_get_model(_client(uri), name, uri), alias))


def resolve(
    name: str, ref: str, tracking_uri: str | None = None, cache_dir: Path | None = None
) -> ResolvedModel:
    """Turn ``name`` + an alias or a version number into a verified local bundle.

    Args:
        name: the registered model.
        ref: an alias (``champion``, ``challenger``, ``previous-champion``) or a version
            (``3`` or ``v3``).
        tracking_uri: the MLflow store; default as in :func:`store_uri`.
        cache_dir: where versions are downloaded (default ``.trainwell/registry-cache``).

    Returns:
        The version and the path of its bundle, downloaded on first use and verified on
        every call.

    Raises:
        RegistryError: unknown model, version or alias, or the download failed.
        BundleError: the version's files are corrupt, altered, or do not match the registry.

    Example:
        >>> resolve("churn", "champion").path  # doctest: +SKIP
        PosixPath('.trainwell/registry-cache/churn/3')
    """
    uri = store_uri(tracking_uri)
    client = _client(uri)
    model = _get_model(client, name, uri)
    match = _VERSION_REF.match(ref)
    alias: str | None = None
    if match:
        number = int(match.group(1))
    else:
        alias = ref
        aliases = _aliases(model)
        if ref not in aliases:
            shown = ", ".join(f"{a} (v{v})" for a, v in sorted(aliases.items())) or "none set"
            raise RegistryError(f"model {name!r} has no alias {ref!r} (aliases: {shown})")
        number = aliases[ref]
    version = _get_version(client, name, number, uri)
    expected = dict(version.tags or {}).get(TAG_SHA)
    target = (cache_dir or CACHE_DIR) / _dir_name(name) / str(number)
    if not target.exists():
        _download(client, uri, name, number, target, expected)
    sha = _verified_sha(
        target, f"{name} v{number}", expected, f"delete {target} to download it again"
    )
    return ResolvedModel(name=name, version=number, alias=alias, path=target, bundle_sha256=sha)


def _dir_name(name: str) -> str:
    """``name`` as one safe path component (registered model names may hold ``/`` or ``..``)."""
    if _SAFE_NAME.match(name):
        return name
    import hashlib

    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".") or "model"
    return f"{cleaned}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def _verified_sha(path: Path, what: str, expected: str | None, remedy: str) -> str:
    """Verify the bundle at ``path`` and that its manifest is the one registered.

    Raises:
        BundleError: a file is missing, extra or altered, or the manifest's sha256 is not the
            version's ``trainwell.bundle_sha256`` tag; the message ends with ``remedy``.
    """
    from trainwell.inference.bundle import MANIFEST_FILE, verify_bundle
    from trainwell.utils.environment import sha256_file

    try:
        verify_bundle(path)
    except BundleError as exc:
        raise BundleError(f"{what} is unusable: {exc}; {remedy}") from exc
    sha = sha256_file(path / MANIFEST_FILE)
    if expected and sha != expected:
        raise BundleError(
            f"{what} at {path} is not the bundle that was registered (manifest sha256 "
            f"{sha[:12]}…, registered {expected[:12]}…); {remedy}"
        )
    return sha


def _download(
    client: MlflowClient, uri: str, name: str, version: int, target: Path, expected: str | None
) -> None:
    """Download a version's artifacts into a temporary sibling, verify, rename into place.

    Raises:
        RegistryError: the artifacts cannot be downloaded.
        BundleError: what was downloaded does not verify (nothing is left in the cache).
    """
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    what = f"{name} v{version}"
    try:
        try:
            source = client.get_model_version_download_uri(name, str(version))
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=source,
                    dst_path=str(staging),
                    tracking_uri=uri,
                    registry_uri=uri,
                )
            )
        except (MlflowException, OSError) as exc:
            raise RegistryError(f"cannot download {what} from {uri}: {_first_line(exc)}") from exc
        _verified_sha(local, f"the registry's copy of {what}", expected, "refused, not cached")
        try:
            local.replace(target)
        except OSError:
            if not target.is_dir():  # not a concurrent download that got there first
                raise
        logger.info("registry_version_cached", name=name, version=version, path=str(target))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
