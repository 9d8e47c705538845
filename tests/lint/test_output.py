"""Text, JSON and SARIF reports, and --explain pages."""

from __future__ import annotations

import json

from trainwell.lint.findings import Finding
from trainwell.lint.output import explain, list_rules, render, render_text
from trainwell.lint.rules import ALL_RULES, RULES

FINDINGS = [
    Finding("src/train.py", 12, 9, "TW108", "`torch.load` without `weights_only=True`", "pass it"),
    Finding("/abs/nb.ipynb", 2, 1, "TW101", "star import", "import names", cell=3),
]


def test_text_lines_have_location_code_message_and_hint() -> None:
    text = render_text(FINDINGS, checked=7)
    lines = text.splitlines()
    assert lines[0] == "src/train.py:12:9: TW108 `torch.load` without `weights_only=True`"
    assert lines[1] == "    hint: pass it"
    assert lines[2].startswith("/abs/nb.ipynb:cell 3:2:1: TW101")
    assert lines[-1] == "Found 2 findings in 2 paths (7 files checked)."
    assert render_text([], checked=1) == "All clear: no findings (1 file checked)."


def test_json_is_one_object_with_findings() -> None:
    data = json.loads(render(FINDINGS, "json", ALL_RULES, tool="t"))
    assert list(data) == ["findings"]
    assert data["findings"][0] == {
        "path": "src/train.py",
        "line": 12,
        "column": 9,
        "code": "TW108",
        "message": "`torch.load` without `weights_only=True`",
        "hint": "pass it",
    }


def test_sarif_2_1_0_with_rules_and_results() -> None:
    log = json.loads(render(FINDINGS, "sarif", ALL_RULES, tool="trainwell-lint"))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "trainwell-lint"
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == list(ALL_RULES)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] == "warning"
    first, second = run["results"]
    assert first["ruleId"] == "TW108" and ids[first["ruleIndex"]] == "TW108"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "src/train.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 12, "startColumn": 9}
    assert second["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "file:///abs/nb.ipynb"
    )
    assert second["properties"] == {"cell": 3}


def test_explain_page_has_playbook_bad_and_good() -> None:
    page = explain(RULES["TW108"])
    assert page.startswith("TW108 unsafe-torch-load")
    assert "Playbook: Anti-patterns: torch.load(weights_only=False)" in page
    assert "Bad:\n    state = torch.load(path)" in page
    assert 'Good:\n    state = torch.load(path, map_location="cpu", weights_only=True)' in page
    listing = list_rules(RULES, prefix="TW2").splitlines()
    assert len(listing) == len([c for c in RULES if c.startswith("TW2")])
