"""Load tables from CSV/Parquet files or from datasets installed packages ship.

A data source is a path (``data/raw/churn.csv``, ``x.parquet``) or a URI-like name for a bundled
dataset: ``sklearn:breast_cancer``, ``sklearn:iris``, ``sklearn:wine``, ``sklearn:diabetes``,
``sklearn:digits``. Bundled datasets put the label in a column named ``target``.

Messy files get one clear line or a documented handling (docs/training.md, "Messy files"),
the same for `train`, `check` and `predict`, which all read through :func:`load_table`:

* a column name repeated in the header, or rows longer than the header, are an error;
* in a column whose values are all numbers apart from missing-value tokens
  (``MISSING_TOKENS``: ``n/a``, ``?``, ``-``, ``null``, ...), the tokens are read as missing and
  the column as float64 (one ``missing_tokens_read_as_missing`` info event);
* a column mixing numbers with other text (``1,234``) stays text, so categorical (one
  ``mixed_columns_kept_as_text`` warning for all such columns);
* non-finite numbers (``inf``, ``-inf``, ``1e400``) are an error naming the columns and rows.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
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
# more internal blocks than this (a fragmented frame) are consolidated once after reading
CONSOLIDATE_ABOVE_BLOCKS = 64
# What people type for "no value" in a column of numbers, compared lower-cased and stripped of
# whitespace. pandas already reads the empty cell, NA, N/A, null, NaN and None as missing; these
# also cover the ones it keeps as text. A token is read as missing only in a column whose other
# values are all numbers: in a column of categories ("a", "b", "-") it stays a category.
MISSING_TOKENS: frozenset[str] = frozenset(
    {
        "",
        "n/a",
        "na",
        "n.a.",
        "#n/a",
        "nan",
        "null",
        "none",
        "missing",
        "?",
        "-",
        "--",
        ".",
    }
)
# How many columns, rows and values an error or a warning names (the counts are always given).
MAX_SHOWN = 5
NON_FINITE_FIX = "replace them, or leave the cell empty to mark it missing"
# float cells tested for non-finite numbers at once (128 MiB as float64)
NON_FINITE_BLOCK_CELLS = 1 << 24


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
    """Read one table, with the messy-file rules of this module's docstring applied.

    Args:
        source: a CSV/Parquet path or ``sklearn:<name>``.

    Returns:
        The table as a pandas DataFrame with string column names, unique.

    Raises:
        DataError: the file is missing, unreadable, of an unknown type, or empty; its header
            repeats a column name; a number in it is not finite.
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
            _refuse_duplicate_names(_parquet_names(path), source)
            frame = pd.read_parquet(path)
        elif suffix in CSV_SUFFIXES:
            sep = "\t" if suffix == ".tsv" else ","
            frame = pd.read_csv(path, sep=sep)
            header = _csv_header(path, sep)
            _refuse_duplicate_names(header, source)
            if not frame.index.equals(pd.RangeIndex(len(frame))):
                # pandas makes the first field of each row the index when rows have more
                # fields than the header: every value would sit under the wrong column
                raise DataError(
                    f"data file {source} has more fields in its rows than names in its header "
                    f"({len(header)}): a trailing {'tab' if suffix == '.tsv' else 'comma'} on "
                    "each row, or a missing header name? Make the header name every column"
                )
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
    _refuse_duplicate_names(list(frame.columns), source)
    frame = read_missing_tokens(frame)
    _reject_non_finite(frame, f"data file {source}", file_rows=True)
    if frame._mgr.nblocks > CONSOLIDATE_ABOVE_BLOCKS:  # pandas has no public block count
        # read_csv can return one block per column on short wide files (5,006 blocks for
        # 100 x 5,000); every later take/astype/isna is then ~100x slower: consolidate once
        frame = frame.copy()
    logger.info("data_loaded", source=source, rows=len(frame), columns=frame.shape[1])
    return frame


def _csv_header(path: Path, sep: str) -> list[str]:
    """The header's names as written (pandas renames repeats to ``a.1``): the first non-blank
    record, quoting honoured."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for row in csv.reader(handle, delimiter=sep):
            if any(cell.strip() for cell in row):
                return row
    return []


def _parquet_names(path: Path) -> list[str]:
    """Column names from a Parquet file's schema (metadata only: no data is read)."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    meta = schema.pandas_metadata or {}
    index_columns = {c for c in meta.get("index_columns", []) if isinstance(c, str)}
    return [name for name in schema.names if name not in index_columns]


def _refuse_duplicate_names(names: list[str], source: str) -> None:
    """Raise when a (non-empty) column name appears more than once."""
    counts = Counter(name for name in names if name.strip())
    repeated = [(name, n) for name, n in counts.items() if n > 1]
    if not repeated:
        return
    shown = ", ".join(f"{name!r} ({n} times)" for name, n in repeated[:MAX_SHOWN])
    more = f" and {len(repeated) - MAX_SHOWN} more" if len(repeated) > MAX_SHOWN else ""
    raise DataError(
        f"data file {source} has duplicate column names: {shown}{more}; "
        "rename them so every column has its own name"
    )


def read_missing_tokens(frame: pd.DataFrame, exempt: tuple[str, ...] = ()) -> pd.DataFrame:
    """Apply the missing-token rule to the text columns of ``frame`` (numeric dtypes are not
    looked at, so wide numeric tables pay nothing).

    A text column whose values are all numbers or ``MISSING_TOKENS`` (at least one of each)
    becomes float64, its tokens missing (one ``missing_tokens_read_as_missing`` info event with
    the count per column). A text column of numbers only (a Parquet string column, integers too
    long for int64) is left as the file typed it. A text column mixing numbers with other text
    stays as it is, text (categorical), and is named in one ``mixed_columns_kept_as_text``
    warning with its count of values that are not numbers; ``exempt`` columns (a target judged
    by its own rule) are not warned about. A column with no numbers at all is left alone,
    tokens included.

    Returns:
        ``frame`` itself when nothing changed, else a copy with the converted columns.
    """
    import pandas as pd

    converted: dict[str, pd.Series] = {}
    tokens_read: dict[str, int] = {}
    mixed: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    # one dtype pass picks the text columns: numeric columns are never touched
    for name in frame.select_dtypes(include=["object", "string"]).columns:
        series = frame[name]
        values = series[series.notna()]
        if values.empty or pd.api.types.infer_dtype(values, skipna=False) != "string":
            continue
        stripped = values.str.strip()
        is_token = stripped.str.lower().isin(MISSING_TOKENS)
        numbers = pd.to_numeric(stripped.where(~is_token), errors="coerce")
        is_number = numbers.notna()
        n_numbers = int(is_number.sum())
        if n_numbers == 0:
            continue
        other = ~(is_number | is_token)
        n_other = int(other.sum())
        n_tokens = int(is_token.sum())
        if n_other == 0 and n_tokens:
            converted[name] = numbers.astype("float64").reindex(series.index)
            tokens_read[name] = n_tokens
        elif n_other and name not in exempt:
            mixed[name] = int((~is_number).sum())
            examples[name] = [repr(v) for v in values[other].unique()[:MAX_SHOWN].tolist()]
    if tokens_read:
        logger.info("missing_tokens_read_as_missing", columns=tokens_read)
    if mixed:
        logger.warning(
            "mixed_columns_kept_as_text",
            columns=mixed,
            examples=examples,
            hint="these columns mix numbers with other text, so they are read as categories; "
            "write numbers without thousands separators or units to make them numeric",
        )
    if not converted:
        return frame
    return frame.assign(**converted)


def reject_non_finite(frame: pd.DataFrame, where: str) -> None:
    """Refuse ``inf``, ``-inf`` and numbers beyond float64 (``1e400`` reads as ``inf``).

    For tables already in memory; rows are named by ``frame``'s index labels (``load_table``
    applies the same rule and names 1-based data rows of the file).

    Args:
        where: what the rows are, for the message (``"input rows"``, ``"data file x.csv"``).

    Raises:
        DataError: naming each column, its count of such cells and a few of their rows, and
            the fix.
    """
    _reject_non_finite(frame, where, file_rows=False)


def _reject_non_finite(frame: pd.DataFrame, where: str, *, file_rows: bool) -> None:
    import numpy as np

    floats = frame.select_dtypes(include="float")
    if floats.shape[1] == 0:
        return
    # columns in blocks of about NON_FINITE_BLOCK_CELLS cells: one vectorised test per block,
    # memory bounded however tall or wide the table is
    width = max(1, NON_FINITE_BLOCK_CELLS // max(1, len(floats)))
    found: list[tuple[str, np.ndarray]] = []
    n_bad_columns = 0
    for start in range(0, floats.shape[1], width):
        block = floats.iloc[:, start : start + width]
        infinite = np.isinf(block.to_numpy(dtype=np.float64, na_value=np.nan))
        for position in np.flatnonzero(infinite.any(axis=0)):
            n_bad_columns += 1
            if len(found) < MAX_SHOWN:
                found.append(
                    (str(block.columns[int(position)]), np.flatnonzero(infinite[:, position]))
                )
    if not found:
        return
    parts = []
    for name, rows in found:
        if file_rows:
            labels = [str(int(r) + 1) for r in rows[:MAX_SHOWN]]
            noun = "data row" if rows.size == 1 else "data rows"
        else:
            labels = [str(frame.index[int(r)]) for r in rows[:MAX_SHOWN]]
            noun = "row" if rows.size == 1 else "rows"
        shown = ", ".join(labels) + (", ..." if rows.size > MAX_SHOWN else "")
        cells = "1 cell" if rows.size == 1 else f"{rows.size} cells"
        parts.append(f"{name!r} ({cells}: {noun} {shown})")
    more = f" and {n_bad_columns - MAX_SHOWN} more" if n_bad_columns > MAX_SHOWN else ""
    raise DataError(
        f"{where}: non-finite numbers (inf, -inf, or too large for float64 such as 1e400) in "
        f"column(s) {', '.join(parts)}{more}; {NON_FINITE_FIX}"
    )


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
