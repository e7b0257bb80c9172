"""Cooldown: a struggling customer is not flooded — one trigger per kind per cooldown, the
rest held back and counted; every situation still keeps its own trigger id."""

from prometheus_client import REGISTRY

from forewarn.apps.cli import main
from forewarn.engine.config import load
from tests.factory import disputed, failed, lines, order, replay_counting, tick


def burst(n: int, minutes_apart: int = 10) -> list[dict]:
    """A card-testing burst: n orders whose payments all fail, minutes apart."""
    out = []
    for i in range(n):
        ts = f"2026-11-01T10:{i * minutes_apart:02d}:00Z"
        out += [order(ts, order_id=f"o{i}"), failed(ts.replace(":00Z", ":30Z"), order_id=f"o{i}")]
    return out


def test_a_burst_of_failed_payments_reaches_an_agent_once_per_hour():
    triggers, counts = replay_counting(burst(5) + [
        order("2026-11-01T12:30:00Z", order_id="late"), failed("2026-11-01T12:30:30Z", order_id="late"),
        tick("2026-11-02T00:00:00Z")])
    assert [(t.order_id, t.fired_at) for t in triggers if t.kind == "payment_failed"] == [
        ("o0", "2026-11-01T11:00:30Z"),  # the first of the burst
        ("late", "2026-11-01T13:30:30Z"),  # the next one more than an hour later
    ]
    assert counts.suppressed == {"payment_failed": 4}


def test_chargebacks_are_never_held_back():
    events = [disputed(f"2026-11-01T10:0{i}:00Z", order_id=f"o{i}") for i in range(3)]
    triggers, counts = replay_counting(events)
    assert len(triggers) == 3 and counts.suppressed == {}


def test_the_cooldown_is_configurable_per_kind_and_zero_turns_it_off():
    off = load(None, {"routing.cooldown_hours": {"payment_failed": 0}, "engine.allowed_lateness_seconds": 0}, env={})
    triggers, counts = replay_counting(burst(3) + [tick("2026-11-02T00:00:00Z")], config=off)
    assert len([t for t in triggers if t.kind == "payment_failed"]) == 3 and counts.suppressed == {}
    longer = load(None, {"routing.cooldown_hours": {"payment_failed": 24}, "engine.allowed_lateness_seconds": 0}, env={})
    triggers, counts = replay_counting(burst(3) + [
        order("2026-11-01T20:00:00Z", order_id="o9"), failed("2026-11-01T20:00:30Z", order_id="o9"),
        tick("2026-11-02T00:00:00Z")], config=longer)
    assert [t.order_id for t in triggers if t.kind == "payment_failed"] == ["o0"]
    assert counts.suppressed == {"payment_failed": 3}


def test_other_customers_are_not_held_back_by_someone_elses_cooldown():
    events = burst(1) + [order("2026-11-01T10:05:00Z", order_id="x", customer_id="c2"),
                         failed("2026-11-01T10:05:30Z", order_id="x", customer_id="c2"),
                         tick("2026-11-02T00:00:00Z")]
    triggers, _ = replay_counting(events)
    assert sorted(t.customer_id for t in triggers if t.kind == "payment_failed") == ["c1", "c2"]


def test_held_back_triggers_are_counted_in_a_metric(tmp_path):
    src, out = tmp_path / "events.jsonl", tmp_path / "triggers.jsonl"
    src.write_bytes(b"\n".join(lines(burst(3) + [tick("2026-11-02T00:00:00Z")])) + b"\n")
    def held_back() -> float:
        return REGISTRY.get_sample_value("forewarn_triggers_suppressed_total", {"kind": "payment_failed"}) or 0.0

    before = held_back()
    assert main(["backtest", "--input", str(src), "--output", str(out)]) == 0
    assert held_back() - before == 2
