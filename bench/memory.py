"""Resident memory per tracked customer, at a million customers.

Customers get their state the way the live engine builds it: 2,000 simulated customers'
30-day histories go through the live customer step (``flows.customer_step.ShardLogic``, one
per key, as Bytewax holds them, every detector and model on); their snapshots are then
restored a million times under fresh customer ids, through the same path Bytewax takes on
resume (which also fills the worker's timer index). The resident set grows by the engine's
state for a million customers; divided by a million, that is the cost of one.

Bytewax keeps, per key, an entry in its Rust map of logics; that part is measured on its own
by running a dataflow with that many keys whose logic holds nothing.
"""

from __future__ import annotations

import gc
import pickle
import time
from pathlib import Path

from bench.common import STORE_END
from flows.items import EVENT


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _histories(seed: int, customers: int = 2000) -> list[bytes]:
    """Snapshots of ``customers`` customers after 30 days, built through the live customer step."""
    from flows.customer_step import ShardLogic
    from forewarn.engine.config import load
    from forewarn.engine.engine import Engine
    from forewarn.core.events import Invalid, decode
    from forewarn.apps.simulator import SimSpec, generate
    from forewarn.engine.watermark import WorkerClocks

    engine = Engine(load(None, {"engine.allowed_lateness_seconds": 0}))
    workers = WorkerClocks(0, 30.0, ["p"])
    models = _worker_models(engine)
    clock = workers.current().clock
    logics: dict[str, ShardLogic] = {}
    for raw in generate(SimSpec(customers=customers, days=30, seed=seed, end=STORE_END)).events:
        event = decode(raw)
        if isinstance(event, Invalid):
            continue
        clock.report("p", event.ts_us, None)
        cid = event.customer_id
        logic = logics.get(cid) or logics.setdefault(cid, ShardLogic(engine, None, workers, models))
        logic.on_batch([(EVENT, cid, event, 0.0)])
    return [logic.snapshot() for logic in logics.values()]


def _worker_models(engine):
    """The worker's online models, as the dataflow gives each customer step (no checkpoints)."""
    from flows.worker_models import FlowModels

    return FlowModels(None, 1, False).worker(engine.models)


def _bytewax_per_key(keys: int) -> float:
    """RSS per key of a Bytewax stateful step whose logic holds nothing (run it in a fresh
    process: memory freed earlier in this one would be reused without the RSS growing)."""
    from bytewax import operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.operators import StatefulBatchLogic
    from bytewax.testing import TestingSink, TestingSource, run_main

    class Nothing(StatefulBatchLogic):
        __slots__ = ()

        def on_batch(self, values):
            return [], StatefulBatchLogic.RETAIN

        def snapshot(self):
            return None

    gc.collect()
    before = rss_bytes()
    flow = Dataflow("keys")
    keyed = op.key_on("key", op.input("in", flow, TestingSource((f"cus_{i:07d}" for i in range(keys)), 10_000)),
                      lambda k: k)
    op.output("out", op.stateful_batch("step", keyed, lambda _resume: Nothing()), TestingSink([]))
    # Measured while the logics are alive: at the end of the input, before the flow is torn down.
    sizes = []

    class Probe(StatefulBatchLogic):
        def on_batch(self, values):
            return [], StatefulBatchLogic.RETAIN

        def on_eof(self):
            sizes.append(rss_bytes())
            return [], StatefulBatchLogic.DISCARD

        def snapshot(self):
            return None

    op.stateful_batch("probe", op.key_on("one", op.input("eof", flow, TestingSource([1])), lambda _x: "probe"),
                      lambda _resume: Probe())
    run_main(flow)
    return (max(sizes) - before) / keys if sizes else float("nan")


def run(customers: int, seed: int) -> dict:
    from flows.customer_step import ShardLogic
    from forewarn.engine.config import load
    from forewarn.engine.engine import Engine
    from forewarn.engine.watermark import WorkerClocks

    t0 = time.monotonic()
    snapshots = _histories(seed)
    engine = Engine(load(None))
    workers = WorkerClocks(0, 30.0, ["p"])
    models = _worker_models(engine)
    templates = [pickle.loads(s) for s in snapshots]
    gc.collect()
    before = rss_bytes()
    logics = []
    for i in range(customers):
        key, custs, *rest = templates[i % len(templates)]
        new = f"cus_{i:07d}"
        state = custs[key]
        state.customer_id = new
        logics.append(ShardLogic(engine, pickle.dumps((new, {new: state}, *rest), protocol=5), workers, models))
        state.customer_id = key
    gc.collect()
    engine_bytes = (rss_bytes() - before) / customers
    timers = len(workers.current().timers)
    snapshot_bytes = sum(len(s) for s in snapshots) / len(snapshots)
    del logics
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        bytewax = pool.apply(_bytewax_per_key, (min(customers, 200_000),))
    return {"customers": customers, "engine_state_bytes_per_customer": round(engine_bytes),
            "bytewax_key_bytes_per_customer": round(bytewax),
            "total_bytes_per_customer": round(engine_bytes + bytewax),
            "snapshot_bytes_per_customer": round(snapshot_bytes), "customers_with_armed_deadline": timers,
            "seconds": round(time.monotonic() - t0, 1)}
