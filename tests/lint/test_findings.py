"""Findings: the JSON object and the location string."""

from __future__ import annotations

from trainwell.lint.findings import Finding


def test_as_json_has_exactly_the_documented_keys() -> None:
    finding = Finding("src/a.py", 3, 5, "TW108", "unsafe", "pass weights_only=True")
    assert finding.as_json() == {
        "path": "src/a.py",
        "line": 3,
        "column": 5,
        "code": "TW108",
        "message": "unsafe",
        "hint": "pass weights_only=True",
    }
    assert finding.location == "src/a.py:3:5"


def test_notebook_findings_name_their_cell() -> None:
    finding = Finding("nb.ipynb", 2, 1, "TW108", "unsafe", cell=4)
    assert finding.as_json()["cell"] == 4
    assert finding.location == "nb.ipynb:cell 4:2:1"


def test_findings_sort_by_path_then_line() -> None:
    a = Finding("a.py", 9, 1, "TW106", "m")
    b = Finding("a.py", 2, 1, "TW110", "m")
    c = Finding("0.py", 50, 1, "TW101", "m")
    assert sorted([a, b, c]) == [c, b, a]
