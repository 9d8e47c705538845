"""What the advisor decides on: the task and the facts about the data, hardware and people.

A :class:`Profile` comes from three places: Python (``Profile(task=..., rows=...)``), the CLI's
flags (:func:`profile_from_options`) and a data file (:func:`profile_from_data`, which loads and
profiles the table first). The last two turn every invalid value into one
:class:`~trainwell.errors.ConfigError` line that names the flag and lists what is accepted.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from trainwell.advise.rules import BYTES_PER_GB, ML_TASKS, TASKS, TOOLING_TASKS
from trainwell.errors import ConfigError, DataError
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

Hardware = Literal["cpu", "cuda", "tpu", "edge"]
# Image tasks: "tiny" when the median side is at most TINY_IMAGE_SIDE px (MNIST-like), else "photo".
ImageScale = Literal["tiny", "photo"]
TINY_IMAGE_SIDE = 64
Priority = Literal["speed", "accuracy", "balanced", "interpretability", "zero-shot", "cold-start"]
Domain = Literal["general", "medical"]
Setting = Literal["research", "production", "enterprise"]

# Profile field -> the CLI flag that sets it, for error messages.
FLAGS: dict[str, str] = {
    "task": "--task",
    "rows": "--rows",
    "size_bytes": "--size-gb",
    "categorical_share": "--categorical-share",
    "n_features": "n_features",
    "hardware": "--hardware",
    "priority": "--priority",
    "domain": "--domain",
    "setting": "--setting",
    "distributed": "--distributed",
    "team_size": "--team-size",
}


def accepted_tasks() -> str:
    """The tasks the advisor knows, as one line for error messages."""
    return (
        f"accepted ML tasks: {', '.join(ML_TASKS)}; tooling questions: {', '.join(TOOLING_TASKS)}"
    )


def unknown_task_message(task: str) -> str:
    """The one line for a task the advisor does not know, listing the ones it does."""
    return f"unknown task {task!r}; {accepted_tasks()}"


class Profile(BaseModel):
    """The facts one piece of advice is decided on. Unknown facts stay ``None``.

    Example:
        >>> Profile(task="tabular-classification", rows=40_000_000, categorical_share=0.7).rows
        40000000
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str = Field(description="An ML task or a tooling question (see rules.TASKS).")
    rows: int | None = Field(None, ge=1, description="Rows (samples) in the training data.")
    size_bytes: int | None = Field(None, ge=1, description="Data size: on disk or in memory.")
    categorical_share: float | None = Field(
        None, ge=0.0, le=1.0, description="Share of feature columns that are categorical."
    )
    n_features: int | None = Field(None, ge=1, description="Feature columns (target excluded).")
    hardware: Hardware = "cpu"
    priority: Priority = "balanced"
    domain: Domain = "general"
    setting: Setting = "production"
    distributed: bool = Field(False, description="The work runs across machines.")
    team_size: int | None = Field(None, ge=1, description="People sharing the experiments.")
    images: ImageScale | None = Field(
        None, description=f"Image tasks: tiny (median side <= {TINY_IMAGE_SIDE} px) or photo."
    )

    @field_validator("task")
    @classmethod
    def _known_task(cls, task: str) -> str:
        if task not in TASKS:
            raise ValueError(unknown_task_message(task))
        return task


def _describe_error(error: Any) -> str:
    """One line for one pydantic error, naming the flag and what was given."""
    field = str(error["loc"][0]) if error["loc"] else "profile"
    flag = FLAGS.get(field, field)
    if error["type"] == "value_error":
        return str(error["ctx"]["error"])
    if error["type"] == "extra_forbidden":
        return f"unknown profile field {field!r} (fields: {', '.join(FLAGS)})"
    given = error.get("input")
    if field == "size_bytes" and isinstance(given, int | float):
        given = f"{given / BYTES_PER_GB:g} GB"
    message = str(error["msg"])
    return f"invalid {flag}: {message[:1].lower()}{message[1:]} (got {given!r})"


def build_profile(**fields: Any) -> Profile:
    """``Profile(**fields)``, with an invalid value reported as one ConfigError line.

    Raises:
        ConfigError: a field is out of range, of an unknown kind, or the task is unknown.
    """
    try:
        return Profile(**fields)
    except ValidationError as exc:
        raise ConfigError("; ".join(_describe_error(e) for e in exc.errors())) from None


def profile_from_data(path: str, target: str, **profile_flags: Any) -> Profile:
    """Profile a table and fill a :class:`Profile` from it.

    Rows, size, categorical share and feature count come from the data; the task is the
    profiler's inference (classification or regression from the target) unless ``task`` is
    given. Flags given here (not ``None``) override what the data says, so "what if this were
    40M rows" is one flag away. Size is the larger of the file on disk and the table in memory.

    Args:
        path: a CSV/Parquet file or ``sklearn:<name>``.
        target: the column to predict.
        **profile_flags: any other :class:`Profile` field.

    Returns:
        The validated profile.

    Raises:
        DataError: the file is missing, unreadable or empty, or has no column ``target``.
        ConfigError: a flag is invalid.
    """
    from trainwell.data.loading import load_table, source_size_bytes
    from trainwell.data.profile import profile_frame

    frame = load_table(path)
    data = profile_frame(frame, target)
    if data.n_features == 0:
        raise DataError(f"{path} has no feature columns besides the target {target!r}")
    size_bytes = max(data.memory_bytes, source_size_bytes(path) or 0)
    fields: dict[str, Any] = {
        "task": data.inferred_task,
        "rows": data.n_rows,
        "size_bytes": size_bytes,
        "categorical_share": data.categorical_share,
        "n_features": data.n_features,
    }
    fields.update({key: value for key, value in profile_flags.items() if value is not None})
    logger.info("advise_profiled", path=path, rows=data.n_rows, task=fields["task"])
    return build_profile(**fields)


def profile_from_options(
    *,
    task: str | None,
    data: str | None,
    target: str | None,
    size_gb: float | None = None,
    **profile_flags: Any,
) -> Profile:
    """The profile the CLI's flags describe: ``--task`` and flags, or ``--data``/``--target``.

    Args:
        task: ``--task`` (optional with ``--data``: inferred from the target).
        data: ``--data FILE``.
        target: ``--target COL`` (required with ``--data``).
        size_gb: ``--size-gb``, converted to bytes.
        **profile_flags: the other :class:`Profile` fields; ``None`` means not given.

    Raises:
        ConfigError: the flags contradict each other or a value is invalid.
        DataError: the data file cannot be profiled.
    """
    if data is None and target is not None:
        raise ConfigError("--target needs --data FILE (the table the target column is in)")
    if data is not None and target is None:
        raise ConfigError(f"--data {data} needs --target COL (the column to predict)")
    if size_gb is not None:
        if size_gb <= 0:
            raise ConfigError(f"invalid --size-gb: must be greater than 0 (got {size_gb:g})")
        profile_flags["size_bytes"] = max(1, round(size_gb * BYTES_PER_GB))
    flags = {key: value for key, value in profile_flags.items() if value is not None}
    if data is not None and target is not None:
        return profile_from_data(data, target, task=task, **flags)
    if task is None:
        raise ConfigError(f"give --task TASK or --data FILE --target COL; {accepted_tasks()}")
    return build_profile(task=task, **flags)
