"""shipment_stalled as a support lead would describe it: a parcel on its way that nobody has
scanned for two days gets looked at — once per quiet spell, at the moment it became quiet."""

from forewarn.engine.config import load
from forewarn.engine.context import Context
from forewarn.engine.engine import Engine, Shard
from forewarn.core.events import decode
from forewarn.engine.routing import route
from tests import factory
from tests.factory import cancelled, carrier_exception, consent, delivered, lines, order, scan, shipped, tick

ETA = "2026-11-08T18:00:00Z"  # far enough out that delivery_late stays quiet in these stories


def stalled(events, **kw):
    return [t for t in factory.replay(events, **kw) if t.kind == "shipment_stalled"]


def test_no_scan_for_48_hours_fires_at_the_last_scan_plus_48_hours():
    [t] = stalled([
        consent("2026-11-01T09:00:00Z", email=True),
        order("2026-11-01T10:00:00Z", total=80.0),
        shipped("2026-11-02T10:00:00Z", eta=ETA),
        scan("2026-11-02T20:00:00Z", status="in_transit", location="Leipzig"),
        tick("2026-11-06T00:00:00Z"),  # someone else's event moves event time on
    ])
    assert (t.kind, t.customer_id, t.order_id) == ("shipment_stalled", "c1", "o1")
    assert t.fired_at == "2026-11-04T20:00:00Z"
    assert (t.priority, t.route) == ("p3", "ai")
    assert t.reasons[0]["code"] == "no_carrier_update"
    assert "s1" in t.reasons[0]["detail"] and "DHL" in t.reasons[0]["detail"]
    assert "in transit" in t.reasons[0]["detail"]
    assert t.evidence["shipment_id"] == "s1"
    assert t.evidence["last_status"] == "in_transit"
    assert t.evidence["last_update_at"] == "2026-11-02T20:00:00Z"
    assert t.evidence["stall_hours"] == 48.0
    assert t.evidence["estimated_delivery_at"] == ETA
    assert t.evidence["value_at_risk"] == 80.0


def test_a_parcel_never_scanned_after_creation_stalls_too():
    [t] = stalled([order("2026-11-01T10:00:00Z"), shipped("2026-11-02T10:00:00Z", eta=ETA),
                   tick("2026-11-05T00:00:00Z")])
    assert t.fired_at == "2026-11-04T10:00:00Z" and t.evidence["last_status"] == "created"


def test_regular_scans_keep_it_quiet_and_a_scan_exactly_at_the_deadline_is_in_time():
    assert stalled([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta=ETA),
        scan("2026-11-03T10:00:00Z"),
        scan("2026-11-05T10:00:00Z"),  # exactly 48 h after the last one
        scan("2026-11-06T09:00:00Z", status="out_for_delivery"),
        delivered("2026-11-06T15:00:00Z"),
        tick("2026-11-12T00:00:00Z"),
    ]) == []


def test_one_trigger_per_quiet_spell_and_a_new_spell_after_the_parcel_moves_again():
    triggers = stalled([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta=ETA),
        scan("2026-11-02T12:00:00Z"),
        tick("2026-11-05T00:00:00Z"),  # spell 1: stalled at 11-04 12:00, once
        tick("2026-11-05T06:00:00Z"),
        scan("2026-11-05T12:00:00Z"),  # it moves again...
        tick("2026-11-09T00:00:00Z"),  # ...and stalls again at 11-07 12:00
    ])
    assert [t.fired_at for t in triggers] == ["2026-11-04T12:00:00Z", "2026-11-07T12:00:00Z"]
    assert [t.evidence["last_update_at"] for t in triggers] == ["2026-11-02T12:00:00Z", "2026-11-05T12:00:00Z"]
    assert triggers[0].trigger_id != triggers[1].trigger_id


def test_an_exception_is_not_a_stall_but_the_next_scan_starts_the_clock_again():
    triggers = stalled([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta=ETA),
        carrier_exception("2026-11-03T10:00:00Z", code="customs_hold"),
        tick("2026-11-06T00:00:00Z"),  # three days held by customs: the exception's business
        scan("2026-11-06T08:00:00Z"),
        tick("2026-11-09T00:00:00Z"),
    ])
    assert [t.fired_at for t in triggers] == ["2026-11-08T08:00:00Z"]


def test_delivery_or_cancellation_ends_the_watch():
    base = [order("2026-11-01T10:00:00Z"), shipped("2026-11-02T10:00:00Z", eta=ETA)]
    assert stalled(base + [delivered("2026-11-03T10:00:00Z"), tick("2026-11-09T00:00:00Z")]) == []
    assert stalled(base + [cancelled("2026-11-03T10:00:00Z"), tick("2026-11-09T00:00:00Z")]) == []


def test_deadline_after_the_end_of_input_does_not_fire_and_exactly_at_the_end_does():
    base = [order("2026-11-01T10:00:00Z"), shipped("2026-11-02T10:00:00Z", eta=ETA)]
    assert stalled(base + [tick("2026-11-04T09:59:59Z")]) == []
    assert [t.fired_at for t in stalled(base + [tick("2026-11-04T10:00:00Z")])] == ["2026-11-04T10:00:00Z"]


def test_a_scan_that_arrives_late_but_within_allowed_lateness_still_counts():
    events = [
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta=ETA),
        tick("2026-11-04T10:03:00Z"),
        scan("2026-11-04T09:58:00Z"),  # read after the tick, but it happened before the deadline
        tick("2026-11-05T00:00:00Z"),
    ]
    assert stalled(events, lateness_s=300) == []
    # Without allowed lateness the watermark had passed the deadline when the scan came.
    assert [t.fired_at for t in stalled(events, lateness_s=0)] == ["2026-11-04T10:00:00Z"]


def test_redelivered_events_change_nothing():
    events = [order("2026-11-01T10:00:00Z"), shipped("2026-11-02T10:00:00Z", eta=ETA),
              scan("2026-11-03T10:00:00Z"), tick("2026-11-06T00:00:00Z")]
    once = stalled(events)
    twice = stalled([events[0], events[1], events[1], events[2], events[0], events[2], events[3]])
    assert len(once) == 1
    assert [(t.trigger_id, t.fired_at) for t in twice] == [(t.trigger_id, t.fired_at) for t in once]


def test_a_parcel_first_seen_in_transit_is_watched_too():
    # The engine started after the parcel was created: the scan alone is enough to watch it.
    [t] = stalled([scan("2026-11-03T10:00:00Z"), tick("2026-11-06T00:00:00Z")])
    assert (t.order_id, t.fired_at, t.evidence["carrier"]) == ("o1", "2026-11-05T10:00:00Z", None)
    assert "the carrier" in t.reasons[0]["detail"]


def test_a_live_change_of_stall_hours_applies_to_parcels_armed_after_it():
    engine, shard, out = Engine(load(None, {"engine.allowed_lateness_seconds": 0}, env={})), Shard(), []

    def feed(*events):
        for raw in lines(list(events)):
            e = decode(raw)
            out.extend(engine.on_event(shard, e, Context(e.ts_us)))

    feed(order("2026-11-01T10:00:00Z"), shipped("2026-11-02T10:00:00Z", eta=ETA))  # armed with 48 h
    engine.reconfigure(load(None, {"engine.allowed_lateness_seconds": 0,
                                   "detectors.shipment_stalled.stall_hours": 24}, env={}))
    feed(order("2026-11-02T11:00:00Z", order_id="o2"),
         shipped("2026-11-02T12:00:00Z", eta=ETA, shipment_id="s2", order_id="o2"),  # armed with 24 h
         tick("2026-11-06T00:00:00Z"))
    got = {t.evidence["shipment_id"]: t for t in (route(c, engine.config.routing) for c in out)
           if t.kind == "shipment_stalled"}
    assert (got["s1"].fired_at, got["s1"].evidence["stall_hours"]) == ("2026-11-04T10:00:00Z", 48.0)
    assert (got["s2"].fired_at, got["s2"].evidence["stall_hours"]) == ("2026-11-03T12:00:00Z", 24.0)
