"""The check report: downgrades are applied and recorded, never silent."""

from __future__ import annotations

from trainwell.evaluation.checks.result import CheckReport, fired, passed, skipped


def report() -> CheckReport:
    return CheckReport(
        checks=(
            passed("seeds", "ok"),
            fired("leakage.duplicate_rows", "fail", "3 rows", "dedupe"),
            fired("sanity.constant_columns", "warn", "1 column", "drop"),
            skipped("leakage.time_order", "no time column"),
        )
    )


def test_failed_and_warnings() -> None:
    r = report()
    assert [c.id for c in r.failed] == ["leakage.duplicate_rows"]
    assert [c.id for c in r.warnings] == ["sanity.constant_columns"]
    assert r.by_id("seeds").status == "pass"


def test_downgrade_records_the_original_status() -> None:
    r = report().apply_downgrades({"leakage.duplicate_rows": "warn", "seeds": "skip"})
    downgraded = r.by_id("leakage.duplicate_rows")
    assert (downgraded.status, downgraded.downgraded_from) == ("warn", "fail")
    assert r.failed == []
    # a downgrade never raises a status, and a pass stays a pass
    seeds = r.by_id("seeds")
    assert (seeds.status, seeds.downgraded_from) == ("pass", None)


def test_merged_keeps_order() -> None:
    first, second = report(), CheckReport(checks=(passed("memory", "fine"),))
    assert [c.id for c in first.merged(second).checks][-1] == "memory"
