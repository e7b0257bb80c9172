"""The decoder: one typed pass; every kind of bad input becomes an Invalid with a reason, never an exception."""

import json

import pytest

from forewarn.core import events as ev
from tests.factory import event, order, shipped


def _raw(obj) -> bytes:
    return json.dumps(obj).encode()


def test_valid_events_of_every_type_decode_to_their_struct():
    samples = [
        order("2026-11-01T10:00:00+01:00", promised_delivery_at="2026-11-05T00:00:00Z", channel="web",
              email="a@b.c", email_verified=True, unknown_extra={"kept": "ignored"}),
        event("order.cancelled", "2026-11-01T10:00:00Z", order_id="o1", reason="changed mind"),
        event("order.returned", "2026-11-01T10:00:00Z", order_id="o1"),
        event("payment.succeeded", "2026-11-01T10:00:00Z", order_id="o1", amount=10, currency="EUR"),
        event("payment.failed", "2026-11-01T10:00:00Z", order_id="o1", amount=10, currency="EUR",
              failure_code="card_declined", attempt=2),
        event("payment.refunded", "2026-11-01T10:00:00Z", order_id="o1", amount=10, currency="EUR"),
        event("payment.disputed", "2026-11-01T10:00:00Z", order_id="o1", amount=10, currency="EUR"),
        shipped("2026-11-01T10:00:00Z", eta="2026-11-03T10:00:00Z"),
        event("shipment.updated", "2026-11-01T10:00:00Z", order_id="o1", shipment_id="s1", status="in_transit"),
        event("shipment.exception", "2026-11-01T10:00:00Z", order_id="o1", shipment_id="s1", code="lost"),
        event("shipment.delivered", "2026-11-01T10:00:00Z", order_id="o1", shipment_id="s1"),
        event("customer.updated", "2026-11-01T10:00:00Z", consent={"email": True, "sms": False}, tier="vip"),
        event("customer.activity", "2026-11-01T10:00:00Z", kind="email_open"),
        event("support.message", "2026-11-01T10:00:00Z", message_id="m1", channel="email",
              body="Where is my parcel?", subject="Order 1001", order_id="o1", language="en"),
        event("support.labelled", "2026-11-01T14:00:00Z", message_id="m1", intent="where_is_my_order", by="agent"),
    ]
    decoded = [ev.decode(_raw(s)) for s in samples]
    assert [type(d).__struct_config__.tag for d in decoded] == list(ev.EVENT_TYPES)
    assert decoded[0].ts_us == ev.to_us(decoded[0].ts)
    assert decoded[0].total == 80.0 and decoded[0].items[0].qty == 1


@pytest.mark.parametrize("raw, reason, where", [
    (b"{not json", "bad_json", "malformed"),
    (b"\xff\xfe{}", "bad_encoding", "UTF-8"),
    (_raw({"type": "order.placed"}), "missing_field", "event_id"),
    (_raw(event("order.cancelled", "2026-11-01T10:00:00Z")), "missing_field", "order_id"),
    (_raw(event("order.exploded", "2026-11-01T10:00:00Z")), "unknown_type", "$.type"),
    (_raw(event("order.cancelled", "yesterday", order_id="o1")), "bad_timestamp", "$.ts"),
    (_raw(event("order.cancelled", "2026-11-01T10:00:00", order_id="o1")), "bad_timestamp", "timezone"),
    (_raw(event("order.cancelled", "9999-12-31T00:00:00Z", order_id="o1")), "bad_timestamp", "outside"),
    (_raw(event("order.cancelled", "1970-01-01T00:00:00Z", order_id="o1")), "bad_timestamp", "outside"),
    (_raw(order("2026-11-01T10:00:00Z", total=-5)), "bad_value", "$.total"),
    (_raw(order("2026-11-01T10:00:00Z", items=[{"sku": "a", "qty": -1, "unit_price": 1}])), "bad_value", "qty"),
    (_raw(order("2026-11-01T10:00:00Z", currency="euro")), "bad_value", "currency"),
    (_raw(event("payment.failed", "2026-11-01T10:00:00Z", order_id="o1", amount=1, currency="EUR",
                failure_code="cosmic_rays")), "bad_value", "failure_code"),
    (b'{"type": "order.placed", "total": NaN}', "bad_json", "malformed"),
    (_raw(event("order.cancelled", "2026-11-01T10:00:00Z", order_id="o1"))[:-1] + b', "deep": '
     + b"[" * 100_000 + b"]" * 100_000 + b"}", "bad_json", "nested too deeply"),
    (b'{"pad": "' + b"x" * (ev.MAX_EVENT_BYTES + 1) + b'"}', "too_large", "limit"),
    # v1.1: support messages and the customer's new fields
    (_raw(event("support.message", "2026-11-01T10:00:00Z", message_id="m1", channel="email", body="")),
     "bad_value", "$.body"),
    (_raw(event("support.message", "2026-11-01T10:00:00Z", message_id="m1", channel="email", body=" \n\t ")),
     "bad_value", "white space"),
    (_raw(event("support.message", "2026-11-01T10:00:00Z", message_id="m1", channel="fax", body="hello")),
     "bad_value", "$.channel"),
    (_raw(event("support.message", "2026-11-01T10:00:00Z", message_id="m1", channel="chat",
                body="x" * (1 << 20))), "too_large", "limit"),
    (_raw(event("support.message", "2026-11-01T10:00:00Z", channel="chat", body="hi")), "missing_field", "message_id"),
    (_raw(event("support.labelled", "2026-11-01T10:00:00Z", message_id="m1", intent="")), "bad_value", "$.intent"),
    (_raw(event("customer.updated", "2026-11-01T10:00:00Z", timezone="Mars/Olympus_Mons")), "bad_value", "IANA"),
    (_raw(event("customer.updated", "2026-11-01T10:00:00Z", timezone="../../etc/passwd")), "bad_value", "IANA"),
    (_raw(event("customer.updated", "2026-11-01T10:00:00Z", language="English please")), "bad_value", "$.language"),
])
def test_bad_input_is_invalid_with_a_reason(raw, reason, where):
    result = ev.decode(raw)
    assert isinstance(result, ev.Invalid)
    assert result.reason == reason
    assert where in result.error


def test_a_customer_update_v1_1_decodes_language_zone_phone_and_marketing_consent():
    got = ev.decode(_raw(event("customer.updated", "2026-11-01T10:00:00Z", phone="+33 6 12 34 56 78",
                               language="pt_BR", timezone="America/Sao_Paulo",
                               consent={"email": True, "marketing": False})))
    assert got.phone == "+33 6 12 34 56 78"
    assert got.language == "pt_BR"
    assert got.timezone == "America/Sao_Paulo"
    assert got.consent.marketing is False
    assert got.consent.email is True


def test_support_events_live_on_the_support_topic():
    assert ev.TOPIC_OF_TYPE["support.message"] == "support"
    assert ev.TOPIC_OF_TYPE["support.labelled"] == "support"
