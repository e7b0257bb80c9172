"""Malformed events on the real broker end in the dead-letter stream with a reason; good ones still work."""

import json

import pytest

from forewarn.producer import produce
from tests.conftest import live_config, queued_triggers, wait_for
from tests.factory import lines, order, shipped, tick

pytestmark = pytest.mark.services

GOOD = [
    order("2026-11-01T10:00:00Z"),
    shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
    tick("2026-11-06T00:00:00Z"),
]
BAD = {
    b'{"type": "order.placed", "event_id": "x1", ': "bad_json",
    json.dumps({"type": "order.cancelled", "event_id": 12, "ts": "2026-11-03T10:00:00Z",
                "customer_id": "c9", "order_id": "o9"}).encode(): "bad_value",
    json.dumps({"type": "order.cancelled", "ts": "2026-11-03T10:00:00Z", "customer_id": "c9",
                "order_id": "o9"}).encode(): "missing_field",
    json.dumps({"type": "order.teleported", "event_id": "x4", "ts": "2026-11-03T10:00:00Z",
                "customer_id": "c9"}).encode(): "unknown_type",
    json.dumps({"type": "order.cancelled", "event_id": "x5", "ts": "3rd of November",
                "customer_id": "c9", "order_id": "o9"}).encode(): "bad_timestamp",
    json.dumps({"type": "order.cancelled", "event_id": "x6", "ts": "2026-11-03T10:00:00",
                "customer_id": "c9", "order_id": "o9"}).encode(): "bad_timestamp",
}


def test_each_malformed_event_lands_in_the_deadletter_stream_with_its_reason(services, namespace, start_engine, redis_client):
    good = lines(GOOD)
    produce(good[:2] + list(BAD) + good[2:], services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(live_config(namespace, services))
    dl_key = f"{namespace}:forewarn:deadletter"
    wait_for(lambda: redis_client.xlen(dl_key) >= len(BAD), 60, what=f"{len(BAD)} dead letters\n{engine.output()}")
    def late_parcels():  # the parcel also stalls; this test is about the late one
        return [t for t in queued_triggers(redis_client, f"{namespace}:") if t["kind"] == "delivery_late"]

    wait_for(late_parcels, 30, what="the good events' trigger")
    engine.stop()

    letters = [{k.decode(): v.decode("utf-8", "replace") for k, v in fields.items()}
               for _id, fields in redis_client.xrange(dl_key)]
    assert len(letters) == len(BAD)
    by_raw = {letter["raw"].encode(): letter for letter in letters}
    for raw, reason in BAD.items():
        letter = by_raw[raw]
        assert letter["reason"] == reason, letter
        assert letter["error"], letter
        topic, partition, offset = letter["source"].rsplit("/", 2)
        assert topic.startswith(namespace) and partition.isdigit() and offset.isdigit()
    [trig] = late_parcels()
    assert (trig["kind"], trig["fired_at"]) == ("delivery_late", "2026-11-04T22:00:00Z")
