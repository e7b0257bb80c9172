"""data_quality: an order whose contact or address would make support fail is caught at the
order, before it ships."""

from tests import factory
from tests.factory import consent, order, profile

ADDRESS = {"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}


def checks(events, **kw):
    return [t for t in factory.replay(events, **kw) if t.kind == "data_quality"]


def test_an_order_with_an_unverified_email_fires_at_the_order_and_goes_to_a_person():
    [t] = checks([
        consent("2026-11-01T09:00:00Z", email=True),
        order("2026-11-01T10:00:00Z", total=80.0, email="anna@example.eu", email_verified=False,
              shipping_address=ADDRESS, channel="web"),
    ])
    assert (t.kind, t.customer_id, t.order_id, t.fired_at) == ("data_quality", "c1", "o1", "2026-11-01T10:00:00Z")
    assert [r["code"] for r in t.reasons] == ["email_unverified"]
    assert "the e-mail address \"anna@example.eu\" was never verified" in t.reasons[0]["detail"]
    assert t.evidence["problems"] == ["email_unverified"]
    assert t.evidence["email_verified_from"] == "order"
    assert t.evidence["channel"] == "web"
    # Order details must not go to an address nobody confirmed: a person checks first.
    assert (t.priority, t.route) == ("p4", "human")
    assert any("compliance" in step for step in t.evidence["routing"])


def test_an_address_without_postal_code_or_city_must_be_fixed_before_it_ships():
    [t] = checks([consent("2026-11-01T09:00:00Z", email=True),
                  order("2026-11-01T10:00:00Z", email_verified=True,
                        shipping_address={"country": "DE", "city": "  ", "line1": "Hauptstraße 1"})])
    assert [r["code"] for r in t.reasons] == ["no_postal_code", "no_city"]
    assert "before the order ships" in t.reasons[0]["detail"]
    assert t.evidence["shipping_address"] == {"line1": "Hauptstraße 1", "city": None, "postal_code": None, "country": "DE"}
    assert (t.priority, t.route) == ("p2", "ai")  # urgent, but a simple request to the customer


def test_when_the_order_does_not_say_the_latest_profile_value_decides():
    events = [
        profile("2026-11-01T08:00:00Z", email="anna@example.eu", email_verified=False),
        order("2026-11-01T10:00:00Z", order_id="o1", shipping_address=ADDRESS),  # profile: unverified
        profile("2026-11-02T08:00:00Z", email_verified=True),
        order("2026-11-02T10:00:00Z", order_id="o2", shipping_address=ADDRESS),  # now verified
        order("2026-11-03T10:00:00Z", order_id="o3", shipping_address=ADDRESS, email_verified=False),
        order("2026-11-04T10:00:00Z", order_id="o4", shipping_address=ADDRESS),  # the last order said no
    ]
    triggers = checks(events)
    assert [(t.order_id, t.evidence["email_verified_from"]) for t in triggers] == [
        ("o1", "profile"), ("o3", "order"), ("o4", "profile")]
    assert "anna@example.eu" in triggers[0].reasons[0]["detail"]


def test_a_clean_order_or_one_without_any_email_does_not_fire():
    assert checks([order("2026-11-01T10:00:00Z", email="a@b.eu", email_verified=True, shipping_address=ADDRESS),
                   order("2026-11-01T12:00:00Z", order_id="o2", shipping_address=ADDRESS)]) == []


def test_out_of_order_the_profile_update_that_happened_first_still_counts():
    events = [profile("2026-11-01T08:00:00Z", email_verified=False),
              order("2026-11-01T08:01:00Z", shipping_address=ADDRESS)]
    assert [t.order_id for t in checks([events[1], events[0]], lateness_s=300)] == ["o1"]
    assert [t.order_id for t in checks(events, lateness_s=300)] == ["o1"]


def test_one_check_per_order_whatever_the_redeliveries():
    o = order("2026-11-01T10:00:00Z", email_verified=False, shipping_address=ADDRESS)
    assert len(checks([o, o, o])) == 1
