"""Two shops merged into one Kafka stream, on the real services: two customers under one
``order_id`` and one ``shipment_id`` each get their triggers queued in Redis (the queue dedupes
on ``trigger_id`` and took the second customer's for a replay of the first's), and a restart
that re-emits them all still queues nothing twice (issue 15)."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from forewarn.apps.producer import produce
from tests.conftest import live_config, queued_triggers, wait_for
from tests.factory import failed, lines, order, scan, shipped, tick
from tests.faults import free_port
from tests.queue_helpers import delete_prefix

pytestmark = [pytest.mark.services, pytest.mark.slow]

# Each shop's customer: order o1, its card declined as fraud (payment_failed at once), parcel s1
# scanned within every 48 h but late (delivery_late once the stream passes its ETA + grace).
EVENTS = sorted([e for cid in ("c1", "c2") for e in (
    order("2026-11-01T10:00:00Z", customer_id=cid),
    failed("2026-11-01T10:01:00Z", "fraud_suspected", customer_id=cid),
    shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z", customer_id=cid),
    scan("2026-11-03T10:00:00Z", customer_id=cid),
    scan("2026-11-05T00:00:00Z", customer_id=cid),
)], key=lambda e: e["ts"]) + [tick("2026-11-06T00:00:00Z")]
TRIGGERS = 4  # payment_failed and delivery_late, for each customer


def _counter(port: int, name: str) -> float | None:
    """The sum of a counter's samples over all its labels; None while not serving."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == name)


def test_two_customers_under_one_order_id_both_get_their_triggers_queued_and_a_restart_adds_none(
        services, namespace, start_engine, redis_client):
    prefix = f"{namespace}:"
    produce(lines(EVENTS), services["kafka"], topic_prefix=f"{namespace}-")
    try:
        port = free_port()
        config = live_config(namespace, services, metrics={"port": port})

        def handled() -> float:  # queued, or refused by the dedupe as already queued
            return (_counter(port, "forewarn_triggers_total") or 0) + (
                _counter(port, "forewarn_triggers_deduplicated_total") or 0)

        first = start_engine(config, name="first")
        wait_for(lambda: handled() >= TRIGGERS, 180, what=lambda: f"{TRIGGERS} triggers\n{first.output()}")
        queued = queued_triggers(redis_client, prefix)
        assert _counter(port, "forewarn_triggers_deduplicated_total") == 0
        assert sorted((t["customer_id"], t["kind"], t["order_id"]) for t in queued) == [
            ("c1", "delivery_late", "o1"), ("c1", "payment_failed", "o1"),
            ("c2", "delivery_late", "o1"), ("c2", "payment_failed", "o1")]
        assert {t["evidence"]["shipment_id"] for t in queued if t["kind"] == "delivery_late"} == {"s1"}
        assert len({t["trigger_id"] for t in queued}) == TRIGGERS
        assert first.stop() == 0

        # No recovery configured: the second run reads the topics from the start, re-emits the
        # same four with the same ids, and the queue keeps them once.
        second = start_engine(config, name="second")
        wait_for(lambda: _counter(port, "forewarn_triggers_deduplicated_total") == TRIGGERS, 180,
                 what=lambda: f"the second run to re-emit all {TRIGGERS}\n{second.output()}")
        assert sorted(t["trigger_id"] for t in queued_triggers(redis_client, prefix)) == sorted(
            t["trigger_id"] for t in queued)
        assert second.stop() == 0
    finally:
        delete_prefix(redis_client, prefix)
