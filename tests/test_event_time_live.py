"""On the real broker: an event stamped 2099 fires no armed deadline and holds no watermark.

Five parcels are on their way (due 2026-11-10); someone sends one ``customer.activity`` from
2099 on the customers topic, the other partitions go quiet. It used to drag the watermark to
2099 within seconds and fire all five ``delivery_late`` (and their ``shipment_stalled``), and
every parcel produced later fired at once.
"""

import json

import pytest

from forewarn.apps.producer import produce
from tests.conftest import live_config, queued_triggers, wait_for
from tests.factory import event, lines, order, shipped, tick
from tests.faults import free_port, metrics

pytestmark = pytest.mark.services

PARCELS = [e for n in range(1, 6) for e in (
    order("2026-11-01T10:00:00Z", order_id=f"o{n}", customer_id=f"c{n}"),
    shipped("2026-11-02T10:00:00Z", eta="2026-11-10T10:00:00Z", shipment_id=f"s{n}", order_id=f"o{n}",
            customer_id=f"c{n}"))]
FROM_2099 = event("customer.activity", "2099-01-01T00:00:00Z", "prankster", kind="session", event_id="from-2099")
# Fires at once when applied: proof that the engine has read past the 2099 event.
DISPUTE = event("payment.disputed", "2026-11-03T01:00:00Z", "c1", order_id="o1", amount=80.0, currency="EUR",
                reason="fraudulent")


def test_an_event_from_2099_is_dead_lettered_and_fires_nothing(services, namespace, start_engine, redis_client):
    port = free_port()
    produce(lines([*PARCELS, tick("2026-11-03T00:00:00Z"), FROM_2099]), services["kafka"], topic_prefix=f"{namespace}-")
    produce(lines([DISPUTE]), services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(live_config(namespace, services, metrics={"port": port}))
    dl_key = f"{namespace}:forewarn:deadletter"
    wait_for(lambda: redis_client.xlen(dl_key) >= 1, 60, what=f"the 2099 event's dead letter\n{engine.output()}")
    wait_for(lambda: [t for t in queued_triggers(redis_client, f"{namespace}:") if t["kind"] == "payment_disputed"],
             60, what=f"the dispute's trigger\n{engine.output()}")
    seen = metrics(port)
    assert seen['forewarn_invalid_events_total{reason="future_timestamp"}'] == 1
    assert seen["forewarn_watermark_timestamp_seconds"] < 1_800_000_000  # 2027-01-15: not 2099
    assert [t["kind"] for t in queued_triggers(redis_client, f"{namespace}:")] == ["payment_disputed"]
    [(_id, fields)] = redis_client.xrange(dl_key)
    letter = {k.decode(): v.decode() for k, v in fields.items()}
    assert letter["reason"] == "future_timestamp" and json.loads(letter["raw"])["event_id"] == "from-2099"
    assert letter["source"].startswith(f"{namespace}-customers/")
    assert engine.stop() in (0, 130), engine.output()
