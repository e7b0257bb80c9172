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

    @property
    def planted(self) -> dict[str, Any]:
        return self.store.planted

    @property
    def stats(self) -> dict[str, int]:
        stats = dict(self.noise.stats) if self.noise else {"valid": 0, "duplicates": 0, "late": 0, "invalid": 0}
        stats["customers"] = self.spec.customers
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
                if batch:
                    self.n_valid += len(batch)
                    last = batch[-1][0]
                    self.last_us = last if self.last_us is None else max(self.last_us, last)
                    rows += groundtruth.open_rows((line for _, line in batch), self.config, store.planted)
                    self.runs.append(self._spill(batch) if spill else batch)
                tick(hi - lo)
            self.truth = groundtruth.finish(rows, self.last_us) if self.last_us is not None else []
        self.noise = Noise(spec, self.n_valid)

    def lines(self) -> Iterator[bytes]:
        """The output lines in stream order (valid events merged by time, with the noise)."""
        try:
            merged = heapq.merge(*self.runs, key=ts_key) if len(self.runs) > 1 else iter(
                self.runs[0] if self.runs else ())
            for _, line in self.noise.stream(merged):
                yield line
        finally:
            self.close()

    def close(self) -> None:
        for fh in self._files:
            fh.close()
        self._files.clear()

    def _spill(self, batch: list[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        """Write a sorted batch to a temporary file; read it back lazily, in order."""
        fh = tempfile.TemporaryFile(prefix="forewarn-sim-")
        self._files.append(fh)
        fh.writelines(b"%d\t%s\n" % pair for pair in batch)
        return _read_run(fh)


def _read_run(fh: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    # A JSON line holds no raw tab or newline (msgspec escapes them inside strings).
    fh.seek(0)
    for raw in fh:
        ts, _, line = raw.partition(b"\t")
        yield int(ts), line[:-1]
