"""Event-time helpers of the simulator: whole seconds, a cached RFC 3339 formatter, and
Poisson arrivals that follow the hour of day.

>>> Fmt()(0)
'1970-01-01T00:00:00Z'
>>> seconds(1_999_999)
1000000
"""

from __future__ import annotations

import random

from forewarn.apps.simulator.reference import HOURLY, HOURLY_MEAN
from forewarn.core.timefmt import HOUR, MINUTE, SECOND, format_us

_SECS = tuple(f"{s:02d}Z" for s in range(60))


class Fmt:
    """``format_us`` with everything up to the minute cached: the same text, faster."""

    def __init__(self) -> None:
        self.minutes: dict[int, str] = {}

    def __call__(self, us: int) -> str:
        if us % SECOND:
            return format_us(us)
        minute = us // MINUTE
        prefix = self.minutes.get(minute)
        if prefix is None:
            prefix = self.minutes[minute] = format_us(minute * MINUTE)[:17]
        return prefix + _SECS[us // SECOND % 60]


def seconds(us: float) -> int:
    """A duration in whole seconds (event times carry no fractions)."""
    return int(us) // SECOND * SECOND


def poisson(r: random.Random, lo: int, hi: int, rate: float) -> list[int]:
    """Event times of a Poisson process of ``rate`` per microsecond, by day-time (thinning)."""
    out: list[int] = []
    if rate <= 0 or hi <= lo:
        return out
    peak = rate / HOURLY_MEAN
    t = float(lo)
    while True:
        t += r.expovariate(peak)
        if t >= hi:
            return out
        ti = int(t) // SECOND * SECOND
        if r.random() < HOURLY[ti // HOUR % 24]:
            out.append(ti)

