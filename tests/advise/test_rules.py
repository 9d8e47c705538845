"""The decision table's invariants: every rule well-formed, every task answerable, names known."""

from __future__ import annotations

from typing import get_args

import pytest

from trainwell.advise import rules
from trainwell.advise.profile import Profile
from trainwell.advise.rules import (
    ALTERNATIVE,
    CONSTRAINT,
    CONTEXT,
    DEFAULT,
    ML_TASKS,
    PRIORITY,
    RULES,
    TASKS,
    TOOLING_FOR_TASK,
    TOOLING_TASKS,
    AtLeast,
    IsDistributed,
    OneOf,
    Rule,
)
from trainwell.models.registry import ARCHITECTURES

# The architecture names trainwell uses in `model.architecture` (trained now, or planned).
TRAINWELL_NAMES = {
    "sklearn-hgb", "sklearn-rf", "sklearn-linear", "xgboost", "lightgbm", "catboost",
    "mlp", "ft-transformer", "autoencoder", "isolation-forest", "tabnet",
    "yolov8", "detr", "rt-detr", "unet", "mask2former", "sam", "resnet18", "efficientnet_b0",
    "vit_base_patch16_224", "vit_small_patch16_224", "small-cnn",
    "distilbert", "roberta", "llama", "mistral", "sentence-transformers",
    "tsmixer", "patchtst", "tft", "two-tower", "ncf", "lightfm",
}  # fmt: skip
HOSTED_APIS = {"OpenAI API"}


def _conditions(rule: Rule) -> tuple[rules.Condition, ...]:
    return (*rule.when, *rule.when_any)


def _rule_id(rule: Rule) -> str:
    return f"{rule.tasks[0]}:{rule.precedence}:{rule.config_name or rule.library}"


def test_playbook_thresholds_are_pinned() -> None:
    # The playbook's own numbers ("polars for >10GB", "W&B for teams") and trainwell's readings.
    assert rules.POLARS_MIN_BYTES == 10 * 10**9
    assert rules.TEAM_MIN_SIZE == 2
    assert rules.LARGE_DATA_ROWS == 1_000_000
    assert rules.LARGE_DATA_BYTES == 10**9
    assert rules.CATEGORICAL_DOMINANT_SHARE == 0.5
    assert rules.HIGH_DIMENSIONAL_FEATURES == 100
    assert set(rules.THRESHOLDS) == {
        "LARGE_DATA_ROWS", "LARGE_DATA_BYTES", "CATEGORICAL_DOMINANT_SHARE",
        "POLARS_MIN_BYTES", "TEAM_MIN_SIZE", "HIGH_DIMENSIONAL_FEATURES",
    }  # fmt: skip


def test_task_lists_are_disjoint_and_complete() -> None:
    assert set(ML_TASKS).isdisjoint(TOOLING_TASKS)
    assert set(TASKS) == set(ML_TASKS) | set(TOOLING_TASKS)
    assert len(TASKS) == len(set(TASKS)) == 16


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_exactly_one_unconditional_default(task: str) -> None:
    task_rules = [r for r in RULES if task in r.tasks]
    defaults = [r for r in task_rules if r.precedence == DEFAULT]
    assert len(defaults) == 1
    assert _conditions(defaults[0]) == ()


@pytest.mark.parametrize("task", TASKS)
def test_precedence_is_unique_within_a_task(task: str) -> None:
    precedences = [r.precedence for r in RULES if task in r.tasks]
    assert len(precedences) == len(set(precedences))


@pytest.mark.parametrize("rule", RULES, ids=_rule_id)
def test_rule_sits_in_the_band_its_conditions_belong_to(rule: Rule) -> None:
    conditions = _conditions(rule)
    fields = {c.field for c in conditions if not isinstance(c, IsDistributed)}
    if rule.precedence < DEFAULT:
        assert conditions, "a rule that can win must have a condition (only the default has none)"
    if CONSTRAINT <= rule.precedence < PRIORITY:
        assert "hardware" in fields or any(isinstance(c, IsDistributed) for c in conditions)
    elif PRIORITY <= rule.precedence < CONTEXT:
        assert fields & {"priority", "domain"}
    elif CONTEXT <= rule.precedence < DEFAULT:
        assert fields & {"rows", "size_bytes", "categorical_share", "n_features", "setting",
                         "team_size", "images"}  # fmt: skip
    else:
        assert rule.precedence == DEFAULT or rule.precedence >= ALTERNATIVE


@pytest.mark.parametrize("rule", RULES, ids=_rule_id)
def test_rule_fields_are_well_formed(rule: Rule) -> None:
    assert rule.tasks and set(rule.tasks) <= set(TASKS)
    assert rule.reason and rule.library and rule.architecture
    assert rule.reason == rule.reason.strip()
    for condition in _conditions(rule):
        if isinstance(condition, OneOf):
            annotation = Profile.model_fields[condition.field].annotation
            # Literal[...] or Literal[...] | None
            accepted = [v for a in get_args(annotation) for v in (get_args(a) or (a,))]
            assert set(condition.values) <= set(accepted), f"typo in {condition}"
        elif isinstance(condition, AtLeast):
            assert condition.field in Profile.model_fields
            assert condition.threshold > 0


@pytest.mark.parametrize("rule", [r for r in RULES if set(r.tasks) <= set(TOOLING_TASKS)],
                         ids=_rule_id)  # fmt: skip
def test_tooling_rules_name_a_package_and_how_to_install_it(rule: Rule) -> None:
    assert rule.config_name is None
    assert rule.requires, "availability of a tooling choice is its package importing"
    assert rule.install


@pytest.mark.parametrize("rule", [r for r in RULES if set(r.tasks) <= set(ML_TASKS)],
                         ids=_rule_id)  # fmt: skip
def test_ml_rules_use_trainwell_names(rule: Rule) -> None:
    if rule.config_name is None:
        assert rule.library in HOSTED_APIS and rule.install
        return
    assert rule.config_name in TRAINWELL_NAMES
    if rule.config_name not in ARCHITECTURES:
        assert rule.install, "a choice trainwell cannot train yet needs a how-to-meanwhile hint"


def test_tabular_choices_that_can_win_are_registered_for_the_task() -> None:
    # `train` with `auto` trains the primary: it must be a registered tabular architecture.
    for rule in RULES:
        if set(rule.tasks) & set(rules.TABULAR) and rule.precedence <= DEFAULT:
            assert rule.config_name is not None
            spec = ARCHITECTURES[rule.config_name]
            assert set(rule.tasks) <= spec.tasks


def test_anomaly_default_is_registered() -> None:
    default = next(r for r in RULES if "anomaly-detection" in r.tasks and r.precedence == DEFAULT)
    assert default.config_name == "isolation-forest"
    assert "anomaly-detection" in ARCHITECTURES["isolation-forest"].tasks


def test_tooling_for_task_covers_every_ml_task() -> None:
    assert set(TOOLING_FOR_TASK) == set(ML_TASKS)
    for concerns in TOOLING_FOR_TASK.values():
        assert set(concerns) <= set(TOOLING_TASKS)
        assert "experiment-tracking" in concerns
