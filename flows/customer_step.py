"""The stateful customer step: a :class:`forewarn.engine.Shard` per key, driven by stamped watermarks."""

from __future__ import annotations

import pickle
import time

from bytewax.operators import StatefulBatchLogic

from flows.items import END, EVENT, WAKE
from flows.worker_models import WorkerModels
from forewarn.engine import Engine, Shard
from forewarn.watermark import TimerIndex
from sinks import metrics


class ShardLogic(StatefulBatchLogic):
    """Feeds one key's inputs to the engine in arrival order; snapshots its shard as bytes.

    With ``timers`` set (live mode, one customer per key) the shard's earliest deadline is
    registered so a source can wake it when the watermark passes, even if the customer is
    silent. A finite stream keyed as one shard needs no wakes: it sees every input.
    ``models`` is this worker's online models: evaluations are drained after each batch,
    and each snapshot carries the reference of the models' checkpoint at the same epoch end
    (see :mod:`flows.model_checkpoints`).
    """

    def __init__(self, engine: Engine, resume: bytes | None, timers: TimerIndex | None,
                 models: WorkerModels) -> None:
        self.engine = engine
        self.timers = timers
        self.models = models
        # Bytewax does not tell a builder its key: it comes with the first item, or the snapshot.
        self.key: str | None = None
        if resume is None:
            self.shard = Shard()
        else:
            # Snapshots from before model checkpoints have no reference: the models start fresh.
            self.key, customers, pending, watermark, seq, *ref = pickle.loads(resume)
            self.shard = Shard(customers, pending, watermark, seq)
            models.resumed(ref[0] if ref else None)
            self._register()

    def _register(self) -> None:
        if self.timers is not None and self.key is not None:
            self.timers.register(self.key, self.shard.next_due())

    def on_batch(self, items: list[tuple]) -> tuple[list, bool]:
        engine, shard = self.engine, self.shard
        if self.key is None:
            self.key = items[0][1]
        self.models.before_batch()
        out = []
        stats = engine.stats
        dup0, late0 = stats.duplicates, stats.late
        for tag, _key, payload, wm, ingest in items:
            if tag == EVENT:
                out.extend(engine.on_event(shard, payload, wm, ingest))
            elif tag == WAKE:
                out.extend(engine.advance(shard, wm, ingest))
            elif tag == END:
                out.extend(engine.finish(shard, wm, ingest))
        if stats.duplicates != dup0:
            metrics.DUPLICATES.inc(stats.duplicates - dup0)
        if stats.late != late0:
            metrics.LATE.inc(stats.late - late0)
        if stats.scores:
            metrics.observe_scores(stats.scores)
            stats.scores.clear()
        if stats.suppressed:  # drained: the engine's stats are shared by this worker's keys
            for kind, n in stats.suppressed.items():
                metrics.TRIGGERS_SUPPRESSED.labels(kind).inc(n)
            stats.suppressed.clear()
        observed = self.models.drain()
        if observed and self.models.emits_scores:
            out.extend(observed)
        self._register()
        return out, StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        ref = self.models.at_snapshot()
        # Bytes are immutable, as Bytewax requires of a snapshot, and cheaper than a deepcopy.
        snap = pickle.dumps((self.key, *self.shard.state(), ref), protocol=5)
        metrics.SNAPSHOTS.inc()
        metrics.SNAPSHOT_BYTES.inc(len(snap))
        metrics.LAST_SNAPSHOT.set(time.time())
        return snap
