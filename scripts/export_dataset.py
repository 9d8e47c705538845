"""Write a dataset that scikit-learn ships to a CSV or Parquet file, to try trainwell on a file.

python scripts/export_dataset.py breast_cancer data/raw/breast_cancer.csv
trainwell train data.path=data/raw/breast_cancer.csv data.target=target
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trainwell.data.loading import BUNDLED_DATASETS, SKLEARN_PREFIX, load_table


def main() -> None:
    """Parse arguments and write the file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=BUNDLED_DATASETS)
    parser.add_argument("output", type=Path, help="a .csv or .parquet path")
    args = parser.parse_args()
    frame = load_table(f"{SKLEARN_PREFIX}{args.name}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.output.suffix == ".parquet":
        frame.to_parquet(args.output, index=False)
    else:
        frame.to_csv(args.output, index=False)


if __name__ == "__main__":
    main()
