"""Real tables that installed packages ship, with their task, target and a fixed 80/20 split.

Used by ``bench_auto.py --suite real``. Sources: scikit-learn's bundled datasets, the ISLP
book's CSVs and palmerpenguins' CSV (both read by path from their installed package
directories; ``make install`` installs them ``--no-deps``), mlxtend's auto-mpg. A table whose
package is missing is skipped with its reason.

Leaky columns are dropped where the source documents them (Wage's ``logwage`` is the target's
log, Bikeshare's ``casual``/``registered`` add up to the target).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SPLIT_SEED = 0
TEST_SHARE = 0.2


@dataclass(frozen=True)
class RealTable:
    """One table of the suite."""

    name: str
    task: str  # tabular-classification | tabular-regression
    target: str
    load: Callable[[], pd.DataFrame]
    source: str


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _csv(package: str, relative: str, drop: tuple[str, ...] = ()) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        directory = _package_dir(package)
        if directory is None:
            raise FileNotFoundError(f"package {package!r} is not installed")
        frame = pd.read_csv(directory / relative)
        unnamed = [c for c in frame.columns if c.startswith("Unnamed:")]
        return frame.drop(columns=[*unnamed, *drop])

    return load


def _sklearn(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        frame: pd.DataFrame = bunch.frame
        frame.columns = [str(c) for c in frame.columns]
        return frame

    return load


def _autompg() -> pd.DataFrame:
    directory = _package_dir("mlxtend")
    if directory is None:
        raise FileNotFoundError("package 'mlxtend' is not installed")
    names = [
        "cylinders",
        "displacement",
        "horsepower",
        "weight",
        "acceleration",
        "model_year",
        "origin",
        "name",
        "mpg",
    ]
    frame = pd.read_csv(directory / "data" / "data" / "autompg.csv.gz", header=None, names=names)
    # the car's name is unique per row: an identifier, not a feature
    return frame.drop(columns=["name"])


SUITE: tuple[RealTable, ...] = (
    RealTable(
        "breast_cancer",
        "tabular-classification",
        "target",
        _sklearn("breast_cancer"),
        "scikit-learn",
    ),
    RealTable("digits", "tabular-classification", "target", _sklearn("digits"), "scikit-learn"),
    RealTable("diabetes", "tabular-regression", "target", _sklearn("diabetes"), "scikit-learn"),
    RealTable(
        "penguins",
        "tabular-classification",
        "species",
        _csv("palmerpenguins", "data/penguins.csv"),
        "palmerpenguins",
    ),
    RealTable("carseats", "tabular-regression", "Sales", _csv("ISLP", "data/Carseats.csv"), "ISLP"),
    RealTable(
        "credit", "tabular-regression", "Balance", _csv("ISLP", "data/Credit.csv", ("ID",)), "ISLP"
    ),
    RealTable(
        "default", "tabular-classification", "default", _csv("ISLP", "data/Default.csv"), "ISLP"
    ),
    RealTable("hitters", "tabular-regression", "Salary", _csv("ISLP", "data/Hitters.csv"), "ISLP"),
    RealTable("oj", "tabular-classification", "Purchase", _csv("ISLP", "data/OJ.csv"), "ISLP"),
    RealTable(
        "wage", "tabular-regression", "wage", _csv("ISLP", "data/Wage.csv", ("logwage",)), "ISLP"
    ),
    RealTable(
        "college", "tabular-classification", "Private", _csv("ISLP", "data/College.csv"), "ISLP"
    ),
    RealTable(
        "bikeshare",
        "tabular-regression",
        "bikers",
        _csv("ISLP", "data/Bikeshare.csv", ("casual", "registered")),
        "ISLP",
    ),
    RealTable(
        "caravan", "tabular-classification", "Purchase", _csv("ISLP", "data/Caravan.csv"), "ISLP"
    ),
    RealTable("autompg", "tabular-regression", "mpg", _autompg, "mlxtend"),
)


def split(table: RealTable, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The suite's fixed 80/20 split (stratified for classification); rows without a target
    are dropped first, as every system would have to."""
    from sklearn.model_selection import train_test_split

    frame = frame[frame[table.target].notna()].reset_index(drop=True)
    stratify = frame[table.target] if table.task == "tabular-classification" else None
    train, test = train_test_split(
        frame, test_size=TEST_SHARE, random_state=SPLIT_SEED, stratify=stratify
    )
    return train, test
