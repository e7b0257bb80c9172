"""``forewarn backtest --workers N``: one backtest on every core, with the output of one worker.

Customers are split into ``N`` partitions by the crc32 of their ``customer_id``
(:func:`flows.sources.share_of`). Each partition is a process running the ordinary
dataflow over the whole file: it decodes every line, so its watermark moves exactly as the
one-shard backtest's does (the other partitions' events are ticks of the clock, not work),
and applies only its own customers' events and deadlines. Each trigger carries its place in
the one-shard order (the input position being processed, then the event-time merge key of
the event or deadline that caused it, see :mod:`forewarn.engine.engine`), and the
partitions' outputs, each already in that order, are merged by it.

So the rule-based kinds are the same, byte for byte (``emitted_at`` apart), whatever ``N``.
The model kinds (``order_anomaly``, ``churn_risk``, ``delivery_at_risk``) are not: each
partition's models learn from its own customers only, as each worker's do in ``forewarn
run`` — their triggers depend on ``N`` (and are the same for the same ``N``). Dead letters
come from the first partition, in input order; model evaluations (``--scores``) are the
partitions' files one after the other. The partitions' counters (``forewarn_*_total``) are
added to the calling process's, as if it had run the backtest itself.

A what-if sweep (``--set``) puts every partition of every run into one pool of ``N``
processes, so its runs go in parallel; each run equals ``backtest --workers N`` with its values.

Processes are forked (no second import of River and Bytewax, a second or two each); on a
system without ``fork`` they are spawned. Progress (``progress(n)``, lines read) comes from
the partitions through one shared counter, read here four times a second.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from forewarn.engine.config import Config


class Counts(NamedTuple):
    """What a backtest read and held back, for its summary line."""

    events: int
    invalid: int
    held: int  # triggers held back by [routing.cooldown_hours]
    seconds: float = 0.0


class Run(NamedTuple):
    """One backtest: a config, the input, and where its outputs go."""

    config: Config
    input: str
    output: str
    deadletter: str | None = None
    scores: str | None = None


_CounterValues = dict[tuple[str, tuple[str, ...]], float]


def _counter_values() -> _CounterValues:
    """Every ``forewarn_*`` counter of this process: (name in sinks.metrics, label values) -> value."""
    from prometheus_client import Counter

    from sinks import metrics

    out = {}
    for name, metric in vars(metrics).items():
        if isinstance(metric, Counter):
            for family in metric.collect():
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        out[(name, tuple(sample.labels[n] for n in metric._labelnames))] = sample.value
    return out


def _add_counters(deltas: _CounterValues) -> None:
    """Count a partition process's counters in this one, so a run's counts are here whatever ``N``."""
    from sinks import metrics

    for (name, labels), value in deltas.items():
        metric = getattr(metrics, name)
        (metric.labels(*labels) if labels else metric).inc(value)


def _measured(work: Callable[[], None]) -> tuple[Counts, _CounterValues]:
    """Run ``work`` (one dataflow, in this process): its counts, and what it added to each counter."""
    from sinks import metrics

    # Counters are process-wide: take this run's share (tests run several in one process).
    before = _counter_values()
    started = time.monotonic()
    work()
    took = time.monotonic() - started
    deltas = {k: v - before.get(k, 0.0) for k, v in _counter_values().items() if v != before.get(k, 0.0)}

    def total(metric) -> int:
        return int(sum(v for (name, _), v in deltas.items() if getattr(metrics, name) is metric))

    return Counts(total(metrics.EVENTS), total(metrics.INVALID), total(metrics.TRIGGERS_SUPPRESSED), took), deltas


_read = None  # in a pool process: the counter of lines read that every partition adds to


def _count_into(counter) -> None:
    """Pool initializer: the partitions of this process report their progress to ``counter``."""
    global _read
    _read = counter


def _add_read(n: int) -> None:
    with _read.get_lock():
        _read.value += n


def _share(run: Run, share: tuple[int, int], work: str) -> tuple[Counts, _CounterValues]:
    """One partition of one run, in a pool process; its outputs go to ``work``."""
    from flows import modes

    index = share[0]
    return _measured(lambda: modes.backtest_share(
        run.config, run.input, share, f"{work}/triggers.{index}",
        run.deadletter, f"{work}/scores.{index}" if run.scores else None, _add_read if _read is not None else None))


class _Poll(threading.Thread):
    """Hands what the partitions added to the shared counter to ``progress``, four times a second."""

    def __init__(self, counter, progress: Callable[[int], None]) -> None:
        super().__init__(name="forewarn-backtest-progress", daemon=True)
        self.counter, self.progress, self.seen = counter, progress, 0
        self.finished = threading.Event()
        self.lock = threading.Lock()  # the main thread hands over too, at the end of each run

    def run(self) -> None:
        while not self.finished.wait(0.25):
            self.hand_over()

    def hand_over(self) -> None:
        with self.lock:
            now = self.counter.value
            if now > self.seen:
                self.progress(now - self.seen)
                self.seen = now

    def stop(self) -> None:
        self.finished.set()
        self.join()
        self.hand_over()


def _merge(run: Run, work: str, shares: int) -> None:
    """The partitions' triggers in the one-shard order; their evaluations one after the other."""
    from flows.outputs import read_ordered

    out = sys.stdout.buffer if run.output == "-" else open(run.output, "wb")
    try:
        merged = heapq.merge(*(read_ordered(f"{work}/triggers.{i}") for i in range(shares)), key=itemgetter(0))
        for _order, line in merged:
            out.write(line + b"\n")
    finally:
        if out is sys.stdout.buffer:
            out.flush()
        else:
            out.close()
    if run.scores:
        with open(run.scores, "wb") as f:
            for i in range(shares):
                with open(f"{work}/scores.{i}", "rb") as part:
                    shutil.copyfileobj(part, f)


def _prepare(run: Run) -> None:
    if not Path(run.input).exists():
        raise FileNotFoundError(f"input file {run.input} not found")
    for path in (run.output, run.deadletter, run.scores):
        if path and path != "-":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def backtest(run: Run, workers: int, progress: Callable[[int], None] | None = None) -> Counts:
    """One backtest over ``workers`` processes (in this process with one)."""
    [counts] = backtest_many([run], workers, progress=progress)
    return counts


def backtest_many(runs: list[Run], workers: int, done: Callable[[int, Counts], None] = lambda i, counts: None,
                  progress: Callable[[int], None] | None = None) -> list[Counts]:
    """Several backtests, each in ``workers`` partitions, all partitions on one pool of
    ``workers`` processes; ``done(index, counts)`` as each run's output is complete;
    ``progress(n)`` as ``n`` more input lines have been read (each run reads every line once).

    Dead letters are written by the first run that asks for them (they are the same for every run).
    """
    for run in runs:
        _prepare(run)
    if workers <= 1:
        from flows import modes

        results = []
        for i, run in enumerate(runs):
            counts, _ = _measured(lambda: modes.backtest(run.config, run.input, run.output, run.deadletter,
                                                         run.scores, progress))
            done(i, counts)
            results.append(counts)
        return results
    letters = next((i for i, r in enumerate(runs) if r.deadletter), None)
    runs = [r if i == letters else r._replace(deadletter=None) for i, r in enumerate(runs)]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    root = tempfile.mkdtemp(prefix="forewarn-backtest-")
    results: list[Counts | None] = [None] * len(runs)
    read = context.Value("q", 0) if progress is not None else None
    poll = _Poll(read, progress) if progress is not None else None
    try:
        if poll is not None:
            poll.start()
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_count_into,
                                 initargs=(read,)) as pool:
            futures = []
            for i, run in enumerate(runs):
                work = f"{root}/run{i}"
                os.mkdir(work)
                futures.append([pool.submit(_share, run, (index, workers), work) for index in range(workers)])
            for i, (run, parts) in enumerate(zip(runs, futures)):
                counts = []
                for f in parts:
                    part, deltas = f.result()
                    _add_counters(deltas)
                    counts.append(part)
                if poll is not None:
                    poll.hand_over()  # the bar reaches this run's end before its summary line
                _merge(run, f"{root}/run{i}", workers)
                # A run's time is its slowest partition's: they run side by side when cores allow.
                results[i] = Counts(*(sum(c[k] for c in counts) for k in range(3)), max(c.seconds for c in counts))
                done(i, results[i])
    finally:
        if poll is not None:
            poll.stop()
        shutil.rmtree(root, ignore_errors=True)
    return results
