"""Text and JSON output, and the generated rules table in docs/advise.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from trainwell.advise import Profile, advise
from trainwell.advise.render import (
    RULES_END,
    RULES_START,
    advice_payload,
    config_line,
    render_advice,
    rules_markdown,
)
from trainwell.models import registry

WIDE = 400


def _text(profile: Profile) -> str:
    console = Console(record=True, width=WIDE, color_system=None)
    render_advice(console, advise(profile))
    return console.export_text()


def test_text_shows_primary_config_reason_alternatives_and_tooling() -> None:
    text = _text(Profile(task="tabular-classification", rows=40_000_000, categorical_share=0.7))
    lines = text.splitlines()
    assert lines[0].count("trainwell advise: tabular-classification") == 1
    assert "profile: 40,000,000 rows · 70% categorical" in text
    primary_at = lines.index("primary")
    assert "CatBoost (ordered boosting)  model.architecture: catboost" in lines[primary_at + 1]
    assert "70% of feature columns are categorical (threshold 50%)" in lines[primary_at + 2]
    assert "alternatives" in lines and "tooling" in lines
    assert "LightGBM (histogram, leaf-wise)  model.architecture: lightgbm" in text
    assert "40,000,000 rows is past the 1,000,000-row threshold" in text
    assert "experiment-tracking: MLflow" in text


def test_text_shows_unavailable_choices_with_their_hint_unmangled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry, "is_available", lambda name: False)
    text = _text(Profile(task="tabular-classification", categorical_share=0.9))
    # brackets in the hint must not be eaten as rich markup
    assert "not available: pip install 'trainwell[tabular]'" in text


def test_text_shows_notes() -> None:
    text = _text(Profile(task="object-detection", domain="medical"))
    assert "note: domain medical changes nothing for object-detection" in text


def test_config_line_only_for_trainwell_names() -> None:
    assert config_line(advise(Profile(task="segmentation")).primary) == (
        "model.architecture: mask2former"
    )
    assert config_line(advise(Profile(task="data-processing")).primary) is None


def test_json_payload_shape() -> None:
    payload = advice_payload(advise(Profile(task="text-generation")))
    assert set(payload) == {"task", "profile", "primary", "alternatives", "tooling", "notes"}
    required = {"library", "architecture", "config_name", "reason", "available"}
    for choice in [payload["primary"], *payload["alternatives"], *payload["tooling"]]:
        assert required <= set(choice)
    assert {t["concern"] for t in payload["tooling"]} == {
        "deep-learning-framework",
        "experiment-tracking",
        "llm-serving",
    }
    assert payload["profile"]["task"] == "text-generation"
    json.dumps(payload)  # plain JSON types only


def test_docs_rules_table_is_generated_from_the_rules(repo_root: Path) -> None:
    docs = (repo_root / "docs" / "advise.md").read_text(encoding="utf-8")
    start = docs.index(RULES_START) + len(RULES_START)
    block = docs[start : docs.index(RULES_END)].strip()
    assert block == rules_markdown(), (
        "docs/advise.md is out of date; regenerate the block with python -c "
        '"from trainwell.advise.render import rules_markdown; print(rules_markdown())"'
    )


def test_rules_markdown_lists_every_rule_once() -> None:
    from trainwell.advise.rules import RULES

    table = rules_markdown().split("\n\n")[0].splitlines()
    assert len(table) == len(RULES) + 2
