"""`trainwell ab report`: per-arm metrics from a `serve` request log, a test, a plain verdict.

::

    trainwell ab report logs/requests.jsonl            # reads requests.jsonl.N ... .1 too
    trainwell ab report logs/requests.jsonl --json --control champion --alpha 0.05

The server writes one JSON object per line (``RotatingFileHandler`` rotates ``LOG`` into
``LOG.1``, ``LOG.2``..., the highest number the oldest)::

    {"event": "prediction", "ts": 1764770000.1, "request_id": "9f…", "arm": "champion",
     "model": "churn", "version": "3", "objective": "classification", "rows": 2,
     "predictions": ["malignant", "benign"], "latency_ms": 1.7}
    {"event": "feedback", "ts": …, "request_id": "9f…", "outcomes": ["malignant", "malignant"]}

Outcomes align with predictions row by row (``null`` for a row whose outcome is unknown). The
last feedback for a request wins; feedback for an unknown request is counted and ignored;
``shadow`` lines are ignored; a malformed line is skipped and counted, never fatal.

The statistics, per arm and then each other arm against the control:

* classification and anomaly: accuracy with a Wilson score interval; the difference with
  Newcombe's hybrid score interval; a two-proportion z-test (pooled; the same p-value as a
  chi-square test on the 2x2 table without continuity correction).
* regression: MAE and RMSE, each with a t interval (RMSE's from the interval of the mean squared
  error); Welch's t-test on the absolute errors and its interval for the difference in MAE.

Intervals are at ``1 - alpha``. With several treatment arms, each test uses ``alpha / k``
(Bonferroni). "About N more labelled rows per arm" is the sample size at which a difference of
``min_effect`` (accuracy points, or a relative change of the control's MAE) would be found
with 80 % power by the same test. Below :data:`MIN_LABELLED_ROWS` labelled rows in either arm
the verdict says there are too few to compare, whatever the p-value.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from trainwell.errors import ConfigError, DataError
from trainwell.utils.logging import get_logger

logger = get_logger(__name__)

Objective = Literal["classification", "regression", "anomaly"]
Outcome = Literal["better", "worse", "no_difference", "too_few_rows"]
OBJECTIVES: frozenset[str] = frozenset({"classification", "regression", "anomaly"})
# Below this many labelled rows per arm the normal approximations behind the tests are poor.
MIN_LABELLED_ROWS = 30
POWER = 0.80
P_VALUE_FLOOR = 0.001  # shown as "p < 0.001"
_ROTATED = re.compile(r"^\.(\d+)$")


class Estimate(BaseModel):
    """A metric and its confidence interval (None bounds: fewer than two rows)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    ci_low: float | None
    ci_high: float | None


class ArmStats(BaseModel):
    """One arm's traffic and quality.

    Attributes:
        arm: the arm's name (``champion``).
        versions: the model versions it served (more than one: its metric mixes them).
        requests: prediction requests.
        rows: predicted rows.
        labelled_rows: rows with an observed outcome.
        accuracy: classification and anomaly; None without labelled rows.
        mae: regression: mean absolute error.
        rmse: regression: root mean squared error.
        latency_p50_ms: median request latency.
        latency_p95_ms: 95th percentile request latency.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    arm: str
    versions: tuple[str, ...]
    requests: int
    rows: int
    labelled_rows: int
    accuracy: Estimate | None
    mae: Estimate | None
    rmse: Estimate | None
    latency_p50_ms: float
    latency_p95_ms: float


class Comparison(BaseModel):
    """One treatment arm against the control.

    Attributes:
        difference: treatment minus control (accuracy, or MAE: negative is better).
        ci_low: lower bound of the difference's interval.
        ci_high: upper bound.
        test: the test's name.
        statistic: z or t.
        p_value: two-sided; None when there were too few rows to test.
        alpha: the level this comparison is judged at (Bonferroni-adjusted).
        significant: p_value < alpha with enough labelled rows.
        rows_needed_per_arm: labelled rows per arm to detect ``min_effect`` with 80 % power.
        more_rows_per_arm: how many more than the smaller arm has now.
        outcome: better / worse / no_difference / too_few_rows.
        verdict: one plain sentence.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    control: str
    treatment: str
    metric: str
    control_value: float | None
    treatment_value: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    test: str
    statistic: float | None
    p_value: float | None
    alpha: float
    significant: bool
    rows_needed_per_arm: int | None
    more_rows_per_arm: int | None
    outcome: Outcome
    verdict: str


class ABReport(BaseModel):
    """Everything `ab report` computed; ``--json`` prints it.

    Attributes:
        files: the log files read, oldest first.
        metric: ``accuracy`` or ``mae`` (the one compared).
        skipped: malformed lines by reason.
        skipped_lines: their total.
        feedback_unmatched: feedback lines for a request id that is not in the log.
        feedback_mismatched: feedback whose outcome count differs from the predicted rows.
        unusable_rows: regression rows whose prediction or outcome is not a finite number.
        other_events: lines with an event this report does not read (shadow and others).
        notes: things to know before trusting the numbers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    files: tuple[str, ...]
    objective: Objective
    metric: str
    alpha: float
    control: str
    min_effect: float
    arms: tuple[ArmStats, ...]
    comparisons: tuple[Comparison, ...]
    lines: int
    predictions: int
    feedback_lines: int
    feedback_unmatched: int
    feedback_mismatched: int
    unusable_rows: int
    other_events: dict[str, int]
    skipped: dict[str, int]
    skipped_lines: int
    notes: tuple[str, ...]


# --- reading the log ------------------------------------------------------------------------


@dataclass
class _Request:
    arm: str
    version: str
    objective: str
    predictions: list[Any]
    latency_ms: float


@dataclass
class RequestLog:
    """The parsed lines of a request log and its rotated files (what the statistics read)."""

    files: list[Path]
    requests: dict[str, _Request] = field(default_factory=dict)
    feedback: dict[str, list[Any]] = field(default_factory=dict)
    lines: int = 0
    feedback_lines: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    other_events: Counter[str] = field(default_factory=Counter)


def log_files(log: Path) -> list[Path]:
    """``log`` and its rotated siblings (``log.1``, ``log.2``...), oldest first.

    Raises:
        DataError: neither the log nor a rotated sibling exists.
    """
    rotated: list[tuple[int, Path]] = []
    if log.parent.is_dir():
        for sibling in log.parent.iterdir():
            if sibling.name.startswith(log.name):
                match = _ROTATED.match(sibling.name[len(log.name) :])
                if match and sibling.is_file():
                    rotated.append((int(match.group(1)), sibling))
    files = [path for _, path in sorted(rotated, reverse=True)]
    if log.is_file():
        files.append(log)
    if not files:
        raise DataError(
            f"request log not found: {log} (start the server with a request log, "
            "e.g. trainwell serve ... --request-log requests.jsonl)"
        )
    return files


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _prediction(entry: dict[str, Any]) -> _Request | str:
    """A valid prediction line as a request, else the reason it is malformed."""
    arm, objective = _text(entry.get("arm")), entry.get("objective")
    predictions, rows = entry.get("predictions"), entry.get("rows")
    latency = _number(entry.get("latency_ms"))
    version = entry.get("version")
    if _text(entry.get("request_id")) is None:
        return "prediction without a request_id"
    if arm is None:
        return "prediction without an arm"
    if objective not in OBJECTIVES:
        return "prediction with an unknown objective"
    if not isinstance(predictions, list) or not predictions:
        return "prediction without predictions"
    if rows is not None and rows != len(predictions):
        return "prediction whose rows differ from its predictions"
    if latency is None or latency < 0:
        return "prediction without a latency"
    if not isinstance(version, str | int) or isinstance(version, bool):
        return "prediction without a version"
    return _Request(arm, str(version), str(objective), predictions, latency)


def read_request_log(log: Path) -> RequestLog:
    """Parse ``log`` and its rotated files; malformed lines are counted, not raised.

    Raises:
        DataError: no log file exists, or one cannot be read.
    """
    parsed = RequestLog(files=log_files(log))
    for path in parsed.files:
        try:
            handle = path.open(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise DataError(f"cannot read request log {path}: {exc}") from exc
        with handle:
            for raw in handle:
                if raw.strip():
                    parsed.lines += 1
                    _read_line(parsed, raw)
    return parsed


def _read_line(parsed: RequestLog, raw: str) -> None:
    try:
        entry = json.loads(raw)
    except ValueError:
        parsed.skipped["not JSON"] += 1
        return
    if not isinstance(entry, dict):
        parsed.skipped["not a JSON object"] += 1
        return
    event = entry.get("event")
    if event == "prediction":
        request = _prediction(entry)
        if isinstance(request, str):
            parsed.skipped[request] += 1
        elif entry["request_id"] in parsed.requests:
            parsed.skipped["duplicate prediction request_id"] += 1
        else:
            parsed.requests[entry["request_id"]] = request
    elif event == "feedback":
        request_id, outcomes = _text(entry.get("request_id")), entry.get("outcomes")
        if request_id is None or not isinstance(outcomes, list):
            parsed.skipped["feedback without a request_id or outcomes"] += 1
            return
        parsed.feedback_lines += 1
        parsed.feedback[request_id] = outcomes  # the last feedback wins
    elif isinstance(event, str) and event:
        parsed.other_events[event] += 1
    else:
        parsed.skipped["line without an event"] += 1


# --- per arm --------------------------------------------------------------------------------


@dataclass
class _Arm:
    name: str
    requests: list[_Request] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)  # classification and anomaly
    errors: list[float] = field(default_factory=list)  # regression: prediction - outcome


def _label(value: Any) -> str:
    """Compare labels as text, with 1, 1.0, True and "1" the same label."""
    if isinstance(value, bool) or (isinstance(value, float) and value.is_integer()):
        value = int(value)
    return str(value)


def _join(parsed: RequestLog, regression: bool) -> tuple[dict[str, _Arm], int, int, int]:
    """Group requests by arm and pair their rows with outcomes.

    Returns:
        The arms, feedback for unknown ids, feedback with the wrong row count, unusable rows.
    """
    arms: dict[str, _Arm] = {}
    for request in parsed.requests.values():
        arms.setdefault(request.arm, _Arm(request.arm)).requests.append(request)
    unmatched = mismatched = unusable = 0
    for request_id, outcomes in parsed.feedback.items():
        labelled = parsed.requests.get(request_id)
        if labelled is None:
            unmatched += 1
            continue
        if len(outcomes) != len(labelled.predictions):
            mismatched += 1
            continue
        arm = arms[labelled.arm]
        for predicted, observed in zip(labelled.predictions, outcomes, strict=True):
            if observed is None:
                continue
            if not regression:
                arm.correct.append(_label(predicted) == _label(observed))
                continue
            p, o = _number(predicted), _number(observed)
            if p is None or o is None:
                unusable += 1
            else:
                arm.errors.append(p - o)
    return arms, unmatched, mismatched, unusable


def _wilson(successes: int, n: int, z: float) -> Estimate:
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Estimate(value=p, ci_low=max(0.0, centre - half), ci_high=min(1.0, centre + half))


def _mean_interval(values: Any, confidence: float) -> tuple[float | None, float | None]:
    """t interval of the mean of ``values`` (None, None for fewer than two)."""
    from scipy import stats

    n = len(values)
    if n < 2:
        return None, None
    mean, sem = float(values.mean()), float(values.std(ddof=1)) / math.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sem
    return mean - half, mean + half


def _arm_stats(arm: _Arm, confidence: float) -> ArmStats:
    import numpy as np
    from scipy import stats

    latencies = np.asarray([r.latency_ms for r in arm.requests])
    accuracy = mae = rmse = None
    if arm.correct:
        z = float(stats.norm.ppf(0.5 + confidence / 2))
        accuracy = _wilson(sum(arm.correct), len(arm.correct), z)
    if arm.errors:
        absolute = np.abs(np.asarray(arm.errors))
        low, high = _mean_interval(absolute, confidence)
        mae = Estimate(value=float(absolute.mean()), ci_low=low, ci_high=high)
        squared = absolute**2
        low, high = _mean_interval(squared, confidence)
        rmse = Estimate(
            value=math.sqrt(float(squared.mean())),
            ci_low=None if low is None else math.sqrt(max(low, 0.0)),
            ci_high=None if high is None else math.sqrt(high),
        )
    return ArmStats(
        arm=arm.name,
        versions=tuple(sorted({r.version for r in arm.requests}, key=lambda v: (len(v), v))),
        requests=len(arm.requests),
        rows=sum(len(r.predictions) for r in arm.requests),
        labelled_rows=len(arm.correct) + len(arm.errors),
        accuracy=accuracy,
        mae=mae,
        rmse=rmse,
        latency_p50_ms=float(np.percentile(latencies, 50)),
        latency_p95_ms=float(np.percentile(latencies, 95)),
    )


# --- treatment vs control -------------------------------------------------------------------


@dataclass(frozen=True)
class _Test:
    difference: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float


def _proportion_test(control: _Arm, treatment: _Arm, confidence: float) -> _Test:
    """Pooled two-proportion z-test; Newcombe's hybrid score interval for the difference."""
    from scipy import stats

    n_c, n_t = len(control.correct), len(treatment.correct)
    k_c, k_t = sum(control.correct), sum(treatment.correct)
    p_c, p_t = k_c / n_c, k_t / n_t
    pooled = (k_c + k_t) / (n_c + n_t)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    z_stat = 0.0 if se == 0 else (p_t - p_c) / se
    p_value = float(2 * stats.norm.sf(abs(z_stat)))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    wc, wt = _wilson(k_c, n_c, z), _wilson(k_t, n_t, z)
    assert wc.ci_low is not None and wc.ci_high is not None
    assert wt.ci_low is not None and wt.ci_high is not None
    difference = p_t - p_c
    low = difference - math.hypot(p_t - wt.ci_low, wc.ci_high - p_c)
    high = difference + math.hypot(wt.ci_high - p_t, p_c - wc.ci_low)
    return _Test(difference, low, high, z_stat, p_value)


def _welch_test(control: _Arm, treatment: _Arm, confidence: float) -> _Test:
    """Welch's t-test on absolute errors (treatment minus control)."""
    import numpy as np
    from scipy import stats

    a_t, a_c = np.abs(np.asarray(treatment.errors)), np.abs(np.asarray(control.errors))
    difference = float(a_t.mean() - a_c.mean())
    result = stats.ttest_ind(a_t, a_c, equal_var=False)
    p_value, statistic = float(result.pvalue), float(result.statistic)
    if math.isnan(p_value):  # both arms without spread: the difference is exact
        return _Test(difference, difference, difference, 0.0, 1.0 if difference == 0 else 0.0)
    interval = result.confidence_interval(confidence_level=confidence)
    return _Test(difference, float(interval.low), float(interval.high), statistic, p_value)


def _rows_needed(
    control: _Arm, treatment: _Arm, regression: bool, alpha: float, min_effect: float
) -> int | None:
    """Labelled rows per arm for the test to find ``min_effect`` with :data:`POWER`."""
    import numpy as np
    from scipy import stats

    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(POWER))
    if regression:  # a relative change of the control's MAE
        if not (control.errors or treatment.errors):
            return None
        a_c = np.abs(np.asarray(control.errors or treatment.errors))
        a_t = np.abs(np.asarray(treatment.errors or control.errors))
        delta = min_effect * float(a_c.mean())
        spread = float(a_c.var(ddof=1) + a_t.var(ddof=1)) if min(len(a_c), len(a_t)) > 1 else 0
        if delta <= 0 or spread <= 0:
            return None
        return math.ceil(z * z * spread / (delta * delta))
    # accuracy points; the alternative on the side nearer 0.5, where the variance is larger
    p_c = sum(control.correct) / len(control.correct) if control.correct else 0.5
    p_t = p_c - min_effect if p_c > 0.5 else p_c + min_effect
    p_t = min(max(p_t, 0.0), 1.0)
    variance = p_c * (1 - p_c) + p_t * (1 - p_t)
    return max(1, math.ceil(z * z * variance / (min_effect * min_effect)))


def _p_text(p_value: float) -> str:
    return f"p < {P_VALUE_FLOOR}" if p_value < P_VALUE_FLOOR else f"p = {p_value:.3g}"


def _compare(
    control: _Arm, treatment: _Arm, regression: bool, alpha: float, min_effect: float
) -> Comparison:
    confidence = 1 - alpha
    metric, fmt = ("MAE", "{:.4g}") if regression else ("accuracy", "{:.2f}")
    n_c = len(control.errors if regression else control.correct)
    n_t = len(treatment.errors if regression else treatment.correct)
    c_stats, t_stats = _arm_stats(control, confidence), _arm_stats(treatment, confidence)
    c_est = c_stats.mae if regression else c_stats.accuracy
    t_est = t_stats.mae if regression else t_stats.accuracy
    needed = _rows_needed(control, treatment, regression, alpha, min_effect)
    more = None if needed is None else max(0, needed - min(n_c, n_t))
    points = f"{min_effect * 100:g}"
    effect = f"{points} % change in MAE" if regression else f"{points}-point difference"
    names = (treatment.name, control.name)
    base = {
        "control": control.name,
        "treatment": treatment.name,
        "metric": "mae" if regression else "accuracy",
        "control_value": None if c_est is None else c_est.value,
        "treatment_value": None if t_est is None else t_est.value,
        "test": "Welch's t-test on absolute errors" if regression else "two-proportion z-test",
        "alpha": alpha,
        "rows_needed_per_arm": needed,
        "more_rows_per_arm": more,
    }
    if min(n_c, n_t) < MIN_LABELLED_ROWS:
        tail = (
            f"; about {more:,} more labelled rows per arm would detect a {effect}" if more else ""
        )
        return Comparison(
            **base,
            difference=None,
            ci_low=None,
            ci_high=None,
            statistic=None,
            p_value=None,
            significant=False,
            outcome="too_few_rows",
            verdict=f"too few labelled rows to compare {names[0]} with {names[1]}: {n_t} and "
            f"{n_c} (at least {MIN_LABELLED_ROWS} per arm){tail}",
        )
    assert c_est is not None and t_est is not None
    test = (_welch_test if regression else _proportion_test)(control, treatment, confidence)
    values = f"{metric} {fmt.format(t_est.value)} vs {fmt.format(c_est.value)}"
    significant = test.p_value < alpha
    better = (test.difference < 0) if regression else (test.difference > 0)
    outcome: Outcome
    if significant:
        outcome = "better" if better else "worse"
        verdict = f"{names[0]} is {outcome} than {names[1]}: {values}, {_p_text(test.p_value)}"
    elif more:
        outcome = "no_difference"
        verdict = (
            f"no significant difference yet ({names[0]} vs {names[1]}: {values}, "
            f"{_p_text(test.p_value)}): about {more:,} more labelled rows per arm would "
            f"detect a {effect}"
        )
    else:
        outcome = "no_difference"
        verdict = f"no significant difference ({names[0]} vs {names[1]}: {values}, "
        verdict += (
            f"{_p_text(test.p_value)})"
            if more is None
            else f"{_p_text(test.p_value)}): with {min(n_c, n_t):,} labelled rows per arm a "
            f"{effect} would have been found ({POWER * 100:g} % power)"
        )
    return Comparison(
        **base,
        difference=test.difference,
        ci_low=test.ci_low,
        ci_high=test.ci_high,
        statistic=test.statistic,
        p_value=test.p_value,
        significant=significant,
        outcome=outcome,
        verdict=verdict,
    )


def compare_arms(
    log: Path, alpha: float = 0.05, control: str = "champion", min_effect: float = 0.02
) -> ABReport:
    """Read a request log and compare every arm with ``control``.

    Args:
        log: the server's JSONL request log; rotated ``log.N`` files are read too.
        alpha: the significance level (intervals are at ``1 - alpha``).
        control: the arm the others are compared with.
        min_effect: the smallest difference worth detecting, for the rows-needed estimate:
            accuracy points (0.02) or a relative change of the control's MAE (0.02 = 2 %).

    Returns:
        Per-arm metrics, one comparison per other arm, and counts of what was skipped.

    Raises:
        ConfigError: ``alpha`` or ``min_effect`` is out of range.
        DataError: no log, no prediction lines, arms with different objectives, or no arm
            named ``control``.

    Example:
        >>> compare_arms(Path("requests.jsonl")).comparisons[0].verdict  # doctest: +SKIP
        'challenger is better than champion: accuracy 0.93 vs 0.88, p = 0.004'
    """
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
    if min_effect <= 0:
        raise ConfigError(f"min_effect must be positive, got {min_effect}")
    parsed = read_request_log(log)
    shown = ", ".join(str(p) for p in parsed.files)
    if not parsed.requests:
        skipped = sum(parsed.skipped.values())
        why = f" ({skipped} malformed line(s) skipped)" if skipped else ""
        raise DataError(f"no prediction lines in {shown}{why}")
    objectives = sorted({r.objective for r in parsed.requests.values()})
    if len(objectives) > 1:
        raise DataError(f"{shown} mixes objectives ({', '.join(objectives)}): one model per log")
    objective = objectives[0]
    regression = objective == "regression"
    arms, unmatched, mismatched, unusable = _join(parsed, regression)
    if control not in arms:
        raise DataError(
            f"control arm {control!r} is not in {shown} (arms: {', '.join(sorted(arms))}): "
            "pass --control"
        )
    treatments = sorted(name for name in arms if name != control)
    adjusted = alpha / max(1, len(treatments))  # Bonferroni over the comparisons
    confidence = 1 - alpha
    stats = tuple(_arm_stats(arms[name], confidence) for name in [control, *treatments])
    comparisons = tuple(
        _compare(arms[control], arms[name], regression, adjusted, min_effect) for name in treatments
    )
    notes = [
        f"arm {arm.arm} served versions {', '.join(arm.versions)}: its metric mixes them"
        for arm in stats
        if len(arm.versions) > 1
    ]
    if not treatments:
        notes.append(f"only one arm ({control}) in the log: nothing to compare")
    skipped_lines = sum(parsed.skipped.values())
    return ABReport(
        files=tuple(str(p) for p in parsed.files),
        objective=objective,  # checked against OBJECTIVES when read
        metric="mae" if regression else "accuracy",
        alpha=alpha,
        control=control,
        min_effect=min_effect,
        arms=stats,
        comparisons=comparisons,
        lines=parsed.lines,
        predictions=len(parsed.requests),
        feedback_lines=parsed.feedback_lines,
        feedback_unmatched=unmatched,
        feedback_mismatched=mismatched,
        unusable_rows=unusable,
        other_events=dict(parsed.other_events),
        skipped=dict(parsed.skipped),
        skipped_lines=skipped_lines,
        notes=tuple(notes),
    )
