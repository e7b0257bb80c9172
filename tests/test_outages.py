"""Outages: Redis away for a while, then back; the Kafka broker restarted mid-run.

Each test breaks a private instance of its own (never the shared services): the engine backs
off, holds its position, loses nothing, and says so in its log and metrics.
"""

import time

import pytest

from forewarn.apps.producer import produce
from tests.conftest import live_config, wait_for, wait_progress
from tests.factory import delivered, late_parcel, lines, order, shipped, tick
from tests.faults import free_port, late_parcels, metrics, private_redis, private_stack

pytestmark = [pytest.mark.services, pytest.mark.slow]

# Before the outage: c1's parcel turns late (deadline 11-02 22:00).
BEFORE = [*late_parcel("2026-11-01", "c1", 1), tick("2026-11-03T00:00:00Z")]
# During (or after) it: c2's parcel turns late (11-04 22:00), c3's arrives in time.
DURING = [
    *late_parcel("2026-11-03", "c2", 2),
    order("2026-11-03T08:30:00Z", order_id="o3", customer_id="c3"),
    shipped("2026-11-03T09:30:00Z", eta="2026-11-04T10:00:00Z", shipment_id="s3", order_id="o3", customer_id="c3"),
    delivered("2026-11-04T09:00:00Z", shipment_id="s3", order_id="o3", customer_id="c3"),
    tick("2026-11-06T00:00:00Z"),
]
EXPECTED = [("c1", "delivery_late", "2026-11-02T22:00:00Z"), ("c2", "delivery_late", "2026-11-04T22:00:00Z")]


def _reading(port: int) -> str:
    """What the engine has read, per topic, how far behind each topic it is and its watermark:
    which partition a wait is stuck on (not read, or holding the watermark)."""
    now = metrics(port)
    shown = ("forewarn_events_total", "forewarn_kafka_consumer_lag_messages", "forewarn_watermark_timestamp_seconds")
    return ", ".join(f"{k} {v:g}" for k, v in sorted(now.items()) if k.startswith(shown) and "type=" not in k)


def _summary(triggers: list[dict]) -> list[tuple]:
    return sorted((t["customer_id"], t["kind"], t["fired_at"]) for t in triggers)


def test_redis_away_then_back_holds_the_triggers_and_loses_none(services, namespace, start_engine, tmp_path):
    topics = f"{namespace}-"
    with private_redis(tmp_path / "redis") as redis_server:
        client = redis_server.client()
        port = free_port()
        cfg = live_config(namespace, services, redis={"url": redis_server.url, "retry_max_seconds": 1.0},
                          metrics={"port": port})
        produce(lines(BEFORE), services["kafka"], topic_prefix=topics)
        engine = start_engine(cfg)
        wait_for(lambda: late_parcels(client, f"{namespace}:"), 60, what=f"c1's trigger\n{engine.output()}")
        assert metrics(port)['forewarn_sink_up{sink="redis_queue"}'] == 1

        redis_server.stop()
        produce(lines(DURING), services["kafka"], topic_prefix=topics)
        # c2's trigger is due now: the sink keeps trying, and says so.
        wait_for(lambda: metrics(port).get('forewarn_sink_retries_total{sink="redis_queue"}', 0) >= 3, 60,
                 what=f"the queue sink retrying\n{engine.output()}")
        during = metrics(port)
        assert during['forewarn_sink_up{sink="redis_queue"}'] == 0
        # The held worker reads nothing more, and the gauges say so as it happens: the lag
        # behind the topics grows with what producers write, the watermark lag with the clock.
        held = lines([tick(f"2026-11-05T{h:02d}:{m:02d}:00Z", customer_id=f"held{m % 7}")
                      for h in range(10) for m in range(60)])
        produce(held, services["kafka"], topic_prefix=topics)
        wait_for(lambda: metrics(port).get("forewarn_kafka_consumer_lag_messages", 0) >= len(held), 30,
                 what=f"the consumer lag to count the {len(held)} events produced during the outage")
        # Held, it has read none of them: what producers write during an outage waits in Kafka
        # (and in librdkafka's prefetch, bounded per partition by queued.max.messages.kbytes),
        # not in the engine's memory.
        assert metrics(port)["forewarn_events_total"] == during["forewarn_events_total"]
        first = metrics(port)["forewarn_watermark_lag_seconds"]
        time.sleep(2)  # away a little longer
        assert metrics(port)["forewarn_watermark_lag_seconds"] >= first + 1.5
        assert engine.alive(), engine.output()
        assert "redis_queue unavailable" in engine.output() and "nothing dropped" in engine.output()

        redis_server.start()
        wait_for(lambda: len(late_parcels(client, f"{namespace}:")) >= 2, 60,
                 what=f"c2's trigger after Redis came back\n{engine.output()}")
        total = len(BEFORE) + len(DURING) + len(held)
        events = lambda: metrics(port).get("forewarn_events_total", 0)  # noqa: E731
        wait_progress(lambda: events() >= total, events, what=f"the {total} events read\n{engine.output()[-3000:]}")
        after = metrics(port)
        engine.stop()
        assert _summary(late_parcels(client, f"{namespace}:")) == EXPECTED
        assert after['forewarn_sink_up{sink="redis_queue"}'] == 1
        assert "redis_queue back after" in engine.output()
        # Held, not dropped: every event read was counted once, none skipped.
        assert after["forewarn_events_total"] == total


def test_kafka_broker_restarted_mid_run_the_engine_resumes(namespace, start_engine, tmp_path):
    with private_stack(tmp_path / "stack") as stack:
        import redis

        client = redis.Redis.from_url(stack.redis)
        private = {"kafka": stack.kafka, "redis": stack.redis}
        port = free_port()
        topics = f"{namespace}-"
        produce(lines(BEFORE), stack.kafka, topic_prefix=topics)
        engine = start_engine(live_config(namespace, private, metrics={"port": port}))
        wait_for(lambda: late_parcels(client, f"{namespace}:"), 60, what=f"c1's trigger\n{engine.output()}")

        stack.run("restart-kafka")  # stop (the engine loses its broker), then start on the same data
        assert engine.alive(), engine.output()
        produce(lines(DURING), stack.kafka, topic_prefix=topics)
        wait_for(lambda: len(late_parcels(client, f"{namespace}:")) >= 2, 90,
                 what=lambda: f"c2's trigger after the broker came back; {_reading(port)}\n{engine.output()[-4000:]}")
        events = lambda: metrics(port).get("forewarn_events_total", 0)  # noqa: E731
        wait_progress(lambda: events() >= len(BEFORE) + len(DURING), events,
                      what=f"every event read\n{engine.output()[-3000:]}")
        read = events()
        engine.stop()
        assert _summary(late_parcels(client, f"{namespace}:")) == EXPECTED
        assert read == len(BEFORE) + len(DURING)  # nothing read twice, nothing skipped
