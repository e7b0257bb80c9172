"""The dead-letter stream is bounded: entries, age, and the bytes each keeps of an event.

Before, every invalid event was kept whole and forever: 100 invalid 250 KB events took 26 MB
of Redis, with the names and e-mails they carried.
"""

import json

import pytest

from forewarn.apps.producer import produce
from sinks.deadletter import DeadLetterWriter, deadletter_key
from tests.conftest import live_config, wait_for

pytestmark = pytest.mark.services


def _invalid(n: int) -> bytes:
    """An order with a negative total (bad_value) and 240 KB of personal data in it."""
    return json.dumps({"type": "order.placed", "event_id": f"bad{n}", "ts": "2026-11-03T10:00:00Z",
                       "customer_id": f"c{n}", "order_id": f"o{n}", "total": -1.0, "currency": "EUR",
                       "items": [], "shipping_address": {"country": "DE", "line1": "Hauptstraße 1"},
                       "email": f"person{n}@example.com", "note": "x" * 240_000}).encode()


def test_a_flood_of_large_invalid_events_keeps_the_newest_heads_only(services, namespace, start_engine,
                                                                    redis_client):
    sent = [_invalid(n) for n in range(40)]
    produce(sent, services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(live_config(namespace, services, redis={
        "deadletter_max_entries": 10, "deadletter_raw_max_bytes": 512}))
    key = deadletter_key(f"{namespace}:")
    seen = f"{namespace}:forewarn:deadletter:seen:*"
    wait_for(lambda: len(list(redis_client.scan_iter(seen))) >= 40, 90,
             what=f"40 dead letters written\n{engine.output()}")
    assert engine.stop() in (0, 130), engine.output()
    entries = redis_client.xrange(key)
    assert len(entries) == 10
    for _id, fields in entries:
        assert len(fields[b"raw"]) == 512 and fields[b"reason"] == b"bad_value"
        [whole] = [raw for raw in sent if raw[:512] == fields[b"raw"]]
        assert int(fields[b"raw_bytes"]) == len(whole) > 240_000
    raws = {fields[b"raw"][:60] for _id, fields in entries}
    assert len(raws) == 10  # ten different events, the last ten read
    assert redis_client.memory_usage(key) < 64 * 1024


def test_entries_older_than_the_retention_are_trimmed_as_new_ones_come(services, prefix, redis_client):
    key = deadletter_key(prefix)
    redis_client.xadd(key, {"raw": "old", "error": "e", "source": "s", "reason": "bad_json"}, id="1000-0")  # 1970
    writer = DeadLetterWriter(services["redis"], prefix, retain_days=7.0)
    writer.write([(b"{", "unexpected end", "orders/0/5", "bad_json")])
    [(_id, fields)] = redis_client.xrange(key)
    assert fields[b"raw"] == b"{" and fields[b"raw_bytes"] == b"1" and fields[b"source"] == b"orders/0/5"
    writer.write([(b"{", "unexpected end", "orders/0/5", "bad_json")])  # the same position again: once
    assert redis_client.xlen(key) == 1
