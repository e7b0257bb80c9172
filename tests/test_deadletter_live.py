"""Malformed and hostile events on the real broker end in the dead-letter stream with a reason;
the engine neither crashes nor stalls, and good events still work."""

import json

import pytest

from forewarn.apps.producer import produce
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


def _hostile(event_id: str, **fields) -> bytes:
    base = {"type": "order.placed", "event_id": event_id, "ts": "2026-11-03T10:00:00Z", "customer_id": "c9",
            "order_id": "o9", "total": 10.0, "currency": "EUR", "items": [{"sku": "a", "qty": 1, "unit_price": 10.0}],
            "shipping_address": {"country": "DE"}}
    return json.dumps({**base, **fields}).encode()


# What a broken or hostile producer can send: each must be refused with its reason.
HOSTILE = {
    _hostile("h1", channel="x" * 900_000): "too_large",  # near Kafka's 1 MB message limit
    _hostile("h2")[:-1] + b', "extra": ' + b"[" * 50_000 + b"]" * 50_000 + b"}": "bad_json",  # deep nesting
    _hostile("h3")[:-1] + b', "note": "caf\xe9 \xff\xfe"}': "bad_encoding",  # invalid UTF-8
    _hostile("h4").replace(b'"total": 10.0', b'"total": NaN'): "bad_json",
    _hostile("h5").replace(b'"total": 10.0', b'"total": Infinity'): "bad_json",
    _hostile("h6").replace(b'"total": 10.0', b'"total": 1e999'): "bad_value",  # overflows to inf
    _hostile("h7", ts="9999-12-31T23:59:59Z"): "bad_timestamp",
    _hostile("h8", ts="1970-01-01T00:00:00Z"): "bad_timestamp",
    _hostile("h9", items=[{"sku": "a", "qty": -3, "unit_price": 10.0}]): "bad_value",
    _hostile("h10", total=-5.0): "bad_value",
    _hostile("h11", items=[{"sku": "a", "qty": 10**30, "unit_price": 10.0}]): "bad_value",
    b"[]": "bad_value",
    b"": "bad_json",
}
BAD.update(HOSTILE)


def _as_stored(raw: bytes) -> tuple[str, str]:
    """The ``raw`` field as the stream may keep it: whole, or only its head for an oversized or
    too deeply nested event (read as UTF-8 text, as a helpdesk tool would)."""
    return raw.decode("utf-8", "replace"), raw[:1024].decode("utf-8", "replace")


def test_each_malformed_event_lands_in_the_deadletter_stream_with_its_reason(services, namespace, start_engine, redis_client):
    good = lines(GOOD)
    produce(good[:2] + list(BAD) + good[2:], services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(live_config(namespace, services))
    dl_key = f"{namespace}:forewarn:deadletter"
    wait_for(lambda: redis_client.xlen(dl_key) >= len(BAD), 60, what=f"{len(BAD)} dead letters\n{engine.output()}")
    def late_parcels():  # the parcel also stalls; this test is about the late one
        return [t for t in queued_triggers(redis_client, f"{namespace}:") if t["kind"] == "delivery_late"]

    wait_for(late_parcels, 30, what="the good events' trigger")
    assert engine.alive(), engine.output()
    assert engine.stop() in (0, 130), engine.output()  # a clean stop: nothing crashed on the way

    letters = [{k.decode(): v.decode("utf-8", "replace") for k, v in fields.items()}
               for _id, fields in redis_client.xrange(dl_key)]
    assert len(letters) == len(BAD)
    by_raw = {letter["raw"]: letter for letter in letters}
    for raw, reason in BAD.items():
        whole, head = _as_stored(raw)
        letter = by_raw.get(whole) or by_raw.get(head)
        assert letter is not None, f"no dead letter for {head[:120]!r}"
        assert letter["reason"] == reason, letter
        assert letter["error"], letter
        topic, partition, offset = letter["source"].rsplit("/", 2)
        assert topic.startswith(namespace) and partition.isdigit() and offset.isdigit()
    [trig] = late_parcels()
    assert (trig["kind"], trig["fired_at"]) == ("delivery_late", "2026-11-04T22:00:00Z")
