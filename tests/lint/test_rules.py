"""The rule catalog: complete entries, and each rule's bad example is reported, its good one not."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from trainwell.lint.analyzer import CUSTOM_CODES
from trainwell.lint.findings import Finding
from trainwell.lint.ruff import DELEGATED_CODES
from trainwell.lint.rules import ALL_RULES, RULES, rule_for
from trainwell.lint.torchfix import TORCHFIX_RULE_CODES

# What the examples assume is imported (they are written for reading, not for running).
PRELUDE = """\
import random
import mlflow
import numpy as np
import pandas as pd
import structlog
import torch
from pydantic import BaseModel, ConfigDict
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.optim import AdamW
"""
# examples that are fragments of a function body
FUNCTION_BODY = {"TW206", "TW207", "TW208", "TW210", "TW212", "TW302", "TW307", "TW308"}


def as_module(code: str, snippet: str) -> str:
    body = textwrap.dedent(snippet)
    if code in FUNCTION_BODY:
        body = "def run(model, loader, optimizer, criterion, epochs, ckpt_dir, df, X, y, seed):\n"
        body += textwrap.indent(textwrap.dedent(snippet), "    ")
        body += "\n"
    return PRELUDE + "\n" + body + "\n"


def test_every_rule_is_complete_and_named_like_the_catalog() -> None:
    for code, rule in RULES.items():
        assert rule.code == code
        assert code.startswith("TW") and len(code) == len("TW000")
        assert rule.name == rule.name.lower() and " " not in rule.name
        for text in (rule.summary, rule.playbook, rule.hint, rule.bad, rule.good):
            assert text.strip(), f"{code} has an empty field"
        assert rule.bad != rule.good
    names = [rule.name for rule in RULES.values()]
    assert len(names) == len(set(names))


def test_catalog_codes_and_names_follow_lint_rules_md() -> None:
    expected = {
        "TW101": "star-import", "TW102": "hardcoded-path", "TW103": "print-debugging",
        "TW104": "nested-try", "TW105": "global-mutable-state", "TW106": "magic-number",
        "TW107": "notebook-in-production", "TW108": "unsafe-torch-load",
        "TW109": "broad-except", "TW110": "missing-type-hints", "TW111": "config-not-frozen",
        "TW201": "unseeded-randomness", "TW202": "random-state-missing",
        "TW203": "nondeterministic-ops", "TW204": "eval-mode-missing",
        "TW205": "no-grad-missing", "TW206": "zero-grad-missing",
        "TW207": "zero-grad-not-set-to-none", "TW208": "checkpoint-without-optimizer",
        "TW209": "hparams-not-logged", "TW210": "data-leakage", "TW211": "refit-at-inference",
    }  # fmt: skip
    for code, name in expected.items():
        assert RULES[code].name == name


def test_every_rule_is_implemented_by_trainwell_ruff_or_torchfix() -> None:
    implemented = CUSTOM_CODES | DELEGATED_CODES | TORCHFIX_RULE_CODES
    assert set(RULES) <= implemented
    for code in DELEGATED_CODES:
        assert RULES[code].source.startswith("ruff") or "ruff" in RULES[code].source
    for code in TORCHFIX_RULE_CODES:  # opt-in; their examples are checked in test_torchfix.py
        assert RULES[code].source.startswith("TorchFix") and not RULES[code].default_enabled


def test_rule_for_includes_the_parse_error_rule() -> None:
    assert rule_for("TW001").name == "syntax-error"
    assert set(ALL_RULES) == {"TW001", *RULES}
    with pytest.raises(KeyError):
        rule_for("TW999")


@pytest.mark.parametrize("kind", ["bad", "good"])
def test_examples_are_what_the_rule_says(
    kind: str, lint_files: Callable[..., list[Finding]]
) -> None:
    # the default rules; the opt-in TorchFix ones (TW9xx) are checked in test_torchfix.py
    rules = {code: rule for code, rule in RULES.items() if rule.default_enabled}
    files = {
        f"{code.lower()}_{kind}.py": as_module(code, getattr(rule, kind))
        for code, rule in rules.items()
    }
    findings = lint_files(files)
    for code in rules:
        found = {f.code for f in findings if Path(f.path).stem == f"{code.lower()}_{kind}"}
        if kind == "bad":
            assert code in found, f"the bad example of {code} is not reported"
        else:
            assert code not in found, f"the good example of {code} is reported"


def test_docs_list_every_rule_with_its_name() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "lint.md").read_text()
    for code, rule in ALL_RULES.items():
        assert f"| {code} | `{rule.name}` |" in docs, f"docs/lint.md does not list {code}"
