"""The audit catalog and the small parsers behind the checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainwell.audit.checks import AUDIT_RULES, CHECKS, _declared, is_pinned, make_targets
from trainwell.audit.project import Project

CATEGORIES = {
    "file-structure", "dependency-management", "version-control", "testing", "code-quality",
    "deployment", "continuous-integration",
}  # fmt: skip


def test_catalog_is_complete_and_grouped_by_mllint_category() -> None:
    produced = set().union(*(codes for codes, _ in CHECKS))
    assert produced == set(AUDIT_RULES)
    for code, rule in AUDIT_RULES.items():
        assert rule.code == code and code.startswith("TWA")
        assert rule.name.split("/")[0] in CATEGORIES
        assert rule.summary and rule.playbook and rule.hint and rule.bad and rule.good


@pytest.mark.parametrize(
    ("requirement", "pinned"),
    [
        ("numpy", False),
        ("numpy>=2.0", False),
        ("numpy>=2.0,<3", True),
        ("numpy==2.1.0", True),
        ("numpy~=2.1", True),
        ("torch[cuda]>=2.4,<2.5 ; python_version >= '3.11'", True),
        ("pkg @ git+https://example.com/pkg.git", True),
        ("types-PyYAML", False),
    ],
)
def test_is_pinned(requirement: str, pinned: bool) -> None:
    assert is_pinned(requirement) is pinned


def test_make_targets() -> None:
    text = (
        "STAMP := x\n.PHONY: a\ninstall: $(STAMP) ## install\n\tpip install .\n"
        "test-fast:\n\tpytest\n"
    )
    assert make_targets(text) == {"install", "test-fast"}


def test_declared_reads_pep621_and_poetry(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\ndependencies = ["a>=1"]\n'
        '[project.optional-dependencies]\nall = ["demo[x]", "b"]\n'
        '[tool.poetry.dependencies]\npython = "^3.11"\nc = "^1.2"\nd = "*"\ne = ">=2"\n'
    )
    assert _declared(Project(root=tmp_path)) == ["a>=1", "b", "d", "e>=2"]


def test_docs_list_every_check_with_its_name() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "audit.md").read_text()
    for code, rule in AUDIT_RULES.items():
        assert f"| {code} | `{rule.name}` |" in docs, f"docs/audit.md does not list {code}"
