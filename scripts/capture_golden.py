"""Write the golden artefacts that ``tests/test_golden.py`` compares against.

    .venv/bin/python scripts/capture_golden.py tests/golden                  # installed trainwell
    .venv/bin/python scripts/capture_golden.py tests/golden --pythonpath /tmp/head/src  # another
    .venv/bin/python scripts/capture_golden.py /tmp/check --case mlp --case default

The cases, the trainwell invocation and the normalisation live in ``tests/test_golden.py``
(``CASES``, ``produce``), so the goldens and the test cannot drift apart. Each case is trained
``--repeat`` times (default 2) in fresh temporary directories; a case is written only when every
run produced identical artefacts, otherwise its diff is printed and the exit code is 1.
``input.csv`` (the rows `predict` gets) is taken from scikit-learn's own copy of the case's
dataset, not through trainwell, so the code under test cannot change it.

Regenerate only for a change of behaviour that is meant, and review the diff.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parents[1] / "tests" / "test_golden.py"
SKLEARN_PREFIX = "sklearn:"
TARGET = "target"
ROW_STEP = 7  # every 7th row: input.csv spans the dataset instead of its first block


def golden_module() -> ModuleType:
    """``tests/test_golden.py`` imported by path (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("test_golden", TESTS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_input_csv(source: str, path: Path, rows: int) -> None:
    """``rows`` feature rows of a bundled dataset (as ``sklearn:<name>`` loads it), no target."""
    from sklearn import datasets

    name = source.removeprefix(SKLEARN_PREFIX)
    frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.drop(columns=[TARGET])
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.iloc[::ROW_STEP].head(rows).to_csv(path, index=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory for one folder per case")
    parser.add_argument("--pythonpath", default=None, help="PYTHONPATH for the trainwell runs")
    parser.add_argument("--case", action="append", help="only these cases (repeatable)")
    parser.add_argument("--repeat", type=int, default=2, help="runs that must agree (>= 1)")
    options = parser.parse_args()
    golden = golden_module()
    cases = options.case or list(golden.CASES)
    unknown = sorted(set(cases) - set(golden.CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)} (known: {', '.join(golden.CASES)})")
    unstable: list[str] = []
    with tempfile.TemporaryDirectory(prefix="trainwell-golden-") as tmp:
        for case in cases:
            source, _ = golden.CASES[case]
            input_csv = Path(tmp) / case / golden.INPUT_FILE
            write_input_csv(source, input_csv, golden.INPUT_ROWS)
            runs = [
                golden.produce(case, Path(tmp) / case / f"run-{i}", input_csv, options.pythonpath)
                for i in range(max(1, options.repeat))
            ]
            diffs = [d for run in runs[1:] for d in golden.differences(case, runs[0], run)]
            if diffs:
                unstable.append(case)
                sys.stdout.write(f"{case}: runs disagree, not written\n" + "\n".join(diffs))
                continue
            target = options.out / case
            target.mkdir(parents=True, exist_ok=True)
            (target / golden.INPUT_FILE).write_bytes(input_csv.read_bytes())
            for name, text in runs[0].items():
                (target / name).write_text(text, encoding="utf-8")
            sys.stdout.write(f"{case}: {len(runs)} identical run(s), {len(runs[0]) + 1} files\n")
    if unstable:
        sys.stdout.write(f"not reproducible: {', '.join(unstable)}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
