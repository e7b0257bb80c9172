"""delivery_late as a support lead would describe it: events in, triggers out, field by field."""

from tests import factory
from tests.factory import consent, delivered, event, order, shipped, tick


def replay(events, **kw):
    """The engine's triggers of this kind only (the same parcels also stall, for one)."""
    return [t for t in factory.replay(events, **kw) if t.kind == "delivery_late"]


def test_parcel_not_delivered_by_eta_plus_grace_fires_at_the_deadline():
    triggers = replay([
        consent("2026-11-01T09:00:00Z", email=True),
        order("2026-11-01T10:00:00Z", total=80.0),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        tick("2026-11-05T00:00:00Z"),  # someone else's event moves event time past the deadline
    ])
    assert len(triggers) == 1
    t = triggers[0]
    assert t.schema == "forewarn.trigger/v1"
    assert t.kind == "delivery_late"
    assert (t.customer_id, t.order_id) == ("c1", "o1")
    assert t.fired_at == "2026-11-04T22:00:00Z"  # ETA + 12 h grace, not the time of the tick
    assert (t.priority, t.route) == ("p3", "ai")
    assert t.reasons[0]["code"] == "past_delivery_estimate"
    assert "s1" in t.reasons[0]["detail"] and "DHL" in t.reasons[0]["detail"]
    assert t.customer == {"ltv": 80.0, "orders": 1, "tier": "standard", "segment": "new", "name": None, "email": None,
                          "phone": None, "language": None, "timezone": None, "country": "DE"}
    assert t.outreach["allowed"] is True and t.outreach["channels"] == ["email"]
    assert t.evidence["grace_hours"] == 12.0 and t.evidence["deadline"] == "2026-11-04T22:00:00Z"


def test_delivery_before_the_deadline_disarms_it():
    assert replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        delivered("2026-11-04T21:59:00Z"),
        tick("2026-11-10T00:00:00Z"),
    ]) == []


def test_delivery_exactly_at_the_deadline_is_on_time():
    assert replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        delivered("2026-11-04T22:00:00Z"),
        tick("2026-11-10T00:00:00Z"),
    ]) == []


def test_delivery_one_minute_late_still_counts_even_with_no_other_traffic():
    triggers = replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        delivered("2026-11-04T22:01:00Z"),
    ])
    assert [t.fired_at for t in triggers] == ["2026-11-04T22:00:00Z"]


def test_cancellation_disarms():
    assert replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        event("order.cancelled", "2026-11-03T10:00:00Z", order_id="o1"),
        tick("2026-11-10T00:00:00Z"),
    ]) == []


def test_new_eta_rearms_the_deadline():
    triggers = replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        event("shipment.updated", "2026-11-03T10:00:00Z", order_id="o1", shipment_id="s1",
              status="in_transit", estimated_delivery_at="2026-11-06T10:00:00Z"),
        tick("2026-11-05T00:00:00Z"),  # past the old deadline: nothing
        tick("2026-11-07T00:00:00Z"),
    ])
    assert [t.fired_at for t in triggers] == ["2026-11-06T22:00:00Z"]
    assert triggers[0].evidence["estimated_delivery_at"] == "2026-11-06T10:00:00Z"


def test_deadline_after_the_end_of_input_does_not_fire():
    assert replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        tick("2026-11-04T21:59:59Z"),
    ]) == []


def test_deadline_exactly_at_the_end_of_input_fires():
    triggers = replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        tick("2026-11-04T22:00:00Z"),
    ])
    assert [t.fired_at for t in triggers] == ["2026-11-04T22:00:00Z"]


def test_duplicate_delivery_of_events_changes_nothing():
    events = [
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        tick("2026-11-05T00:00:00Z"),
    ]
    once = replay(events)
    twice = replay([events[0], events[1], events[1], events[0], events[2]])
    assert [t.trigger_id for t in once] == [t.trigger_id for t in twice]
    assert twice[0].customer["ltv"] == 80.0  # the repeated order was not counted twice


def test_late_delivery_event_within_allowed_lateness_still_disarms():
    # The delivery (before the deadline) arrives after a later event from someone else.
    events = [
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        tick("2026-11-04T22:02:00Z"),
        delivered("2026-11-04T21:58:00Z"),
        tick("2026-11-06T00:00:00Z"),
    ]
    assert replay(events, lateness_s=300) == []
    # With no allowed lateness the watermark had already passed the deadline.
    assert len(replay(events, lateness_s=0)) == 1


def test_trigger_id_is_stable_across_replays_and_distinct_per_episode():
    events = [
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        shipped("2026-11-02T11:00:00Z", eta="2026-11-04T10:00:00Z", shipment_id="s2"),
        tick("2026-11-05T00:00:00Z"),
    ]
    a, b = replay(events), replay(events)
    assert [t.trigger_id for t in a] == [t.trigger_id for t in b]
    assert len({t.trigger_id for t in a}) == 2


def test_lifetime_value_counts_a_return_or_a_cancellation_once():
    from tests.factory import event as ev_

    triggers = replay([
        order("2026-11-01T10:00:00Z", order_id="o1", total=100.0),
        order("2026-11-01T11:00:00Z", order_id="o2", total=50.0),
        order("2026-11-01T12:00:00Z", order_id="o3", total=30.0),
        ev_("order.returned", "2026-11-02T10:00:00Z", order_id="o1"),
        ev_("payment.refunded", "2026-11-02T11:00:00Z", order_id="o1", amount=100.0, currency="EUR"),
        ev_("order.cancelled", "2026-11-02T12:00:00Z", order_id="o2"),
        ev_("payment.refunded", "2026-11-02T13:00:00Z", order_id="o2", amount=50.0, currency="EUR"),
        shipped("2026-11-02T14:00:00Z", eta="2026-11-04T10:00:00Z", order_id="o3"),
        tick("2026-11-05T00:00:00Z"),
    ])
    late = [t for t in triggers if t.kind == "delivery_late"]
    assert late[0].customer["ltv"] == 30.0
