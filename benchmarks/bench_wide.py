"""Wide tables (few rows, thousands of numeric columns): time and peak memory per stage.

    .venv/bin/python benchmarks/bench_wide.py [--sizes 100x5000,1000x20000] [--categorical 5]
        [--architecture sklearn-linear] [--skip-cli] [--json out.json]

For each size it writes a seeded gene-expression-like CSV (``rows`` x ``columns`` float columns
with 4 decimals, ``--categorical`` string columns, a binary target ``y``), then runs every
stage of `train` and `predict` through trainwell's own functions, in order: load
(``load_table``) -> profile -> split -> schema (``build_schema``) -> preprocessing fit ->
transform of the three splits -> data checks -> preprocessing parity check -> fit -> drift
reference (``drift_columns`` + ``build_reference``) -> predict (``TableInputs.from_frame`` +
the model). Last, `trainwell train` and `trainwell predict` on the same file in subprocesses
(fresh interpreters: imports included). A tiny table goes through the same stages first,
unmeasured, so the stages time work rather than first imports. Printed: wall and CPU seconds
and peak RSS per stage, sizes side by side, the slowest data checks below. Target (issue 15): a
wide table trains in well under a minute.

CPU seconds (``time.process_time``, all threads; for the subprocesses their rusage) are the
steadier number on a shared machine.

Peak memory is the process's peak resident set during the stage (Linux: ``/proc/self/status``
VmHWM, reset before each stage through ``/proc/self/clear_refs``); ``+MiB`` is that peak over
the resident set when the stage started. Elsewhere the peak is ``ru_maxrss`` (never reset).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

DEFAULT_SIZES = "100x5000,1000x20000"
TARGET = "y"
TRAIN_TARGET_S = 60.0
WARM_UP_ROWS = 40
WARM_UP_COLUMNS = 10
SLOWEST_CHECKS_SHOWN = 4
CATEGORY_LEVELS = ("a", "b", "c", "d")
TRAINWELL = str(Path(sys.executable).with_name("trainwell"))
STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
RESET_PEAK = "5"  # clear_refs: reset the peak resident set size (Linux >= 4.0)
KIB = 1024

T = TypeVar("T")


@dataclass
class Stage:
    """One measured stage of one size."""

    name: str
    seconds: float
    cpu_seconds: float
    peak_mib: float
    added_mib: float


def _status_kib(field: str) -> int | None:
    try:
        found = re.search(rf"^{field}:\s+(\d+) kB", STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) if found else None


def _reset_peak() -> bool:
    try:
        CLEAR_REFS.write_text(RESET_PEAK)
    except OSError:
        return False
    return True


def measure(stages: list[Stage], name: str, work: Callable[[], T]) -> T:
    """Run ``work`` once, append its wall time and peak memory to ``stages``."""
    reset = _reset_peak()
    start_kib = _status_kib("VmRSS") or 0
    start, start_cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak_kib = _status_kib("VmHWM") if reset else None
    if peak_kib is None:
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stages.append(Stage(name, seconds, cpu, peak_kib / KIB, max(peak_kib - start_kib, 0) / KIB))
    return result


def write_table(path: Path, rows: int, columns: int, categorical: int, seed: int) -> None:
    """A seeded wide CSV: float columns g0.. (4 decimals), string columns c0.., target y."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, columns)).round(4)
    frame = pd.DataFrame(values, columns=[f"g{i}" for i in range(columns)])
    extra = {f"c{i}": rng.choice(CATEGORY_LEVELS, size=rows) for i in range(categorical)}
    signal = values[:, : min(columns, 10)].sum(axis=1) + rng.normal(size=rows)
    extra[TARGET] = (signal > 0).astype(int)
    pd.concat([frame, pd.DataFrame(extra)], axis=1).to_csv(path, index=False)


def run_stages(path: Path, architecture: str, seed: int) -> tuple[list[Stage], list[Stage]]:
    """Every stage in process; returns (stages, data checks one by one)."""
    from trainwell.config.loader import load_experiment
    from trainwell.data.loading import load_table
    from trainwell.data.preprocessing import build_preprocessor, build_schema, prepare_frame
    from trainwell.data.preprocessing import transform as transform_frame
    from trainwell.data.profile import profile_frame
    from trainwell.data.splitting import split_frame
    from trainwell.data.table import TableInputs, drift_columns
    from trainwell.evaluation.checks.data_checks import DATA_CHECKS, DataCheckInput
    from trainwell.evaluation.checks.run_checks import check_preprocessing_parity
    from trainwell.inference.drift import build_reference
    from trainwell.models.registry import get_spec
    from trainwell.tasks import get_task
    from trainwell.training import fit

    config = load_experiment(
        [f"data.path={path}", f"data.target={TARGET}", f"model.architecture={architecture}"]
    )
    spec = get_spec(architecture)
    stages: list[Stage] = []
    frame = measure(stages, "load", lambda: load_table(str(path)))
    profile = measure(stages, "profile", lambda: profile_frame(frame, TARGET))
    objective = get_task(profile.inferred_task or "tabular-classification").objective
    splits = measure(
        stages,
        "split",
        lambda: split_frame(frame, valid_size=0.15, test_size=0.15, seed=seed, stratify_on=TARGET),
    )
    parts = {"train": splits.train, "valid": splits.valid, "test": splits.test}
    schema = measure(stages, "schema (build_schema)", lambda: build_schema(splits.train, TARGET))
    targets = objective.targets(parts, TARGET)
    schema = schema.model_copy(update={"classes": targets.classes})
    preprocessor = build_preprocessor(schema, spec.encoding, spec.scale)
    measure(
        stages,
        "preprocessing fit",
        lambda: preprocessor.fit(prepare_frame(splits.train, schema)),
    )
    X = measure(
        stages,
        "transform train/valid/test",
        lambda: {n: transform_frame(preprocessor, p, schema) for n, p in parts.items()},
    )
    data = DataCheckInput(
        train=splits.train,
        valid=splits.valid,
        test=splits.test,
        target=TARGET,
        labels=objective.labels,
        feature_columns=tuple(schema.feature_names),
        categorical_columns=tuple(c.name for c in schema.columns if c.kind == "categorical"),
        group_column=None,
        time_column=None,
        thresholds=config.checks,
        seed=seed,
    )
    checks: list[Stage] = []
    measure(
        stages,
        "data checks",
        lambda: [measure(checks, c.__name__, lambda c=c: c(data)) for c in DATA_CHECKS],
    )
    measure(
        stages,
        "preprocessing parity check",
        lambda: check_preprocessing_parity(preprocessor, schema, splits.train, X["train"]),
    )
    model = measure(
        stages,
        f"fit ({architecture})",
        lambda: fit.fit_model(
            spec, fit.build_model(spec, objective, config), objective, X, targets.y
        ),
    )
    measure(
        stages,
        "drift reference",
        lambda: build_reference(schema, drift_columns(splits.train, schema)),
    )
    inputs = TableInputs(schema=schema, preprocessor=preprocessor)
    measure(
        stages,
        "predict (validate+transform+model)",
        lambda: objective.outputs(
            model, inputs.from_frame(splits.test, strict=False), targets.classes
        ),
    )
    return stages, checks


def timed_process(name: str, command: list[str], cwd: Path) -> Stage:
    """Run ``command`` to completion: wall and CPU seconds, peak RSS (GNU time, when present)."""
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    gnu_time = Path("/usr/bin/time")
    wrapped = [str(gnu_time), "-f", "maxrss_kib=%M", *command] if gnu_time.exists() else command
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(wrapped, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    found = re.search(r"maxrss_kib=(\d+)", done.stderr)
    # without GNU time: the largest child this process has waited for (this one, or larger)
    peak = (int(found.group(1)) if found else after.ru_maxrss) / KIB
    return Stage(name, seconds, cpu, peak, peak)


def run_cli(path: Path, architecture: str, workdir: Path) -> list[Stage]:
    """`trainwell train` then `trainwell predict` on ``path``, each a fresh process."""
    output = workdir / "models"
    train = [
        TRAINWELL,
        "train",
        f"data.path={path}",
        f"data.target={TARGET}",
        "tracking.enabled=false",
        f"output.dir={output}",
        f"model.architecture={architecture}",
    ]
    stages = [timed_process("trainwell train (CLI)", train, workdir)]
    bundle = next(output.iterdir())
    predict = [TRAINWELL, "predict", str(bundle), "-i", str(path), "-o", "predictions.csv"]
    stages.append(timed_process("trainwell predict (CLI)", predict, workdir))
    return stages


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``100x5000,1000x20000`` -> [(100, 5000), (1000, 20000)]."""
    sizes = []
    for part in text.split(","):
        rows, _, columns = part.strip().lower().partition("x")
        sizes.append((int(rows), int(columns)))
    return sizes


def print_table(results: dict[str, dict[str, list[Stage]]]) -> None:
    """Stages down, sizes across: seconds, peak RSS and its rise over the stage's start."""
    labels = list(results)
    names: list[str] = []
    for result in results.values():
        names += [s.name for s in result["stages"] if s.name not in names]
    header = f"{'stage':38s}" + "".join(f" | {label:>35s}" for label in labels)
    print(header)
    units = " | {:>8s} {:>8s} {:>8s} {:>8s}".format("wall s", "cpu s", "peak MiB", "+MiB")
    print(f"{'':38s}" + units * len(labels))
    print("-" * len(header))
    for name in names:
        cells = []
        for result in results.values():
            stage = next((s for s in result["stages"] if s.name == name), None)
            cells.append(
                f" | {stage.seconds:8.2f} {stage.cpu_seconds:8.2f} "
                f"{stage.peak_mib:8.0f} {stage.added_mib:8.0f}"
                if stage
                else f" | {'':>35s}"
            )
        print(f"{name:38s}" + "".join(cells))
    for label, result in results.items():
        slowest = sorted(result["checks"], key=lambda s: -s.cpu_seconds)[:SLOWEST_CHECKS_SHOWN]
        shown = ", ".join(f"{s.name} {s.cpu_seconds:.2f} cpu s" for s in slowest)
        print(f"slowest data checks at {label}: {shown}")
        cli = next((s for s in result["stages"] if s.name == "trainwell train (CLI)"), None)
        if cli is not None:
            verdict = "ok" if cli.seconds <= TRAIN_TARGET_S else "MISSED"
            target = f"target < {TRAIN_TARGET_S:.0f} s: {verdict}"
            print(f"trainwell train at {label}: {cli.seconds:.1f} s wall ({target})")


def main() -> None:
    """Generate, measure, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="ROWSxCOLUMNS, comma-separated")
    parser.add_argument("--categorical", type=int, default=5, help="string columns added")
    parser.add_argument("--architecture", default="sklearn-linear")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-cli", action="store_true", help="no `trainwell` subprocesses")
    parser.add_argument("--json", type=Path, default=None, help="write the measurements here")
    args = parser.parse_args()
    results: dict[str, dict[str, list[Stage]]] = {}
    with tempfile.TemporaryDirectory(prefix="trainwell-wide-") as tmp:
        # a tiny table first, unmeasured: the stages below time work, not first imports
        warm_up = Path(tmp) / "warm-up.csv"
        write_table(warm_up, WARM_UP_ROWS, WARM_UP_COLUMNS, args.categorical, args.seed)
        run_stages(warm_up, args.architecture, args.seed)
    for rows, columns in parse_sizes(args.sizes):
        label = f"{rows:,}x{columns:,}"
        with tempfile.TemporaryDirectory(prefix="trainwell-wide-") as tmp:
            workdir = Path(tmp)
            path = workdir / f"wide-{rows}x{columns}.csv"
            write_table(path, rows, columns, args.categorical, args.seed)
            print(f"{label}: {path.stat().st_size / 2**20:.1f} MiB CSV", file=sys.stderr)
            stages, checks = run_stages(path, args.architecture, args.seed)
            if not args.skip_cli:
                stages += run_cli(path, args.architecture, workdir)
        results[label] = {"stages": stages, "checks": checks}
    print_table(results)
    if args.json is not None:
        report: dict[str, Any] = {
            label: {k: [asdict(s) for s in v] for k, v in result.items()}
            for label, result in results.items()
        }
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
