"""How fast the helpdesk side goes on a real Redis: engine writes, worker pull + ack, reclaim latency.

    python bench/queue_bench.py [--redis redis://127.0.0.1:6379/0] [--triggers 20000] [--reclaims 10]

Works under a fresh key prefix and deletes it afterwards. Numbers depend on the machine and on
whatever else uses that Redis; the command prints what it measured, nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis  # noqa: E402

from forewarn.queue import TriggerQueue  # noqa: E402
from forewarn.core.trigger import Trigger  # noqa: E402
from sinks.redis_queue import QueueWriter  # noqa: E402

LANES = [(r, p) for p in ("p1", "p2", "p3", "p4") for r in ("human", "ai")]


def _trigger(n: int) -> Trigger:
    route, priority = LANES[n % len(LANES)]
    return Trigger(trigger_id=f"bench{n:08d}", kind="delivery_late", customer_id=f"c{n}", order_id=f"o{n}",
                   fired_at="2026-11-04T22:00:00Z", priority=priority, route=route, score=None,
                   reasons=[{"code": "late", "detail": "parcel is late"}],
                   customer={"ltv": 120.0, "orders": 2, "tier": "standard", "segment": "regular"},
                   outreach={"allowed": True, "channels": ["email"], "basis": "consent"}, evidence={"grace_hours": 12})


def write(url: str, prefix: str, n: int, batch: int = 500) -> float:
    writer = QueueWriter(url, prefix)
    triggers = [_trigger(i) for i in range(n)]
    start = time.perf_counter()
    for i in range(0, n, batch):
        writer.write(triggers[i:i + batch])
    return n / (time.perf_counter() - start)


def drain(url: str, prefix: str, consumer: str, count: int, group: str) -> int:
    q = TriggerQueue(url, prefix=prefix, consumer=consumer, group=group)
    done = 0
    while jobs := q.pull(count=count, block_ms=100):
        q.ack(*jobs)
        done += len(jobs)
    return done


def _drain_worker(args: tuple) -> tuple[int, float, float]:
    start = time.time()
    n = drain(*args)
    return n, start, time.time()


def throughput(url: str, prefix: str, n: int, count: int, consumers: int) -> float:
    group = f"g{count}x{consumers}"
    if consumers == 1:
        start = time.perf_counter()
        got = drain(url, prefix, "solo", count, group)
        took = time.perf_counter() - start - 0.1  # the final empty pull waits 100 ms
    else:
        with multiprocessing.Pool(consumers) as pool:
            results = pool.map(_drain_worker, [(url, prefix, f"w{i}", count, group) for i in range(consumers)])
        got = sum(r[0] for r in results)
        took = max(r[2] for r in results) - min(r[1] for r in results) - 0.1
    assert got == n, f"drained {got} of {n}"
    return n / took


def reclaim_latency(url: str, prefix: str, trials: int, visibility: float) -> list[float]:
    """Seconds from an entry coming due (delivered + visibility timeout) to another consumer holding it."""
    writer = QueueWriter(url, prefix)
    lag = []
    for i in range(trials):
        writer.write([_trigger(10_000_000 + i)])
        dying = TriggerQueue(url, prefix=prefix, consumer="dying", group="reclaim", visibility_timeout=visibility)
        [job] = dying.pull()
        due = time.time() + visibility  # pulled just now; never acked, as if its worker died
        time.sleep(random.uniform(0, 1))  # the rescuer's once-a-second reclaim look, at any phase
        rescuer = TriggerQueue(url, prefix=prefix, consumer="rescuer", group="reclaim", visibility_timeout=visibility)
        while not (got := rescuer.pull(block_ms=5000)):
            pass
        lag.append(time.time() - due)
        assert got[0].id == job.id and got[0].deliveries == 2
        rescuer.ack(*got)
    return lag


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--triggers", type=int, default=20_000)
    p.add_argument("--reclaims", type=int, default=10)
    p.add_argument("--visibility", type=float, default=2.0, help="visibility timeout for the reclaim trials")
    args = p.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(args.redis)
    try:
        print(f"redis {client.info('server')['redis_version']} at {args.redis}, prefix {prefix}")
        print(f"engine writes (SET NX + XADD in Lua, batches of 500): {write(args.redis, prefix, args.triggers):,.0f} triggers/s")
        for count, consumers in ((1, 1), (10, 1), (100, 1), (10, 2)):
            rate = throughput(args.redis, prefix, args.triggers, count, consumers)
            print(f"pull + ack, {consumers} consumer{'s' if consumers > 1 else ''}, count={count}: {rate:,.0f} triggers/s")
        lag = reclaim_latency(args.redis, prefix + "reclaim:", args.reclaims, args.visibility)
        print(f"reclaim after a {args.visibility:g} s visibility timeout, {len(lag)} trials: "
              f"median {statistics.median(lag):.2f} s, max {max(lag):.2f} s beyond the timeout")
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for i in range(0, len(keys), 1000):
            client.delete(*keys[i:i + 1000])
    return 0


if __name__ == "__main__":
    sys.exit(main())
