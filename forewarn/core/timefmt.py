"""Event time as integer microseconds since the Unix epoch, and back to RFC 3339.

Integers keep deadlines exact: a deadline computed as ``eta + grace`` compares and
prints the same on every machine, which a byte-identical backtest needs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US = timedelta(microseconds=1)
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def whole_seconds(us: float) -> int:
    """A duration in microseconds rounded down to whole seconds: computed deadlines then
    print like the event times people read."""
    return int(us) // SECOND * SECOND


def to_us(dt: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (dt - EPOCH) // US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def format_us(us: int) -> str:
    """RFC 3339 in UTC with ``Z``; fractional seconds only when there are any."""
    dt = from_us(us)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> int:
    """Parse an RFC 3339 timestamp with an offset or ``Z``; raise ValueError otherwise."""
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return to_us(dt)


def now_us() -> int:
    return to_us(datetime.now(timezone.utc))
