"""vip_engagement_drop: when a VIP who engages every day goes quiet, a person checks in —
once per drop, and even if the customer never sends another event."""

from forewarn.engine.config import load
from forewarn.core.timefmt import DAY, HOUR, format_us, parse_rfc3339
from tests import factory
from tests.factory import activity, consent, order, profile, tick

T0 = parse_rfc3339("2026-11-01T08:00:00Z")


def drops(events, **kw):
    return [t for t in factory.replay(events, **kw) if t.kind == "vip_engagement_drop"]


def habit(days: float, every_h: float = 8.0, start_us: int = T0, customer_id: str = "c1") -> list[dict]:
    """A regular engagement habit: a session every ``every_h`` hours for ``days`` days."""
    n = int(days * 24 / every_h)
    return [activity(format_us(start_us + int(i * every_h * HOUR)), customer_id) for i in range(n)]


def vip(tier: str = "vip") -> list[dict]:
    return [profile("2026-11-01T07:00:00Z", tier=tier), consent("2026-11-01T07:00:00Z", email=True)]


LAST = "2026-11-15T00:00:00Z"  # the last session of a 14-day habit of three a day


def test_a_vip_who_goes_silent_is_flagged_for_a_person_even_without_another_event():
    [t] = drops(vip() + habit(14) + [tick("2026-11-25T00:00:00Z")])
    assert (t.kind, t.customer_id, t.order_id) == ("vip_engagement_drop", "c1", None)
    # Three a day: the evidence (0.9 x 3.08 a day of silence) reaches 12 after 4.33 days.
    assert t.fired_at == "2026-11-19T07:55:44Z"
    assert (t.priority, t.route) == ("p1", "human")
    assert t.reasons[0]["code"] == "engagement_drop"
    assert "about 3.1 times a day" in t.reasons[0]["detail"]
    assert "nothing at all for 4.3 days" in t.reasons[0]["detail"]
    e = t.evidence
    assert e["drop_since"] == LAST and e["last_engagement_at"] == LAST
    assert e["engagements_since"] == 0 and e["expected_since"] == 13.3
    assert 2.9 < e["baseline_per_day"] < 3.2
    assert e["evidence"] == 12.0 and e["threshold"] == 12.0 and e["drop_to"] == 0.1
    assert e["watched_since"] == "2026-11-01T08:00:00Z" and e["tier"] == "vip"
    assert t.score == 1.0  # nothing of the usual engagement is left


def test_an_ordinary_customer_with_the_same_habit_is_not_watched():
    assert drops(vip(tier="standard") + habit(14) + [tick("2026-11-25T00:00:00Z")]) == []


def test_a_customer_whose_lifetime_value_reaches_the_vip_threshold_is_watched():
    big = [order("2026-11-01T07:30:00Z", total=2500.0)]
    [t] = drops(vip(tier="standard") + big + habit(14) + [tick("2026-11-25T00:00:00Z")])
    assert t.customer["segment"] == "vip" and t.evidence["ltv"] == 2500.0


def test_the_vip_threshold_is_the_routing_tables():
    cfg = load(None, {"routing.vip_ltv": 3000.0, "engine.allowed_lateness_seconds": 0}, env={})
    big = [order("2026-11-01T07:30:00Z", total=2500.0)]
    assert drops(vip(tier="standard") + big + habit(14) + [tick("2026-11-25T00:00:00Z")], config=cfg) == []


def test_too_short_a_history_is_no_baseline():
    assert drops(vip() + habit(6) + [tick("2026-11-25T00:00:00Z")]) == []


def test_an_ordinary_quiet_day_and_a_half_is_not_a_drop():
    gap_start = T0 + 14 * DAY
    events = vip() + habit(14) + habit(10, start_us=gap_start + int(1.5 * DAY)) + [tick("2026-12-01T00:00:00Z")]
    assert drops(events) == []


def test_a_drop_to_a_trickle_still_fires_once_and_a_new_drop_after_recovery_fires_again():
    trickle = [activity("2026-11-17T12:00:00Z")]  # one visit in six days
    back = habit(14, every_h=6, start_us=parse_rfc3339("2026-11-21T00:00:00Z"))
    triggers = drops(vip() + habit(14) + trickle + back + [tick("2026-12-15T00:00:00Z")])
    assert len(triggers) == 2
    first, second = triggers
    assert first.evidence["drop_since"] == LAST and first.evidence["engagements_since"] == 1
    assert "only 1 engagement in" in first.reasons[0]["detail"]
    assert first.fired_at < "2026-11-21T00:00:00Z"  # during the trickle, not after it
    assert second.evidence["drop_since"] == "2026-12-04T18:00:00Z"  # the last of the renewed habit
    assert first.trigger_id != second.trigger_id


def test_a_drop_that_is_not_yet_certain_at_the_end_of_input_does_not_fire():
    assert drops(vip() + habit(14) + [tick("2026-11-19T07:55:43Z")]) == []
    assert len(drops(vip() + habit(14) + [tick("2026-11-19T07:55:44Z")])) == 1


def test_out_of_order_and_redelivered_events_give_the_same_trigger():
    events = vip() + habit(14)
    a1, a2 = activity("2026-11-15T00:02:00Z"), activity("2026-11-15T00:03:00Z")
    ordered = events + [a1, a2, tick("2026-11-15T00:04:00Z"), tick("2026-11-25T00:00:00Z")]
    shuffled = events + [a2, tick("2026-11-15T00:04:00Z"), a1, tick("2026-11-25T00:00:00Z")]  # a1 read late
    [a] = drops(shuffled, lateness_s=300)
    [b] = drops(ordered, lateness_s=300)
    [c] = drops(ordered[:10] + ordered[5:10] + ordered[10:] + ordered[-3:], lateness_s=300)
    assert (a.trigger_id, a.fired_at, a.evidence) == (b.trigger_id, b.fired_at, b.evidence)
    assert (c.trigger_id, c.fired_at, c.evidence) == (b.trigger_id, b.fired_at, b.evidence)
