"""benchmarks/measure_check_quality.py runs end to end in its --smoke configuration.

Two real datasets (iris, diabetes), one split each, every planted fault: the table and the
JSON hold what the docstring promises, and the faults these two datasets can show are found.
The corpus-wide numbers (13 datasets, 3 splits) are in docs/checks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path("benchmarks") / "measure_check_quality.py"


@pytest.mark.slow
def test_smoke_run_scores_every_check(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "quality.json"
    done = subprocess.run(
        [sys.executable, str(repo_root / SCRIPT), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "TP   FP   FN   prec recall clean" in done.stdout
    assert "clean cases with a warning or failure" in done.stdout

    report = json.loads(out.read_text(encoding="utf-8"))
    checks = report["checks"]
    assert "leakage.target_combination" in checks
    assert "sanity.index_column" in checks
    # parts of a total: diabetes only (iris has labels); the to_csv index: both, twice each
    assert (
        checks["leakage.target_combination"]["tp"],
        checks["leakage.target_combination"]["fn"],
    ) == (1, 0)
    assert checks["sanity.index_column"]["recall"] == 1.0
    assert checks["leakage.target_proxy"]["tp"] >= 3  # both copies, diabetes' 98% field
    assert report["planted_cases"] == 23  # 12 fault kinds x 2 datasets, less iris' total
    assert report["planted_detected"] >= 19
    assert report["clean_cases"] == 6
    outcomes = {(o["dataset"], o["fault"]): o["fired"] for o in report["outcomes"]}
    assert outcomes[("diabetes", "clean")] == []
    assert outcomes[("iris", "clean_grouped_twins")] == []  # twins in disjoint groups
