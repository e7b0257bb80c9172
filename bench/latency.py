"""Produce-to-queue latency at a fixed input rate, on the real broker and Redis.

    python -m bench.latency                      # the default config (lateness 300 s, idle 5 s)
    python -m bench.latency --lateness 0 --rate 5000 --seconds 60

The simulated store's events are replayed at ``rate`` events/s by this process (a Kafka
producer of its own, separate from the ``forewarn run`` it starts) with their times moved to
the moment each is produced (every timestamp in an event shifts by the same amount, so a
parcel's estimate stays days ahead), so event time is wall time. A trigger reached its queue
at its Redis stream entry's id (Redis's clock at ``XADD``, same machine), so that minus its
``fired_at`` is its latency from the event (or the deadline) to the queue.

Kinds that fire on an event measure the event path: ``run`` applies an event on arrival
(``[engine] apply_on_arrival``), so the lateness adds nothing there. Probe parcels measure
the deadline path (``delivery_late``): a deadline ``d`` fires once every partition has
delivered something past ``d + allowed_lateness``, so each probe's deadline is set to fall a
second after the watermark it meets. That *watermark wait* is a property of the input, the
lateness and the partitioning, not of the engine: it is computed exactly from what was
produced (per partition, the first event time past ``d + lateness``) and subtracted, and
``beyond_watermark`` is what the engine (and Kafka and Redis) add.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections import defaultdict

import msgspec
import redis

from bench.common import KAFKA, REDIS, RunProcess, cleanup, engine_config, free_port, namespace, stop, store_spec
from forewarn.core.events import TOPIC_OF_TYPE
from forewarn.core.timefmt import HOUR, format_us, now_us, parse_rfc3339

TIME_FIELDS = ("estimated_delivery_at", "promised_delivery_at")
PROBES_PER_S = 10
# Kinds that fire at a deadline (the rest fire on an event; a payment failure fires on its
# event when it is final, at the end of its recovery window otherwise, which a run never reaches).
DEADLINE_KINDS = {"delivery_late", "shipment_stalled"}
WARM_UP_S = 5.0  # triggers due in the first seconds (consumers connecting, first fetches) are left out


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


class Replay:
    """Produces the store at a fixed rate, re-timed to now; remembers (partition, time) of each."""

    def __init__(self, lines: list[bytes], topics_ns: str, rate: float, seconds: float, grace_hours: float,
                 lateness_s: float) -> None:
        from confluent_kafka import Producer

        self.lines = lines
        self.topics_ns = topics_ns
        self.rate = rate
        self.seconds = seconds
        self.grace_us = int(grace_hours * HOUR)
        self.lateness_us = int(lateness_s * 1_000_000)
        self.producer = Producer({"bootstrap.servers": KAFKA, "linger.ms": 1, "compression.type": "lz4"})
        self.placed: dict[str, list[int]] = defaultdict(list)  # topic/partition -> event times
        self.sent = 0
        self.probes = 0

    def _send(self, obj: dict, ts: int) -> None:
        def delivered(err, msg) -> None:
            if err is None:
                self.placed[f"{msg.topic()}/{msg.partition()}"].append(ts)

        topic = f"{self.topics_ns}-{TOPIC_OF_TYPE[obj['type']]}"
        self.producer.produce(topic, msgspec.json.encode(obj), obj["customer_id"].encode(), on_delivery=delivered)

    def run(self) -> None:
        start = time.monotonic()
        next_probe = start
        for raw in self.lines:
            elapsed = time.monotonic() - start
            if elapsed > self.seconds:
                break
            ahead = self.sent / self.rate - elapsed
            if ahead > 0:
                time.sleep(ahead)
            now = now_us()
            obj = msgspec.json.decode(raw)
            shift = now - parse_rfc3339(obj["ts"])
            obj["ts"] = format_us(now)
            for field in TIME_FIELDS:
                if obj.get(field):
                    obj[field] = format_us(parse_rfc3339(obj[field]) + shift)
            self._send(obj, now)
            self.sent += 1
            if time.monotonic() >= next_probe:
                self._probe(now)
                next_probe += 1 / PROBES_PER_S
            if self.sent % 500 == 0:
                self.producer.poll(0)
        self.producer.flush(30)

    def _probe(self, now: int) -> None:
        """A parcel whose delivery deadline (estimate + grace) the watermark reaches in one second.

        Its order carries a whole address: an order without a city fires ``data_quality`` on
        the event path, and the probe's own deadline (armed in the past by the shipment, which
        may be read first) holds that order back until the watermark passes it (an event never
        jumps its customer's deadline), which measured the probe, not the event path: 1.1 s p50.
        """
        n = self.probes = self.probes + 1
        cid, oid, sid = f"probe-c{n}", f"probe-o{n}", f"probe-s{n}"
        self._send({"type": "order.placed", "event_id": f"probe-e{n}a", "ts": format_us(now), "customer_id": cid,
                    "order_id": oid, "total": 20.0, "currency": "EUR",
                    "items": [{"sku": "probe", "qty": 1, "unit_price": 20.0}],
                    "shipping_address": {"country": "DE", "postal_code": "10115", "city": "Berlin"}}, now)
        self._send({"type": "shipment.created", "event_id": f"probe-e{n}b", "ts": format_us(now), "customer_id": cid,
                    "order_id": oid, "shipment_id": sid,
                    "estimated_delivery_at": format_us(now + 1_000_000 - self.grace_us - self.lateness_us)}, now)
        self.sent += 2

    def watermark_wait_us(self, d: int) -> int | None:
        """How long after ``d`` every partition had delivered something past ``d + lateness``."""
        t = d + self.lateness_us
        latest = t
        for times in self.placed.values():
            i = bisect.bisect_right(times, t)
            if i == len(times):
                return None  # a partition had nothing later before the run ended
            latest = max(latest, times[i])
        return latest - d


def run(rate: float, seconds: float, seed: int, lateness_s: float | None = None) -> dict:
    """``lateness_s`` None: the default ``[engine]`` section; else that lateness, idle timeout 30 s."""
    from forewarn.engine.config import load
    from forewarn.apps.simulator import generate

    defaults = load(None, env={})
    customers = max(500, int(rate * seconds / 40))  # ~43 events per customer per 30 days
    lines = generate(store_spec(customers, seed)).events
    grace = defaults.detectors.delivery_late.grace_hours
    if lateness_s is None:
        timing = {"allowed_lateness_seconds": defaults.engine.allowed_lateness_seconds,
                  "idle_timeout_seconds": defaults.engine.idle_timeout_seconds}
    else:
        timing = {"allowed_lateness_seconds": lateness_s, "idle_timeout_seconds": 30}
    topics_ns, ns = namespace("latency-topics"), namespace("latency")
    from forewarn.apps.producer import produce

    # Create the topics (default partitioning) before the engine lists them.
    produce([json.dumps({"type": t, "event_id": f"warm-{t}"}).encode() for t in TOPIC_OF_TYPE], KAFKA,
            topic_prefix=f"{topics_ns}-")
    engine = RunProcess(engine_config(ns, topics_ns, free_port(), engine=timing), log="latency")
    client = redis.Redis.from_url(REDIS)
    replay = Replay(lines, topics_ns, rate, seconds, grace, timing["allowed_lateness_seconds"])
    try:
        engine.wait_serving()
        time.sleep(2)  # partitions assigned, consumers fetching
        producer = threading.Thread(target=replay.run)
        producer.start()
        producer.join()
        time.sleep(3)  # the last deadlines come due, the last triggers are written
        read = engine.metric("forewarn_events_total")
        from sinks.redis_queue import all_queue_keys

        # (trigger, the moment it reached its queue: the stream id's milliseconds, Redis's clock)
        triggers = [(json.loads(f[b"trigger"]), int(entry.split(b"-")[0]) * 1000)
                    for k in all_queue_keys(f"{ns}:") for entry, f in client.xrange(k)]
    finally:
        stop([engine])
        cleanup(topics_ns, (f"{ns}:",))
    for times in replay.placed.values():
        times.sort()
    out: dict = {"rate_events_per_s": rate, "seconds": seconds, "events_sent": replay.sent,
                 "events_read": read, **timing, "partitions": len(replay.placed),
                 "warm_up_left_out_s": WARM_UP_S}
    paths: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    slowest: list[tuple[float, float, float]] = []  # (ms beyond the watermark, s into the run, kind)
    first = min((min(v) for v in replay.placed.values() if v), default=0)
    for t, queued in triggers:
        fired = parse_rfc3339(t["fired_at"])
        deadline = t["kind"] in DEADLINE_KINDS
        wait = replay.watermark_wait_us(fired) if deadline else 0  # an event is applied on arrival
        if wait is None:
            continue
        if fired - first < (WARM_UP_S * 1e6 - (replay.lateness_us if deadline else 0)):
            continue
        total = queued - fired
        path = paths["deadline" if deadline else "event"]
        path["total_ms"].append(total / 1000)
        if deadline:
            path["watermark_wait_ms"].append(wait / 1000)
            path["beyond_watermark_ms"].append((total - wait) / 1000)
        slowest.append((round((total - wait) / 1000, 1), round((fired - first) / 1e6, 1), t["kind"]))
    for name, series in paths.items():
        out[name] = {"triggers": len(series["total_ms"]),
                     **{f"{k[:-3]}_p{int(q * 100)}_ms": round(_pct(v, q), 1)
                        for k, v in series.items() for q in (0.5, 0.99)}}
    # When the slowest ones happened tells a periodic stall (a collection, an epoch) from noise.
    out["slowest_beyond_ms_at_s"] = sorted(slowest, reverse=True)[:8]
    return out


if __name__ == "__main__":
    import argparse

    from bench.common import machine

    p = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n")[0])
    p.add_argument("--rate", type=float, default=1000.0, help="events/s produced (default %(default)s)")
    p.add_argument("--seconds", type=float, default=60.0, help="how long to produce (default %(default)s)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--lateness", type=float, default=None,
                   help="allowed_lateness_seconds (idle timeout then 30 s); default: the default config")
    args = p.parse_args()
    print(json.dumps({"machine": machine(), **run(args.rate, args.seconds, args.seed, args.lateness)}))
