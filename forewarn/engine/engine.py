"""The customer step's logic, without Bytewax: state per customer, applied in event time.

A :class:`Shard` is a set of customers with their pending events and armed deadlines (one
customer in ``run``, where Bytewax keys state by customer; all of them in a backtest, which is
one ordered stream). The :class:`Engine` (detectors and config; one per process, shared by its
worker threads, each of which has its own online models) moves a shard forward. Every
input carries the watermark its source stamped on it, so what happens, and in what order,
depends only on the sequence of inputs — never on how fast the machine runs.

Rules (contract section 2):

* an event waits until the watermark reaches its time, then is applied; events and deadlines
  are merged in event-time order, so a customer's state evolves the same way whatever order
  its topics were read in (an event exactly at a deadline goes first: "by the deadline");
* a deadline ``d`` fires once the watermark has passed it (``d < watermark``), with
  ``fired_at = d``; a parcel delivered a minute after its deadline is still late;
* an event older than the watermark is late: applied at once and counted;
* at the end of a finite input the watermark moves to the last event time, and every
  event and deadline up to it is processed.

A shard built with ``eager=True`` (``forewarn run``, one customer per shard, ``[engine]
apply_on_arrival``) applies an event once every input partition still reading has delivered
its time (the *frontier*, on the :class:`forewarn.engine.context.Context`: the watermark
without the lateness, where a partition at the end of its log holds nothing back) instead of waiting
for the watermark, unless its customer has an armed deadline before the event's time
(``d < ts``): then it waits, as above, until that deadline has fired (or the watermark
reaches it), so it never jumps a deadline and deadlines still fire on the watermark in
event-time order. Waiting events are taken in event-time order, so topics read at different
speeds (a backlog) still give each customer its events in order; whenever a customer's
events arrive in event-time order within each partition this is exactly the order above,
and the triggers are a backtest's, only sooner. An event older than one already applied to
its customer (but not older than the watermark) cannot be put back before it: it is applied
as it comes and counted as out of order.

A shard built with ``ordered=True`` (one partition of a multi-process backtest,
``forewarn backtest --workers N``) also labels each emitted candidate
(:class:`forewarn.engine.context.Emitted`) with ``order``: where the operation that
produced it (an event applied, a deadline fired) falls in the one-shard order. Operations are popped by the key ``(ts, 0, seq)`` for an event and ``(deadline, 1,
customer, key)`` for a deadline, which is the one-shard merge order; a deadline armed in the
past pops at once, right after the operation that armed it, so it takes that operation's
key extended by ``(0,)``. The order starts with the input position the caller was processing
(the context's ``position``), and the partitions' candidates sorted by ``order`` are the
one-shard output, in its order.

The engine is driven through a :class:`forewarn.engine.context.Context`: the caller sets its
watermark (and frontier, and the wall time of the input, for latency) and reads back, after a
batch, what the engine emitted (each candidate with its latency fields and order), counted
(duplicates, late, out of order, held back by the cooldown, scores for the histogram) and
what the models evaluated. Each method also returns the candidates it emitted, for a caller
driving the engine by hand.
"""

from __future__ import annotations

import heapq
import threading

from detectors import REGISTRY
from detectors.base import Candidate, Detector
from forewarn.core import events as ev
from forewarn.engine.config import Config
from forewarn.engine.context import NEVER, Context, Emitted
from forewarn.engine.cooldown import Cooldown
from forewarn.core.state import CustomerState, split_timer_key, timer_key
from online_models.base import ModelSet


class Shard:
    """Customers, the events waiting for the watermark, the armed deadlines, and the watermark."""

    __slots__ = ("customers", "pending", "heap", "watermark", "seq", "ordered", "eager", "last")

    def __init__(self, customers: dict[str, CustomerState] | None = None,
                 pending: list[tuple[int, int, ev.AnyEvent, float]] | None = None,
                 watermark: int = NEVER, seq: int = 0, ordered: bool = False, eager: bool = False) -> None:
        self.customers: dict[str, CustomerState] = customers or {}
        self.pending = pending or []  # heap of (ts, arrival seq, event, ingest wall time)
        self.watermark = watermark
        self.seq = seq
        self.ordered = ordered  # label candidates with their one-shard order (see the module docstring)
        # Apply events at the frontier unless a deadline comes first (see the module docstring).
        # Only for a shard of one customer: there, the oldest waiting event is its customer's.
        self.eager = eager
        self.last: tuple = ()  # with ordered: the order key of the last operation
        self.heap: list[tuple[int, str, str]] = [
            (d, cid, key) for cid, c in self.customers.items() for key, d in c.timers.items()]
        heapq.heapify(self.heap)

    def next_arrival(self) -> int | None:
        """An eager shard's oldest waiting event that only the frontier holds back: its time
        (it is due once the frontier reaches it); None if none, or a deadline holds it."""
        if not (self.eager and self.pending):
            return None
        ts, _seq, event, _ingest = self.pending[0]
        return ts if self.clear_until(event.customer_id, ts) else None

    def next_due(self) -> int | None:
        """The watermark value past which this shard has work: ``wm > next_due()``."""
        due = self.heap[0][0] if self.heap else None
        if self.pending:
            ev_due = self.pending[0][0] - 1  # an event is due once the watermark reaches it
            due = ev_due if due is None else min(due, ev_due)
        return due

    def state(self) -> tuple:
        """What a snapshot keeps; the deadline heap is rebuilt from the customers' timers."""
        return self.customers, self.pending, self.watermark, self.seq

    def clear_until(self, customer_id: str, ts: int) -> bool:
        """No deadline of this customer is armed before ``ts``: an event at ``ts`` may be applied
        now (one exactly at a deadline goes first)."""
        cust = self.customers.get(customer_id)
        return cust is None or not cust.timers or min(cust.timers.values()) >= ts


class _CustomerScheduler:
    """The context's timer service for one customer: arms the calling detector's timers in the
    customer's state and the shard's timer heap; counts scores on the context.

    ``kind`` is set by the engine before each detector call: timers are scoped to it.
    """

    __slots__ = ("shard", "cust", "ctx", "kind")

    def __init__(self, shard: Shard, cust: CustomerState, ctx: Context, kind: str = "") -> None:
        self.shard = shard
        self.cust = cust
        self.ctx = ctx
        self.kind = kind

    def arm(self, timer: str, deadline_us: int) -> None:
        key = timer_key(self.kind, timer)
        self.cust.timers[key] = deadline_us
        heapq.heappush(self.shard.heap, (deadline_us, self.cust.customer_id, key))

    def disarm(self, timer: str) -> None:
        # The heap entry stays and is skipped when popped (lazy deletion).
        self.cust.timers.pop(timer_key(self.kind, timer), None)

    def armed(self, timer: str) -> int | None:
        return self.cust.timers.get(timer_key(self.kind, timer))

    def deadline_of(self, kind: str, timer: str) -> int | None:
        return self.cust.timers.get(timer_key(kind, timer))

    def score(self, kind: str, value: float, threshold: float | None = None) -> None:
        self.ctx.counts.scores.append((kind, value, threshold))


class _Generation:
    """One config and what is built from it, swapped as a whole by :meth:`Engine.reconfigure`."""

    __slots__ = ("config", "detectors", "by_kind", "readers", "cooldown", "rates")

    def __init__(self, config: Config, detectors: list[Detector]) -> None:
        self.config = config
        self.detectors = detectors
        self.by_kind = {d.kind: d for d in detectors}
        # Per event type, the detectors that read it, in registry order.
        self.readers = {t: [d for d in detectors if d.EVENTS is None or t in d.EVENTS]
                        for t in ev.AnyEvent.__args__}
        self.cooldown = Cooldown(config.routing.cooldown_hours)
        self.rates = config.routing.exchange_rates


def _build(kind: str, config: Config) -> Detector:
    return REGISTRY[kind].from_config(getattr(config.detectors, kind), config)


class Engine:
    """The detectors and config of one process, shared by its worker threads.

    :meth:`reconfigure` swaps in new thresholds while the flow runs (see docs/tuning.md);
    state (customers, armed deadlines) is untouched. Detectors with an online model keep one
    model per worker thread (:class:`online_models.base.ModelPerWorker`): each learns from its
    worker's customers in the order that worker processes them; :attr:`models` is the
    calling worker's set. What the engine counts goes on the caller's
    :class:`forewarn.engine.context.Context`, so the engine holds no per-worker counters.
    """

    def __init__(self, config: Config) -> None:
        self._gen = _Generation(config, [_build(kind, config) for kind in REGISTRY])
        self._reconfiguring = threading.Lock()

    @property
    def config(self) -> Config:
        return self._gen.config

    @property
    def detectors(self) -> list:
        return self._gen.detectors

    @property
    def by_kind(self) -> dict:
        return self._gen.by_kind

    @property
    def models(self) -> ModelSet:
        """The online models of the calling worker thread (created on first use)."""
        return ModelSet(d.models.get() for d in self.detectors if d.models is not None)

    def reconfigure(self, config: Config) -> list[str]:
        """Take new detector thresholds, routing and ``[triage]``; return the kinds whose params changed.

        Every detector is retuned (:meth:`detectors.base.Detector.retune`): by default a new
        instance — right for detectors that keep all their state in :class:`CustomerState`,
        and for those reading more of the config than their params (``routing.vip_ltv``
        may have moved) — while a detector holding learned state (a River model) takes the
        new params in place so nothing learned is lost. The new generation replaces the
        old one in a single assignment: worker threads in the middle of an event finish it
        with the old detectors and take the next with the new ones. Raises whatever a
        detector's ``retune`` raises, before anything is swapped (``retune`` must validate
        before it changes anything).
        """
        with self._reconfiguring:
            old = self._gen
            changed = [kind for kind in REGISTRY
                       if getattr(config.detectors, kind) != getattr(old.config.detectors, kind)]
            detectors = [d.retune(getattr(config.detectors, d.kind), config) for d in old.detectors]
            self._gen = _Generation(config, detectors)
            return changed

    def on_event(self, shard: Shard, event: ev.AnyEvent, ctx: Context, seq: int | None = None) -> list[Candidate]:
        """Take one event; process whatever the context's watermark (and frontier) now allows.

        ``seq``: the event's position in the whole input (an ordered shard's tie-break among
        events of the same time); by default, its arrival number in this shard. With the
        context's watermark behind the shard's (live: the worker's clock moves it after the
        batch), the shard's own applies: a late event is applied now, as is one exactly at
        the watermark; later ones wait.
        """
        out = self.enqueue(shard, event, ctx, seq)
        out.extend(self.advance(shard, ctx))
        return out

    def enqueue(self, shard: Shard, event: ev.AnyEvent, ctx: Context, seq: int | None = None) -> list[Candidate]:
        """Queue one event without moving the watermark: it waits for it, or, late, is applied now."""
        ts = event.ts_us
        if seq is None:
            seq = shard.seq
            shard.seq += 1
        if ts < shard.watermark:
            ctx.counts.late += 1
            found = self._apply(shard, event, ctx)  # deadlines before the watermark have fired
            return self._emit(shard, ctx, found, ts, ctx.ingest, (ts, 0, seq))
        heapq.heappush(shard.pending, (ts, seq, event, ctx.ingest))
        return []

    def advance(self, shard: Shard, ctx: Context, inclusive: bool = False) -> list[Candidate]:
        """Move the shard to the context's watermark: apply due events and fire passed deadlines,
        in time order.

        The context's ``frontier``: for an eager shard, the time up to which every partition
        still reading has delivered its events: a waiting event at or before it, with no
        deadline of its customer before it, is applied now.
        """
        if ctx.watermark > shard.watermark:
            shard.watermark = ctx.watermark
        wm, frontier = shard.watermark, ctx.frontier
        out: list[Candidate] = []
        pending, heap, eager, ordered = shard.pending, shard.heap, shard.eager, shard.ordered
        while True:
            ev_ts = None
            if pending:
                top = pending[0]
                if top[0] <= wm or (eager and top[0] <= frontier and shard.clear_until(top[2].customer_id, top[0])):
                    ev_ts = top[0]
            d = heap[0][0] if heap and (heap[0][0] < wm or (inclusive and heap[0][0] <= wm)) else None
            if ev_ts is not None and (d is None or ev_ts <= d):
                _ts, seq, event, ev_ingest = heapq.heappop(pending)
                found = self._apply(shard, event, ctx)
                if found or ordered:
                    out.extend(self._emit(shard, ctx, found, ev_ts, ev_ingest, (ev_ts, 0, seq)))
            elif d is not None:
                deadline, cid, key = heapq.heappop(heap)
                # A deadline is the event that makes it true: latency counts from the deadline's event time.
                found = self._fire(shard, ctx, cid, key, deadline)
                if found or ordered:
                    out.extend(self._emit(shard, ctx, found, deadline, ctx.ingest, (deadline, 1, cid, key)))
            else:
                return out

    @staticmethod
    def _emit(shard: Shard, ctx: Context, found: list[Candidate], source_ts: int, ingest: float,
              key: tuple) -> list[Candidate]:
        """Put one operation's candidates on the context with their latency fields; an ordered
        shard's also with their one-shard order (every operation moves it, firing or not)."""
        if shard.ordered:
            if key <= shard.last:  # armed in the past: it pops right after the operation that armed it
                key = shard.last + (0,)
            shard.last = key
            ctx.emitted.extend(Emitted(c, source_ts, ingest, (ctx.position, key, i)) for i, c in enumerate(found))
        elif found:
            ctx.emitted.extend(Emitted(c, source_ts, ingest) for c in found)
        return found

    def finish(self, shard: Shard, ctx: Context) -> list[Candidate]:
        """End of input: process everything up to and including the context's (final) watermark."""
        return self.advance(shard, ctx, inclusive=True)

    def _fire(self, shard: Shard, ctx: Context, cid: str, key: str, deadline: int) -> list[Candidate]:
        cust = shard.customers.get(cid)
        if cust is None or cust.timers.get(key) != deadline:
            return []  # disarmed or re-armed since this entry was pushed
        del cust.timers[key]
        kind, timer = split_timer_key(key)
        found = self.by_kind[kind].on_deadline(cust, timer, deadline, _CustomerScheduler(shard, cust, ctx, kind))
        return self._enrich(cust, found, ctx) if found else []

    def _apply(self, shard: Shard, event: ev.AnyEvent, ctx: Context) -> list[Candidate]:
        cid = event.customer_id
        cust = shard.customers.get(cid)
        if cust is None:
            cust = shard.customers[cid] = CustomerState(cid)
        if cust.is_duplicate(event.event_id):
            ctx.counts.duplicates += 1
            return []
        ts = event.ts_us
        if shard.eager and shard.watermark <= ts < cust.last_event_us:
            ctx.counts.out_of_order += 1  # a newer one was applied on arrival: this one cannot go first
        out: list[Candidate] = []
        sched = _CustomerScheduler(shard, cust, ctx)
        for det in self._gen.readers[type(event)]:
            sched.kind = det.kind
            found = det.on_event(cust, event, sched)
            if found:
                out.extend(self._enrich(cust, found, ctx))
        cust.apply(event, ts, self._gen.rates)
        return out

    def _enrich(self, cust: CustomerState, found: list[Candidate], ctx: Context) -> list[Candidate]:
        found = [c for c in found if self._admit(cust, c, ctx)]
        summary = cust.context(self.config.routing.vip_ltv, self.config.privacy.include_personal)
        consent = {ch: {"allowed": v[0], "recorded_at": v[1]} for ch, v in cust.consent.items()}
        for ch, why in cust.unreachable().items():  # an opt-in to an invalid address reaches nobody
            if consent.get(ch, {}).get("allowed"):
                consent[ch] = {**consent[ch], "allowed": False, "unusable": why}
        for c in found:
            order = cust.orders.get(c.order_id) if c.order_id is not None else None
            if order is not None and order.currency:
                c.currency = order.currency
            # A detector may add to the summary (a churn model's expected next order, say).
            c.customer = {**summary, **c.customer} if c.customer else summary
            c.consent = consent
            # Remembered for linking a later message to it (the id is the one routing gives it).
            cust.remember_trigger(c.trigger_id, c.kind, c.order_id, c.subject, c.fired_at)
        return found

    def _admit(self, cust: CustomerState, cand: Candidate, ctx: Context) -> bool:
        if self._gen.cooldown.admit(cust, cand):
            return True
        suppressed = ctx.counts.suppressed
        suppressed[cand.kind] = suppressed.get(cand.kind, 0) + 1
        return False
