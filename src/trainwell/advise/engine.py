"""Evaluate the decision tables (``rules.py``) for one profile: ``advise(profile) -> Advice``.

This module holds no decisions: which rule wins is ``rules.RULES`` and its precedence; here is
only how a condition is checked and put into words. Example::

    >>> from trainwell.advise import Profile, advise
    >>> advice = advise(Profile(task="tabular-classification", rows=40_000_000))
    >>> advice.primary.config_name
    'lightgbm'
"""

from __future__ import annotations

import importlib.util

from pydantic import BaseModel, ConfigDict

from trainwell.advise.profile import Profile
from trainwell.advise.rules import (
    BYTES_PER_GB,
    DEFAULT,
    RULES,
    TOOLING_FOR_TASK,
    TOOLING_TASKS,
    AtLeast,
    Condition,
    IsDistributed,
    OneOf,
    Rule,
)
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

BYTES_PER_MB = 1_000_000
BYTES_PER_KB = 1_000

# Profile fields a user sets as a preference or circumstance (not measured from data); a value
# away from its default that no rule looks at earns a note saying it changed nothing.
USER_FIELDS: tuple[str, ...] = (
    "hardware",
    "priority",
    "domain",
    "setting",
    "distributed",
    "team_size",
)


class Choice(BaseModel):
    """One recommendation: what to use, the trainwell name for it, and why.

    Attributes:
        library: the library, as the playbook names it.
        architecture: the architecture or tool.
        config_name: what to write in ``model.architecture`` (None for tooling and hosted APIs).
        reason: the facts that select it and why it fits (for an alternative whose condition
            does not hold: "when <condition>: <why>").
        available: whether it can be used in this install (for an ML choice: ``trainwell train``
            can train ``config_name`` here; for tooling: its package imports).
        install_hint: how to get it when it is not available.
        applies: whether its rule's conditions hold for this profile.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    library: str
    architecture: str
    config_name: str | None
    reason: str
    available: bool
    install_hint: str | None
    applies: bool


class ToolingChoice(Choice):
    """A choice for one tooling concern (data processing, tracking...) of an ML task."""

    concern: str


class Advice(BaseModel):
    """The whole answer for one profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str
    profile: Profile
    primary: Choice
    alternatives: tuple[Choice, ...]
    tooling: tuple[ToolingChoice, ...]
    notes: tuple[str, ...]


# --- conditions: check and words -------------------------------------------------------------


def format_bytes(n_bytes: float) -> str:
    """``1_500_000_000`` -> ``'1.5 GB'`` (decimal units, as the thresholds are written)."""
    if n_bytes >= BYTES_PER_GB:
        return f"{n_bytes / BYTES_PER_GB:.1f}".removesuffix(".0") + " GB"
    if n_bytes >= BYTES_PER_MB:
        return f"{n_bytes / BYTES_PER_MB:.1f} MB"
    return f"{n_bytes / BYTES_PER_KB:.1f} KB"


def holds(condition: Condition, profile: Profile) -> bool:
    """Whether ``condition`` is true of ``profile`` (an unknown value never satisfies one)."""
    if isinstance(condition, IsDistributed):
        return profile.distributed
    if isinstance(condition, OneOf):
        return str(getattr(profile, condition.field)) in condition.values
    value = getattr(profile, condition.field)
    if value is None:
        return False
    return bool(value > condition.threshold if condition.strict else value >= condition.threshold)


def applies(rule: Rule, profile: Profile) -> bool:
    """All of ``rule.when`` hold, and one of ``rule.when_any`` when it is not empty."""
    if not all(holds(c, profile) for c in rule.when):
        return False
    return not rule.when_any or any(holds(c, profile) for c in rule.when_any)


def _quantity(field: str, value: float) -> str:
    """A value of a numeric field in words: ``rows, 40e6`` -> ``'40,000,000 rows'``."""
    if field == "rows":
        return f"{value:,.0f} rows"
    if field == "size_bytes":
        return f"{format_bytes(value)} of data"
    if field == "categorical_share":
        return f"{value:.0%} of feature columns categorical"
    if field == "n_features":
        return f"{value:,.0f} feature columns"
    return f"a team of {value:,.0f}"


def _threshold(condition: AtLeast) -> str:
    """The threshold in the field's units: ``'1,000,000'``, ``'10 GB'``, ``'50%'``."""
    if condition.field == "size_bytes":
        return format_bytes(condition.threshold)
    if condition.field == "categorical_share":
        return f"{condition.threshold:.0%}"
    return f"{condition.threshold:,.0f}"


_LABELS = {
    "rows": "rows",
    "size_bytes": "size",
    "categorical_share": "categorical share",
    "n_features": "feature columns",
    "team_size": "team size",
}


# How a threshold is named in a sentence: "the 1,000,000-row threshold", "the 10 GB threshold".
_THRESHOLD_UNITS = {"rows": "-row ", "n_features": "-feature "}


def describe(condition: Condition) -> str:
    """The condition as a reader would write it: ``'rows ≥ 1,000,000'``."""
    if isinstance(condition, IsDistributed):
        return "the work is distributed"
    if isinstance(condition, OneOf):
        return f"{condition.field} is {' or '.join(condition.values)}"
    op = ">" if condition.strict else "≥"
    return f"{_LABELS[condition.field]} {op} {_threshold(condition)}"


def explain(condition: Condition, profile: Profile) -> str:
    """Why a condition that holds holds, with the profile's value and the threshold."""
    if isinstance(condition, IsDistributed):
        return "the work is distributed"
    if isinstance(condition, OneOf):
        return f"{condition.field} is {getattr(profile, condition.field)}"
    value = getattr(profile, condition.field)
    if condition.field == "categorical_share":
        return f"{value:.0%} of feature columns are categorical (threshold {_threshold(condition)})"
    if condition.field == "team_size":
        return f"a team of {value} (threshold {_threshold(condition)})"
    verb = "is past" if value > condition.threshold else "reaches"
    unit = _THRESHOLD_UNITS.get(condition.field, " ")
    threshold = f"{_threshold(condition)}{unit}threshold"
    return f"{_quantity(condition.field, value)} {verb} the {threshold}"


def describe_rule(rule: Rule) -> str:
    """A rule's whole condition in words (``''`` for a rule without one)."""
    parts = [describe(c) for c in rule.when]
    if rule.when_any:
        any_text = " or ".join(describe(c) for c in rule.when_any)
        needs_brackets = bool(parts) and len(rule.when_any) > 1
        parts.insert(0, f"({any_text})" if needs_brackets else any_text)
    return " and ".join(parts)


def _trigger(rule: Rule, profile: Profile) -> str:
    """The conditions of an applicable rule that hold, explained with the profile's values."""
    held = [c for c in (*rule.when_any, *rule.when) if holds(c, profile)]
    return " and ".join(explain(c, profile) for c in held)


def _facts(rules: tuple[Rule, ...], profile: Profile) -> str:
    """The measured facts the task's rules look at, for a default choice's reason."""
    looked_at = {c.field for r in rules for c in (*r.when_any, *r.when) if isinstance(c, AtLeast)}
    known = [
        (field, getattr(profile, field))
        for field in _LABELS
        if field in looked_at and getattr(profile, field) is not None
    ]
    return ", ".join(_quantity(field, value) for field, value in known)


# --- availability ------------------------------------------------------------------------------


def _availability(rule: Rule, tooling: bool) -> tuple[bool, str | None]:
    """(available here, how to get it otherwise) for one rule's choice."""
    if tooling:
        found = all(importlib.util.find_spec(module) is not None for module in rule.requires)
        return found, None if found else rule.install
    name = rule.config_name
    if name is None:
        return False, rule.install
    from trainwell.models.registry import ARCHITECTURES, is_available

    spec = ARCHITECTURES.get(name)
    if spec is None:
        return False, f"trainwell cannot train {name!r} yet; meanwhile {rule.install}"
    if is_available(name):
        return True, None
    return False, f"pip install 'trainwell[{spec.extra}]'" if spec.extra else "reinstall trainwell"


# --- the advice --------------------------------------------------------------------------------


def rules_for(task: str) -> tuple[Rule, ...]:
    """The rules that answer ``task``, in precedence order."""
    return tuple(sorted((r for r in RULES if task in r.tasks), key=lambda r: r.precedence))


def _choice(rule: Rule, profile: Profile, *, primary: bool) -> Choice:
    rule_applies = applies(rule, profile)
    if not rule_applies:
        reason = f"when {describe_rule(rule)} — {rule.reason}"
    elif rule.when or rule.when_any:
        reason = f"{_trigger(rule, profile)} — {rule.reason}"
    else:
        facts = _facts(rules_for(profile.task), profile) if primary else ""
        reason = f"{facts} — {rule.reason}" if facts else rule.reason
    available, hint = _availability(rule, tooling=profile.task in TOOLING_TASKS)
    return Choice(
        library=rule.library,
        architecture=rule.architecture,
        config_name=rule.config_name,
        reason=reason,
        available=available,
        install_hint=hint,
        applies=rule_applies,
    )


def _key(rule: Rule) -> str:
    return rule.config_name or rule.architecture


def _notes(profile: Profile, rules: tuple[Rule, ...]) -> tuple[str, ...]:
    """A note for each user setting (away from its default) that no rule here looks at."""
    conditions = [c for rule in rules for c in (*rule.when_any, *rule.when)]
    notes: list[str] = []
    for field in USER_FIELDS:
        value = getattr(profile, field)
        if value == Profile.model_fields[field].default:
            continue
        if field == "distributed":
            looked_at = any(isinstance(c, IsDistributed) for c in conditions)
        elif field == "team_size":
            looked_at = any(isinstance(c, AtLeast) and c.field == field for c in conditions)
        else:
            looked_at = any(
                isinstance(c, OneOf) and c.field == field and value in c.values for c in conditions
            )
        if not looked_at:
            notes.append(
                f"{field} {value} changes nothing for {profile.task}: no rule for it "
                f"(or its tooling) looks at {field} {value}"
            )
    return tuple(notes)


def advise(profile: Profile) -> Advice:
    """Apply the decision tables to ``profile``.

    Args:
        profile: the task and what is known about the data, hardware and people.

    Returns:
        The primary choice (the applicable rule with the lowest precedence), the alternatives
        (applicable ones first, then the others with the condition that would select them),
        the tooling stack for an ML task, and notes on settings that changed nothing.
    """
    rules = rules_for(profile.task)
    winner = next(rule for rule in rules if applies(rule, profile))
    assert winner.precedence <= DEFAULT, "every task has an unconditional DEFAULT rule"
    ordered = sorted(rules, key=lambda r: (not applies(r, profile), r.precedence))
    seen = {_key(winner)}
    alternatives: list[Choice] = []
    for rule in ordered:
        if _key(rule) not in seen:
            seen.add(_key(rule))
            alternatives.append(_choice(rule, profile, primary=False))
    concerns = TOOLING_FOR_TASK.get(profile.task, ())
    tooling = tuple(
        ToolingChoice(
            concern=concern,
            **advise(profile.model_copy(update={"task": concern})).primary.model_dump(),
        )
        for concern in concerns
    )
    tooling_rules = tuple(rule for concern in concerns for rule in rules_for(concern))
    advice = Advice(
        task=profile.task,
        profile=profile,
        primary=_choice(winner, profile, primary=True),
        alternatives=tuple(alternatives),
        tooling=tooling,
        notes=_notes(profile, rules + tooling_rules),
    )
    logger.debug(
        "advised",
        task=profile.task,
        primary=advice.primary.config_name,
        reason=advice.primary.reason,
    )
    return advice
