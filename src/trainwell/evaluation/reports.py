"""Plots a run writes beside its metrics: the confusion matrix, the worst-classified images.

Written with matplotlib's Agg backend (no display needed) as PNG files; the training pipeline
saves them under ``output.runs_dir`` and logs them to the MLflow run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

CONFUSION_FILE = "confusion_matrix.png"
WORST_FILE = "worst_classified.png"
WORST_COUNT = 16
GRID_COLUMNS = 4
# Beyond this many classes the cell counts are unreadable: the matrix is drawn without them.
MAX_ANNOTATED_CLASSES = 20
INCHES_PER_CLASS = 0.45
MIN_FIGURE_INCHES = 4.0
DPI = 110


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix_png(
    y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[str, ...], path: Path
) -> Path:
    """Counts of true (rows) against predicted (columns) classes, as a PNG at ``path``."""
    import numpy as np
    from sklearn.metrics import confusion_matrix

    plt = _pyplot()
    n = len(classes)
    matrix = confusion_matrix(y_true, y_pred, labels=np.arange(n))
    side = max(MIN_FIGURE_INCHES, INCHES_PER_CLASS * n + 2)
    figure, axes = plt.subplots(figsize=(side, side))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(n), labels=classes, rotation=90)
    axes.set_yticks(range(n), labels=classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"confusion matrix ({len(y_true)} validation examples)")
    if n <= MAX_ANNOTATED_CLASSES:
        middle = matrix.max() / 2
        for row in range(n):
            for column in range(n):
                value = int(matrix[row, column])
                colour = "white" if value > middle else "black"
                axes.text(column, row, str(value), ha="center", va="center", color=colour)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def worst_indices(y_true: np.ndarray, proba: np.ndarray, count: int = WORST_COUNT) -> np.ndarray:
    """The misclassified examples whose true class got the lowest probability, worst first."""
    import numpy as np

    true_proba = proba[np.arange(len(y_true)), y_true]
    wrong = np.flatnonzero(np.argmax(proba, axis=1) != y_true)
    order = wrong[np.argsort(true_proba[wrong], kind="stable")]
    return order[:count]


def worst_images_png(
    images: Any, y_true: np.ndarray, proba: np.ndarray, classes: tuple[str, ...], path: Path
) -> Path | None:
    """A grid of the worst-classified images (``images.open(i)``), titled true -> predicted.

    Returns:
        The PNG's path, or None when nothing was misclassified.
    """
    import numpy as np

    chosen = worst_indices(y_true, proba)
    if len(chosen) == 0:
        return None
    plt = _pyplot()
    rows = int(np.ceil(len(chosen) / GRID_COLUMNS))
    figure, grid = plt.subplots(rows, GRID_COLUMNS, figsize=(GRID_COLUMNS * 2.2, rows * 2.4))
    cells = np.atleast_1d(grid).ravel()
    for cell in cells:
        cell.axis("off")
    for cell, index in zip(cells, chosen, strict=False):
        image = images.open(int(index))
        cell.imshow(image, cmap="gray" if image.mode == "L" else None)
        predicted = int(np.argmax(proba[index]))
        cell.set_title(
            f"{classes[y_true[index]]} -> {classes[predicted]}\n"
            f"p(true)={proba[index, y_true[index]]:.2f}",
            fontsize=8,
        )
    figure.suptitle("worst-classified validation images (true -> predicted)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path
