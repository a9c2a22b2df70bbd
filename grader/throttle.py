"""Slowing down guessing: an exponential wait between failed attempts, per key.

A key is whatever identifies the guesser (a browser session, a client address); an
attempt is refused while any of its keys must still wait. After ``free`` failures,
each failure doubles the wait: ``base``, 2 x ``base``, 4 x ``base``... up to ``cap``
seconds. A success clears the keys. Thread-safe; memory is bounded (oldest keys dropped).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from grader.errors import ConfigError

MIN_PASSCODE_CHARS = 8


@dataclass
class _Record:
    failures: int = 0
    blocked_until: float = 0.0


class AttemptThrottle:
    """Exponential delay between failed attempts, shared by every key an attempt carries.

    >>> clock = [0.0]
    >>> t = AttemptThrottle(free=1, base=2.0, now=lambda: clock[0])
    >>> t.fail(["s1"]), t.fail(["s1"]), t.wait(["s1"]), t.wait(["s2"])
    (0.0, 2.0, 2.0, 0.0)
    >>> clock[0] = 2.5; t.wait(["s1"])
    0.0
    """

    def __init__(
        self, *, free: int = 3, base: float = 1.0, cap: float = 900.0, max_keys: int = 10_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.base = base
        self.cap = cap
        self.max_keys = max_keys
        self._now = now
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, keys: Iterable[str]) -> float:
        """Seconds until an attempt carrying ``keys`` may be checked (0: now)."""
        now = self._now()
        with self._lock:
            return max([0.0, *(r.blocked_until - now for k in keys if (r := self._records.get(k)) is not None)])

    def fail(self, keys: Iterable[str]) -> float:
        """Record a failed attempt; returns the wait it imposes on the worst of ``keys``."""
        now = self._now()
        worst = 0.0
        with self._lock:
            for key in keys:
                record = self._records.pop(key, None) or _Record()
                record.failures += 1
                extra = record.failures - self.free
                delay = 0.0 if extra <= 0 else min(self.cap, self.base * 2 ** (extra - 1))
                record.blocked_until = now + delay
                self._records[key] = record
                worst = max(worst, delay)
            while len(self._records) > self.max_keys:
                self._records.popitem(last=False)
        return worst

    def failures(self, key: str) -> int:
        """Failed attempts recorded for ``key``."""
        with self._lock:
            record = self._records.get(key)
            return 0 if record is None else record.failures

    def succeed(self, keys: Iterable[str]) -> None:
        """Forget the failures of ``keys``."""
        with self._lock:
            for key in keys:
                self._records.pop(key, None)


def check_passcode_strength(passcode: str) -> None:
    """Raise :class:`ConfigError` if a configured passcode is too short to resist guessing.

    >>> check_passcode_strength("long-enough")
    >>> check_passcode_strength("short")
    Traceback (most recent call last):
    grader.errors.ConfigError: the teacher passcode must have at least 8 characters. Got 5.
    """
    if len(passcode) < MIN_PASSCODE_CHARS:
        raise ConfigError(f"the teacher passcode must have at least {MIN_PASSCODE_CHARS} characters. Got {len(passcode)}.")
