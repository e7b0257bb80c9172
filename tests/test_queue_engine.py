"""The engine's side of the queues: a restart that re-emits every trigger adds nothing, and
`forewarn run` exports the queues' depth and oldest pending age."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from forewarn.apps.producer import produce
from sinks.redis_queue import all_queue_keys
from tests.conftest import live_config, queued_triggers, wait_for
from tests.factory import event, lines, order, scan, shipped, tick
from tests.faults import free_port
from tests.queue_helpers import delete_prefix

pytestmark = [pytest.mark.services, pytest.mark.slow]

CUSTOMERS = 5
EVENTS = sorted([e for i in range(CUSTOMERS) for e in (
    order("2026-11-01T10:00:00Z", order_id=f"o{i}", customer_id=f"c{i}"),
    event("payment.succeeded", "2026-11-01T10:01:00Z", f"c{i}", order_id=f"o{i}", amount=80.0, currency="EUR"),
    shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z", shipment_id=f"s{i}", order_id=f"o{i}", customer_id=f"c{i}"),
    # scanned within every 48 h, so the parcel is late but never stalled
    *(scan(ts, shipment_id=f"s{i}", order_id=f"o{i}", customer_id=f"c{i}")
      for ts in ("2026-11-03T10:00:00Z", "2026-11-05T00:00:00Z")),
)], key=lambda e: e["ts"]) + [tick("2026-11-06T00:00:00Z")]  # past every ETA + grace: one delivery_late each


def _one_partition_topics(bootstrap: str, namespace: str) -> None:
    """Each input topic with one partition, every one of which gets events: the run's watermark
    then depends on this data only, not on how the broker spreads keys over partitions."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [f"{namespace}-{t}" for t in ("orders", "payments", "shipments", "customers")]
    for fut in admin.create_topics([NewTopic(t, num_partitions=1) for t in topics]).values():
        fut.result(timeout=30)


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(port: int, name: str, **labels: str) -> float | None:
    try:
        return _scrape(port).get((name, tuple(sorted(labels.items()))))
    except OSError:  # not serving yet
        return None


def _entries(client, prefix: str) -> dict[str, list]:
    return {key: client.xrange(key) for key in all_queue_keys(prefix)}


def test_a_restarted_engine_re_emitting_every_trigger_adds_nothing_and_exports_queue_depth(
        services, namespace, start_engine, redis_client):
    prefix = f"{namespace}:"
    _one_partition_topics(services["kafka"], namespace)
    produce(lines(EVENTS), services["kafka"], topic_prefix=f"{namespace}-")
    try:
        port = free_port()
        config = live_config(namespace, services, metrics={"port": port}, queue={"upkeep_interval_seconds": 0.5})
        first = start_engine(config, name="first")
        queued = wait_for(lambda: (lambda q: q if len(q) == CUSTOMERS else None)(queued_triggers(redis_client, prefix)),
                          120, what=f"{CUSTOMERS} triggers from the first run")
        [route_priority] = {(t["route"], t["priority"]) for t in queued}
        lane = {"queue": ":".join(route_priority), "group": ""}  # no helpdesk reads it yet
        wait_for(lambda: _value(port, "forewarn_queue_depth_entries", **lane) == CUSTOMERS, 30,
                 what="the queue depth gauge")
        assert _value(port, "forewarn_queue_oldest_pending_age_seconds", **lane) > 0
        before = _entries(redis_client, prefix)
        assert first.stop() == 0

        # No recovery configured: the second run reads the topics from the start and re-emits all.
        second = start_engine(config, name="second")
        wait_for(lambda: _value(port, "forewarn_triggers_deduplicated_total") == CUSTOMERS, 120,
                 what=f"the second run to re-emit all {CUSTOMERS} triggers\n{second.output()}")
        # Re-emitted duplicates are not counted as triggers again.
        assert not _value(port, "forewarn_triggers_total", kind="delivery_late", route=route_priority[0],
                          priority=route_priority[1])
        assert _entries(redis_client, prefix) == before, "the restart changed the queues"
        assert second.stop() == 0
    finally:
        delete_prefix(redis_client, prefix)
