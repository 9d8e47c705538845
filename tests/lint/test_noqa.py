"""`# noqa` comments."""

from __future__ import annotations

import pytest

from trainwell.lint.noqa import ALL_CODES, is_silenced, noqa_lines, parse_noqa_comment


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("# noqa: TW106", {"TW106"}),
        ("# noqa:TW106,TW108", {"TW106", "TW108"}),
        ("# NOQA: tw106", {"TW106"}),
        ("# noqa: T201", {"T201", "TW103"}),
        ("# noqa: BLE001 -- we log and move on", {"BLE001", "TW109"}),
        ("# type: ignore  # noqa: F403", {"F403", "TW101"}),
    ],
)
def test_codes_and_their_ruff_aliases(comment: str, expected: set[str]) -> None:
    assert parse_noqa_comment(comment) == expected


def test_bare_noqa_silences_everything_and_other_comments_nothing() -> None:
    assert parse_noqa_comment("# noqa") is ALL_CODES
    assert parse_noqa_comment("# noqa  (legacy)") is ALL_CODES
    assert parse_noqa_comment("# this is not a noqa-comment") is None
    assert parse_noqa_comment("# pragma: no cover") is None


def test_noqa_lines_reads_comments_not_strings() -> None:
    source = 'x = "# noqa: TW106"\ny = 42  # noqa: TW106\nz = 7  # noqa\n'
    lines = noqa_lines(source)
    assert set(lines) == {2, 3}
    assert is_silenced("TW106", 2, lines)
    assert not is_silenced("TW102", 2, lines)
    assert is_silenced("TW102", 3, lines)
    assert not is_silenced("TW106", 1, lines)


def test_unparseable_source_keeps_what_was_read() -> None:
    assert noqa_lines("x = 1  # noqa: TW106\ny = (\n") == {1: frozenset({"TW106"})}


def test_lines_inside_multiline_strings_are_skipped() -> None:
    from pathlib import Path

    from trainwell.lint.analyzer import analyze_source

    source = 'DOC = """\nx = 1  # noqa: TW106\n"""\ny = 42  # noqa: TW106\nz = 43\n'
    result = analyze_source(source, Path("m.py"), frozenset({"TW106"}))
    assert set(result.noqa) == {4}
