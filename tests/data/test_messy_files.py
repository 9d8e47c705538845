"""Messy files: one clear line, or a documented handling (docs/training.md, "Messy files").

Units on ``load_table``/``reject_non_finite``/``read_missing_tokens``, then every class of mess
end to end through `train`, `check` (plain and ``--json``) and `predict`: the message, exit code
2, and no bundle left behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from structlog.testing import capture_logs
from tests.cli_helpers import EXIT_BAD_INPUT, assert_no_bundle, invoke, only_bundle, runner

from trainwell.cli import app
from trainwell.data.loading import (
    MISSING_TOKENS,
    load_table,
    read_missing_tokens,
    reject_non_finite,
)
from trainwell.errors import DataError

FIX = "replace them, or leave the cell empty to mark it missing"
NON_FINITE = "non-finite numbers (inf, -inf, or too large for float64 such as 1e400)"
ROWS = 60
COLORS = ("red", "green", "blue")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def clean_rows(n: int = ROWS) -> list[list[str]]:
    """Distinct rows a, b, c, y: an int, a float, a category and a binary label."""
    return [[str(i % 5), f"{i * 0.37:.2f}", COLORS[i % 3], str(i % 2)] for i in range(n)]


def csv_text(rows: list[list[str]], header: str = "a,b,c,y") -> str:
    return header + "\n" + "\n".join(",".join(r) for r in rows) + "\n"


def with_cells(column: int, cells: dict[int, str], n: int = ROWS) -> list[list[str]]:
    """Clean rows with ``cells`` (0-based row -> text) put into one column."""
    rows = clean_rows(n)
    for row, text in cells.items():
        rows[row][column] = text
    return rows


# --- non-finite numbers ---------------------------------------------------------------------


def test_non_finite_numbers_are_an_error_naming_columns_rows_and_the_fix(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.csv", "a,b,c,y\n1,2.5,7,0\n2,inf,8,1\n3,1.5,-inf,0\n4,1e400,1e400,1\n"
    )
    with pytest.raises(DataError) as caught:
        load_table(str(path))
    assert str(caught.value) == (
        f"data file {path}: {NON_FINITE} in column(s) 'b' (2 cells: data rows 2, 4), "
        f"'c' (2 cells: data rows 3, 4); {FIX}"
    )


def test_non_finite_error_shows_a_few_rows_and_the_count(tmp_path: Path) -> None:
    rows = with_cells(1, {i: "inf" for i in range(0, 14, 2)})
    path = write(tmp_path / "x.csv", csv_text(rows))
    with pytest.raises(DataError, match=r"'b' \(7 cells: data rows 1, 3, 5, 7, 9, \.\.\.\)"):
        load_table(str(path))


def test_non_finite_in_parquet_is_the_same_error(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1.0, -np.inf, 2.0], "y": [0, 1, 0]}).to_parquet(path)
    with pytest.raises(DataError, match=r"in column\(s\) 'a' \(1 cell: data row 2\)"):
        load_table(str(path))


def test_reject_non_finite_names_index_labels_in_memory() -> None:
    frame = pd.DataFrame(
        {"f": [1.0, np.inf, np.nan], "n": pd.array([1.5, None, -np.inf], dtype="Float64")},
        index=[10, 11, 12],
    )
    with pytest.raises(DataError) as caught:
        reject_non_finite(frame, "input rows")
    assert str(caught.value) == (
        f"input rows: {NON_FINITE} in column(s) 'f' (1 cell: row 11), 'n' (1 cell: row 12); {FIX}"
    )


def test_reject_non_finite_accepts_missing_ints_text_and_bools() -> None:
    frame = pd.DataFrame(
        {
            "f": [1.0, np.nan, 3.0],
            "i": [1, 2, 3],
            "t": ["inf", "x", None],
            "b": [True, False, True],
            "f32": np.array([1, 2, np.nan], dtype=np.float32),
        }
    )
    reject_non_finite(frame, "rows")


# --- header problems ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("x.csv", "a,b,a,y,b,a\n1,2,3,4,5,6\n"),
        ("x.tsv", "a\tb\ta\ty\tb\ta\n1\t2\t3\t4\t5\t6\n"),
    ],
)
def test_duplicate_header_names_are_an_error(tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(DataError) as caught:
        load_table(str(path))
    assert str(caught.value) == (
        f"data file {path} has duplicate column names: 'a' (3 times), 'b' (2 times); "
        "rename them so every column has its own name"
    )


def test_quoted_header_names_are_read_as_written(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", '"a,b",a,y\n1,2,3\n')
    assert list(load_table(str(path)).columns) == ["a,b", "a", "y"]


def test_duplicate_names_in_parquet_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table([pa.array([1, 2]), pa.array([3, 4])], names=["a", "a"]), path)
    with pytest.raises(DataError, match=r"has duplicate column names: 'a' \(2 times\)"):
        load_table(str(path))


def test_rows_longer_than_the_header_are_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "x.csv", "a,b\n1,2,\n3,4,\n")
    with pytest.raises(DataError) as caught:
        load_table(str(path))
    assert str(caught.value) == (
        f"data file {path} has more fields in its rows than names in its header (2): a "
        "trailing comma on each row, or a missing header name? Make the header name every column"
    )


# --- missing-value tokens and mixed columns -------------------------------------------------


def test_missing_tokens_constant_is_lower_case_and_stripped() -> None:
    assert {"", "n/a", "na", "null", "none", "missing", "?", "-", "--", "."} <= MISSING_TOKENS
    assert all(t == t.strip().lower() for t in MISSING_TOKENS)


@pytest.mark.parametrize("token", ["n/a", "?", "-", "--", "NA", "null", "None", "Missing", "."])
def test_tokens_in_a_numeric_column_are_missing(tmp_path: Path, token: str) -> None:
    rows = with_cells(1, {3: f" {token} ", 7: token})
    path = write(tmp_path / "x.csv", csv_text(rows))
    with capture_logs() as logs:
        frame = load_table(str(path))
    assert frame["b"].dtype == np.float64
    assert frame["b"].isna().tolist() == [i in (3, 7) for i in range(ROWS)]
    assert frame["b"].iloc[5] == pytest.approx(1.85)
    events = [e for e in logs if e["event"] == "missing_tokens_read_as_missing"]
    # pandas reads some tokens (NA, null, None, n/a) as missing by itself
    assert len(events) <= 1
    if events:
        assert events[0]["log_level"] == "info"
        assert events[0]["columns"] == {"b": 2} or events[0]["columns"] == {"b": 1}
    assert not [e for e in logs if e["log_level"] == "warning"]


def test_token_event_counts_per_column(tmp_path: Path) -> None:
    rows = clean_rows()
    for i in (1, 2, 3):
        rows[i][0] = "?"
    rows[4][1] = "--"
    path = write(tmp_path / "x.csv", csv_text(rows))
    with capture_logs() as logs:
        frame = load_table(str(path))
    assert frame["a"].dtype == np.float64 and int(frame["a"].isna().sum()) == 3
    (event,) = [e for e in logs if e["event"] == "missing_tokens_read_as_missing"]
    assert event["columns"] == {"a": 3, "b": 1}


def test_tokens_in_a_category_column_stay_categories(tmp_path: Path) -> None:
    rows = with_cells(2, {0: "-", 1: "?"})
    path = write(tmp_path / "x.csv", csv_text(rows))
    with capture_logs() as logs:
        frame = load_table(str(path))
    assert frame["c"].tolist()[:4] == ["-", "?", "blue", "red"]
    assert logs == [e for e in logs if e["event"] == "data_loaded"]


def test_columns_mixing_numbers_and_text_stay_text_with_one_warning(tmp_path: Path) -> None:
    rows = with_cells(1, {2: "1,234", 5: "n/a", 9: "12kg"})
    rows[4][0] = "three"
    path = write(
        tmp_path / "x.csv",
        "a,b,c,y\n"
        + "\n".join(",".join(f'"{v}"' if "," in v else v for v in r) for r in rows)
        + "\n",
    )
    with capture_logs() as logs:
        frame = load_table(str(path))
    assert frame["b"].iloc[2] == "1,234" and frame["b"].iloc[0] == "0.00"
    assert frame["a"].iloc[4] == "three"
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["event"] == "mixed_columns_kept_as_text"
    # b: '1,234' and '12kg' (n/a is already missing for pandas); a: 'three'
    assert warnings[0]["columns"] == {"a": 1, "b": 2}
    assert warnings[0]["examples"] == {"a": ["'three'"], "b": ["'1,234'", "'12kg'"]}


def test_exempt_columns_are_converted_but_not_warned_about() -> None:
    frame = pd.DataFrame({"y": ["1.5", "oops", "2.5"], "t": ["1", "?", "3"]})
    with capture_logs() as logs:
        out = read_missing_tokens(frame, exempt=("y", "t"))
    assert out["y"].tolist() == ["1.5", "oops", "2.5"]
    assert out["t"].dtype == np.float64
    assert [e["event"] for e in logs] == ["missing_tokens_read_as_missing"]


def test_text_columns_of_numbers_only_stay_as_typed(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pd.DataFrame({"zip": ["01234", "98765", None], "y": [0, 1, 0]}).to_parquet(path)
    with capture_logs() as logs:
        frame = load_table(str(path))
    assert frame["zip"].tolist()[:2] == ["01234", "98765"]
    assert [e["event"] for e in logs] == ["data_loaded"]


def test_numeric_columns_skip_the_token_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wide = pd.DataFrame(np.arange(20 * 2000, dtype=float).reshape(20, 2000)).add_prefix("f")
    wide.to_csv(tmp_path / "wide.csv", index=False)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pd.to_numeric called on a numeric table")

    monkeypatch.setattr(pd, "to_numeric", refuse)
    frame = load_table(str(tmp_path / "wide.csv"))
    assert frame.shape == (20, 2000)
    assert read_missing_tokens(frame) is frame


# --- end to end: train, check, check --json, predict ----------------------------------------


def quoted(rows: list[list[str]], header: str = "a,b,c,y") -> str:
    return header + "\n" + "\n".join(",".join(f'"{v}"' for v in r) for r in rows) + "\n"


# name -> (the file to train on, the message, or None when it trains)
TRAIN_CASES: dict[str, tuple[Callable[[], str], str | None]] = {
    "non-finite": (
        lambda: csv_text(with_cells(1, {3: "inf", 8: "-inf", 9: "1e400"})),
        f"{NON_FINITE} in column(s) 'b' (3 cells: data rows 4, 9, 10); {FIX}",
    ),
    "duplicate-names": (
        lambda: csv_text(clean_rows(), header="a,b,a,y"),
        "has duplicate column names: 'a' (2 times); rename them so every column has its own name",
    ),
    "longer-rows": (
        lambda: "a,b,c,y\n" + "\n".join(",".join(r) + "," for r in clean_rows()) + "\n",
        "has more fields in its rows than names in its header (4)",
    ),
    "target-typos": (
        lambda: csv_text(
            [[str(i % 5), COLORS[i % 3], f"{i * 0.37:.2f}", f"{i * 1.5:.1f}"] for i in range(50)]
            + [["1", "red", "0.5", "oops"], ["2", "red", "0.6", "12kg"]]
        ),
        "target column 'y' in {path} holds numbers, but 2 of its 52 values are not: "
        "'oops', '12kg' (data rows 51, 52); fix them, or leave those cells empty to drop the rows",
    ),
    "no-features": (
        lambda: "y\n" + "\n".join(str(i % 2) for i in range(ROWS)) + "\n",
        "no feature columns in {path}: its only column is the target 'y'; "
        "add the columns to learn from",
    ),
    "empty-column": (
        lambda: csv_text(with_cells(1, dict.fromkeys(range(ROWS), ""))),
        "column(s) with no values at all in the training data: b",
    ),
    "numeric-tokens": (lambda: csv_text(with_cells(1, {2: "?", 5: "-", 11: "missing"})), None),
    "mixed-column": (lambda: quoted(with_cells(1, {2: "1,234", 5: "12kg"})), None),
    "target-tokens": (lambda: csv_text(with_cells(3, {2: "?", 5: "n/a"})), None),
    "label-target": (
        lambda: csv_text([[*r[:3], ("yes", "no")[i % 2]] for i, r in enumerate(clean_rows())]),
        None,
    ),
}
FAILING = [name for name, (_, message) in TRAIN_CASES.items() if message is not None]
TRAINING = [name for name, (_, message) in TRAIN_CASES.items() if message is None]


def train_args(path: Path, models: Path) -> list[str]:
    return [
        f"data.path={path}",
        "data.target=y",
        "model.architecture=sklearn-linear",
        "tracking.enabled=false",
        f"output.dir={models}",
    ]


def case_file(tmp_path: Path, name: str) -> tuple[Path, str | None]:
    make, message = TRAIN_CASES[name]
    path = write(tmp_path / f"{name}.csv", make())
    return path, None if message is None else message.replace("{path}", str(path))


def assert_one_line(code: int, out: str, message: str) -> None:
    assert code == EXIT_BAD_INPUT, out
    assert message in out, out
    assert out.count("error:") == 1, out
    assert "Traceback" not in out


@pytest.mark.parametrize("name", FAILING)
def test_train_refuses_with_one_line_and_no_bundle(tmp_path: Path, name: str) -> None:
    path, message = case_file(tmp_path, name)
    assert message is not None
    code, out = invoke("train", *train_args(path, tmp_path / "models"))
    assert_one_line(code, out, message)
    assert_no_bundle(tmp_path)


@pytest.mark.parametrize("name", FAILING)
def test_check_refuses_with_one_line(tmp_path: Path, name: str) -> None:
    path, message = case_file(tmp_path, name)
    assert message is not None
    code, out = invoke("check", *train_args(path, tmp_path / "models"))
    assert_one_line(code, out, message)
    assert_no_bundle(tmp_path)


@pytest.mark.parametrize("name", FAILING)
def test_check_json_reports_the_data_problem_as_json(tmp_path: Path, name: str) -> None:
    path, message = case_file(tmp_path, name)
    assert message is not None
    result = runner.invoke(app, ["check", "--json", *train_args(path, tmp_path / "models")])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    payload = json.loads(result.stdout)
    assert message in payload["error"]
    (check,) = payload["checks"]
    assert check["id"] == "data_usable"
    assert check["status"] == "fail"
    assert check["message"] == payload["error"]
    assert check["fix"] == check["hint"] and "trainwell check" in check["fix"]
    assert "error:" not in result.stderr


def test_check_json_keeps_config_errors_as_one_line() -> None:
    result = runner.invoke(app, ["check", "--json", "training.sed=3"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "unknown key `training.sed`" in result.stderr
    assert result.stderr.count("error:") == 1
    assert result.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAINING)
def test_documented_handlings_train_and_check(tmp_path: Path, name: str) -> None:
    path, _ = case_file(tmp_path, name)
    code, out = invoke("check", *train_args(path, tmp_path / "models"))
    assert code == 0, out
    code, out = invoke("train", *train_args(path, tmp_path / "models"))
    assert code == 0, out
    bundle = only_bundle(tmp_path / "models")
    schema = json.loads((bundle / "schema.json").read_text())
    kinds = {c["name"]: c["kind"] for c in schema["columns"]}
    assert kinds["b"] == ("categorical" if name == "mixed-column" else "numeric")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sklearn-linear bundle trained on clean rows a (int), b (float), c (category), y."""
    root = tmp_path_factory.mktemp("bundle")
    path = write(root / "clean.csv", csv_text(clean_rows()))
    code, out = invoke("train", *train_args(path, root / "models"))
    assert code == 0, out
    return only_bundle(root / "models")


# name -> (the rows to predict, the message, or None when they are predicted)
PREDICT_CASES: dict[str, tuple[Callable[[], str], str | None]] = {
    "non-finite": (
        lambda: csv_text(with_cells(1, {0: "inf", 4: "-1e400"}, n=6)),
        f"{NON_FINITE} in column(s) 'b' (2 cells: data rows 1, 5); {FIX}",
    ),
    "duplicate-names": (
        lambda: csv_text(clean_rows(6), header="a,b,c,b"),
        "has duplicate column names: 'b' (2 times)",
    ),
    "longer-rows": (
        lambda: "a,b,c\n" + "\n".join(",".join(r) for r in clean_rows(6)) + "\n",
        "has more fields in its rows than names in its header (3)",
    ),
    "mixed-column": (
        lambda: quoted(with_cells(1, {2: "1,234"}, n=6)),
        "column 'b' must be numeric; got '1,234'",
    ),
    "no-features": (
        lambda: "y\n0\n1\n",
        "input is missing 3 column(s) the model needs: a, b, c",
    ),
    "numeric-tokens": (lambda: csv_text(with_cells(1, {1: "?", 2: "--", 3: " N/A "}, n=6)), None),
    "target-typos": (lambda: csv_text(with_cells(3, {1: "oops"}, n=6)), None),
    "empty-column": (lambda: csv_text(with_cells(1, dict.fromkeys(range(6), ""), n=6)), None),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PREDICT_CASES))
def test_predict_on_messy_rows(bundle: Path, tmp_path: Path, name: str) -> None:
    make, message = PREDICT_CASES[name]
    rows = write(tmp_path / "rows.csv", make())
    output = tmp_path / "preds.csv"
    code, out = invoke("predict", str(bundle), "-i", str(rows), "-o", str(output))
    if message is None:
        assert code == 0, out
        predictions = pd.read_csv(output)
        assert len(predictions) == len(pd.read_csv(rows))
        return
    assert_one_line(code, out, message)
    assert not output.exists()


def test_a_repeated_typo_in_the_target_is_named_once_with_every_row() -> None:
    from trainwell.data.table import _refuse_broken_numeric_target

    values = [f"{i * 1.5:.1f}" for i in range(40)] + ["oops", "oops"]
    frame = pd.DataFrame({"y": pd.Series(values, dtype=object)})
    with pytest.raises(DataError) as caught:
        _refuse_broken_numeric_target(frame, "y", "t.csv")
    assert "2 of its 42 values are not: 'oops' (data rows 41, 42)" in str(caught.value)
