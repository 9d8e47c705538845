"""Property: any small messy CSV either trains (exit 0, one complete bundle) or fails with one
line (exit 2; exit 1 for a failing pre-training check) — never a traceback, never a partial
bundle left in the output directory. `check --json` on the same file always prints JSON; a
bundle that trained also predicts its own file, or refuses it with one line.

The files mix ints, floats, text, missing-value tokens, ``inf``/``1e400``, empty cells,
constant and empty columns, repeated header names, and a target that is numeric, labels,
numbers with typos or empty.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.cli_helpers import runner

from trainwell.cli import app

EXAMPLES = int(os.environ.get("TRAINWELL_MESSY_EXAMPLES", "25"))
# knobs for a longer exploration, e.g. TRAINWELL_MESSY_EXAMPLES=500
# TRAINWELL_MESSY_ARCHITECTURE=lightgbm TRAINWELL_MESSY_ARGS="task.kind=tabular-regression"
ARCHITECTURE = os.environ.get("TRAINWELL_MESSY_ARCHITECTURE", "sklearn-linear")
EXTRA_ARGS = os.environ.get("TRAINWELL_MESSY_ARGS", "").split()
TOKENS = ("", "n/a", "?", "-", "--", "NA", "null", "None", "missing", ".", " N/A ")
CATEGORIES = ("red", "green", "blue", "-")
NON_FINITE = ("inf", "-inf", "1e400", "-Infinity")
# usable kinds repeated, so that about half the files train
COLUMN_KINDS = (
    *("int", "float", "text", "numeric_tokens", "mixed", "bool") * 4,
    *("non_finite", "constant", "empty"),
)
TARGET_KINDS = (
    *("labels", "binary", "regression", "tokens", "mostly_labels") * 3,
    *("typos", "single", "empty"),
)
ALLOWED_EXITS = {0, 1, 2}


def cell(kind: str, draw: st.DrawFn) -> str:
    """One value of a column of ``kind``."""
    number = draw(st.integers(-50, 50))
    if kind == "int":
        return str(number)
    if kind == "float":
        return draw(st.sampled_from((f"{number / 7:.3f}", "", f"{number}e-2")))
    if kind == "text":
        return draw(st.sampled_from(CATEGORIES))
    if kind == "numeric_tokens":
        return draw(st.sampled_from((str(number), str(number), f"{number}.5", *TOKENS)))
    if kind == "mixed":
        return draw(st.sampled_from((str(number), str(number), "1,234", "12kg", "")))
    if kind == "non_finite":
        return draw(st.sampled_from((str(number), str(number), *NON_FINITE)))
    if kind == "constant":
        return "7"
    if kind == "empty":
        return ""
    return draw(st.sampled_from(("True", "False")))


def target_cell(kind: str, draw: st.DrawFn) -> str:
    """One target value of a target of ``kind``."""
    number = draw(st.integers(0, 30))
    if kind == "labels":
        return draw(st.sampled_from(("yes", "no")))
    if kind == "binary":
        return str(number % 2)
    if kind == "regression":
        return f"{number * 1.37:.2f}"
    if kind == "typos":
        return draw(st.sampled_from((f"{number * 1.1:.2f}",) * 12 + ("oops", "1,5")))
    if kind == "tokens":
        return draw(st.sampled_from((str(number % 3),) * 4 + ("?", "n/a", "")))
    if kind == "single":
        return "1"
    if kind == "empty":
        return ""
    return draw(st.sampled_from(("yes", "no", "3")))


@st.composite
def messy_csv(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """(header, rows): 0-4 feature columns then the target ``y``, 1-40 rows."""
    n_features = draw(st.sampled_from((1, 2, 3, 4) * 3 + (0,)))
    # now and then a column repeats an earlier column's name
    names = [f"x{draw(st.sampled_from((i,) * 9 + (0,)))}" if i else "x0" for i in range(n_features)]
    kinds = [draw(st.sampled_from(COLUMN_KINDS)) for _ in range(n_features)]
    target_kind = draw(st.sampled_from(TARGET_KINDS))
    # mostly enough rows to split; now and then too few
    few = draw(st.sampled_from((False,) * 5 + (True,)))
    n_rows = draw(st.integers(1, 15) if few else st.integers(16, 40))
    rows = [
        [cell(kind, draw) for kind in kinds] + [target_cell(target_kind, draw)]
        for _ in range(n_rows)
    ]
    return [*names, "y"], rows


def _one_clear_line(code: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stdout + stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, (code, stderr)
    if code == 1:
        assert errors[0].startswith("error: pre-training check "), errors


def _assert_outcome(models: Path, code: int, exception: BaseException | None) -> Path | None:
    """The one complete bundle after a success; nothing at all (no staging) after a failure."""
    assert exception is None or isinstance(exception, SystemExit), repr(exception)
    assert code in ALLOWED_EXITS
    left = sorted(p.name for p in models.iterdir()) if models.exists() else []
    if code != 0:
        assert left == [], f"partial bundle left behind: {left}"
        return None
    assert len(left) == 1, left
    bundle = models / left[0]
    assert (bundle / "manifest.json").is_file()
    return bundle


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(table=messy_csv())
def test_any_messy_csv_trains_or_fails_with_one_line(
    table: tuple[list[str], list[list[str]]],
) -> None:
    header, rows = table
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        data, models = root / "data.csv", root / "models"
        with data.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        args = [
            f"data.path={data}",
            "data.target=y",
            f"model.architecture={ARCHITECTURE}",
            "tracking.enabled=false",
            f"output.dir={models}",
            f"output.runs_dir={root / 'runs'}",
            *EXTRA_ARGS,
        ]
        result = runner.invoke(app, ["train", *args])
        bundle = _assert_outcome(models, result.exit_code, result.exception)
        checked = runner.invoke(app, ["check", "--json", *args])
        assert checked.exception is None or isinstance(checked.exception, SystemExit), repr(
            checked.exception
        )
        assert checked.exit_code in ALLOWED_EXITS
        assert "checks" in json.loads(checked.stdout), checked.stdout
        event(f"train exit {result.exit_code}")  # --hypothesis-show-statistics shows the mix
        if bundle is None:
            last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "-"
            event(last.replace(str(data), "data.csv")[:60])
            _one_clear_line(result.exit_code, result.stdout, result.stderr)
            return
        predicted = runner.invoke(
            app, ["predict", str(bundle), "-i", str(data), "-o", str(root / "p.csv")]
        )
        assert predicted.exception is None or isinstance(predicted.exception, SystemExit), repr(
            predicted.exception
        )
        assert predicted.exit_code in {0, 2}, predicted.output
        if predicted.exit_code:
            _one_clear_line(predicted.exit_code, predicted.stdout, predicted.stderr)
            assert not (root / "p.csv").exists()
