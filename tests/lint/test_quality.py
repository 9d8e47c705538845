"""Precision and recall on the labelled corpus: the quality bar of the linter.

The corpus (tests/lint/corpus/*.py.txt) is realistic ML code, clean files and files with
planted smells, labelled with ``# expect: CODE`` on the line where a finding must be. The
held-out corpus (tests/lint/holdout) was written later from the rule spec alone, without reading
the rules; its first blind score was precision 0.989 / recall 0.974 (10 misses, since fixed), and
it now guards against regressions on the same bar.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trainwell.lint.findings import Finding
from trainwell.lint.quality import RuleScore, evaluate_corpus, expected_labels, score
from trainwell.lint.rules import RULES

CORPUS = Path(__file__).parent / "corpus"
HOLDOUT = Path(__file__).parent / "holdout"
MIN_PRECISION = 0.95
MIN_RECALL = 0.90
MIN_SUPPORT = 8  # labelled findings per rule, so that recall can fail on two misses
MIN_CLEAN_FILES = 3
# the opt-in TorchFix pass-through rules (TW9xx) are TorchFix's findings, not scored here
SCORED_RULES = frozenset(code for code, rule in RULES.items() if rule.default_enabled)


def test_expected_labels_are_read_from_comments() -> None:
    source = (
        'x = torch.load(p)  # expect: TW108\ny = "# expect: TW106"\nz = 3  # expect: TW106, tw102\n'
    )
    assert expected_labels(source) == {(1, "TW108"), (3, "TW106"), (3, "TW102")}


def test_score_counts_tp_fp_fn_per_rule() -> None:
    findings = [
        Finding("a.py", 1, 1, "TW108", "m"),
        Finding("a.py", 2, 1, "TW108", "m"),
        Finding("a.py", 5, 1, "TW106", "m"),
    ]
    labels = {"a.py": {(1, "TW108"), (3, "TW108"), (5, "TW106")}}
    scores = score(findings, labels)
    assert (scores["TW108"].tp, scores["TW108"].fp, scores["TW108"].fn) == (1, 1, 1)
    assert scores["TW108"].precision == 0.5 and scores["TW108"].recall == 0.5
    assert scores["TW106"].precision == 1.0 and scores["TW106"].recall == 1.0
    assert RuleScore().precision == 1.0


def test_corpus_has_clean_files_and_labels_for_every_rule() -> None:
    files = sorted(CORPUS.glob("*.py.txt"))
    labels = {f.name: expected_labels(f.read_text()) for f in files}
    clean = [name for name, items in labels.items() if not items]
    assert len(clean) >= MIN_CLEAN_FILES, clean
    support: dict[str, int] = {}
    for items in labels.values():
        for _, code in items:
            assert code in RULES, code
            support[code] = support.get(code, 0) + 1
    thin = {
        code: support.get(code, 0) for code in SCORED_RULES if support.get(code, 0) < MIN_SUPPORT
    }
    assert not thin, f"rules with too few labelled examples: {thin}"


@pytest.mark.parametrize("corpus", [CORPUS, HOLDOUT], ids=["corpus", "holdout"])
def test_precision_and_recall_per_rule(tmp_path: Path, corpus: Path) -> None:
    scores = evaluate_corpus(corpus, tmp_path / "corpus")
    failures = {
        code: (
            f"P={item.precision:.2f} R={item.recall:.2f} "
            f"FP={item.false_positives} FN={item.false_negatives}"
        )
        for code, item in scores.items()
        if item.precision < MIN_PRECISION or item.recall < MIN_RECALL
    }
    assert not failures, failures
    assert set(scores) >= SCORED_RULES
