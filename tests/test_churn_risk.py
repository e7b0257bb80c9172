"""churn_risk as a retention lead would describe it: a regular goes quiet, and we hear about it
in time, with when they would have ordered and what they are worth."""

from datetime import datetime, timedelta, timezone

import pytest

from forewarn.engine.config import load
from forewarn.engine.engine import Engine
from forewarn.core.timefmt import parse_rfc3339
from tests.factory import event, order, replay, tick

START = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def _ts(days: float) -> str:
    return (START + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def habit(customer: str, orders: int = 5, every: float = 4, sessions_until: float | None = None) -> list[dict]:
    """A regular: an order every ``every`` days, two sessions a day until ``sessions_until``."""
    last = (orders - 1) * every
    until = last if sessions_until is None else sessions_until
    out = [order(_ts(i * every), order_id=f"{customer}-o{i}", total=60.0, customer_id=customer) for i in range(orders)]
    out += [event("customer.activity", _ts(d / 2 + 0.1), customer, kind="session") for d in range(int(until * 2))]
    return sorted(out, key=lambda e: e["ts"])


def config(**params):
    return load(None, {"engine.allowed_lateness_seconds": 0,
                       **{f"detectors.churn_risk.{k}": v for k, v in params.items()}})


def churn(events, cfg=None, engine=None):
    cfg = cfg or config()
    return [t for t in replay(sorted(events, key=lambda e: e["ts"]), cfg, engine=engine) if t.kind == "churn_risk"]


def test_a_regular_who_stops_ordering_and_engaging_fires_at_a_checkpoint():
    [t] = churn(habit("c1") + [tick(_ts(40))])
    assert (t.customer_id, t.order_id) == ("c1", None)
    # Last order on day 16; the first checkpoint is 1.5 expected gaps later. The expected gap
    # blends the customer's 4 days with the store's (a young store: mostly its prior).
    assert t.evidence["last_order_at"] == _ts(16) and 4 < t.evidence["expected_gap_days"] < 14
    assert t.evidence["features"]["quiet_gaps"] == pytest.approx(1.5, abs=0.01)
    assert _ts(16) < t.fired_at < _ts(40)
    assert t.score >= 0.85 and t.evidence["probability"] == t.score and t.evidence["p_alive"] < 0.01
    assert (t.route, t.priority) == ("human", "p3")
    codes = [r["code"] for r in t.reasons]
    assert codes[:2] == ["quiet", "engagement_drop"]
    assert t.reasons[0]["detail"].startswith("No order for 10 days, 1.5x their usual")
    # What the agent gets to act on: value and the expected next order, live from a few orders.
    assert t.evidence["clv"]["historic"] == 300.0 and t.evidence["clv"]["predicted_365d"] >= 0
    assert t.customer["expected_next_order_at"] == t.evidence["expected_next_order_at"] >= t.fired_at
    assert t.customer["clv"] == t.evidence["clv"]["total"] and t.customer["orders"] == 5
    assert t.customer["segment"] == "loyal"


def test_a_quiet_spell_with_the_usual_engagement_does_not_fire():
    # Same habit, no order since day 16, but the sessions go on as before.
    assert churn(habit("c2", sessions_until=30) + [tick(_ts(30))]) == []


def test_one_warning_per_quiet_spell_and_none_within_the_cooldown():
    # c1 stays quiet for two months: the risk stays high, the warning is not repeated.
    [first] = churn(habit("c1") + [tick(_ts(75))])
    # c4 has the same habit and is warned at the same moment; it orders once more two days
    # later and goes quiet again: a new spell, but the next warning waits for the cooldown.
    warned = (parse_rfc3339(first.fired_at) - parse_rfc3339(_ts(0))) / 86400e6
    back = [order(_ts(warned + 2), order_id="c4-back", total=60.0, customer_id="c4"), tick(_ts(75))]
    fired = churn(habit("c4") + back)
    assert len(fired) == 2 and fired[0].fired_at == first.fired_at
    assert fired[1].evidence["last_order_at"] == _ts(warned + 2)
    assert fired[1].fired_at >= _ts(warned + 14)  # the 14-day cooldown
    assert fired[0].trigger_id != fired[1].trigger_id


def test_a_single_order_is_not_a_habit_to_lose():
    events = [order(_ts(0), order_id="once", customer_id="c3"), tick(_ts(40))]
    assert churn(events) == []


def test_labels_arrive_late_and_the_model_learns_each_prediction_once():
    cfg = config()
    engine = Engine(cfg)
    # c1 goes quiet: the windows opened at the last order and at checkpoints end without an
    # order (label 1). c2 pauses too, then comes back on day 25 (label 0 for what was open).
    events = habit("c1") + habit("c2", sessions_until=25) + [
        order(_ts(25), order_id="c2-back", total=60.0, customer_id="c2"), tick(_ts(60))]
    churn(events, cfg, engine)
    model = engine.models["churn_risk"]
    q = model.prequential
    assert q.labels == model.learned > 0
    assert 0 < q.positives < q.labels  # both outcomes learned, each prediction once
    # The next order closes every open window of c2 with "came back": nothing of c2 waits.
    came_back = model.learned - q.positives
    assert came_back >= 4  # the predictions opened at c2's orders 2-5


def test_duplicate_events_do_not_change_the_outcome():
    events = habit("c1") + [tick(_ts(30))]
    once = churn(events)
    twice = churn(events + events[:6])
    assert [t.trigger_id for t in once] == [t.trigger_id for t in twice]
    assert once[0].evidence == twice[0].evidence
