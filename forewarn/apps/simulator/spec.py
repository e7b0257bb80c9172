"""What to simulate (:class:`SimSpec`), its checks, and the window it covers."""

from __future__ import annotations

from dataclasses import dataclass

from forewarn.core.timefmt import DAY, MINUTE, format_us, now_us, parse_rfc3339


@dataclass(frozen=True)
class SimSpec:
    """What to simulate.

    customers: store size (about 40 events per customer per 30 days).
    days: length of the window when ``start`` and ``end`` are not both given.
    seed: everything random derives from it.
    start, end: RFC 3339 bounds of the window. ``end`` defaults to ``start + days`` when
        ``start`` is given, else to now (UTC) rounded down to the minute; ``start`` defaults
        to ``end - days``.
    duplicate_rate: share of events delivered twice (same ``event_id``, same bytes, up to
        2 min later in the stream).
    late_rate: share of events placed later in the stream than their event time (1 s–2 min).
    invalid_rate: malformed lines mixed in, as a share of the valid lines.
    support_rate: inbound support (v1.1 profiles, messages, labels) at this multiple of the
        documented rates (``docs/situations.md``); 0 leaves it out: the events of the rest of
        the store are the same bytes whatever this is.
    """

    customers: int = 2000
    days: float = 30.0
    seed: int = 7
    start: str | None = None
    end: str | None = None
    duplicate_rate: float = 0.01
    late_rate: float = 0.0
    invalid_rate: float = 0.0
    support_rate: float = 0.0


def check(spec: SimSpec) -> None:
    """Refuse a spec that cannot be simulated, naming the field."""
    if spec.customers < 0:
        raise ValueError(f"customers = {spec.customers}: must be >= 0")
    if not spec.days > 0:
        raise ValueError(f"days = {spec.days}: must be > 0")
    for name in ("duplicate_rate", "late_rate", "invalid_rate"):
        value = getattr(spec, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} = {value}: must be between 0 and 1")
    if not 0.0 <= spec.support_rate <= 20.0:
        raise ValueError(f"support_rate = {spec.support_rate}: must be between 0 and 20")


def window(spec: SimSpec) -> tuple[int, int]:
    """The window ``(start, end)`` in µs; the clock is read only when neither bound is given."""
    span = int(spec.days * DAY)
    start = parse_rfc3339(spec.start) if spec.start else None
    end = parse_rfc3339(spec.end) if spec.end else None
    if end is None:
        end = start + span if start is not None else now_us() // MINUTE * MINUTE
    if start is None:
        start = end - span
    if end <= start:
        raise ValueError(f"end {format_us(end)} is not after start {format_us(start)}")
    return start, end


def ts_key(pair: tuple[int, bytes]) -> int:
    """Sort key of an ``(event time, line)`` pair (a stable sort keeps generation order on ties)."""
    return pair[0]
