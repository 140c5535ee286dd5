"""Pacing API calls: a token bucket per (account, region) and jittered exponential backoff.

LookupEvents allows 2 requests/s per account and region. A client that sends faster only trades
its own requests for ThrottlingExceptions, and retrying those at once turns a limit into a storm.
So requests are paced *before* they are sent, and a throttled or failed request waits a growing,
randomised time, so that many regions backing off together do not retry in lockstep.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass


class TokenBucket:
    """At most ``rate`` acquisitions per second, ``burst`` of them back to back.

    A caller reserves its slot under the lock and sleeps outside it, so concurrent callers are
    served in arrival order and none can jump the queue while another sleeps.
    """

    def __init__(self, rate: float, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst
        self._tokens = burst
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, cancel: threading.Event | None = None) -> bool:
        """Wait for a slot; False if ``cancel`` was set while waiting."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait <= 0:
            return not (cancel and cancel.is_set())
        if cancel is None:
            time.sleep(wait)
            return True
        return not cancel.wait(wait)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with equal jitter: half the step is fixed, half random."""

    base: float = 0.5
    cap: float = 20.0
    attempts: int = 8

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
        step = min(self.cap, self.base * 2 ** (attempt - 1))
        return step / 2 + (rng or random).uniform(0, step / 2)
