"""The engine over an ordered stream in plain Python, as a backtest drives it, without Bytewax.

For examples, tests and the detector contract: the watermark follows the largest event time
seen less the allowed lateness, and the end of the input moves it to the last event time
(contract section 2), exactly as ``forewarn backtest`` does with one worker. Lines that fail
validation are skipped (a backtest dead-letters them).

>>> events = [
...     {"event_id": "1", "type": "shipment.created", "ts": "2026-01-01T00:00:00Z", "customer_id": "c",
...      "order_id": "o", "shipment_id": "s", "estimated_delivery_at": "2026-01-02T00:00:00Z"},
...     {"event_id": "2", "type": "customer.activity", "ts": "2026-01-03T00:00:00Z", "customer_id": "c",
...      "kind": "session"}]
>>> [(t.kind, t.fired_at) for t in replay(events) if t.kind == "delivery_late"]
[('delivery_late', '2026-01-02T12:00:00Z')]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from detectors import REGISTRY
from forewarn.core.events import AnyEvent, Invalid, decode
from forewarn.core.trigger import Trigger
from forewarn.engine.config import Config, load
from forewarn.engine.engine import NEVER, Engine, Shard
from forewarn.engine.routing import route
from forewarn.engine.watermark import TimerIndex
from outreach.step import OutreachStep

Line = bytes | str | dict[str, Any]


def replay(lines: Iterable[Line], config: Config | None = None, engine: Engine | None = None) -> list[Trigger]:
    """The routed triggers of the events in ``lines`` (JSON bytes or text, or dicts), in output order.

    Pass ``engine`` (built from ``config``) to look at it afterwards: its models, its stats.
    """
    config = config or load(None, env={})
    engine = engine or Engine(config)
    shard = Shard()
    lateness = int(config.engine.allowed_lateness_seconds * 1_000_000)
    high = NEVER
    out = []
    for event in events(lines):
        high = max(high, event.ts_us)
        out.extend(engine.on_event(shard, event, high - lateness))
    out.extend(engine.finish(shard, high))
    outreach = OutreachStep(engine.config)  # drafts and their compliance review, as the flow adds them
    return [outreach(route(c, engine.config.routing, engine.config.triage)) for c in out]


def replay_as_run(lines: Iterable[Line], config: Config | None = None, engine: Engine | None = None) -> list[Trigger]:
    """The routed triggers ``forewarn run`` gives when ``lines`` are the order its events arrive in.

    One eager shard per customer (events applied on arrival unless a deadline of the customer
    comes first, see :mod:`forewarn.engine.engine`), one partition whose frontier is the
    largest event time and whose watermark is that less the allowed lateness, a timer index
    that wakes customers whose deadline the watermark has passed, and the end of the input moving the watermark to the
    last event time, as :func:`replay`. Triggers come in the order they are raised, which
    across customers is not a backtest's; for the rule kinds they are the same set as
    :func:`replay`'s whenever each customer's events are in event-time order.
    """
    config = config or load(None, env={})
    engine = engine or Engine(config)
    lateness = int(config.engine.allowed_lateness_seconds * 1_000_000)
    shards: dict[str, Shard] = {}
    due = TimerIndex()
    high = NEVER
    out = []
    for event in events(lines):
        high = max(high, event.ts_us)
        wm = high - lateness
        cid = event.customer_id
        shard = shards.get(cid)
        if shard is None:
            shard = shards[cid] = Shard(eager=True)
        out.extend(engine.on_event(shard, event, wm, frontier=high))
        due.register(cid, shard.next_due())
        for woken in due.pop_due(wm):
            out.extend(engine.advance(shards[woken], wm, frontier=high))
            due.register(woken, shards[woken].next_due())
    for shard in shards.values():
        out.extend(engine.finish(shard, high))
    outreach = OutreachStep(engine.config)
    return [outreach(route(c, engine.config.routing, engine.config.triage)) for c in out]


def events(lines: Iterable[Line]) -> Iterator[AnyEvent]:
    """The valid events of ``lines``, decoded, in order."""
    for line in lines:
        raw = json.dumps(line) if isinstance(line, dict) else line
        event = decode(raw.encode() if isinstance(raw, str) else raw)
        if not isinstance(event, Invalid):
            yield event


def example(kind: str) -> list[Trigger]:
    """The triggers of ``kind`` that its detector's ``EXAMPLE`` fires, with its ``EXAMPLE_SETTINGS``."""
    cls = REGISTRY[kind]
    overrides = {f"detectors.{kind}.{name}": value for name, value in cls.EXAMPLE_SETTINGS.items()}
    return [t for t in replay(cls.EXAMPLE, load(None, overrides, env={})) if t.kind == kind]
