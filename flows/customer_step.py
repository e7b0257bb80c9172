"""The stateful customer step: a :class:`forewarn.engine.Shard` per key, driven by the watermark."""

from __future__ import annotations

import pickle
import time

from bytewax.operators import StatefulBatchLogic

from flows.items import END, EVENT, PROGRESS, SHARE
from flows.worker_models import WorkerModels
from forewarn.engine.engine import Engine, Shard
from forewarn.engine.watermark import WorkerClocks
from sinks import metrics


class ShardLogic(StatefulBatchLogic):
    """Feeds one key's inputs to the engine in arrival order; snapshots its shard as bytes.

    Finite mode (``workers`` None, one shard for the whole ordered stream): each item carries
    the watermark its source stamped on it. One partition of a multi-process backtest gets
    ``SHARE`` items: it moves through every watermark the whole input goes through (the
    ticks), and labels each candidate with ``(input position, order)`` so the partitions'
    outputs merge into the one-shard order (:mod:`forewarn.engine.engine`).

    Live mode (one customer per key): the watermark is this worker's clock, fed by the
    partitions' progress reports (items tagged ``PROGRESS``, under keys of their own). With
    ``[engine] apply_on_arrival`` an event is applied once the clock's frontier (every partition
    still reading has delivered its time) reaches it, unless a deadline of the customer comes
    first (:mod:`forewarn.engine.engine`, eager shards); the waker wakes a customer whose
    events wait only for the frontier. A batch queues its events first and then moves to the clock, since a report that has reached this
    worker vouches for every event sent before it, and those are in this batch or an earlier
    one. The shard's next due time goes into the worker's timer index, so the worker's waker
    wakes a customer who sends nothing more.

    ``models`` is this worker's online models: evaluations are drained after each batch,
    and each snapshot carries the reference of the models' checkpoint at the same epoch end
    (see :mod:`flows.model_checkpoints`).

    ``persist`` False (no recovery configured): :meth:`snapshot` returns None. Bytewax asks for
    a snapshot of every key changed in an epoch whether or not recovery will store it, and
    pickling thousands of customers at each epoch's end stalls the flow for nothing.
    """

    def __init__(self, engine: Engine, resume: bytes | None, workers: WorkerClocks | None,
                 models: WorkerModels, persist: bool = True, ordered: bool = False) -> None:
        self.engine = engine
        self.workers = workers
        self.models = models
        self.persist = persist
        # Bytewax does not tell a builder its key: it comes with the first item, or the snapshot.
        self.key: str | None = None
        # Live, one customer per key: events are applied on arrival unless a deadline comes first.
        eager = workers is not None and engine.config.engine.apply_on_arrival
        if resume is None:
            self.shard = Shard(ordered=ordered, eager=eager)
        else:
            # Snapshots from before model checkpoints have no reference: the models start fresh.
            self.key, customers, pending, watermark, seq, *ref = pickle.loads(resume)
            self.shard = Shard(customers, pending, watermark, seq, eager=eager)
            models.resumed(ref[0] if ref else None)
            self._register()

    def _register(self) -> None:
        if self.workers is not None and self.key is not None:
            wt = self.workers.current()
            wt.timers.register(self.key, self.shard.next_due())
            wt.arrivals.register(self.key, self.shard.next_arrival())

    def on_batch(self, items: list[tuple]) -> tuple[list, bool]:
        if self.key is None:
            self.key = items[0][1]
        self.models.before_batch()
        out = self._live(items) if self.workers is not None else self._finite(items)
        counts = self.engine.stats.drain()  # this worker's, since its last batch: this batch's
        if counts.duplicates:
            metrics.DUPLICATES.inc(counts.duplicates)
        if counts.late:
            metrics.LATE.inc(counts.late)
        if counts.out_of_order:
            metrics.OUT_OF_ORDER.inc(counts.out_of_order)
        if counts.scores:
            metrics.observe_scores(counts.scores)
        for kind, n in counts.suppressed.items():
            metrics.TRIGGERS_SUPPRESSED.labels(kind).inc(n)
        observed = self.models.drain()
        if observed and self.models.emits_scores:
            out.extend(observed)
        if not self.shard.customers and not self.shard.pending:
            # Only clock reports came under this key: nothing to keep or snapshot.
            return out, StatefulBatchLogic.DISCARD
        self._register()
        return out, StatefulBatchLogic.RETAIN

    def _finite(self, items: list[tuple]) -> list:
        engine, shard = self.engine, self.shard
        out = []
        for tag, _key, payload, wm, ingest in items:
            if tag == EVENT:
                out.extend(engine.on_event(shard, payload, wm, ingest))
            elif tag == SHARE:
                at, event, ticks = payload
                self._tick(ticks, ingest, out)
                if event is not None:
                    out.extend(_at(at, engine.on_event(shard, event, wm, ingest, seq=at)))
            elif tag == END and payload is not None:
                at, ticks = payload
                self._tick(ticks, ingest, out)
                out.extend(_at(at, engine.finish(shard, wm, ingest)))
            elif tag == END:
                out.extend(engine.finish(shard, wm, ingest))
        return out

    def _tick(self, ticks: list[tuple[int, int]], ingest: float, out: list) -> None:
        """Move an ordered shard through the other partitions' watermark moves, as the one shard would."""
        shard = self.shard
        pending, heap = shard.pending, shard.heap
        for at, wm in ticks:
            # Most ticks pass nothing of this partition's: only the watermark moves (below).
            if (pending and pending[0][0] <= wm) or (heap and heap[0][0] < wm):
                out.extend(_at(at, self.engine.advance(shard, wm, ingest)))
        if ticks and ticks[-1][1] > shard.watermark:
            shard.watermark = ticks[-1][1]

    def _live(self, items: list[tuple]) -> list:
        engine, shard = self.engine, self.shard
        clock = self.workers.current().clock
        out = []
        ingest = 0.0
        for tag, _key, payload, _wm, ingest in items:
            if tag == EVENT:
                out.extend(engine.take(shard, payload, ingest))
            elif tag == PROGRESS:
                clock.report(*payload)
            # A WAKE has nothing to queue: the shard moves to the clock below.
        if shard.customers or shard.pending:
            # Eager: the batch's events were queued first, so they are applied in time order.
            out.extend(engine.advance(shard, clock.watermark(), ingest, frontier=clock.frontier()))
        return out

    def snapshot(self) -> bytes | None:
        # The models publish their gauges (and checkpoint, with recovery) at each epoch's end.
        ref = self.models.at_snapshot()
        if not self.persist:
            return None
        # Bytes are immutable, as Bytewax requires of a snapshot, and cheaper than a deepcopy.
        snap = pickle.dumps((self.key, *self.shard.state(), ref), protocol=5)
        metrics.SNAPSHOTS.inc()
        metrics.SNAPSHOT_BYTES.inc(len(snap))
        metrics.LAST_SNAPSHOT.set(time.time())
        return snap


def _at(position: int, found: list) -> list:
    """Prefix the input position to an ordered shard's candidates' order."""
    for c in found:
        c.order = (position, *c.order)
    return found
