"""Client-side pacing: separate token buckets for reads and writes, and the backoff after a 429.

Kalshi's Basic tier allows 20 reads and 10 writes per second; both are configurable for other
tiers. The clock and the sleep are injected, so tests run on a fake clock and never wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], None]

BASIC_READS_PER_SECOND = 20.0
BASIC_WRITES_PER_SECOND = 10.0


class TokenBucket:
    """``rate`` tokens a second, holding at most ``capacity`` (a one-second burst by default).

    A request costing more than the capacity (a large batch) waits for a full bucket and then
    borrows the rest, so the bucket goes negative and later requests pay the debt back.
    """

    def __init__(self, rate: float, *, capacity: float | None = None, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.rate = rate
        self.capacity = capacity if capacity is not None else rate
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens, sleeping until they are there; returns the seconds slept."""
        slept = 0.0
        self._refill()
        needed = min(cost, self.capacity)
        if self._tokens < needed:
            slept = (needed - self._tokens) / self.rate
            self._sleep(slept)
            self._refill()
            # The sleep was computed to refill exactly this much; float rounding (or a sleep that
            # woke a hair early) must not turn into a loop of ever tinier sleeps.
            self._tokens = max(self._tokens, needed)
        self._tokens -= cost
        return slept

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens


class RateLimiter:
    """One bucket for reads (GET), one for writes (order create, cancel, amend, decrease)."""

    def __init__(self, reads_per_second: float = BASIC_READS_PER_SECOND,
                 writes_per_second: float = BASIC_WRITES_PER_SECOND, *, clock: Clock = time.monotonic,
                 sleep: Sleep = time.sleep) -> None:
        self.reads = TokenBucket(reads_per_second, clock=clock, sleep=sleep)
        self.writes = TokenBucket(writes_per_second, clock=clock, sleep=sleep)

    def acquire(self, *, write: bool, cost: float = 1.0) -> float:
        return (self.writes if write else self.reads).acquire(cost)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``base * factor**attempt`` seconds, capped, for ``attempts`` retries."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 8.0
    attempts: int = 4

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        computed = min(self.cap, self.base * self.factor**attempt)
        # The venue's own Retry-After wins when it asks for longer.
        return max(computed, min(retry_after, self.cap * 4)) if retry_after is not None else computed
