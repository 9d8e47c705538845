"""Load tables from CSV/Parquet files or from datasets installed packages ship.

A data source is a path (``data/raw/churn.csv``, ``x.parquet``) or a URI-like name for a bundled
dataset: ``sklearn:breast_cancer``, ``sklearn:iris``, ``sklearn:wine``, ``sklearn:diabetes``,
``sklearn:digits``. Bundled datasets put the label in a column named ``target``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from trainwell.errors import DataError
from trainwell.utils.logging import get_logger

if TYPE_CHECKING:
    import pandas as pd

logger = get_logger(__name__)

SKLEARN_PREFIX = "sklearn:"
BUNDLED_TARGET = "target"
CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
FINGERPRINT_CHUNK_BYTES = 1 << 20


def _sklearn_loaders() -> dict[str, Callable[..., object]]:
    from sklearn import datasets

    return {
        "breast_cancer": datasets.load_breast_cancer,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
        "digits": datasets.load_digits,
    }


BUNDLED_DATASETS: tuple[str, ...] = ("breast_cancer", "iris", "wine", "diabetes", "digits")


def is_bundled(source: str) -> bool:
    """True for ``sklearn:<name>`` sources."""
    return source.startswith(SKLEARN_PREFIX)


def _load_bundled(source: str) -> pd.DataFrame:
    name = source.removeprefix(SKLEARN_PREFIX)
    loaders = _sklearn_loaders()
    if name not in loaders:
        allowed = ", ".join(f"{SKLEARN_PREFIX}{n}" for n in BUNDLED_DATASETS)
        raise DataError(f"unknown bundled dataset {source!r} (available: {allowed})")
    bunch = loaders[name](as_frame=True)
    frame: pd.DataFrame = bunch.frame.copy()  # type: ignore[attr-defined]
    frame.columns = [str(c) for c in frame.columns]
    return frame


def load_table(source: str) -> pd.DataFrame:
    """Read one table.

    Args:
        source: a CSV/Parquet path or ``sklearn:<name>``.

    Returns:
        The table as a pandas DataFrame with string column names.

    Raises:
        DataError: the file is missing, unreadable, of an unknown type, or empty.
    """
    import pandas as pd

    if is_bundled(source):
        return _load_bundled(source)
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"data file not found: {source}")
    if path.is_dir():
        raise DataError(f"data path is a directory, expected a CSV or Parquet file: {source}")
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        elif suffix in CSV_SUFFIXES:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
        else:
            raise DataError(
                f"unsupported data file type {suffix or '(none)'!r} for {source} "
                "(use .csv, .tsv, .parquet or sklearn:<name>)"
            )
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"data file is empty: {source}") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"cannot read data file {source}: {first_line}") from exc
    if frame.empty:
        raise DataError(f"data file has no rows: {source}")
    frame.columns = [str(c) for c in frame.columns]
    logger.info("data_loaded", source=source, rows=len(frame), columns=frame.shape[1])
    return frame


def source_size_bytes(source: str) -> int | None:
    """Size on disk of a file source; None for bundled datasets."""
    if is_bundled(source):
        return None
    path = Path(source).expanduser()
    return path.stat().st_size if path.is_file() else None


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """Content hash of a table: same rows, columns and dtypes give the same sha256."""
    import pandas as pd

    digest = hashlib.sha256()
    digest.update("|".join(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items()).encode())
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest.update(row_hashes.tobytes())
    return digest.hexdigest()
