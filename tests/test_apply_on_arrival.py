"""`forewarn run` applies an event when it arrives: a chargeback stamped now reaches its queue
now, not after the five minutes of allowed lateness. Deadlines still fire on the watermark in
event-time order, no event jumps a deadline of its customer, and a run gives the rule-based
triggers of a backtest whenever each customer's events arrive in event-time order.

These drive the engine as the live customer step does (one eager shard per customer, the
watermark trailing the largest event time by the default 300 s); the real broker and Redis
are in tests/test_latency_live.py.
"""

import json

import msgspec

from detectors import MODEL_KINDS
from forewarn.apps.simulator import SimSpec, generate
from forewarn.core.timefmt import parse_rfc3339
from forewarn.engine.config import load
from forewarn.engine.engine import Engine, Shard
from forewarn.engine.replay import events, replay, replay_as_run
from tests.factory import activity, delivered, disputed, failed, order, paid, scan, shipped, tick

DEFAULTS = load(None, env={})
LATENESS = int(DEFAULTS.engine.allowed_lateness_seconds * 1_000_000)


def arriving(engine: Engine, shard: Shard, raw: list[dict]) -> list[list]:
    """Each event in turn from one partition: what each arrival yields. The partition has
    delivered everything up to the newest event (the frontier); the watermark is 300 s behind."""
    out, high = [], None
    for event in events(raw):
        high = event.ts_us if high is None else max(high, event.ts_us)
        out.append(engine.on_event(shard, event, high - LATENESS, frontier=high))
    return out


def story() -> list[dict]:
    return [order("2026-11-10T10:00:00Z", total=120.0), paid("2026-11-10T10:01:00Z", amount=120.0),
            disputed("2026-11-10T10:02:00Z", amount=120.0, reason="fraudulent")]


def test_a_dispute_fires_as_it_arrives_while_the_watermark_is_five_minutes_behind():
    engine = Engine(DEFAULTS)
    *_, on_dispute = arriving(engine, Shard(eager=True), story())
    [cand] = on_dispute
    assert (cand.kind, cand.customer_id, cand.order_id) == ("payment_disputed", "c1", "o1")
    assert cand.fired_at == parse_rfc3339("2026-11-10T10:02:00Z")
    assert engine.stats.late == 0 and engine.stats.out_of_order == 0


def test_a_backtest_shard_still_waits_for_the_watermark():
    engine = Engine(DEFAULTS)
    shard = Shard()
    assert arriving(engine, shard, story()) == [[], [], []]  # all three wait: the watermark is 10:02 - 300 s
    [cand] = engine.finish(shard, parse_rfc3339("2026-11-10T10:02:00Z"))
    assert cand.kind == "payment_disputed"


def test_an_event_after_an_unfired_deadline_waits_for_it_so_a_late_parcel_is_still_late():
    # delivery_late's deadline: the estimate 2026-11-12T00:00 + 12 h grace = 12:00. The parcel is
    # delivered a minute after it, and that event arrives before the watermark has passed 12:00.
    # (A scan the day before keeps shipment_stalled, 48 h without one, out of the story.)
    raw = [order("2026-11-10T10:00:00Z"), shipped("2026-11-10T11:00:00Z", eta="2026-11-12T00:00:00Z"),
           scan("2026-11-11T12:00:00Z"), delivered("2026-11-12T12:01:00Z")]
    engine = Engine(DEFAULTS)
    shard = Shard(eager=True)
    assert arriving(engine, shard, raw) == [[], [], [], []]
    assert [type(e).__name__ for _ts, _seq, e, _ in shard.pending] == ["ShipmentDelivered"]  # it did not jump the deadline
    found = engine.advance(shard, parse_rfc3339("2026-11-12T12:00:01Z"), frontier=parse_rfc3339("2026-11-12T12:05:01Z"))
    assert [(c.kind, c.fired_at) for c in found] == [("delivery_late", parse_rfc3339("2026-11-12T12:00:00Z"))]
    assert shard.pending == [] and "s1" not in shard.customers["c1"].shipments  # then applied: delivered, done
    assert [t.kind for t in replay(raw, DEFAULTS) if t.kind not in MODEL_KINDS] == ["delivery_late"]


def test_a_delivery_exactly_at_the_deadline_is_applied_on_arrival_and_disarms_it():
    raw = [order("2026-11-10T10:00:00Z"), shipped("2026-11-10T11:00:00Z", eta="2026-11-12T00:00:00Z"),
           delivered("2026-11-12T12:00:00Z")]
    engine = Engine(DEFAULTS)
    shard = Shard(eager=True)
    arriving(engine, shard, raw)
    assert shard.pending == [] and shard.customers["c1"].timers == {}
    assert engine.finish(shard, parse_rfc3339("2026-11-13T00:00:00Z")) == []


def test_an_older_event_arriving_after_a_newer_one_is_applied_at_once_and_counted_out_of_order():
    engine = Engine(DEFAULTS)
    shard = Shard(eager=True)
    arriving(engine, shard, [activity("2026-11-10T10:05:00Z"), order("2026-11-10T10:00:00Z", total=50.0)])
    cust = shard.customers["c1"]
    assert (cust.orders_count, cust.last_event_us) == (1, parse_rfc3339("2026-11-10T10:05:00Z"))
    assert (engine.stats.out_of_order, engine.stats.late) == (1, 0)
    # One older than the watermark is late, as in a backtest, not out of order.
    engine.on_event(shard, next(events([activity("2026-11-10T09:59:00Z")])), parse_rfc3339("2026-11-10T10:00:00Z"))
    assert (engine.stats.out_of_order, engine.stats.late) == (1, 1)


def _rule_triggers(triggers) -> list[str]:
    rows = []
    for t in triggers:
        if t.kind in MODEL_KINDS:
            continue
        row = msgspec.to_builtins(t)
        del row["emitted_at"]
        rows.append(json.dumps(row, sort_keys=True))
    return sorted(rows)


def test_a_run_fires_the_rule_triggers_of_a_backtest_when_each_customer_arrives_in_order():
    # A month of the simulated store, every line in event-time order (stably: redeliveries stay
    # behind their originals): customers interleave, deadlines come due between the events.
    sim = generate(SimSpec(customers=150, days=30, seed=3, end="2026-11-26T00:00:00Z"), DEFAULTS)
    ordered = sorted(sim.events, key=lambda line: parse_rfc3339(json.loads(line)["ts"]))
    backtest, run = _rule_triggers(replay(ordered, DEFAULTS)), _rule_triggers(replay_as_run(ordered, DEFAULTS))
    kinds = {json.loads(r)["kind"] for r in backtest}
    assert {"delivery_late", "shipment_stalled", "payment_failed", "shipment_exception"} <= kinds
    assert run == backtest


def test_topics_read_out_of_step_within_the_lateness_still_give_the_backtests_triggers():
    # Two customers; the shipments topic is read two minutes behind the others, so a parcel's
    # events arrive after other customers' later events, but each customer's in its own order.
    raw = [order("2026-11-10T10:00:00Z", customer_id="a", order_id="oa"),
           order("2026-11-10T10:01:00Z", customer_id="b", order_id="ob"),
           disputed("2026-11-12T12:03:00Z", customer_id="b", order_id="ob"),
           shipped("2026-11-10T11:00:00Z", eta="2026-11-12T00:00:00Z", customer_id="a", order_id="oa"),
           delivered("2026-11-12T12:01:00Z", customer_id="a", order_id="oa"),
           activity("2026-11-12T13:00:00Z", customer_id="b")]
    run = replay_as_run(raw, DEFAULTS)
    assert sorted((t.kind, t.customer_id, t.fired_at) for t in run if t.kind not in MODEL_KINDS) == [
        ("delivery_late", "a", "2026-11-12T12:00:00Z"), ("payment_disputed", "b", "2026-11-12T12:03:00Z"),
        ("shipment_stalled", "a", "2026-11-12T11:00:00Z")]  # no scan for 48 h since it was created
    assert _rule_triggers(run) == _rule_triggers(replay(raw, DEFAULTS))


def _live_step(config):
    from flows.customer_step import ShardLogic
    from flows.worker_models import FlowModels
    from forewarn.engine.watermark import WorkerClocks

    engine = Engine(config)
    clocks = WorkerClocks(LATENESS, config.engine.idle_timeout_seconds, ["payments/0"])
    return ShardLogic(engine, None, clocks, FlowModels(None, 1, False).worker(engine.models), persist=False)


def _batch(raw: list[dict], partition_high: str) -> list[tuple]:
    """Live items: the customer's events, then its partition's progress report behind them."""
    return [*[("e", "c1", e, 0, 0.0) for e in events(raw)],
            ("p", "clock", ("payments/0", parse_rfc3339(partition_high), None), 0, 0.0)]


def test_the_live_customer_step_applies_on_arrival_unless_the_config_turns_the_wait_back_on():
    eager, waiting = _live_step(DEFAULTS), _live_step(load(None, {"engine.apply_on_arrival": False}, env={}))
    out, _ = eager.on_batch(_batch(story(), "2026-11-10T10:02:00Z"))
    assert [c.kind for c in out] == ["payment_disputed"]
    out, _ = waiting.on_batch(_batch(story(), "2026-11-10T10:02:00Z"))
    assert out == [] and len(waiting.shard.pending) == 3  # waiting for the watermark, as before


def test_a_live_event_waits_for_a_partition_still_reading_behind_it_then_the_waker_brings_it():
    # A backlog: the orders partition has delivered only up to 09:00 and is still reading, so
    # the dispute (10:02, payments) waits: its order may still be in that backlog.
    step = _live_step(DEFAULTS)
    wt = step.workers.current()
    wt.clock.report("orders/0", parse_rfc3339("2026-11-10T09:00:00Z"), None)
    out, _ = step.on_batch(_batch([disputed("2026-11-10T10:02:00Z", amount=120.0)], "2026-11-10T10:02:00Z"))
    assert out == [] and wt.arrivals.pop_due(wt.clock.frontier() + 1) == []
    wt.clock.report("orders/0", parse_rfc3339("2026-11-10T10:00:00Z"), 50.0)  # read to its end
    assert wt.arrivals.pop_due(wt.clock.frontier() + 1) == ["c1"]  # the waker wakes the customer
    out, _ = step.on_batch([("w", "c1", None, 0, 0.0)])
    assert [c.kind for c in out] == ["payment_disputed"]


def test_a_success_or_a_delivery_read_after_another_customers_later_event_still_puts_it_right():
    # The detectors' own out-of-order stories (tests/test_payment_failed.py, test_delivery_late.py):
    # the late event is the customer's own next one, so applied on arrival it is still in order.
    failed_then_paid = [order("2026-11-01T10:00:00Z"), failed("2026-11-01T10:01:00Z"),
                        tick("2026-11-01T11:03:00Z"), paid("2026-11-01T10:59:00Z"), tick("2026-11-02T00:00:00Z")]
    shipped_then_delivered = [order("2026-11-01T10:00:00Z"), shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
                              tick("2026-11-04T22:02:00Z"), delivered("2026-11-04T21:58:00Z"), tick("2026-11-06T00:00:00Z")]
    for story_ in (failed_then_paid, shipped_then_delivered):
        run = _rule_triggers(replay_as_run(story_, DEFAULTS))
        assert run == _rule_triggers(replay(story_, DEFAULTS))
        assert not [r for r in run if json.loads(r)["kind"] in ("payment_failed", "delivery_late")]
