"""delivery_at_risk as a support lead would describe it: warn before the late-delivery deadline,
once per estimate, when the parcel's progress says it will be late — and never instead of
delivery_late."""

from datetime import datetime, timedelta, timezone

from forewarn.engine.config import load
from forewarn.engine.engine import Engine
from tests.factory import delivered, event, order, replay, shipped, tick

START = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def _ts(hours: float) -> str:
    return (START + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def scan(hours: float, shipment_id: str = "s1", customer_id: str = "c1", order_id: str = "o1", **fields) -> dict:
    fields.setdefault("status", "in_transit")
    return event("shipment.updated", _ts(hours), customer_id, order_id=order_id, shipment_id=shipment_id, **fields)


def config(**params):
    return load(None, {"engine.allowed_lateness_seconds": 0,
                       **{f"detectors.delivery_at_risk.{k}": v for k, v in params.items()}})


def run(events, cfg, engine=None):
    """The delivery triggers (other kinds, a stalled parcel say, may fire too)."""
    return [t for t in replay(sorted(events, key=lambda e: e["ts"]), cfg, engine=engine)
            if t.kind in ("delivery_at_risk", "delivery_late")]


def parcel(start: float = 0.0) -> list[dict]:
    """Order at ``start`` h, shipped 2 h later with an ETA 80 h after that (deadline ETA + 12 h)."""
    return [order(_ts(start)), shipped(_ts(start + 2), eta=_ts(start + 82))]


# With no threshold to clear and no outcomes required, an untrained model (p = 0.5) warns at its
# first judgement: the mechanics, apart from what the model learns.
EAGER = config(threshold=0.4, min_labels=0)


def test_it_warns_once_per_estimate_before_the_deadline_and_delivery_late_still_fires():
    triggers = run(parcel() + [scan(10), scan(40), tick(_ts(200))], EAGER)
    risk = [t for t in triggers if t.kind == "delivery_at_risk"]
    late = [t for t in triggers if t.kind == "delivery_late"]
    assert len(risk) == 1 and len(late) == 1
    t = risk[0]
    assert (t.customer_id, t.order_id, t.fired_at) == ("c1", "o1", _ts(10))  # the first scan
    assert t.score == 0.5 and t.evidence["probability"] == 0.5
    assert t.evidence["shipment_id"] == "s1" and t.evidence["deadline"] == late[0].fired_at == _ts(94)
    assert t.evidence["lead_hours"] == 84.0  # bought before the delivery_late deadline
    assert t.evidence["estimated_delivery_at"] == _ts(82) and t.evidence["carrier"] == "DHL"
    assert (t.route, t.priority) == ("human", "p4")  # no consent on record: a human, not the ai lane
    assert t.reasons[0]["code"] == "lateness_likely" and "s1" in t.reasons[0]["detail"]
    assert t.trigger_id != late[0].trigger_id


def test_a_new_estimate_is_a_new_episode():
    triggers = run(parcel() + [scan(10), scan(30, estimated_delivery_at=_ts(130)), scan(60), tick(_ts(200))], EAGER)
    risk = [t for t in triggers if t.kind == "delivery_at_risk"]
    assert [(t.fired_at, t.evidence["estimated_delivery_at"]) for t in risk] == [
        (_ts(10), _ts(82)), (_ts(30), _ts(130))]
    assert risk[1].evidence["first_estimated_delivery_at"] == _ts(82)
    assert any(r["code"] == "estimate_moved" for r in risk[1].reasons)


def test_no_warning_at_or_after_the_deadline_nor_for_a_cancelled_or_delivered_parcel():
    silent = parcel() + [tick(_ts(95)), scan(96), tick(_ts(200))]  # first scan after the deadline
    assert [t.kind for t in run(silent, config(threshold=0.4, min_labels=0, checkpoint_hours=[]))] == ["delivery_late"]
    cancelled = parcel() + [event("order.cancelled", _ts(5), order_id="o1"), scan(10), tick(_ts(200))]
    assert run(cancelled, EAGER) == []
    on_time = parcel() + [delivered(_ts(8)), scan(10), tick(_ts(200))]
    assert run(on_time, EAGER) == []


def test_checkpoints_judge_a_parcel_that_goes_silent():
    triggers = run(parcel() + [tick(_ts(200))], EAGER)  # no scan at all
    [t] = [t for t in triggers if t.kind == "delivery_at_risk"]
    assert t.fired_at == _ts(70)  # 24 h before the deadline, the first checkpoint
    assert t.evidence["lead_hours"] == 24.0 and t.evidence["last_status"] == "created"


def test_it_stays_quiet_until_it_has_learned_enough_outcomes():
    assert [t.kind for t in run(parcel() + [scan(10), tick(_ts(200))], config(threshold=0.4))] == ["delivery_late"]


def history(n_late: int, n_on_time: int) -> list[dict]:
    """Parcels whose outcome teaches the model: late ones were picked up slowly (first scan
    30 h after creation) and arrive 20 h past the deadline; on-time ones were scanned within
    5 h and arrive 8 h before their estimate."""
    out = []
    for i in range(n_late + n_on_time):
        late = i < n_late
        c, o, s = f"h{i}", f"ho{i}", f"hs{i}"
        t0 = (i * 7) % 300  # spread over twelve days
        out += [order(_ts(t0), order_id=o, customer_id=c),
                shipped(_ts(t0 + 2), eta=_ts(t0 + 82), shipment_id=s, order_id=o, customer_id=c),
                scan(t0 + (32 if late else 7), s, c, o), scan(t0 + 56, s, c, o)]
        if late:
            out.append(delivered(_ts(t0 + 114), s, o, c))
        else:
            out += [scan(t0 + 72, s, c, o, status="out_for_delivery"), delivered(_ts(t0 + 74), s, o, c)]
    return out


def test_it_learns_what_late_parcels_look_like_and_warns_for_them():
    cfg = config(min_labels=100)
    engine = Engine(cfg)
    slow = [order(_ts(400), order_id="o-slow", customer_id="cx"),
            shipped(_ts(402), eta=_ts(482), shipment_id="slow", order_id="o-slow", customer_id="cx"),
            scan(432, "slow", "cx", "o-slow")]
    quick = [order(_ts(400), order_id="o-quick", customer_id="cy"),
             shipped(_ts(402), eta=_ts(482), shipment_id="quick", order_id="o-quick", customer_id="cy"),
             scan(407, "quick", "cy", "o-quick"), scan(440, "quick", "cy", "o-quick")]
    triggers = run(history(60, 240) + slow + quick + [tick(_ts(480))], cfg, engine)
    risk = [t for t in triggers if t.kind == "delivery_at_risk"]
    mine = [t for t in risk if t.evidence["shipment_id"] in ("slow", "quick")]
    # The slowly picked-up parcel is judged late at its first checkpoint, a day before the
    # deadline (its ETA 482 h + 12 h grace); the quick one, on the same route, is not.
    assert [(t.evidence["shipment_id"], t.fired_at) for t in mine] == [("slow", _ts(470))]
    assert mine[0].score >= 0.7 and mine[0].evidence["lead_hours"] == 24.0
    assert mine[0].evidence["features"]["pickup_days"] == 1.25
    # Once it had learned enough, it also warned about the history's parcels: the late ones.
    warned = {t.evidence["shipment_id"] for t in risk} - {"slow"}
    assert warned and all(int(s[2:]) < 60 for s in warned)
    model = engine.models["delivery_at_risk"]
    assert model.prequential.get()["roc_auc"] > 0.9  # judged on each outcome before learning it
