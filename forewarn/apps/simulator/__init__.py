"""A simulated store: customers, orders, payments, parcels and engagement, seeded and realistic.

The store is built event by event, customer by customer, sorted by event time (stably), and
given the noise a real feed has: redeliveries of the same ``event_id``, events that arrive
a little out of order, and malformed lines. :func:`write` streams it to files or Kafka in
bounded memory (:mod:`.pipeline`); :func:`generate` keeps a small store in memory. It also plants
the situations the engine exists for — late, stalled and lost parcels, failed payments,
disputes, anomalous orders, churners, VIPs who drift away, bad contact data — and records
the ground truth for them (see :mod:`forewarn.apps.groundtruth` and ``docs/situations.md``).

Everything comes from ``random.Random`` seeded from ``SimSpec.seed`` (one generator per
customer, so customer ``n`` is the same whatever the store size), and the clock is read
only when ``start``/``end`` are not given: the same spec gives the same bytes.

Situations are clear-cut with respect to the configured thresholds (delivery grace, stall
time, payment recovery window): a late parcel arrives at least 6 h after its deadline (or
never), an on-time one at least 1 h before; quiet spells are either 2 h shorter than the stall
time or 6 h longer; a payment recovery or a third attempt is never within 2 minutes of the
end of the recovery window. Payment recovery delays are spread from 5 to 300 minutes on
purpose, so a sweep over ``recovery_minutes`` changes what is true.

The parts: :mod:`.spec` (what to simulate, the window), :mod:`.reference` (countries,
names, carriers, odds), :mod:`.clock` (whole seconds, Poisson arrivals by hour of day),
:mod:`.store` (customers, engagement, orders), :mod:`.payments` and :mod:`.parcels` (what
happens to an order after checkout), :mod:`.noise` (redeliveries, late arrivals, malformed
lines), :mod:`.pipeline` (batches, sorted runs on disk, the merge), :mod:`.inbound` and
:mod:`.phrasing` (support messages, their labels, how customers write).

>>> sim = generate(SimSpec(customers=20, days=5, start="2026-03-01T00:00:00Z"), None)
>>> from forewarn.core.events import decode, Invalid
>>> all(not isinstance(decode(line), Invalid) for line in sim.events)
True
>>> sim.events == generate(SimSpec(customers=20, days=5, start="2026-03-01T00:00:00Z"), None).events
True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from forewarn.apps import groundtruth, progress
from forewarn.apps.simulator.pipeline import Pipeline
from forewarn.apps.simulator.spec import SimSpec, check, window
from forewarn.core.timefmt import format_us

__all__ = ["SimSpec", "Simulation", "generate", "iter_events", "write", "write_jsonl"]


class Simulation:
    """A generated store, in memory (for tests and small stores; :func:`write` streams).

    events: the JSON lines (no newline) in stream order: by event time, except the planted
        redeliveries and late arrivals, with malformed lines interleaved.
    truth: the ground-truth rows: as :func:`forewarn.apps.groundtruth.compute` finds them
        over ``events`` with ``planted``, and a ``support_message`` row per valid support
        message planted (:mod:`.inbound`).
    customers: how many customers the store has.
    start, end: the simulated window (RFC 3339); no event lies outside it.
    planted: kind -> the subjects planted on purpose (``delivery_late`` maps shipment id to
        its deadline in microseconds; see :func:`forewarn.apps.groundtruth.compute`).
    stats: counts of valid events, duplicates, late arrivals, invalid lines and customers.
    """

    def __init__(self, spec: SimSpec, events: list[bytes], start: str, end: str, planted: dict[str, Any],
                 stats: dict[str, int], truth: list[dict[str, Any]]) -> None:
        self.spec = spec
        self.events = events
        self.customers = spec.customers
        self.start = start
        self.end = end
        self.planted = planted
        self.stats = stats
        self.truth = truth

    def __repr__(self) -> str:
        return (f"Simulation(customers={self.customers}, events={len(self.events)}, "
                f"start={self.start!r}, end={self.end!r})")


def _pipeline(spec: SimSpec, config: Any) -> tuple[Pipeline, int, int]:
    check(spec)
    start_us, end_us = window(spec)
    return Pipeline(spec, config, start_us, end_us), start_us, end_us


def generate(spec: SimSpec, config: Any = None) -> Simulation:
    """Simulate the store of ``spec`` in memory; thresholds for clear-cut situations come from ``config``."""
    run, start_us, end_us = _pipeline(spec, config)
    run.generate()
    with groundtruth.paused_gc():
        events = list(run.lines())
    return Simulation(spec, events, format_us(start_us), format_us(end_us), run.planted, run.stats, run.truth)


def iter_events(spec: SimSpec, config: Any = None) -> Iterator[bytes]:
    """The event lines of :func:`generate`, one at a time, in bounded memory."""
    run, _, _ = _pipeline(spec, config)
    run.generate()
    yield from run.lines()


def write(spec: SimSpec, config: Any, events_path: str | Path | None, truth_path: str | Path | None,
          sink: Callable[[Iterator[bytes]], Any] | None = None, show_progress: bool | None = None) -> dict[str, int]:
    """Simulate and write, streaming: memory stays bounded whatever the store size.

    The events go to ``events_path`` (one JSON per line) or, with ``sink``, to a callable that
    consumes the line iterator (the Kafka producer); the ground truth to ``truth_path``. A
    progress bar shows on a terminal (``show_progress`` None), see :mod:`forewarn.apps.progress`.
    Returns the stats (valid, duplicates, late, invalid, customers, lines).
    """
    run, _, _ = _pipeline(spec, config)
    with progress.bar(spec.customers, "simulate", "customer", enabled=show_progress) as bar:
        run.generate(bar.update)
    if truth_path is not None:
        _write_truth(run.truth, truth_path)
    stats = run.stats
    # At most this many lines (support events after the store's last one are left out); the
    # bar's total becomes the count written at the end.
    total = stats["valid"] + run.noise.expected_extra() + run.support_planted
    lines = 0
    with progress.bar(total, "write", "event", enabled=show_progress) as bar, groundtruth.paused_gc():
        def counted() -> Iterator[bytes]:
            nonlocal lines
            for i, line in enumerate(run.lines(), 1):
                if not i % 4096:
                    bar.update(4096)
                lines = i
                yield line
            bar.total = lines
            bar.update(lines % 4096)

        if sink is not None:
            sink(counted())
        elif events_path is not None:
            with open(events_path, "wb") as fh:
                fh.writelines(line + b"\n" for line in counted())
        else:
            run.close()
    stats = run.stats
    stats["lines"] = lines
    return stats


def write_jsonl(sim: Simulation, events_path: str | Path | None, truth_path: str | Path | None) -> None:
    """Write an in-memory store's events (one JSON per line) and ground truth, each only if given a path."""
    if events_path is not None:
        with open(events_path, "wb") as fh:
            for line in sim.events:
                fh.write(line)
                fh.write(b"\n")
    if truth_path is not None:
        _write_truth(sim.truth, truth_path)


def _write_truth(rows: list[dict[str, Any]], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
