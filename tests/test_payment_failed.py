"""payment_failed as a support lead would put it: give the customer an hour to put a failed
payment right; don't wait when waiting is pointless (fraud, the third attempt); and tell the
agent whether another try can work (a soft decline) or not (a hard one)."""

import pytest

from detectors.payment_failed import DECLINES
from forewarn.engine.config import load
from tests import factory
from tests.factory import cancelled, consent, failed, order, paid, tick


def payment_triggers(events, **kw):
    return [t for t in factory.replay(events, **kw) if t.kind == "payment_failed"]


def start(total: float = 80.0) -> list[dict]:
    return [consent("2026-11-01T09:00:00Z", email=True), order("2026-11-01T10:00:00Z", total=total)]


def test_a_failure_not_recovered_within_the_hour_fires_at_the_end_of_the_hour():
    [t] = payment_triggers(start() + [
        failed("2026-11-01T10:01:00Z", code="insufficient_funds", attempt=1),
        tick("2026-11-01T12:00:00Z"),
    ])
    assert (t.kind, t.customer_id, t.order_id) == ("payment_failed", "c1", "o1")
    assert t.fired_at == "2026-11-01T11:01:00Z"
    assert (t.priority, t.route) == ("p2", "ai")
    assert [r["code"] for r in t.reasons] == ["not_recovered", "soft_decline"]
    assert "80.00 EUR" in t.reasons[0]["detail"] and "60 minutes" in t.reasons[0]["detail"]
    assert "did not have enough funds" in t.reasons[1]["detail"]
    assert t.evidence["first_failure_at"] == "2026-11-01T10:01:00Z"
    assert t.evidence["failure_codes"] == ["insufficient_funds"]
    assert t.evidence["decline"] == "soft"
    assert t.evidence["attempts"] == 1
    assert t.evidence["recovery_minutes"] == 60.0 and t.evidence["max_attempts"] == 3
    assert t.evidence["value_at_risk"] == 80.0


def test_paying_within_the_hour_or_cancelling_puts_it_right():
    fail = failed("2026-11-01T10:01:00Z")
    assert payment_triggers(start() + [fail, paid("2026-11-01T10:40:00Z"), tick("2026-11-02T00:00:00Z")]) == []
    assert payment_triggers(start() + [fail, cancelled("2026-11-01T10:30:00Z"), tick("2026-11-02T00:00:00Z")]) == []


def test_a_payment_at_exactly_the_end_of_the_window_is_in_time_a_second_later_is_not():
    fail = failed("2026-11-01T10:01:00Z")
    assert payment_triggers(start() + [fail, paid("2026-11-01T11:01:00Z"), tick("2026-11-02T00:00:00Z")]) == []
    [t] = payment_triggers(start() + [fail, paid("2026-11-01T11:01:01Z"), tick("2026-11-02T00:00:00Z")])
    assert t.fired_at == "2026-11-01T11:01:00Z"


def test_the_window_runs_from_the_first_failure_not_the_latest():
    [t] = payment_triggers(start() + [
        failed("2026-11-01T10:01:00Z", attempt=1),
        failed("2026-11-01T10:50:00Z", attempt=2),
        tick("2026-11-02T00:00:00Z"),
    ])
    assert t.fired_at == "2026-11-01T11:01:00Z" and t.evidence["attempts"] == 2


def test_suspected_fraud_fires_at_once_goes_to_a_person_and_warns_not_to_say_fraud():
    [t] = payment_triggers(start() + [failed("2026-11-01T10:01:00Z", code="fraud_suspected"),
                                      tick("2026-11-02T00:00:00Z")])
    assert t.fired_at == "2026-11-01T10:01:00Z"
    assert (t.priority, t.route) == ("p2", "human")
    assert [r["code"] for r in t.reasons] == ["fraud_suspected", "hard_decline"]
    assert "do not tell the customer it looked like fraud" in t.reasons[1]["detail"]
    assert t.evidence["decline"] == "hard" and t.evidence["fired_because"] == "fraud_suspected"


def test_the_third_attempt_fires_at_once_as_a_repeated_failure_for_a_person():
    [t] = payment_triggers(start() + [
        failed("2026-11-01T10:01:00Z", attempt=1),
        failed("2026-11-01T10:05:00Z", attempt=2),
        failed("2026-11-01T10:09:00Z", attempt=3),
        failed("2026-11-01T10:15:00Z", attempt=4),  # the same episode: no second trigger
        tick("2026-11-02T00:00:00Z"),
    ])
    assert t.fired_at == "2026-11-01T10:09:00Z"
    assert t.reasons[0]["code"] == "repeated_failure" and "3 times (limit 3)" in t.reasons[0]["detail"]
    assert (t.priority, t.route) == ("p2", "human")
    assert any("repeated payment failure" in step for step in t.evidence["routing"])


def test_an_expired_card_is_a_hard_decline_but_still_a_simple_notice():
    [t] = payment_triggers(start() + [failed("2026-11-01T10:01:00Z", code="expired_card"),
                                      tick("2026-11-02T00:00:00Z")])
    assert [r["code"] for r in t.reasons] == ["not_recovered", "hard_decline"]
    assert "A retry cannot help" in t.reasons[1]["detail"]
    assert (t.priority, t.route) == ("p2", "ai")


def test_once_a_card_is_known_expired_a_later_generic_refusal_stays_a_hard_decline():
    [t] = payment_triggers(start() + [
        failed("2026-11-01T10:01:00Z", code="expired_card", attempt=1),
        failed("2026-11-01T10:20:00Z", code="card_declined", attempt=2),
        tick("2026-11-02T00:00:00Z"),
    ])
    assert t.evidence["failure_codes"] == ["expired_card", "card_declined"]
    assert t.evidence["decline"] == "hard" and t.evidence["decisive_code"] == "expired_card"


@pytest.mark.parametrize("code, hard", [
    ("expired_card", True), ("fraud_suspected", True),
    ("insufficient_funds", False), ("processing_error", False), ("card_declined", False), ("other", False),
])
def test_hard_and_soft_declines_as_card_networks_and_stripe_tell_them_apart(code, hard):
    assert DECLINES[code].hard is hard


def test_after_a_success_a_new_failure_opens_a_new_episode():
    triggers = payment_triggers(start() + [
        failed("2026-11-01T10:01:00Z"),
        tick("2026-11-01T12:00:00Z"),  # fired at 11:01
        paid("2026-11-01T13:00:00Z"),
        failed("2026-11-03T09:00:00Z", code="processing_error"),  # a new charge on the same order
        tick("2026-11-03T12:00:00Z"),
    ])
    assert [t.fired_at for t in triggers] == ["2026-11-01T11:01:00Z", "2026-11-03T10:00:00Z"]
    assert triggers[0].trigger_id != triggers[1].trigger_id


def test_a_window_still_open_at_the_end_of_input_does_not_fire():
    assert payment_triggers(start() + [failed("2026-11-01T10:01:00Z"), tick("2026-11-01T11:00:59Z")]) == []


def test_the_window_and_attempt_limit_come_from_the_config():
    cfg = load(None, {"detectors.payment_failed.recovery_minutes": 15,
                      "detectors.payment_failed.max_attempts": 2,
                      "routing.cooldown_hours": {"payment_failed": 0}}, env={})  # two orders, 13 min apart
    events = start() + [failed("2026-11-01T10:01:00Z", order_id="o1", attempt=1),
                        failed("2026-11-01T10:02:00Z", order_id="o2", attempt=1),
                        failed("2026-11-01T10:03:00Z", order_id="o2", attempt=2),
                        tick("2026-11-02T00:00:00Z")]
    triggers = payment_triggers(events, config=cfg)
    assert [(t.order_id, t.fired_at) for t in triggers] == [
        ("o2", "2026-11-01T10:03:00Z"), ("o1", "2026-11-01T10:16:00Z")]


def test_a_success_read_late_but_within_allowed_lateness_still_puts_it_right():
    events = start() + [failed("2026-11-01T10:01:00Z"), tick("2026-11-01T11:03:00Z"),
                        paid("2026-11-01T10:59:00Z"), tick("2026-11-02T00:00:00Z")]
    assert payment_triggers(events, lateness_s=300) == []
    assert len(payment_triggers(events, lateness_s=0)) == 1


def test_redelivered_failures_are_not_extra_attempts():
    fail = failed("2026-11-01T10:01:00Z", attempt=1)
    triggers = payment_triggers(start() + [fail, fail, fail, tick("2026-11-02T00:00:00Z")])
    assert [t.fired_at for t in triggers] == ["2026-11-01T11:01:00Z"]
    assert triggers[0].evidence["failure_codes"] == ["card_declined"]
