"""The task kinds trainwell trains, in one literal table: ``task.kind`` names a row.

A task is one modality (how its inputs are read, split, profiled and prepared:
``trainwell.data.modality``) and one objective (what is learned:
``trainwell.evaluation.objectives``). Code that needs to
know "which task" asks this table for the row and reads its columns; it never compares task
strings (tests/test_layers.py enforces it). To add a task family, see docs/architecture.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainwell.data.image import IMAGE
from trainwell.data.modality import Modality
from trainwell.data.table import TABLE
from trainwell.errors import ConfigError
from trainwell.evaluation.objectives import (
    ANOMALY,
    CLASSIFICATION,
    IMAGE_CLASSIFICATION,
    REGRESSION,
    Objective,
)


@dataclass(frozen=True)
class TaskSpec:
    """One row: a task kind.

    Attributes:
        name: the ``task.kind`` value.
        modality: the kind of input (registry rows name the modality they consume).
        objective: targets, metrics, baseline and outputs.
        small_data_selection: `auto` cross-validates the scikit-learn candidates on small
            training sets (training/selection.py) instead of taking the advisor's first pick.
    """

    name: str
    modality: Modality
    objective: Objective
    small_data_selection: bool = False


TASKS: dict[str, TaskSpec] = {
    "tabular-classification": TaskSpec(
        "tabular-classification", TABLE, CLASSIFICATION, small_data_selection=True
    ),
    "tabular-regression": TaskSpec(
        "tabular-regression", TABLE, REGRESSION, small_data_selection=True
    ),
    "anomaly-detection": TaskSpec("anomaly-detection", TABLE, ANOMALY),
    "image-classification": TaskSpec("image-classification", IMAGE, IMAGE_CLASSIFICATION),
}


# When `task.kind` is not set, the task is inferred from a table's target column.
DEFAULT_MODALITY = TABLE


def get_task(kind: str) -> TaskSpec:
    """The row for ``kind``.

    Raises:
        ConfigError: no such task kind.
    """
    try:
        return TASKS[kind]
    except KeyError:
        raise ConfigError(f"unknown task kind {kind!r} (known: {', '.join(TASKS)})") from None
