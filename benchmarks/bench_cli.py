"""CLI speed: `trainwell --help`, a config error, small-file train and predict, `make run`.

    .venv/bin/python benchmarks/bench_cli.py [--repeats 7]

Prints median wall times measured side by side in one run, with `python -c pass` as the
interpreter's floor, so the ratios say how much trainwell itself adds. Targets: `--help`
<= 0.3 s (issue 2); the default experiment end to end < 60 s once installed; on a 500-row
table (scikit-learn's breast cancer data, written as CSV) `train` with a fixed scikit-learn
model <= 5 s plus the model's own fit time, and `predict` of that bundle <= 1.5 s end to end
without importing torch (issue 15). The fit time is measured in this process on the same
rows, so "train overhead" is trainwell's fixed cost alone.
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
SMALL_TRAIN_OVERHEAD_TARGET_S = 5.0
SMALL_PREDICT_TARGET_S = 1.5
SMALL_ROWS = 500
# what `predict` runs under, to report whether it imported torch
TORCH_PROBE = (
    "import runpy, sys\n"
    "sys.argv = ['trainwell', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('trainwell.cli', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "print('TORCH_IMPORTED=' + str('torch' in sys.modules), file=sys.stderr)\n"
)
TRAINWELL = str(Path(sys.executable).with_name("trainwell"))


def timed(cmd: list[str], cwd: str, repeats: int) -> float:
    """Median wall time of ``cmd`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def small_table(directory: Path) -> tuple[Path, Path, float]:
    """The 500-row CSV, the same rows without the target, and the fit time of the model."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = load_breast_cancer(as_frame=True).frame.iloc[:SMALL_ROWS]
    data, inputs = directory / "small.csv", directory / "small_inputs.csv"
    frame.to_csv(data, index=False)
    frame.drop(columns=["target"]).to_csv(inputs, index=False)
    X, y = frame.drop(columns=["target"]).to_numpy(), frame["target"].to_numpy()
    start = time.perf_counter()
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    return data, inputs, time.perf_counter() - start


def torch_imported(cmd: list[str], cwd: str) -> bool:
    """Whether the CLI command imported torch."""
    done = subprocess.run(
        [sys.executable, "-c", TORCH_PROBE, *cmd],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return "TORCH_IMPORTED=True" in done.stderr


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
    data, inputs, fit_s = small_table(Path(env_cwd))
    small_train = [
        TRAINWELL,
        "train",
        f"data.path={data}",
        "data.target=target",
        "model.architecture=sklearn-linear",
        "tracking.enabled=false",
        "output.dir=small-models",
    ]
    train_s = timed(small_train, env_cwd, max(1, args.repeats // 2))
    bundle = sorted((Path(env_cwd) / "small-models").iterdir())[-1]
    small_predict = ["predict", str(bundle), "--input", str(inputs), "--output", "p.csv"]
    predict_s = timed([TRAINWELL, *small_predict], env_cwd, args.repeats)
    predict_torch = torch_imported(small_predict, env_cwd)
    run_s = timed([TRAINWELL, "train"], env_cwd, 1)
    rows = [
        ("python -c pass (floor)", floor, None),
        ("trainwell --help", help_s, HELP_TARGET_S),
        ("trainwell train training.sed=1 (config error)", error_s, HELP_TARGET_S),
        (f"train {SMALL_ROWS}-row CSV, sklearn-linear", train_s, None),
        (
            f"  of which trainwell (minus {fit_s:.3f} s fit)",
            train_s - fit_s,
            SMALL_TRAIN_OVERHEAD_TARGET_S,
        ),
        (
            f"predict {SMALL_ROWS} rows (torch imported: {predict_torch})",
            predict_s,
            SMALL_PREDICT_TARGET_S,
        ),
        ("trainwell train (default experiment, fresh dir)", run_s, RUN_TARGET_S),
    ]
    print(f"{'command':52s} {'median s':>9s} {'x floor':>8s} {'target':>8s}")
    for name, seconds, target in rows:
        verdict = "" if target is None else ("ok" if seconds <= target else "MISSED")
        print(f"{name:52s} {seconds:9.3f} {seconds / floor:8.1f} {verdict:>8s}")


if __name__ == "__main__":
    main()
