"""Building triggers and queues for the helpdesk-queue tests."""

from __future__ import annotations

import redis

from forewarn.queue import TriggerQueue
from forewarn.core.trigger import Trigger
from sinks.redis_queue import QueueWriter


def trigger(n: int, route: str = "ai", priority: str = "p3", kind: str = "delivery_late") -> Trigger:
    return Trigger(trigger_id=f"trg{n:05d}", kind=kind, customer_id=f"c{n}", order_id=f"o{n}",
                   fired_at="2026-11-04T22:00:00Z", emitted_at="2026-11-04T22:00:01Z", priority=priority,
                   route=route, score=None, reasons=[{"code": "late", "detail": "parcel is late"}],
                   customer={"ltv": 120.0, "orders": 2, "tier": "standard", "segment": "regular"},
                   outreach={"allowed": True, "channels": ["email"], "basis": "consent"},
                   evidence={"grace_hours": 12})


def enqueue(url: str, prefix: str, triggers: list[Trigger]) -> list[bool]:
    return QueueWriter(url, prefix).write(triggers)


def make_queue(url: str, prefix: str, **kwargs) -> TriggerQueue:
    kwargs.setdefault("consumer", "c1")
    return TriggerQueue(url, prefix=prefix, **kwargs)


def delete_prefix(client: redis.Redis, prefix: str) -> None:
    """Remove this test's keys (and only them)."""
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
