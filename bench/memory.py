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
import sys
import time
from pathlib import Path

from bench.common import store_spec
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
    from forewarn.apps.simulator import generate
    from forewarn.engine.watermark import WorkerClocks

    engine = Engine(load(None, {"engine.allowed_lateness_seconds": 0}))
    workers = WorkerClocks(0, 30.0, ["p"])
    models = _worker_models(engine)
    clock = workers.current().clock
    logics: dict[str, ShardLogic] = {}
    for raw in generate(store_spec(customers, seed)).events:
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


def deep_size(obj, seen: set[int]) -> int:
    """Bytes of ``obj`` and everything it holds that ``seen`` has not counted (interned and
    shared objects once, over all the calls that share ``seen``)."""
    if id(obj) in seen or obj is None or isinstance(obj, (bool, type)):
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(deep_size(v, seen) for v in obj)
    elif hasattr(obj, "__struct_fields__"):
        size += sum(deep_size(getattr(obj, f), seen) for f in obj.__struct_fields__)
    elif hasattr(obj, "__slots__"):
        size += sum(deep_size(getattr(obj, f, None), seen) for f in obj.__slots__)
    elif hasattr(obj, "__dict__"):
        size += deep_size(obj.__dict__, seen)
    return size


def breakdown(seed: int, customers: int = 2000) -> dict:
    """Where a customer's bytes go: the average deep size of each part of the restored state
    (each ``CustomerState`` field, each ``ext`` kind, the shard and logic around it), over
    ``customers`` simulated customers. Strings shared between customers (interned) count once."""
    from collections import defaultdict

    from flows.customer_step import ShardLogic
    from forewarn.engine.config import load
    from forewarn.engine.engine import Engine
    from forewarn.engine.watermark import WorkerClocks

    snapshots = _histories(seed, customers)
    engine = Engine(load(None))
    workers = WorkerClocks(0, 30.0, ["p"])
    models = _worker_models(engine)
    logics = [ShardLogic(engine, s, workers, models) for s in snapshots]
    parts: dict[str, int] = defaultdict(int)
    seen: set[int] = {id(engine), id(workers), id(models)}
    for logic in logics:
        seen.add(id(logic.engine))
        shard = logic.shard
        for cust in shard.customers.values():
            for name in cust.__struct_fields__:
                if name == "ext":
                    parts["ext (the dict)"] += sys.getsizeof(cust.ext)
                    seen.add(id(cust.ext))
                    for kind, value in cust.ext.items():
                        parts[f"ext[{kind}]"] += deep_size(kind, seen) + deep_size(value, seen)
                else:
                    parts[f"state.{name}"] += deep_size(getattr(cust, name), seen)
            parts["state (the struct)"] += sys.getsizeof(cust)
            seen.add(id(cust))
        parts["shard (slots, dict, heaps)"] += deep_size(shard, seen)
        parts["logic"] += deep_size(logic, seen)
    n = len(logics)
    rows = sorted(((k, v / n) for k, v in parts.items()), key=lambda kv: -kv[1])
    return {"customers": n, "bytes_per_customer": round(sum(v for _, v in rows)),
            "parts": {k: round(v) for k, v in rows}}


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


def main() -> None:
    import argparse
    import json

    p = argparse.ArgumentParser(description="memory per customer, or (--breakdown) where it goes")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--breakdown", action="store_true", help="the deep size of each part of a customer's state")
    args = p.parse_args()
    print(json.dumps(breakdown(args.seed) if args.breakdown else run(args.customers, args.seed), indent=2))


if __name__ == "__main__":
    main()
