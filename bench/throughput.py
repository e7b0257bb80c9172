"""Sustained throughput: the live engine (1 and 2 processes), the decode-only Kafka floor, the backtest.

The simulated store is produced to Kafka first, then the engine reads the backlog as fast as
it can: every event decoded, applied, run through every detector and model, and every
trigger written to Redis. The rate is taken between 10 % and 90 % of the events read (start-up
and tail left out); ``end_to_end_s`` is from start until the last trigger is in Redis.
"""

from __future__ import annotations

import time
from pathlib import Path

import redis

from bench.common import (KAFKA, REDIS, TOPICS, RunProcess, cleanup, engine_config, follow, free_port, namespace,
                          queued, steady_rate, stop)
from forewarn.core import events as ev


def backtest(path: Path) -> dict:
    """``forewarn backtest`` over the store's JSONL, in this process."""
    from flows import modes
    from forewarn.engine.config import load

    out = path.with_suffix(".triggers.jsonl")
    n = sum(1 for _ in open(path, "rb"))
    t0, c0 = time.perf_counter(), time.process_time()
    modes.backtest(load(None, {"engine.allowed_lateness_seconds": 0}), str(path), str(out))
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"events": n, "seconds": round(took, 2), "events_per_s": round(n / took), "events_per_cpu_s": round(n / cpu),
            "triggers": sum(1 for _ in open(out, "rb"))}


def floor(topics_ns: str, total: int, decode: bool = True) -> dict:
    """The floor: one hand-written confluent-kafka consumer over all partitions, decoding each
    event (``decode=False``: only fetching it), nothing else."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient

    meta = AdminClient({"bootstrap.servers": KAFKA}).list_topics(timeout=10)
    parts = [TopicPartition(f"{topics_ns}-{t}", p, OFFSET_BEGINNING)
             for t in TOPICS for p in meta.topics[f"{topics_ns}-{t}"].partitions]
    consumer = Consumer({"bootstrap.servers": KAFKA, "group.id": namespace("floor"), "enable.auto.commit": False})
    consumer.assign(parts)
    n = 0
    t0 = c0 = None
    valid = 0
    while n < total:
        msgs = consumer.consume(2000, timeout=1.0)
        if msgs and t0 is None:
            t0, c0 = time.perf_counter(), time.process_time()
        for m in msgs:
            if m.error() is None:
                n += 1
                if decode and not isinstance(ev.decode(m.value()), ev.Invalid):
                    valid += 1
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    consumer.close()
    return {"events": n, "seconds": round(took, 2), "events_per_s": round(n / took),
            "events_per_cpu_s": round(n / cpu), "decoded_valid": valid}


def live(topics_ns: str, total: int, triggers: int, processes: int) -> dict:
    """``forewarn run`` with ``processes`` Bytewax processes (one worker each) over the backlog."""
    ns = namespace(f"live{processes}")
    engines = []
    addresses = ";".join(f"127.0.0.1:{free_port()}" for _ in range(processes))
    t_start = time.monotonic()
    for i in range(processes):
        cfg = engine_config(ns, topics_ns, free_port())
        args = ("-i", str(i), "-a", addresses) if processes > 1 else ()
        engines.append(RunProcess(cfg, args, log=f"process{i}"))
    try:
        series = follow(engines, total)
        rate, per_cpu = steady_rate(series, total)
        # Done when the backtest's count is queued, or (model kinds may fire a little differently
        # live, where time also moves with the wall clock) when nothing more comes for 5 s.
        client = redis.Redis.from_url(REDIS)
        got, done, deadline = queued(client, f"{ns}:"), time.monotonic(), time.monotonic() + 120
        while got < triggers and time.monotonic() < min(deadline, done + 5):
            time.sleep(0.2)
            now = queued(client, f"{ns}:")
            if now != got:
                got, done = now, time.monotonic()
    finally:
        stop(engines)
        cleanup(prefixes=(f"{ns}:",))
    return {"processes": processes, "events": total, "events_per_s": round(rate),
            "events_per_s_per_process": round(rate / processes), "events_per_cpu_s": round(per_cpu),
            "end_to_end_s": round(done - t_start, 1), "triggers_queued": got, "triggers_backtest": triggers}
