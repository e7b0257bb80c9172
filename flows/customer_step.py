"""The stateful customer step: a :class:`forewarn.engine.Shard` per key, driven by stamped watermarks."""

from __future__ import annotations

import pickle
import time

from bytewax.operators import StatefulBatchLogic

from flows.items import END, EVENT, WAKE
from forewarn.engine import Engine, Shard
from forewarn.watermark import TimerIndex
from sinks import metrics


class ShardLogic(StatefulBatchLogic):
    """Feeds one key's inputs to the engine in arrival order; snapshots its shard as bytes.

    With ``timers`` set (live mode, one customer per key) the shard's earliest deadline is
    registered so a source can wake it when the watermark passes, even if the customer is
    silent. A finite stream keyed as one shard needs no wakes: it sees every input.
    """

    def __init__(self, engine: Engine, resume: bytes | None, timers: TimerIndex | None) -> None:
        self.engine = engine
        self.timers = timers
        # Bytewax does not tell a builder its key: it comes with the first item, or the snapshot.
        self.key: str | None = None
        if resume is None:
            self.shard = Shard()
        else:
            self.key, *state = pickle.loads(resume)
            self.shard = Shard(*state)
            self._register()

    def _register(self) -> None:
        if self.timers is not None and self.key is not None:
            self.timers.register(self.key, self.shard.next_due())

    def on_batch(self, items: list[tuple]) -> tuple[list, bool]:
        engine, shard = self.engine, self.shard
        if self.key is None:
            self.key = items[0][1]
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
        self._register()
        return out, StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        # Bytes are immutable, as Bytewax requires of a snapshot, and cheaper than a deepcopy.
        snap = pickle.dumps((self.key, *self.shard.state()), protocol=5)
        metrics.SNAPSHOTS.inc()
        metrics.SNAPSHOT_BYTES.inc(len(snap))
        metrics.LAST_SNAPSHOT.set(time.time())
        return snap
