"""`trainwell ab report`: per-arm metrics, the tests against scipy, the verdicts, rotated logs,
malformed lines and the bad-input paths, on seeded synthetic request logs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from tests.cli_helpers import EXIT_BAD_INPUT, invoke
from typer.testing import CliRunner

from trainwell.cli import app
from trainwell.errors import ConfigError, DataError
from trainwell.inference.abreport import MIN_LABELLED_ROWS, POWER, compare_arms, log_files

LABELS = ("malignant", "benign")


def _prediction(request_id: str, arm: str, predictions: list[Any], **extra: Any) -> dict[str, Any]:
    return {
        "event": "prediction",
        "ts": 1764770000.0,
        "request_id": request_id,
        "arm": arm,
        "model": "churn",
        "version": extra.pop("version", "3" if arm == "champion" else "4"),
        "objective": extra.pop("objective", "classification"),
        "rows": len(predictions),
        "predictions": predictions,
        "latency_ms": extra.pop("latency_ms", 1.5),
        **extra,
    }


def classification_lines(
    accuracy: dict[str, float], rows: int, seed: int = 0, labelled: float = 1.0
) -> tuple[list[dict[str, Any]], dict[str, tuple[int, int]]]:
    """Lines for arms with the given accuracy; (correct, labelled rows) per arm as written.

    Requests hold 1-3 rows; a share ``labelled`` of the requests gets feedback.
    """
    rng = np.random.default_rng(seed)
    lines: list[dict[str, Any]] = []
    counts: dict[str, tuple[int, int]] = {}
    for arm, share in accuracy.items():
        correct = total = written = 0
        while written < rows:
            size = int(rng.integers(1, 4))
            request_id = f"{arm}-{written}"
            outcomes = [LABELS[int(rng.integers(0, 2))] for _ in range(size)]
            hits = rng.random(size) < share
            predicted = [
                o if h else LABELS[1 - LABELS.index(o)] for o, h in zip(outcomes, hits, strict=True)
            ]
            latency = float(rng.gamma(2.0, 1.0))
            lines.append(_prediction(request_id, arm, predicted, latency_ms=latency))
            if rng.random() < labelled:
                lines.append({"event": "feedback", "request_id": request_id, "outcomes": outcomes})
                correct += int(hits.sum())
                total += size
            written += size
        counts[arm] = (correct, total)
    return lines, counts


def write_log(path: Path, lines: list[Any]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def test_a_worse_challenger_p_value_matches_scipy_and_the_verdict_says_worse(
    tmp_path: Path,
) -> None:
    lines, counts = classification_lines({"champion": 0.9, "challenger": 0.8}, rows=3000)
    report = compare_arms(write_log(tmp_path / "requests.jsonl", lines))
    (k_c, n_c), (k_t, n_t) = counts["champion"], counts["challenger"]
    table = [[k_t, n_t - k_t], [k_c, n_c - k_c]]
    expected = stats.chi2_contingency(table, correction=False).pvalue
    (comparison,) = report.comparisons
    assert comparison.test == "two-proportion z-test"
    assert comparison.p_value == pytest.approx(expected, rel=1e-9)
    assert comparison.difference == pytest.approx(k_t / n_t - k_c / n_c)
    assert comparison.ci_low < comparison.difference < comparison.ci_high < 0
    assert comparison.outcome == "worse" and comparison.significant
    assert comparison.verdict == (
        f"challenger is worse than champion: accuracy {k_t / n_t:.2f} vs {k_c / n_c:.2f}, p < 0.001"
    )
    champion, challenger = report.arms
    assert (champion.arm, challenger.arm) == ("champion", "challenger")
    assert champion.labelled_rows == n_c and champion.rows >= 3000
    assert champion.versions == ("3",) and challenger.versions == ("4",)
    assert champion.accuracy is not None and champion.accuracy.value == pytest.approx(k_c / n_c)


def test_a_better_challenger_is_called_better_with_a_small_p_value(tmp_path: Path) -> None:
    lines, counts = classification_lines({"champion": 0.88, "challenger": 0.93}, 2500, seed=1)
    (comparison,) = compare_arms(write_log(tmp_path / "log.jsonl", lines)).comparisons
    (k_c, n_c), (k_t, n_t) = counts["champion"], counts["challenger"]
    z = (k_t / n_t - k_c / n_c) / math.sqrt(
        (k_c + k_t) / (n_c + n_t) * (1 - (k_c + k_t) / (n_c + n_t)) * (1 / n_c + 1 / n_t)
    )
    assert comparison.statistic == pytest.approx(z)
    assert comparison.p_value == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert comparison.outcome == "better"
    assert comparison.verdict.startswith(
        f"challenger is better than champion: accuracy {k_t / n_t:.2f} vs {k_c / n_c:.2f}, p "
    )


def test_the_wilson_intervals_match_scipy(tmp_path: Path) -> None:
    lines, counts = classification_lines({"champion": 0.9, "challenger": 0.85}, 400, seed=2)
    report = compare_arms(write_log(tmp_path / "log.jsonl", lines))
    for arm in report.arms:
        correct, total = counts[arm.arm]
        expected = stats.binomtest(correct, total).proportion_ci(0.95, method="wilson")
        assert arm.accuracy is not None
        assert arm.accuracy.ci_low == pytest.approx(expected.low)
        assert arm.accuracy.ci_high == pytest.approx(expected.high)


def test_no_difference_says_how_many_more_rows_would_detect_two_points(tmp_path: Path) -> None:
    lines, counts = classification_lines({"champion": 0.9, "challenger": 0.9}, 500, seed=3)
    (comparison,) = compare_arms(write_log(tmp_path / "log.jsonl", lines)).comparisons
    assert comparison.outcome == "no_difference" and not comparison.significant
    assert comparison.p_value is not None and comparison.p_value > 0.05
    # the textbook sample size for two proportions, the alternative 2 points nearer 0.5
    p_c = counts["champion"][0] / counts["champion"][1]
    p_t = p_c - 0.02
    z = stats.norm.ppf(0.975) + stats.norm.ppf(POWER)
    needed = math.ceil(z**2 * (p_c * (1 - p_c) + p_t * (1 - p_t)) / 0.02**2)
    more = needed - min(n for _, n in counts.values())
    assert comparison.rows_needed_per_arm == needed and comparison.more_rows_per_arm == more
    assert comparison.verdict.startswith("no significant difference yet (challenger vs champion")
    assert comparison.verdict.endswith(
        f"about {more:,} more labelled rows per arm would detect a 2-point difference"
    )


def test_no_difference_with_enough_rows_says_the_test_had_the_power(tmp_path: Path) -> None:
    lines, counts = classification_lines({"champion": 0.9, "challenger": 0.9}, 5000, seed=10)
    log = write_log(tmp_path / "log.jsonl", lines)
    (comparison,) = compare_arms(log).comparisons
    n = min(total for _, total in counts.values())
    assert comparison.outcome == "no_difference" and comparison.more_rows_per_arm == 0
    assert comparison.verdict.endswith(
        f"with {n:,} labelled rows per arm a 2-point difference would have been found (80 % power)"
    )
    (coarse,) = compare_arms(log, min_effect=0.01).comparisons
    assert coarse.more_rows_per_arm and "1-point difference" in coarse.verdict


def test_too_few_labelled_rows_says_so_whatever_the_p_value(tmp_path: Path) -> None:
    lines, _ = classification_lines({"champion": 1.0, "challenger": 0.0}, 400, labelled=0.02)
    report = compare_arms(write_log(tmp_path / "log.jsonl", lines))
    (comparison,) = report.comparisons
    labelled = {arm.arm: arm.labelled_rows for arm in report.arms}
    assert 0 < labelled["challenger"] < MIN_LABELLED_ROWS
    assert comparison.outcome == "too_few_rows" and comparison.p_value is None
    assert comparison.verdict.startswith(
        f"too few labelled rows to compare challenger with champion: {labelled['challenger']} "
        f"and {labelled['champion']} (at least {MIN_LABELLED_ROWS} per arm)"
    )


def test_regression_uses_welch_on_absolute_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    lines: list[dict[str, Any]] = []
    errors: dict[str, list[float]] = {"champion": [], "challenger": []}
    for arm, scale in (("champion", 3.0), ("challenger", 2.7)):
        for i in range(1500):
            truth = float(rng.normal(100, 20))
            predicted = truth + float(rng.normal(0, scale))
            lines.append(_prediction(f"{arm}-{i}", arm, [predicted], objective="regression"))
            lines.append({"event": "feedback", "request_id": f"{arm}-{i}", "outcomes": [truth]})
            errors[arm].append(abs(predicted - truth))
    report = compare_arms(write_log(tmp_path / "log.jsonl", lines))
    assert report.objective == "regression" and report.metric == "mae"
    a_t, a_c = np.asarray(errors["challenger"]), np.asarray(errors["champion"])
    expected = stats.ttest_ind(a_t, a_c, equal_var=False)
    (comparison,) = report.comparisons
    assert comparison.test == "Welch's t-test on absolute errors"
    assert comparison.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    interval = expected.confidence_interval(0.95)
    assert (comparison.ci_low, comparison.ci_high) == pytest.approx((interval.low, interval.high))
    champion = report.arms[0]
    assert champion.mae is not None and champion.rmse is not None
    assert champion.mae.value == pytest.approx(a_c.mean())
    low, high = stats.t.interval(0.95, len(a_c) - 1, a_c.mean(), stats.sem(a_c))
    assert (champion.mae.ci_low, champion.mae.ci_high) == pytest.approx((low, high))
    assert champion.rmse.value == pytest.approx(math.sqrt((a_c**2).mean()))
    assert champion.rmse.ci_low < champion.rmse.value < champion.rmse.ci_high
    assert comparison.outcome == "better"
    assert comparison.verdict.startswith(
        f"challenger is better than champion: MAE {a_t.mean():.4g} vs {a_c.mean():.4g}, p "
    )


def test_anomaly_labels_are_zero_one_ints(tmp_path: Path) -> None:
    lines = []
    for i in range(100):
        lines.append(_prediction(f"c{i}", "champion", [1, 0], objective="anomaly"))
        lines.append(
            {"event": "feedback", "request_id": f"c{i}", "outcomes": [1, 1 if i < 10 else 0]}
        )
    report = compare_arms(write_log(tmp_path / "log.jsonl", lines))
    (arm,) = report.arms
    assert arm.accuracy is not None and arm.accuracy.value == pytest.approx(190 / 200)
    assert report.comparisons == ()
    assert report.notes == ("only one arm (champion) in the log: nothing to compare",)


def test_rotated_files_are_read_oldest_first_with_the_same_result(tmp_path: Path) -> None:
    lines, _ = classification_lines({"champion": 0.9, "challenger": 0.8}, 900, seed=5)
    whole = compare_arms(write_log(tmp_path / "whole.jsonl", lines))
    third = len(lines) // 3
    log = tmp_path / "requests.jsonl"
    write_log(tmp_path / "requests.jsonl.2", lines[:third])  # the oldest
    write_log(tmp_path / "requests.jsonl.1", lines[third : 2 * third])
    write_log(log, lines[2 * third :])
    write_log(tmp_path / "requests.jsonl.bak", ["not a rotation"])
    assert log_files(log) == [tmp_path / f"requests.jsonl.{n}" for n in (2, 1)] + [log]
    rotated = compare_arms(log)
    assert rotated.files == tuple(str(p) for p in log_files(log))
    assert rotated.arms == whole.arms and rotated.comparisons == whole.comparisons


def test_the_last_feedback_wins_and_unknown_ids_and_shadow_lines_are_counted(
    tmp_path: Path,
) -> None:
    lines: list[Any] = []
    for i in range(40):
        lines.append(_prediction(f"r{i}", "champion", ["benign"]))
        lines.append({"event": "feedback", "request_id": f"r{i}", "outcomes": ["malignant"]})
        lines.append({"event": "shadow", "request_id": f"r{i}", "arm": "challenger"})
        lines.append({"event": "feedback", "request_id": f"r{i}", "outcomes": ["benign"]})
    lines.append({"event": "feedback", "request_id": "nobody", "outcomes": ["benign"]})
    lines.append({"event": "feedback", "request_id": "r0", "outcomes": ["benign", "benign"]})
    report = compare_arms(write_log(tmp_path / "log.jsonl", lines))
    (arm,) = report.arms
    assert arm.accuracy is not None and arm.accuracy.value == 1.0
    assert arm.labelled_rows == 39  # r0's last feedback has two outcomes for one row
    assert report.feedback_unmatched == 1 and report.feedback_mismatched == 1
    assert report.other_events == {"shadow": 40} and report.skipped_lines == 0


def test_malformed_lines_are_skipped_with_a_count_and_a_warning(tmp_path: Path) -> None:
    lines, _ = classification_lines({"champion": 0.9, "challenger": 0.8}, 300, seed=6)
    clean = compare_arms(write_log(tmp_path / "clean.jsonl", lines))
    broken = [
        "{not json",
        "[1, 2]",
        json.dumps({"request_id": "x"}),
        json.dumps(_prediction("y", "champion", [])),
        json.dumps({**_prediction("z", "champion", ["benign"]), "latency_ms": "fast"}),
        json.dumps({**_prediction("w", "champion", ["benign"]), "rows": 5}),
        json.dumps(lines[0]),  # a duplicate request id
        '{"event": "feedback", "request_id": 7, "outcomes": ["benign"]}',
    ]
    log = write_log(tmp_path / "log.jsonl", [*lines, *broken])
    report = compare_arms(log)
    assert report.skipped_lines == len(broken)
    assert (
        report.skipped["not JSON"] == 1 and report.skipped["duplicate prediction request_id"] == 1
    )
    assert report.arms == clean.arms
    code, out = invoke("ab", "report", str(log))
    assert code == 0, out
    assert f"warning: skipped {len(broken)} malformed line(s)" in out
    assert "challenger is worse than champion" in out


def test_json_output_parses_and_holds_the_same_numbers(tmp_path: Path) -> None:
    lines, _ = classification_lines({"champion": 0.9, "challenger": 0.8}, 600, seed=7)
    log = write_log(tmp_path / "log.jsonl", lines)
    result = CliRunner().invoke(app, ["ab", "report", str(log), "--json", "--alpha", "0.01"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    expected = compare_arms(log, alpha=0.01)
    assert payload["comparisons"][0]["p_value"] == pytest.approx(expected.comparisons[0].p_value)
    assert payload["alpha"] == 0.01 and payload["control"] == "champion"
    assert [arm["arm"] for arm in payload["arms"]] == ["champion", "challenger"]


def test_another_control_and_several_treatments_use_bonferroni(tmp_path: Path) -> None:
    shares = {"champion": 0.9, "challenger": 0.8, "canary": 0.9}
    lines, _ = classification_lines(shares, 400, seed=8)
    report = compare_arms(write_log(tmp_path / "log.jsonl", lines), control="canary")
    assert [c.treatment for c in report.comparisons] == ["challenger", "champion"]
    assert all(
        c.control == "canary" and c.alpha == pytest.approx(0.025) for c in report.comparisons
    )


def test_the_cli_renders_arms_and_the_verdict(tmp_path: Path) -> None:
    lines, _ = classification_lines({"champion": 0.9, "challenger": 0.8}, 600, seed=9)
    code, out = invoke("ab", "report", str(write_log(tmp_path / "log.jsonl", lines)))
    assert code == 0, out
    assert "champion" in out and "challenger" in out and "accuracy [95 % CI]" in out
    assert "two-proportion z-test" in out and "challenger is worse than champion" in out


def test_a_missing_log_is_one_line_and_exit_2(tmp_path: Path) -> None:
    code, out = invoke("ab", "report", str(tmp_path / "absent.jsonl"))
    assert code == EXIT_BAD_INPUT
    assert f"error: request log not found: {tmp_path / 'absent.jsonl'}" in out


def test_an_empty_log_is_one_line_and_exit_2(tmp_path: Path) -> None:
    log = write_log(tmp_path / "empty.jsonl", [])
    code, out = invoke("ab", "report", str(log))
    assert code == EXIT_BAD_INPUT
    assert f"error: no prediction lines in {log}" in out
    write_log(log, ["garbage", '{"event": "shadow"}'])
    code, out = invoke("ab", "report", str(log))
    assert code == EXIT_BAD_INPUT and "(1 malformed line(s) skipped)" in out


def test_an_unknown_control_arm_is_one_line_and_exit_2(tmp_path: Path) -> None:
    lines, _ = classification_lines({"champion": 0.9, "challenger": 0.8}, 60)
    log = write_log(tmp_path / "log.jsonl", lines)
    code, out = invoke("ab", "report", str(log), "--control", "blue")
    assert code == EXIT_BAD_INPUT
    assert "error: control arm 'blue' is not in" in out and "(arms: challenger, champion)" in out


def test_mixed_objectives_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "log.jsonl",
        [
            _prediction("a", "champion", ["benign"]),
            _prediction("b", "challenger", [1.5], objective="regression"),
        ],
    )
    with pytest.raises(DataError, match="mixes objectives"):
        compare_arms(log)
    with pytest.raises(ConfigError, match="alpha must be in"):
        compare_arms(log, alpha=1.5)
    with pytest.raises(ConfigError, match="min_effect must be positive"):
        compare_arms(log, min_effect=0)
