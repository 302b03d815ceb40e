"""Read and write token buckets on a fake clock, and the 429 backoff schedule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.kalshi.rate_limit import Backoff, RateLimiter, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_basic_tier_defaults_are_20_reads_and_10_writes_a_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    assert (limiter.reads.rate, limiter.writes.rate) == (20, 10)
    for _ in range(20):
        limiter.acquire(write=False)
    for _ in range(10):
        limiter.acquire(write=True)
    assert clock.sleeps == []  # a one-second burst of each is allowed
    limiter.acquire(write=True)
    assert clock.sleeps == [pytest.approx(0.1)]
    limiter.acquire(write=False)  # the read bucket refilled while the write waited
    assert len(clock.sleeps) == 1


def test_reads_and_writes_do_not_share_a_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(reads_per_second=2, writes_per_second=1, clock=clock, sleep=clock.sleep)
    limiter.acquire(write=True)
    limiter.acquire(write=False)
    limiter.acquire(write=False)
    assert clock.sleeps == []
    limiter.acquire(write=True)
    assert clock.sleeps == [pytest.approx(1.0)]


def test_a_sustained_stream_is_paced_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    for _ in range(110):
        bucket.acquire()
    # 10 free in the burst, then 100 at 10/s
    assert clock.now == pytest.approx(10.0)


def test_tokens_refill_with_time_up_to_the_capacity() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        bucket.acquire()
    assert bucket.tokens == pytest.approx(0)
    clock.now += 100
    assert bucket.tokens == pytest.approx(5)


def test_a_cost_beyond_the_capacity_borrows_and_is_repaid() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    bucket.acquire(25)  # a batch of 25 orders
    assert clock.sleeps == []
    assert bucket.tokens == pytest.approx(-15)
    bucket.acquire()
    assert clock.now == pytest.approx(1.6)


def test_a_bucket_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_backoff_grows_exponentially_to_its_cap_and_honours_retry_after() -> None:
    backoff = Backoff(base=0.5, factor=2, cap=4, attempts=5)
    assert [backoff.delay(i) for i in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff.delay(0, retry_after=3.0) == 3.0
    assert backoff.delay(3, retry_after=1.0) == 4.0


def test_a_sleep_that_wakes_early_or_float_rounding_never_loops() -> None:
    # Regression: waiting in a loop of ever tinier sleeps once spun forever on float rounding.
    sleeps: list[float] = []
    bucket = TokenBucket(10, clock=lambda: 0.0, sleep=sleeps.append)  # time never moves
    bucket.acquire(25)
    bucket.acquire()
    bucket.acquire()
    assert sleeps == [pytest.approx(1.6), pytest.approx(0.1)]


@given(st.floats(0.5, 50), st.lists(st.floats(0.01, 30), max_size=30))
def test_each_acquire_sleeps_at_most_once(rate: float, costs: list[float]) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, clock=clock, sleep=clock.sleep)
    for cost in costs:
        before = len(clock.sleeps)
        bucket.acquire(cost)
        assert len(clock.sleeps) - before <= 1
