"""graph/execution/ratelimit.py: the per-user token bucket, driven by an injected clock."""

from __future__ import annotations

import time

import pytest

from graph.execution import ratelimit
from graph.execution.ratelimit import MutationRateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def limiter(clock: Clock, *, per_second: float = 2.0, burst: int = 3) -> MutationRateLimiter:
    return MutationRateLimiter(per_second=per_second, burst=burst, clock=clock)


def test_a_burst_is_allowed_at_once_then_the_wait_is_one_token(clock: Clock) -> None:
    bucket = limiter(clock)
    assert [bucket.take("alice") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("alice") == pytest.approx(0.5)  # one token at 2 a second


def test_the_bucket_refills_at_the_rate(clock: Clock) -> None:
    bucket = limiter(clock)
    for _ in range(3):
        bucket.take("alice")
    clock.now += 0.25  # half a token
    assert bucket.take("alice") == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.take("alice") == 0.0
    assert bucket.take("alice") > 0


def test_a_refused_take_spends_nothing(clock: Clock) -> None:
    bucket = limiter(clock, per_second=1.0, burst=1)
    assert bucket.take("alice") == 0.0
    assert bucket.take("alice") == pytest.approx(1.0)
    assert bucket.take("alice") == pytest.approx(1.0)  # asking again does not push it back
    clock.now += 1.0
    assert bucket.take("alice") == 0.0


def test_refill_stops_at_the_burst(clock: Clock) -> None:
    bucket = limiter(clock)
    bucket.take("alice")
    clock.now += 3600
    assert [bucket.take("alice") for _ in range(4)][-1] > 0  # 3, not 7200, after an hour


def test_users_have_buckets_of_their_own(clock: Clock) -> None:
    bucket = limiter(clock, burst=1)
    assert bucket.take("alice") == 0.0
    assert bucket.take("alice") > 0
    assert bucket.take("bob") == 0.0


def test_a_rate_of_zero_turns_the_limit_off(clock: Clock) -> None:
    bucket = limiter(clock, per_second=0.0, burst=1)
    assert not bucket.enabled
    assert all(bucket.take("alice") == 0.0 for _ in range(100))


def test_a_burst_below_one_still_allows_one(clock: Clock) -> None:
    bucket = limiter(clock, burst=0)
    assert bucket.burst == 1
    assert bucket.take("alice") == 0.0
    assert bucket.take("alice") == pytest.approx(0.5)


def test_the_default_clock_is_monotonic() -> None:
    assert MutationRateLimiter(per_second=1, burst=1).clock is time.monotonic


def test_full_buckets_are_forgotten_past_the_prune_size(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "_PRUNE_AT", 3)
    bucket = limiter(clock, per_second=1.0, burst=2)
    for user in ("a", "b", "c"):
        bucket.take(user)
    bucket.take("c")  # c is empty; a and b hold one of two tokens
    clock.now += 1.0  # a and b are full again; c holds one
    bucket.take("d")
    assert set(bucket._buckets) == {"c", "d"}
    # A forgotten user starts from a full bucket, as before.
    assert bucket.take("a") == 0.0 and bucket.take("a") == 0.0
