"""The customer step's logic, without Bytewax: state per customer, deadlines in event time.

A :class:`Shard` is a set of customers with their deadlines (one customer in ``run``, where
Bytewax keys state by customer; all of them in a backtest, which is one ordered stream).
The :class:`Engine` (detectors, config, counters; one per worker) moves a shard forward
by events and by the watermark. Every input
carries the watermark its source stamped on it, so what fires, and in what order, depends
only on the sequence of inputs — never on how fast the machine runs.

Rules, from contract section 2:

* a deadline ``d`` fires once the watermark has passed it (``d < watermark``), in
  deadline order, with ``fired_at = d``;
* before applying a customer's event at ``t``, that customer's deadlines before ``t``
  fire first, so a delivery one minute after the deadline still counts as late;
* at the end of the input every deadline up to the final watermark fires.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from detectors import REGISTRY
from detectors.base import Candidate
from forewarn import events as ev
from forewarn.config import Config
from forewarn.state import CustomerState


class Shard:
    """Customers, a heap of their armed deadlines, and the watermark they have seen."""

    __slots__ = ("customers", "heap", "watermark")

    def __init__(self, customers: dict[str, CustomerState] | None = None, watermark: int = -(2**62)) -> None:
        self.customers: dict[str, CustomerState] = customers or {}
        self.watermark = watermark
        self.heap: list[tuple[int, str, str]] = [
            (d, cid, key) for cid, c in self.customers.items() for key, d in c.timers.items()]
        heapq.heapify(self.heap)

    def next_deadline(self) -> int | None:
        """Earliest armed deadline (may be a stale, disarmed one: harmless, it fires nothing)."""
        return self.heap[0][0] if self.heap else None


class _CustomerScheduler:
    """Arms deadlines in the customer's state and in the shard's timer heap."""

    __slots__ = ("shard", "cust")

    def __init__(self, shard: Shard, cust: CustomerState) -> None:
        self.shard = shard
        self.cust = cust

    def arm(self, key: str, deadline_us: int) -> None:
        self.cust.timers[key] = deadline_us
        heapq.heappush(self.shard.heap, (deadline_us, self.cust.customer_id, key))

    def disarm(self, key: str) -> None:
        # The heap entry stays and is skipped when popped (lazy deletion).
        self.cust.timers.pop(key, None)


class Stats:
    """Counters the flow turns into metrics; plain ints so the engine stays I/O-free."""

    __slots__ = ("duplicates", "late")

    def __init__(self) -> None:
        self.duplicates = 0
        self.late = 0


class Engine:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.detectors = [cls(getattr(config.detectors, kind)) for kind, (cls, _) in REGISTRY.items()]
        self.by_kind = {d.kind: d for d in self.detectors}
        self.stats = Stats()

    def advance(self, shard: Shard, watermark: int, inclusive: bool = False) -> list[Candidate]:
        """Move the watermark forward and fire every deadline it has passed, oldest first."""
        if watermark > shard.watermark:
            shard.watermark = watermark
        wm = shard.watermark
        out: list[Candidate] = []
        heap = shard.heap
        while heap and (heap[0][0] < wm or (inclusive and heap[0][0] <= wm)):
            deadline, cid, key = heapq.heappop(heap)
            out.extend(self._fire(shard, cid, key, deadline))
        return out

    def finish(self, shard: Shard, final_watermark: int) -> list[Candidate]:
        """End of input: fire everything due up to and including the final watermark."""
        return self.advance(shard, final_watermark, inclusive=True)

    def _fire(self, shard: Shard, cid: str, key: str, deadline: int) -> list[Candidate]:
        cust = shard.customers.get(cid)
        if cust is None or cust.timers.get(key) != deadline:
            return []  # disarmed or re-armed since this entry was pushed
        del cust.timers[key]
        detector = self.by_kind[key.split("|", 1)[0]]
        found = detector.on_deadline(cust, key, deadline, _CustomerScheduler(shard, cust))
        return self._enrich(cust, found, None) if found else []

    def on_event(self, shard: Shard, event: ev.AnyEvent, watermark: int) -> list[Candidate]:
        out = self.advance(shard, watermark)
        ts = event.ts_us
        cid = event.customer_id
        cust = shard.customers.get(cid)
        if cust is None:
            cust = shard.customers[cid] = CustomerState(cid)
        if cust.is_duplicate(event.event_id):
            self.stats.duplicates += 1
            return out
        if ts < shard.watermark:
            self.stats.late += 1
        # This customer's own deadlines before its event fire first, whatever the watermark.
        if cust.timers:
            for key, deadline in sorted(cust.timers.items(), key=lambda kv: kv[1]):
                if deadline < ts:
                    out.extend(self._fire(shard, cid, key, deadline))
        sched = _CustomerScheduler(shard, cust)
        for det in self.detectors:
            found = det.on_event(cust, event, sched)
            if found:
                out.extend(self._enrich(cust, found, ts))
        cust.apply(event, ts)
        return out

    def _enrich(self, cust: CustomerState, found: list[Candidate], source_ts: int | None) -> list[Candidate]:
        ctx = cust.context(self.config.routing.vip_ltv)
        consent = {ch: {"allowed": v[0], "recorded_at": v[1]} for ch, v in cust.consent.items()}
        for c in found:
            c.customer = ctx
            c.consent = consent
            c.source_ts = source_ts
        return found
