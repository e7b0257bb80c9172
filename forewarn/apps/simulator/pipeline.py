"""The simulator's pipeline, in bounded memory: customers in batches, each batch sorted by
event time and spilled to a temporary file (a sorted run), then one k-way merge of the
runs through the noise to the output.

The result is the same, byte for byte, as building the whole store in a list and sorting it
stably: :func:`heapq.merge` takes equal times from earlier runs first, and runs are in
customer order, as generation was. Memory holds one batch (``BATCH`` customers), a read
buffer per run and the ground-truth rows; the temporary files (about the size of the output)
are removed as soon as the merge is done.

The ground truth is computed batch by batch (every rule is about one customer's shipment,
order or history) as if the input never ended, and cut at the last event time once it is
known (:func:`forewarn.apps.groundtruth.open_rows` and :func:`~forewarn.apps.groundtruth.finish`).
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from forewarn.apps import groundtruth
from forewarn.apps.simulator import inbound
from forewarn.apps.simulator.noise import Noise
from forewarn.apps.simulator.spec import SimSpec, ts_key
from forewarn.apps.simulator.store import Store

# Customers per sorted run: about 43 events per customer per 30 days, a few hundred bytes
# each, so a batch of a 60-day store is some 50 MB in memory.
BATCH = 2000


class Pipeline:
    """One simulated store, generated once: :meth:`generate`, then :meth:`lines` (once).

    After :meth:`generate`: ``planted``, ``truth`` (finished rows), ``n_valid``, ``last_us``
    (the last valid event time, None if there is none). After :meth:`lines` is exhausted:
    ``stats``.
    """

    def __init__(self, spec: SimSpec, config: Any, start_us: int, end_us: int) -> None:
        self.spec = spec
        self.config = config
        self.store = Store(spec, config, start_us, end_us)
        self.runs: list[Iterable[tuple[int, bytes]]] = []
        self._files: list[IO[bytes]] = []
        self.truth: list[dict[str, Any]] = []
        self.n_valid = 0
        self.last_us: int | None = None
        self.noise: Noise | None = None
        # Inbound support (v1.1): its own runs, merged in after the noise, and counted as written.
        self.inbound = (inbound.Inbound(spec.seed, spec.support_rate, start_us, end_us, self.store.encode,
                                        self.store.fmt) if spec.support_rate > 0 else None)
        self.support_runs: list[Iterable[tuple[int, str, bytes]]] = []
        self.support_counts = dict.fromkeys(inbound.WHAT, 0)
        self.support_planted = 0  # support lines planted; those after the store's last event are left out

    @property
    def planted(self) -> dict[str, Any]:
        return self.store.planted

    @property
    def stats(self) -> dict[str, int]:
        stats = dict(self.noise.stats) if self.noise else {"valid": 0, "duplicates": 0, "late": 0, "invalid": 0}
        stats["customers"] = self.spec.customers
        if self.inbound is not None:
            counts = self.support_counts
            stats.update({
                "support_messages": counts["message"] + counts["hostile"], "support_hostile": counts["hostile"],
                "support_invalid": counts["invalid"], "support_duplicates": counts["duplicate"],
                "support_labels": counts["label"], "support_orphan_labels": counts["orphan_label"],
                "support_profiles": counts["profile"],
            })
        return stats

    def generate(self, tick: Callable[[int], None] = lambda n: None) -> None:
        """Every customer, a batch at a time; ``tick(n)`` after each ``n`` customers."""
        spec, store = self.spec, self.store
        spill = spec.customers > BATCH
        rows: list[dict[str, Any]] = []
        with groundtruth.paused_gc():
            for lo in range(0, spec.customers, BATCH):
                store.out = []
                hi = min(lo + BATCH, spec.customers)
                for i in range(lo, hi):
                    store.customer(i)
                batch = store.out
                store.out = []
                batch.sort(key=ts_key)
                customers, store.customers, store.current = store.customers, [], None
                if batch:
                    self.n_valid += len(batch)
                    last = batch[-1][0]
                    self.last_us = last if self.last_us is None else max(self.last_us, last)
                    found = groundtruth.open_rows((line for _, line in batch), self.config, store.planted)
                    rows += found
                    self.runs.append(self._spill(batch) if spill else batch)
                    if self.inbound is not None:
                        self._support(customers, found, spill)
                tick(hi - lo)
            if self.inbound is not None:
                rows += inbound.settle(self.inbound.rows, self.last_us)
            self.truth = groundtruth.finish(rows, self.last_us) if self.last_us is not None else []
        self.noise = Noise(spec, self.n_valid)

    def _support(self, customers: list, found: list[dict[str, Any]], spill: bool) -> None:
        """Plant the support events of a batch's customers, from their truth rows and history."""
        by_customer: dict[str, list[dict[str, Any]]] = {}
        for row in found:
            by_customer.setdefault(row["customer_id"], []).append(row)
        planter = self.inbound
        for c in customers:
            mine = sorted(by_customer.get(c.cid, ()), key=lambda row: (row["fired_at_us"], row["kind"], row["subject"]))
            planter.customer(c, mine)
            c.history = []
        batch, planter.out = planter.out, []
        batch.sort(key=ts_key)
        if batch:
            self.support_planted += len(batch)
            self.support_runs.append(self._spill(batch) if spill else batch)

    def lines(self) -> Iterator[bytes]:
        """The output lines in stream order (valid events merged by time, with the noise; the
        support events merged in after the noise, the store's events first at equal times)."""
        try:
            merged = _merge(self.runs)
            stream: Iterator[tuple] = self.noise.stream(merged)
            if self.support_runs:
                stream = heapq.merge(stream, self._support_lines(), key=ts_key)
            for item in stream:
                yield item[-1]
        finally:
            self.close()

    def _support_lines(self) -> Iterator[tuple[int, str, bytes]]:
        """The support events up to the store's last event (so the end of the input, and with
        it the truth of every other kind, is the same with or without them), counted."""
        counts, last = self.support_counts, self.last_us
        for item in _merge(self.support_runs):
            if item[0] > last:
                return
            counts[item[1]] += 1
            yield item

    def close(self) -> None:
        for fh in self._files:
            fh.close()
        self._files.clear()

    def _spill(self, batch: list[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        """Write a sorted batch to a temporary file; read it back lazily, in order."""
        fh = tempfile.TemporaryFile(prefix="forewarn-sim-")
        self._files.append(fh)
        if batch and len(batch[0]) == 3:  # support events: (ts, what, line)
            fh.writelines(b"%d\t%s\t%s\n" % (ts, what.encode(), line) for ts, what, line in batch)
            return _read_support_run(fh)
        fh.writelines(b"%d\t%s\n" % pair for pair in batch)
        return _read_run(fh)


def _merge(runs: list) -> Iterator[tuple]:
    return heapq.merge(*runs, key=ts_key) if len(runs) > 1 else iter(runs[0] if runs else ())


# A JSON line holds no raw tab or newline (msgspec escapes them inside strings).
def _read_run(fh: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    fh.seek(0)
    for raw in fh:
        ts, _, line = raw.partition(b"\t")
        yield int(ts), line[:-1]


def _read_support_run(fh: IO[bytes]) -> Iterator[tuple[int, str, bytes]]:
    fh.seek(0)
    for raw in fh:
        ts, what, line = raw.split(b"\t", 2)
        yield int(ts), what.decode(), line[:-1]
