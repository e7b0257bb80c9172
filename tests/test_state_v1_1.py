"""A customer's v1.1 profile: phone, language, time zone, marketing consent and country, kept per customer."""

import json
from datetime import datetime, timezone

from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from tests.factory import event, order


def _apply(cust, raw_event):
    e = ev.decode(json.dumps(raw_event).encode())
    cust.apply(e, e.ts_us)


def test_the_profile_keeps_phone_language_zone_and_the_latest_marketing_consent():
    cust = CustomerState("c1")
    _apply(cust, event("customer.updated", "2026-11-01T10:00:00Z", phone="+4915112345678", language="de_AT",
                       timezone="Europe/Vienna", consent={"marketing": True, "email": True}))
    _apply(cust, event("customer.updated", "2026-11-01T09:00:00Z", consent={"marketing": False}))  # older: loses
    assert cust.phone == "+4915112345678"
    assert cust.language == "de-AT"
    assert cust.timezone == "Europe/Vienna"
    assert cust.consent["marketing"] == (True, ev.to_us(datetime(2026, 11, 1, 10, tzinfo=timezone.utc)))
    assert cust.consent["email"][0] is True


def test_the_country_is_the_latest_orders_shipping_country():
    cust = CustomerState("c1")
    _apply(cust, order("2026-11-02T10:00:00Z", order_id="o2", shipping_address={"country": "FR"}))
    _apply(cust, order("2026-11-01T10:00:00Z", order_id="o1", shipping_address={"country": "DE"}))  # read late
    assert cust.country == "FR"


def test_an_update_without_the_new_fields_leaves_them_as_they_were():
    cust = CustomerState("c1")
    _apply(cust, event("customer.updated", "2026-11-01T10:00:00Z", language="fr", timezone="Europe/Paris"))
    _apply(cust, event("customer.updated", "2026-11-02T10:00:00Z", tier="vip"))
    assert (cust.language, cust.timezone, cust.phone, cust.tier) == ("fr", "Europe/Paris", None, "vip")
