"""benchmarks/bench_export.py runs end to end in its --smoke configuration.

The smoke run checks that the benchmark works (each kind trains, exports with parity and is
timed on both runtimes; the JSON holds what the docstring promises), not the ratios: a few
short windows on a shared CI machine say nothing about them.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path("benchmarks") / "bench_export.py"


@pytest.mark.slow
def test_smoke_run_writes_the_table_and_json(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(repo_root / SCRIPT), "--smoke", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "onnx/native" in done.stdout
    assert "time_call adds" in done.stdout

    report = json.loads(out.read_text(encoding="utf-8"))
    rows = report["rows"]
    assert [r["kind"] for r in rows] == ["sklearn-linear", "sklearn-rf"]
    for row in rows:
        assert row["parity"].startswith("passed on ")
        assert row["native_p50_us"] > 0 and row["onnx_p50_us"] > 0
        assert row["onnx_over_native"] == pytest.approx(row["onnx_p50_us"] / row["native_p50_us"])
        assert row["target"] == 0.1
        assert 0 < row["export_s"] < 60
        assert math.isfinite(row["native_overhead"]) and math.isfinite(row["onnx_overhead"])
    assert math.isfinite(report["harness_cost_ns"])
