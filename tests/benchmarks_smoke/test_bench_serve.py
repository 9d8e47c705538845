"""benchmarks/bench_serve.py runs end to end in its --quick --skip-mlflow configuration.

The smoke run checks that the benchmark works (both bundles train and export, every server starts
on a port it picks, wrk and the open-loop generator load it, the JSON holds what the docstring
promises and every server it started is gone), not the figures: one-second runs on a shared CI
machine say nothing about them. No target is asserted.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path("benchmarks") / "bench_serve.py"
ALWAYS = ("trainwell-full", "trainwell-plain", "bare")
TARGETS = 8  # 2 x mlflow (c=1, c=8), 2 x bare (c=1, c=8), p99 c=1, c=8, RSS, ready


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("wrk") is None, reason="wrk is not installed (apt-get install wrk)"
)
def test_quick_run_writes_the_table_and_json(repo_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(repo_root / SCRIPT), "--quick", "--skip-mlflow", "--skip-litserve",
         "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "trainwell/bare c=1:" in done.stdout
    assert "drift (trainwell-full): " in done.stdout

    report = json.loads(out.read_text(encoding="utf-8"))
    config = report["config"]
    assert config["quick"] is True
    assert config["repeats"] == 1 and config["duration_s"] == 1
    assert isinstance(config["drift"]["before"]["enabled"], bool)
    assert config["mlflow_flavor"].startswith("mlflow.onnx")
    assert report["answers"]["same_graph_agree"] is True
    assert set(report["medians"]) == set(ALWAYS)  # mlflow and litserve skipped
    for name in ALWAYS:
        assert math.isfinite(report["servers"][name]["ready_s"])
        for c in ("1", "8"):
            runs = report["runs"][name][c]
            assert len(runs) == 1
            median = report["medians"][name][c]
            assert median["rps"] > 0
            assert 0 < median["p50_ms"] <= median["p99_ms"]
            assert median["cpu_us_per_req"] >= 0
            assert median["non2xx"] >= 0

    ratios = report["ratios"]
    assert ratios["trainwell/mlflow c=1"] is None and ratios["trainwell/mlflow c=8"] is None
    for c in (1, 8):
        assert ratios[f"trainwell/bare c={c}"] == pytest.approx(
            report["medians"]["trainwell-full"][str(c)]["rps"]
            / report["medians"]["bare"][str(c)]["rps"]
        )

    assert [r["server"] for r in report["open_loop"]] == [
        "trainwell-full",
        "bare",
        "trainwell-full",
    ]
    for loop in report["open_loop"]:
        assert loop["scheduled"] > 0 and loop["answered"] > 0

    for name in ALWAYS:
        memory = report["memory"][name]
        assert 0 < memory["vmrss_mb"] <= memory["vmhwm_mb"]
    for name in ("trainwell-full", "trainwell-plain"):
        assert len(report["ready"][name]["starts"]) == 1
        assert report["ready"][name]["ready_s"] > 0

    targets = report["targets"]
    assert len(targets) == TARGETS
    assert all(t["passed"] in {True, False, None} for t in targets)
    assert [t["passed"] for t in targets[:2]] == [None, None]  # no mlflow, no verdict
    verdicts = [x for x in done.stdout.splitlines() if x.startswith(("PASS ", "FAIL ", "SKIP "))]
    assert len(verdicts) == TARGETS

    # every server ran under the run's work directory, and none is left
    workdir = config["workdir"]
    assert not Path(workdir).exists()
    left = subprocess.run(
        ["pgrep", "-f", workdir], capture_output=True, text=True, check=False
    ).stdout.split()
    assert not left, f"server processes left running: {left}"
