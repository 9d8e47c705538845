"""Precision and recall per rule of `trainwell lint` on a labelled corpus (tests/lint/corpus).

Run: .venv/bin/python benchmarks/measure_lint_quality.py [--corpus PATH] [--details]
(`--corpus tests/lint/holdout` scores the held-out corpus written without reading the rules.)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from trainwell.lint.quality import RuleScore, evaluate_corpus, format_scores

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "lint" / "corpus"


def report(scores: dict[str, RuleScore], files: int, details: bool) -> None:
    """Print the table (and every false positive and false negative with ``details``)."""
    labelled = sum(item.support for item in scores.values())
    print(f"corpus: {files} files, {labelled} labelled findings")
    print(format_scores(scores))
    if details:
        for code, item in scores.items():
            for name, line, _ in item.false_positives:
                print(f"FP {code} {name}:{line}")
            for name, line, _ in item.false_negatives:
                print(f"FN {code} {name}:{line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--corpus",
        type=Path,
        default=CORPUS,
        help="folder of labelled *.py.txt files (default: tests/lint/corpus)",
    )
    parser.add_argument("--details", action="store_true", help="list every FP and FN")
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        parser.error(f"corpus folder not found: {args.corpus}")
    with tempfile.TemporaryDirectory() as tmp:
        scores = evaluate_corpus(corpus, Path(tmp) / "corpus")
    report(scores, len(list(corpus.glob("*.py.txt"))), args.details)


if __name__ == "__main__":
    main()
