"""`trainwell lint`: the playbook's anti-patterns and ML code smells as a linter.

Example::

    from pathlib import Path
    from trainwell.lint import lint_paths

    report = lint_paths([Path("src")])
    for finding in report.findings:
        logger.info("finding", location=finding.location, code=finding.code)

The rule catalog is :data:`trainwell.lint.rules.RULES`; ``trainwell lint --explain TW108``
prints one rule. Names are imported lazily, so ``trainwell.lint.cli`` stays cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainwell.lint.engine import Linter as Linter
    from trainwell.lint.engine import LintReport as LintReport
    from trainwell.lint.engine import lint_paths as lint_paths
    from trainwell.lint.findings import Finding as Finding
    from trainwell.lint.findings import Rule as Rule
    from trainwell.lint.rules import RULES as RULES
    from trainwell.lint.settings import LintSettings as LintSettings
    from trainwell.lint.settings import load_settings as load_settings

_EXPORTS = {
    "LintReport": "trainwell.lint.engine",
    "Linter": "trainwell.lint.engine",
    "lint_paths": "trainwell.lint.engine",
    "Finding": "trainwell.lint.findings",
    "Rule": "trainwell.lint.findings",
    "RULES": "trainwell.lint.rules",
    "LintSettings": "trainwell.lint.settings",
    "load_settings": "trainwell.lint.settings",
}
__all__ = [
    "RULES",
    "Finding",
    "LintReport",
    "LintSettings",
    "Linter",
    "Rule",
    "lint_paths",
    "load_settings",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'trainwell.lint' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
