"""payment_disputed: a chargeback reaches a person at once, at top priority, with what the
bank will ask for."""

from tests import factory
from tests.factory import consent, delivered, disputed, order, paid, shipped, tick


def disputes(events, **kw):
    return [t for t in factory.replay(events, **kw) if t.kind == "payment_disputed"]


def story(**dispute) -> list[dict]:
    return [
        consent("2026-11-01T09:00:00Z", email=True),
        order("2026-11-01T10:00:00Z", total=120.0),
        paid("2026-11-01T10:01:00Z", amount=120.0),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T18:00:00Z"),
        delivered("2026-11-04T12:00:00Z"),
        disputed("2026-11-10T08:00:00Z", amount=120.0, **dispute),
    ]


def test_a_dispute_fires_at_once_for_a_person_at_p1_even_for_an_ordinary_customer_with_consent():
    [t] = disputes(story(reason="product_not_received"))
    assert (t.kind, t.customer_id, t.order_id, t.fired_at) == ("payment_disputed", "c1", "o1", "2026-11-10T08:00:00Z")
    assert (t.priority, t.route) == ("p1", "human")
    assert t.outreach["allowed"] is True  # consent does not decide the lane here; the policy does
    assert t.reasons[0]["code"] == "chargeback"
    assert "120.00 EUR" in t.reasons[0]["detail"] and "says the goods never arrived" in t.reasons[0]["detail"]
    assert t.evidence["dispute_reason"] == "product_not_received"
    assert t.evidence["order_status"] == "open" and t.evidence["order_paid"] is True
    assert t.evidence["order_placed_at"] == "2026-11-01T10:00:00Z"
    assert t.evidence["parcels_not_delivered"] == {}  # the parcel was delivered: the agent's proof
    assert t.evidence["value_at_risk"] == 120.0


def test_a_dispute_saying_the_purchase_was_not_theirs_is_marked_as_fraud():
    [t] = disputes(story(reason="fraudulent"))
    assert "did not make this purchase" in t.reasons[0]["detail"]
    assert any("fraud" in step for step in t.evidence["routing"])


def test_an_unknown_or_missing_reason_is_passed_on_as_it_came():
    [t] = disputes(story(reason="bank_says_so"))
    assert 'gives the reason "bank_says_so"' in t.reasons[0]["detail"]  # quoted as data
    [t] = disputes(story())
    assert "gives no reason" in t.reasons[0]["detail"] and t.evidence["dispute_reason"] is None


def test_every_dispute_is_its_own_case_never_held_back_and_redelivery_changes_nothing():
    events = story(reason="duplicate") + [disputed("2026-11-10T09:00:00Z", amount=20.0, reason="duplicate"),
                                          tick("2026-11-11T00:00:00Z")]
    triggers = disputes(events)
    assert [t.fired_at for t in triggers] == ["2026-11-10T08:00:00Z", "2026-11-10T09:00:00Z"]
    again = disputes(events[:6] + [events[5]] + events[6:] + [events[6]])
    assert [(t.trigger_id, t.fired_at) for t in again] == [(t.trigger_id, t.fired_at) for t in triggers]


def test_out_of_order_arrival_gives_the_same_trigger():
    events = story(reason="not_as_described")
    late = events[:5] + [tick("2026-11-10T08:03:00Z"), events[5]]
    [a], [b] = disputes(events, lateness_s=300), disputes(late, lateness_s=300)
    assert (a.trigger_id, a.fired_at, a.evidence) == (b.trigger_id, b.fired_at, b.evidence)
