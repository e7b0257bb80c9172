"""A simulated store: customers, orders, payments, parcels and engagement, seeded and realistic.

:func:`generate` builds a whole store in memory, event by event, customer by customer, then
sorts it by event time (stably) and adds the noise a real feed has: redeliveries of the same
``event_id``, events that arrive a little out of order, and malformed lines. It also plants
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
lines).

>>> sim = generate(SimSpec(customers=20, days=5, start="2026-03-01T00:00:00Z"), None)
>>> from forewarn.core.events import decode, Invalid
>>> all(not isinstance(decode(line), Invalid) for line in sim.events)
True
>>> sim.events == generate(SimSpec(customers=20, days=5, start="2026-03-01T00:00:00Z"), None).events
True
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from forewarn.apps import groundtruth
from forewarn.apps.simulator.noise import noise
from forewarn.apps.simulator.spec import SimSpec, check, ts_key, window
from forewarn.apps.simulator.store import Store
from forewarn.core.timefmt import format_us

__all__ = ["SimSpec", "Simulation", "generate", "iter_events", "write_jsonl"]


class Simulation:
    """A generated store.

    events: the JSON lines (no newline) in stream order: by event time, except the planted
        redeliveries and late arrivals, with malformed lines interleaved.
    truth: the ground-truth rows (:func:`forewarn.apps.groundtruth.compute`), computed on first use.
    customers: how many customers the store has.
    start, end: the simulated window (RFC 3339); no event lies outside it.
    planted: kind -> the subjects planted on purpose (``delivery_late`` maps shipment id to
        its deadline in microseconds; see :func:`forewarn.apps.groundtruth.compute`).
    stats: counts of valid events, duplicates, late arrivals and invalid lines.
    """

    def __init__(self, spec: SimSpec, events: list[bytes], customers: int, start: str, end: str,
                 planted: dict[str, Any], stats: dict[str, int], config: Any = None) -> None:
        self.spec = spec
        self.events = events
        self.customers = customers
        self.start = start
        self.end = end
        self.planted = planted
        self.stats = stats
        self._config = config
        self._truth: list[dict[str, Any]] | None = None

    @property
    def truth(self) -> list[dict[str, Any]]:
        if self._truth is None:
            self._truth = groundtruth.compute(self.events, self._config, self.planted)
        return self._truth

    def __repr__(self) -> str:
        return (f"Simulation(customers={self.customers}, events={len(self.events)}, "
                f"start={self.start!r}, end={self.end!r})")


def generate(spec: SimSpec, config: Any = None) -> Simulation:
    """Simulate the store of ``spec``; thresholds for clear-cut situations come from ``config``."""
    check(spec)
    start_us, end_us = window(spec)
    with groundtruth.paused_gc():
        gen = Store(spec, config, start_us, end_us)
        for i in range(spec.customers):
            gen.customer(i)
        valid = gen.out
        valid.sort(key=ts_key)
        lines, stats = noise(spec, valid)
    stats["customers"] = spec.customers
    return Simulation(spec, lines, spec.customers, format_us(start_us), format_us(end_us),
                      gen.planted, stats, config)


def iter_events(spec: SimSpec, config: Any = None) -> Iterator[bytes]:
    """The event lines of :func:`generate`, one at a time."""
    yield from generate(spec, config).events


def write_jsonl(sim: Simulation, events_path: str | Path | None, truth_path: str | Path | None) -> None:
    """Write the events (one JSON per line) and the ground truth, each only if given a path."""
    if events_path is not None:
        with open(events_path, "wb") as fh:
            for line in sim.events:
                fh.write(line)
                fh.write(b"\n")
    if truth_path is not None:
        with open(truth_path, "w", encoding="utf-8") as fh:
            for row in sim.truth:
                fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
                fh.write("\n")


