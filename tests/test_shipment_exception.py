"""shipment_exception: the moment a carrier reports a problem, an agent hears it in plain words."""

import pytest

from detectors.shipment_exception import EXPLAIN
from tests import factory
from tests.factory import carrier_exception, consent, order, shipped, tick

ETA = "2026-11-08T18:00:00Z"


def exceptions(events, **kw):
    return [t for t in factory.replay(events, **kw) if t.kind == "shipment_exception"]


def story(code: str, total: float = 80.0, **fields) -> list[dict]:
    return [
        consent("2026-11-01T09:00:00Z", email=True),
        order("2026-11-01T10:00:00Z", total=total),
        shipped("2026-11-02T10:00:00Z", eta=ETA, carrier="DPD"),
        carrier_exception("2026-11-03T10:00:00Z", code=code, **fields),
    ]


def test_fires_at_the_exception_with_the_carrier_code_in_words():
    [t] = exceptions(story("address_issue", detail="Street not found"))
    assert (t.kind, t.customer_id, t.order_id, t.fired_at) == ("shipment_exception", "c1", "o1", "2026-11-03T10:00:00Z")
    assert t.reasons[0]["code"] == "address_issue"
    detail = t.reasons[0]["detail"]
    assert "s1" in detail and "DPD" in detail
    assert "cannot deliver to the address" in detail and "Street not found" in detail
    assert "Confirm the address" in detail
    assert t.evidence["shipment_id"] == "s1"
    assert t.evidence["exception_code"] == "address_issue"
    assert t.evidence["carrier_detail"] == "Street not found"
    assert t.evidence["status_before"] == "created"
    assert t.evidence["estimated_delivery_at"] == ETA


@pytest.mark.parametrize("code, words", [
    ("failed_attempt", "nobody home"),
    ("damaged", "damaged in transit"),
    ("lost", "lost the parcel"),
    ("customs_hold", "customs"),
    ("other", "did not classify"),
])
def test_every_carrier_code_reads_as_words(code, words):
    [t] = exceptions(story(code))
    assert t.reasons[0]["code"] == code and words in t.reasons[0]["detail"]
    assert t.evidence["carrier_detail"] is None


def test_a_lost_parcel_on_a_small_order_is_a_simple_notice():
    [t] = exceptions(story("lost", total=40.0))
    assert (t.priority, t.route) == ("p2", "ai")


def test_a_lost_or_damaged_parcel_on_a_valuable_order_goes_to_a_person_at_top_priority():
    for code in ("lost", "damaged"):
        [t] = exceptions(story(code, total=650.0))
        assert (t.priority, t.route) == ("p1", "human"), code
        assert any("lost or damaged parcel worth 500" in step for step in t.evidence["routing"])


def test_a_missed_delivery_is_routine_but_an_address_problem_is_the_customers_to_fix_soon():
    assert EXPLAIN["failed_attempt"].flags == ()
    assert EXPLAIN["address_issue"].flags == ("urgent",)
    [t] = exceptions(story("address_issue"))
    assert t.priority == "p2"


def test_each_exception_is_its_own_situation_and_redelivery_changes_nothing():
    events = story("failed_attempt") + [
        carrier_exception("2026-11-05T10:00:00Z", code="customs_hold"), tick("2026-11-06T00:00:00Z")]
    triggers = exceptions(events)
    assert [t.reasons[0]["code"] for t in triggers] == ["failed_attempt", "customs_hold"]
    assert len({t.trigger_id for t in triggers}) == 2
    again = exceptions(events[:4] + [events[3]] + events[4:] + [events[4]])
    assert [t.trigger_id for t in again] == [t.trigger_id for t in triggers]


def test_out_of_order_arrival_gives_the_same_trigger():
    events = story("damaged")
    late = events[:3] + [tick("2026-11-03T10:02:00Z"), events[3]]
    [a], [b] = exceptions(events, lateness_s=300), exceptions(late, lateness_s=300)
    assert (a.trigger_id, a.fired_at, a.evidence) == (b.trigger_id, b.fired_at, b.evidence)
