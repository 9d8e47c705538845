"""CLI speed: `trainwell --help`, a config error, and the default `make run` experiment.

    .venv/bin/python benchmarks/bench_cli.py [--repeats 7]

Prints median wall times measured side by side in one run, with `python -c pass` as the
interpreter's floor, so the ratios say how much trainwell itself adds. Targets (issue 2):
`--help` <= 0.3 s; the default experiment end to end < 60 s once installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELP_TARGET_S = 0.3
RUN_TARGET_S = 60.0
TRAINWELL = str(Path(sys.executable).with_name("trainwell"))


def timed(cmd: list[str], cwd: str, repeats: int) -> float:
    """Median wall time of ``cmd`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    env_cwd = tempfile.mkdtemp(prefix="trainwell-bench-")
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    floor = timed([sys.executable, "-c", "pass"], env_cwd, args.repeats)
    help_s = timed([TRAINWELL, "--help"], env_cwd, args.repeats)
    error_s = timed([TRAINWELL, "train", "training.sed=1"], env_cwd, args.repeats)
    run_s = timed([TRAINWELL, "train"], env_cwd, 1)
    rows = [
        ("python -c pass (floor)", floor, None),
        ("trainwell --help", help_s, HELP_TARGET_S),
        ("trainwell train training.sed=1 (config error)", error_s, HELP_TARGET_S),
        ("trainwell train (default experiment, fresh dir)", run_s, RUN_TARGET_S),
    ]
    print(f"{'command':52s} {'median s':>9s} {'x floor':>8s} {'target':>8s}")
    for name, seconds, target in rows:
        verdict = "" if target is None else ("ok" if seconds <= target else "MISSED")
        print(f"{name:52s} {seconds:9.3f} {seconds / floor:8.1f} {verdict:>8s}")


if __name__ == "__main__":
    main()
