"""benchmarks/bench_wide.py runs end to end at a tiny size (20 rows x 200 columns).

The smoke run checks that the benchmark works (every stage runs and is measured, `trainwell
train` and `predict` succeed on the generated file, the JSON holds what the docstring promises),
not the timings: a 20x200 table on a shared CI machine says nothing about wide-table speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path("benchmarks") / "bench_wide.py"
STAGES = [
    "load",
    "profile",
    "split",
    "schema (build_schema)",
    "preprocessing fit",
    "transform train/valid/test",
    "data checks",
    "preprocessing parity check",
    "fit (sklearn-linear)",
    "drift reference",
    "predict (validate+transform+model)",
    "trainwell train (CLI)",
    "trainwell predict (CLI)",
]


@pytest.mark.slow
def test_smoke_run_measures_every_stage(repo_root: Path, tmp_path: Path) -> None:
    from trainwell.evaluation.checks.data_checks import DATA_CHECKS

    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(repo_root / SCRIPT), "--sizes", "20x200", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "trainwell train at 20x200:" in done.stdout
    assert "slowest data checks at 20x200:" in done.stdout

    report = json.loads(out.read_text(encoding="utf-8"))
    assert list(report) == ["20x200"]
    stages = report["20x200"]["stages"]
    assert [s["name"] for s in stages] == STAGES
    for stage in stages:
        assert stage["seconds"] > 0, stage
        assert stage["cpu_seconds"] >= 0, stage
        assert stage["peak_mib"] > 0, stage
    checks = report["20x200"]["checks"]
    assert [c["name"] for c in checks] == [c.__name__ for c in DATA_CHECKS]
