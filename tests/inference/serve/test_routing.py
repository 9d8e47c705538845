"""A/B assignment: sticky keys keep their arm, shares follow the weights, random splits repeat."""

from __future__ import annotations

import pytest

from trainwell.errors import ConfigError
from trainwell.inference.serve.routing import Router, sticky_point
from trainwell.inference.serve.settings import parse_arms, parse_sticky_key

KEYS = 20_000


def test_a_key_always_gets_the_same_arm() -> None:
    router = Router([("champion", 90), ("challenger", 10)])
    again = Router([("champion", 90), ("challenger", 10)], seed=123)
    for i in range(500):
        key = f"user-{i}"
        assert {router.choose(key) for _ in range(5)} == {again.choose(key)}


def test_sticky_shares_follow_the_weights() -> None:
    router = Router([("champion", 90), ("challenger", 10)])
    arms = [router.choose(f"user-{i}") for i in range(KEYS)]
    share = arms.count("challenger") / KEYS
    # binomial sd at 10 % of 20,000 is 0.2 %: 4 sd of tolerance
    assert share == pytest.approx(0.10, abs=0.008)


def test_the_hash_is_stable_across_processes_and_versions() -> None:
    """blake2b, not Python's salted hash(): the same number on every machine and restart."""
    assert sticky_point("user-1") == pytest.approx(0.6041924, abs=1e-7)


def test_raising_a_weight_moves_only_keys_into_the_grown_arm() -> None:
    before = Router([("champion", 90), ("challenger", 10)])
    after = Router([("champion", 80), ("challenger", 20)])
    moved = [
        (before.choose(k), after.choose(k))
        for k in (f"user-{i}" for i in range(KEYS))
        if before.choose(k) != after.choose(k)
    ]
    assert set(moved) == {("champion", "challenger")}
    assert len(moved) / KEYS == pytest.approx(0.10, abs=0.008)


def test_the_random_split_is_seeded() -> None:
    first = Router([("a", 50), ("b", 50)], seed=7)
    second = Router([("a", 50), ("b", 50)], seed=7)
    draws = [first.choose(None) for _ in range(1000)]
    assert draws == [second.choose(None) for _ in range(1000)]
    assert draws.count("a") / 1000 == pytest.approx(0.5, abs=0.06)


def test_one_arm_takes_everything() -> None:
    assert {Router([("only", 1)]).choose(k) for k in ("a", "b", None)} == {"only"}


def test_arm_and_sticky_key_options_parse() -> None:
    arms = parse_arms("champion:90,challenger:10")
    assert [(a.ref, a.weight) for a in arms] == [("champion", 90.0), ("challenger", 10.0)]
    assert parse_arms("models/a:b:1,models/c:3")[0].ref == "models/a:b"
    key = parse_sticky_key("header:X-User-ID")
    assert (key.source, key.name) == ("header", "X-User-ID")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("champion", "must be REF:WEIGHT"),
        ("champion:0,challenger:10", "must be REF:WEIGHT with a weight above 0"),
        ("champion:50,champion:50", "names an arm twice"),
        ("champion:100", "at least two arms"),
    ],
)
def test_bad_arms_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_arms(text)


def test_a_bad_sticky_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="header:NAME or field:NAME"):
        parse_sticky_key("cookie:session")
