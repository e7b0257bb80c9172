"""The routing policy, as the support lead wrote it down: who gets which trigger, how urgent
it is, and whether we may reach out — with the reasons on record."""

from detectors.base import Candidate, Reason
from forewarn.engine.config import from_dict, load
from forewarn.engine.routing import route
from forewarn.core.timefmt import parse_rfc3339
from tests import factory
from tests.factory import consent, failed, order, shipped, tick

POLICY = load(None, env={}).routing
EMAIL_OK = {"email": {"allowed": True, "recorded_at": parse_rfc3339("2026-11-01T09:00:00Z")}}


def trigger(kind="delivery_late", *, flags=(), value=80.0, currency="EUR", segment="repeat", ltv=300.0,
            consent=EMAIL_OK, policy=POLICY):
    cand = Candidate(kind=kind, customer_id="c1", order_id="o1", subject="s1", episode="e1",
                     fired_at=parse_rfc3339("2026-11-05T10:00:00Z"), reasons=[Reason("r", "why")],
                     evidence={"threshold": 1}, value_at_risk=value, currency=currency, flags=tuple(flags))
    cand.customer = {"ltv": ltv, "orders": 3, "tier": "vip" if segment == "vip" else "standard",
                     "segment": segment, "name": None, "email": None}
    cand.consent = consent
    return route(cand, policy)


# --- lanes ---------------------------------------------------------------------------


def test_a_simple_notice_for_an_ordinary_customer_who_agreed_to_email_goes_to_the_ai_agent():
    t = trigger("delivery_late")
    assert (t.priority, t.route) == ("p3", "ai")
    assert t.outreach == {"allowed": True, "channels": ["email"], "basis": "email opt-in recorded 2026-11-01T09:00:00Z",
                          "marketing": None}
    assert t.evidence["routing"] == ["kind delivery_late: p3, ai lane"]


def test_vips_get_a_person_and_one_step_more_urgency():
    t = trigger("delivery_late", segment="vip", ltv=2500.0)
    assert (t.priority, t.route) == ("p2", "human")
    assert "rule 'VIP customer': p3 -> p2, ai -> human lane" in t.evidence["routing"]


def test_customers_worth_1000_or_more_get_a_person():
    assert trigger("delivery_late", ltv=999.0).route == "ai"
    t = trigger("delivery_late", ltv=1000.0)
    assert t.route == "human" and t.priority == "p3"


def test_chargebacks_go_to_a_person_at_top_priority():
    t = trigger("payment_disputed", flags=("dispute",))
    assert (t.priority, t.route) == ("p1", "human")


def test_fraud_repeated_failures_and_compliance_risks_go_to_a_person():
    for flag in ("fraud", "repeated_failure", "compliance"):
        t = trigger("payment_failed", flags=(flag,))
        assert t.route == "human", flag
        assert any(step.startswith("rule 'fraud, chargeback") for step in t.evidence["routing"])


def test_a_hard_decline_alone_is_a_simple_update_your_card_notice():
    assert trigger("payment_failed", flags=("hard_decline",)).route == "ai"


def test_a_lost_parcel_goes_to_a_person_only_when_the_order_is_worth_500_or_more():
    assert (trigger("shipment_exception", flags=("lost",), value=120.0).route) == "ai"
    t = trigger("shipment_exception", flags=("lost",), value=650.0)
    assert (t.priority, t.route) == ("p1", "human")


# --- priority ----------------------------------------------------------------------------


def test_orders_worth_500_or_more_are_one_step_more_urgent_in_the_routing_currency():
    assert trigger("delivery_late", value=500.0).priority == "p2"
    assert trigger("delivery_late", value=499.0).priority == "p3"
    # 5,000 SEK is about 440 EUR: not a valuable order; 6,000 SEK (526 EUR) is.
    assert trigger("delivery_late", value=5000.0, currency="SEK").priority == "p3"
    t = trigger("delivery_late", value=6000.0, currency="SEK")
    assert t.priority == "p2"
    assert (t.evidence["value_at_risk"], t.evidence["currency"]) == (6000.0, "SEK")  # as the order states it
    assert "order value 6000.00 SEK = 526.32 EUR" in t.evidence["routing"]


def test_when_the_customer_must_act_within_days_it_is_at_least_p2():
    assert trigger("data_quality", flags=("urgent",)).priority == "p2"
    assert trigger("data_quality").priority == "p4"


def test_priority_never_goes_above_p1():
    t = trigger("payment_disputed", flags=("dispute",), value=900.0, segment="vip", ltv=5000.0)
    assert t.priority == "p1"
    assert "rule 'order worth 500 or more': no change" in t.evidence["routing"]


# --- consent -----------------------------------------------------------------------------


def test_without_any_consent_on_record_a_person_handles_it_and_outreach_is_not_allowed():
    t = trigger("delivery_late", consent={})
    assert t.route == "human"
    assert t.outreach == {"allowed": False, "channels": [], "basis": "no consent on record", "marketing": None}
    assert t.evidence["routing"][-1] == "consent: no consent on record, so ai -> human lane"


def test_marketing_consent_is_carried_for_the_review_of_drafts_and_edits():
    at = {"recorded_at": 1_790_000_000_000_000}
    t = trigger("delivery_late", consent={"email": {"allowed": True, **at}, "marketing": {"allowed": False, **at}})
    assert t.outreach["channels"] == ["email"]  # marketing is not a channel
    assert t.outreach["marketing"] is False
    t = trigger("delivery_late", consent={"email": {"allowed": True, **at}, "marketing": {"allowed": True, **at}})
    assert t.outreach["marketing"] is True


def test_an_opt_out_is_stated_as_the_basis():
    out = {"email": {"allowed": False, "recorded_at": parse_rfc3339("2026-11-03T12:00:00Z")}}
    t = trigger("delivery_late", consent=out)
    assert (t.route, t.outreach["allowed"]) == ("human", False)
    assert t.outreach["basis"] == "no channel with consent (email opt-out recorded 2026-11-03T12:00:00Z)"


def test_only_the_channels_with_an_opt_in_may_be_used():
    mixed = {"email": {"allowed": False, "recorded_at": 1}, "sms": {"allowed": True, "recorded_at": 2},
             "phone": {"allowed": True, "recorded_at": 3}}
    assert trigger(consent=mixed).outreach["channels"] == ["sms", "phone"]


def test_the_latest_consent_in_event_time_wins_even_when_it_arrives_first():
    events = [
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        consent("2026-11-03T12:00:00Z", email=False),  # the customer opted out...
        consent("2026-11-03T11:58:00Z", email=True),  # ...after this opt-in, which arrives late
        tick("2026-11-05T00:00:00Z"),
    ]
    [late] = [t for t in factory.replay(events, lateness_s=300) if t.kind == "delivery_late"]
    assert late.outreach["allowed"] is False and late.route == "human"
    assert "email opt-out recorded 2026-11-03T12:00:00Z" in late.outreach["basis"]


def test_consent_given_after_the_trigger_fired_does_not_count_for_it():
    events = [order("2026-11-01T10:00:00Z"), failed("2026-11-01T10:01:00Z"),
              consent("2026-11-01T12:00:00Z", email=True), tick("2026-11-02T00:00:00Z")]
    [t] = [t for t in factory.replay(events) if t.kind == "payment_failed"]
    assert t.fired_at == "2026-11-01T11:01:00Z" and t.outreach["allowed"] is False


# --- the audit trail and the table itself ------------------------------------------------


def test_evidence_keeps_the_detectors_thresholds_and_every_rule_that_matched():
    t = trigger("payment_failed", flags=("repeated_failure",), value=700.0, segment="vip", ltv=2400.0)
    assert t.evidence["threshold"] == 1  # the detector's own evidence is kept
    assert t.evidence["routing"] == [
        "kind payment_failed: p2, ai lane",
        "rule 'order worth 500 or more': p2 -> p1",
        "rule 'VIP customer': ai -> human lane",
        "rule 'valuable customer (lifetime value 1000 or more)': no change",
        "rule 'fraud, chargeback, repeated payment failure or compliance risk': no change",
    ]


def test_a_shop_can_write_its_own_table_and_rows_apply_top_to_bottom():
    policy = from_dict({"routing": {"rules": [
        {"name": "loyal customers first", "when": {"segments": ["loyal"]}, "raise": 2},
        {"name": "late parcels to the bot", "when": {"kinds": ["delivery_late"]}, "route": "ai"},
        {"name": "big orders to people", "when": {"order_value_at_least": 200}, "route": "human"},
    ]}}).routing
    t = trigger("delivery_late", segment="loyal", value=250.0, policy=policy)
    assert (t.priority, t.route) == ("p1", "human")
    t = trigger("delivery_late", segment="loyal", value=50.0, ltv=5000.0, policy=policy)
    assert (t.priority, t.route) == ("p1", "ai")  # no "valuable customer" row in this table
