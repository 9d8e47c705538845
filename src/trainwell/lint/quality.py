"""Precision and recall of the linter on a labelled corpus.

A label is a comment on the line where a finding must be: ``# expect: TW108`` (several codes
separated by commas). Every finding on a line without its label is a false positive; every
label without its finding is a false negative. Scores are per rule.

The corpus files are stored with a ``.py.txt`` suffix (so test runners and the repository's own
ruff leave them alone) and are linted as ``.py`` copies.
"""

from __future__ import annotations

import io
import shutil
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from trainwell.lint.engine import Linter
from trainwell.lint.findings import Finding
from trainwell.lint.settings import LintSettings

EXPECT = "expect:"
CORPUS_SUFFIX = ".py.txt"

Label = tuple[str, int, str]  # (file name, line, code)


def expected_labels(source: str) -> set[tuple[int, str]]:
    """``(line, code)`` for every ``# expect: CODE[, CODE]`` comment in a source."""
    labels: set[tuple[int, str]] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        text = token.string.lstrip("#").strip()
        start = text.find(EXPECT)
        if start < 0:
            continue
        for code in text[start + len(EXPECT) :].replace(",", " ").split():
            labels.add((token.start[0], code.strip().upper()))
    return labels


@dataclass
class RuleScore:
    """True positives, false positives and false negatives of one rule."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[Label] = field(default_factory=list)
    false_negatives: list[Label] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when the rule never fired."""
        fired = self.tp + self.fp
        return self.tp / fired if fired else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        expected = self.tp + self.fn
        return self.tp / expected if expected else 1.0

    @property
    def support(self) -> int:
        """How many findings the labels expect."""
        return self.tp + self.fn


def score(
    findings: Iterable[Finding], labels: Mapping[str, set[tuple[int, str]]]
) -> dict[str, RuleScore]:
    """Per-rule scores of ``findings`` against ``labels`` (file name -> (line, code))."""
    found: set[Label] = {(Path(f.path).name, f.line, f.code) for f in findings}
    expected: set[Label] = {
        (name, line, code) for name, items in labels.items() for line, code in items
    }
    scores: dict[str, RuleScore] = {}
    for item in sorted(found | expected):
        rule = scores.setdefault(item[2], RuleScore())
        if item in found and item in expected:
            rule.tp += 1
        elif item in found:
            rule.fp += 1
            rule.false_positives.append(item)
        else:
            rule.fn += 1
            rule.false_negatives.append(item)
    return dict(sorted(scores.items()))


def materialise(corpus: Path, workdir: Path) -> dict[str, set[tuple[int, str]]]:
    """Copy ``*.py.txt`` corpus files into ``workdir`` as ``.py`` files; return their labels."""
    labels: dict[str, set[tuple[int, str]]] = {}
    workdir.mkdir(parents=True, exist_ok=True)
    for source in sorted(corpus.glob(f"*{CORPUS_SUFFIX}")):
        name = source.name.removesuffix(".txt")
        shutil.copyfile(source, workdir / name)
        labels[name] = expected_labels(source.read_text(encoding="utf-8"))
    return labels


def evaluate_corpus(corpus: Path, workdir: Path) -> dict[str, RuleScore]:
    """Lint the corpus with every rule on and score it against its labels."""
    labels = materialise(corpus, workdir)
    report = Linter(LintSettings(root=workdir), jobs=1).lint([workdir], base=workdir)
    return score(report.findings, labels)


def format_scores(scores: Mapping[str, RuleScore]) -> str:
    """A table: rule, support, TP, FP, FN, precision, recall."""
    lines = [f"{'rule':<7} {'n':>4} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}"]
    for code, item in scores.items():
        lines.append(
            f"{code:<7} {item.support:>4} {item.tp:>4} {item.fp:>4} {item.fn:>4} "
            f"{item.precision:>9.3f} {item.recall:>7.3f}"
        )
    return "\n".join(lines)
