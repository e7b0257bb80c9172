"""Produce-to-queue latency of hand-written contract events against ``forewarn run`` at its defaults.

    python -m bench.arrival                   # 30 s of events, then waits for the deadlines (~6 min)
    python -m bench.arrival --seconds 10 --every 0.2

As a new user tries it: ``forewarn run`` in a process of its own with the default config
(only the Kafka and Redis addresses, topics and prefix set: ``allowed_lateness_seconds``
300, ``idle_timeout_seconds`` 5), and this process producing contract events stamped now with
confluent-kafka, as any client would. Every ``every`` seconds a new customer orders, is
shipped a parcel, and then disputes the payment, has a carrier exception and writes to
support (the event path: ``payment_disputed``, ``shipment_exception``, ``support_message``);
and a probe parcel is shipped whose ``delivery_late`` deadline is one second after it is sent
(the deadline path: it fires when the watermark passes the deadline, ``allowed_lateness``
later). A trigger reached its queue at its Redis stream entry's id (Redis's clock at
``XADD``; same machine), so that minus the event's ``ts`` (taken as it is produced) is its
produce-to-queue latency.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import msgspec
import redis

from bench.common import KAFKA, REDIS, TOPICS, RunProcess, cleanup, free_port, machine, namespace, stop
from forewarn.core.events import TOPIC_OF_TYPE
from forewarn.core.timefmt import HOUR, format_us, now_us, parse_rfc3339

EVENT_KINDS = ("payment_disputed", "shipment_exception", "support_message")
DEADLINE_KINDS = ("delivery_late",)
WARM_UP_S = 5.0  # events of the first seconds (first fetches, templates and models loading) reported apart


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


class Client:
    """A store's backend sending events as they happen."""

    def __init__(self, topics_ns: str, grace_hours: float) -> None:
        from confluent_kafka import Producer

        self.topics_ns = topics_ns
        self.grace_us = int(grace_hours * HOUR)
        self.producer = Producer({"bootstrap.servers": KAFKA, "linger.ms": 1})
        self.n = 0

    def send(self, type_: str, cid: str, **fields) -> None:
        self.n += 1
        obj = {"type": type_, "event_id": f"{cid}-{self.n}", "ts": format_us(now_us()), "customer_id": cid, **fields}
        self.producer.produce(f"{self.topics_ns}-{TOPIC_OF_TYPE[type_]}", msgspec.json.encode(obj), cid.encode())
        self.producer.flush(10)

    def customer(self, k: int) -> None:
        cid, oid, sid = f"c{k}", f"o{k}", f"s{k}"
        self.send("customer.updated", cid, email=f"{cid}@example.com", email_verified=True, consent={"email": True})
        self.send("order.placed", cid, order_id=oid, total=120.0, currency="EUR",
                  items=[{"sku": "sku-1", "qty": 1, "unit_price": 120.0}],
                  shipping_address={"country": "DE", "city": "Berlin", "postal_code": "10115"})
        self.send("shipment.created", cid, order_id=oid, shipment_id=sid, carrier="DHL",
                  estimated_delivery_at=format_us(now_us() + 72 * HOUR))
        self.send("payment.disputed", cid, order_id=oid, amount=120.0, currency="EUR", reason="product_not_received")
        self.send("shipment.exception", cid, order_id=oid, shipment_id=sid, code="damaged")
        self.send("support.message", cid, message_id=f"m{k}", channel="email", order_id=oid,
                  subject="Where is my parcel?", body=f"Hello, my order {oid} has not arrived. Where is it?")

    def probe(self, k: int) -> None:
        """A parcel whose delivery deadline (estimate + grace) is one second from now."""
        cid, oid = f"p{k}", f"po{k}"
        self.send("order.placed", cid, order_id=oid, total=20.0, currency="EUR",
                  items=[{"sku": "probe", "qty": 1, "unit_price": 20.0}],
                  shipping_address={"country": "DE", "city": "Berlin", "postal_code": "10115"})
        self.send("shipment.created", cid, order_id=oid, shipment_id=f"ps{k}", carrier="DHL",
                  estimated_delivery_at=format_us(now_us() + 1_000_000 - self.grace_us))


def run(seconds: float, every: float) -> dict:
    from forewarn.engine.config import load

    defaults = load(None, env={})
    topics_ns, ns = namespace("arrival-topics"), namespace("arrival")
    client = Client(topics_ns, defaults.detectors.delivery_late.grace_hours)
    for t in TOPICS:  # the topics exist before the engine lists them; the warm-up events are invalid
        client.producer.produce(f"{topics_ns}-{t}", b'{"type": "warm-up"}')
    client.producer.flush(10)
    config = {"kafka": {"bootstrap": KAFKA, "group_id": ns, "topics": [f"{topics_ns}-{t}" for t in TOPICS]},
              "redis": {"url": REDIS, "prefix": f"{ns}:"}, "metrics": {"port": free_port()}}
    engine = RunProcess(config, log="arrival")
    rds = redis.Redis.from_url(REDIS)
    lateness = defaults.engine.allowed_lateness_seconds
    try:
        engine.wait_serving()
        time.sleep(3)  # partitions assigned, consumers fetching
        start, k = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            k += 1
            client.customer(k)
            client.probe(k)
            time.sleep(max(0.0, start + k * every - time.monotonic()))
        # The last deadline is due one second after it was sent; the watermark passes it once
        # the partitions have been idle for the idle timeout, plus the lateness.
        time.sleep(lateness + defaults.engine.idle_timeout_seconds + 15)
        from sinks.redis_queue import all_queue_keys

        triggers = [(json.loads(f[b"trigger"]), int(entry.split(b"-")[0]) * 1000)
                    for key in all_queue_keys(f"{ns}:") for entry, f in rds.xrange(key)]
        alive = engine.alive()
    finally:
        stop([engine])
        cleanup(topics_ns, (f"{ns}:",))
    by_kind: dict[str, list[tuple[float, float]]] = defaultdict(list)  # kind -> (s into the run, ms)
    first = min((parse_rfc3339(t["fired_at"]) for t, _q in triggers), default=0)
    for t, queued in triggers:
        fired = parse_rfc3339(t["fired_at"])
        by_kind[t["kind"]].append(((fired - first) / 1e6, (queued - fired) / 1000))
    out: dict = {"seconds": seconds, "customers": k, "engine_alive_at_end": alive, "warm_up_apart_s": WARM_UP_S,
                 "engine": {"allowed_lateness_seconds": lateness,
                            "idle_timeout_seconds": defaults.engine.idle_timeout_seconds,
                            "apply_on_arrival": defaults.engine.apply_on_arrival}}
    for name, kinds in (("event", EVENT_KINDS), ("deadline", DEADLINE_KINDS)):
        rows = [row for kind in kinds for row in by_kind.get(kind, [])]
        steady = [ms for at, ms in rows if at >= WARM_UP_S]
        out[name] = {"kinds": {kind: len(by_kind.get(kind, [])) for kind in kinds},
                     "produce_to_queue_p50_ms": round(_pct(steady, 0.5), 1),
                     "produce_to_queue_p99_ms": round(_pct(steady, 0.99), 1),
                     "all_p50_ms": round(_pct([ms for _at, ms in rows], 0.5), 1),
                     "all_p99_ms": round(_pct([ms for _at, ms in rows], 0.99), 1),
                     # When the slowest happened tells the start-up from a stall.
                     "slowest_ms_at_s": sorted(((round(ms, 1), round(at, 1)) for at, ms in rows), reverse=True)[:6]}
    out["deadline"]["note"] = "from the deadline; it may fire only once the watermark (lateness behind) passes it"
    out["other_kinds"] = {kind: len(v) for kind, v in by_kind.items() if kind not in EVENT_KINDS + DEADLINE_KINDS}
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m bench.arrival", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="how long new customers come (default %(default)s)")
    p.add_argument("--every", type=float, default=0.5, help="seconds between customers (default %(default)s)")
    args = p.parse_args()
    print(json.dumps({"machine": machine(), **run(args.seconds, args.every)}))
