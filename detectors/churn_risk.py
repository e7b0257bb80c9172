"""``churn_risk``: a customer with a habit who has gone quiet, judged by a model trained on delayed labels.

Each ``order.placed`` (of a customer with at least ``min_orders`` visits; a second order
within 12 hours is the same visit) opens a prediction: "no next order within the window" — ``horizon_gaps`` of the customer's expected
gaps between orders, kept within ``min_horizon_days``..``max_horizon_days``. It is evaluated
at the order and again at checkpoints of the customer's own rhythm while they stay quiet
(first after ``check_gaps`` expected gaps, then every ``recheck_gaps``, for up to
``give_up_days``); each evaluation predicts first (:class:`online_models.churn.ChurnModel`)
and waits in the customer's state, with its features and probability, for its label: the
next order closes every open window with 0, the end of a window (an event-time deadline)
closes it with 1. Then the model learns.

A checkpoint fires when the probability reaches ``threshold``: once per quiet spell, and
at most once per ``cooldown_days`` per customer. The trigger gives the agent the expected next order date
and the customer lifetime value (historic and predicted) in ``evidence`` and ``customer``,
and the facts behind the score in ``reasons``. Activity, failed payments, late deliveries,
exceptions and returns only bump counters: no model call.

>>> Params().threshold, Params().horizon_gaps
(0.85, 3.0)

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("churn_risk")]
[('2026-01-30T11:59:59Z', 'quiet')]
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

from detectors.base import Candidate, Detector, example_event, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from forewarn.core.timefmt import DAY, format_us, whole_seconds
from online_models.base import ModelPerWorker
from online_models.churn import ChurnModel, Outlook
from online_models.customer_features import FEATURES, Habit, features, same_visit
from online_models.labels import Pending, keep_last

# Its two timers: the next checkpoint of a quiet customer, and the end of the first open window.
CHECK = "check"
DUE = "due"
MAX_PENDING = 4  # evaluations waiting for their label per customer (each ~90 bytes)


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Thresholds under ``[detectors.churn_risk]``.

    threshold: fire when the churn probability reaches this (0..1).
    cooldown_days: at most one churn_risk trigger per customer in this many days (>=0).
    min_orders: only customers with at least this many orders on separate visits (12 h
        apart) have a habit to lose (>=1).
    check_gaps: first checkpoint after this many expected gaps without an order (>0).
    recheck_gaps: then again every this many expected gaps (>0) ...
    give_up_days: ... until the customer has been quiet this long (>0).
    min_check_days: never a checkpoint sooner than this many days after an order (>=0).
    horizon_gaps: a prediction's window, in expected gaps: no order within it means
        churned (>0) ...
    min_horizon_days, max_horizon_days: ... kept within these bounds (days).
    """

    threshold: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.85
    cooldown_days: Annotated[float, msgspec.Meta(ge=0)] = 14.0
    min_orders: Annotated[int, msgspec.Meta(ge=1)] = 2
    check_gaps: Annotated[float, msgspec.Meta(gt=0)] = 1.5
    recheck_gaps: Annotated[float, msgspec.Meta(gt=0)] = 0.75
    give_up_days: Annotated[float, msgspec.Meta(gt=0)] = 90.0
    min_check_days: Annotated[float, msgspec.Meta(ge=0)] = 2.0
    horizon_gaps: Annotated[float, msgspec.Meta(gt=0)] = 3.0
    min_horizon_days: Annotated[float, msgspec.Meta(gt=0)] = 7.0
    max_horizon_days: Annotated[float, msgspec.Meta(gt=0)] = 60.0


class ChurnRisk(Detector):
    kind: ClassVar[str] = "churn_risk"
    Params = Params
    PRIORITY = "p3"
    ROUTE = "human"
    SUBJECT = "customer"
    COOLDOWN_HOURS = 0.0  # the model keeps its own once-per-customer cooldown
    MODEL_BASED = True
    EVENTS: ClassVar[frozenset[type]] = frozenset({
        ev.CustomerActivity, ev.OrderPlaced, ev.PaymentFailed, ev.ShipmentException, ev.OrderReturned,
        ev.ShipmentDelivered})
    EXAMPLE = tuple(
        example_event("order.placed", f"2026-01-{day:02d}T00:00:00Z", order_id=f"o{day}", total=80.0,
                      currency="EUR", items=[{"sku": "sku-1", "qty": 1, "unit_price": 80.0}],
                      shipping_address={"country": "DE", "city": "Berlin", "postal_code": "10115"})
        for day in (1, 8, 15)  # a weekly habit ...
    ) + (example_event("customer.activity", "2026-03-01T00:00:00Z", "c2", kind="session"),)  # ... then silence
    EXAMPLE_SETTINGS = {"threshold": 0.0}  # an untrained model: any probability fires

    def __init__(self, params: Params) -> None:
        self.params = params
        self.models = ModelPerWorker(ChurnModel)

    def retune(self, params: Params, config: Any) -> ChurnRisk:
        """New thresholds while running: read at each use, nothing learned is lost."""
        self.params = params
        return self

    def _habit(self, cust: CustomerState, ts: int) -> Habit:
        h = cust.ext.get(self.kind)
        if h is None:
            h = cust.ext[self.kind] = Habit(since_us=ts)
        return h

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        t = type(event)
        if t is ev.CustomerActivity:  # the most frequent event: keep this path short
            h = cust.ext.get(self.kind) or self._habit(cust, event.ts_us)
            if event.kind == "support_contact":
                h.support += 1
            else:
                h.activity += 1
        elif t is ev.OrderPlaced:
            return self._order(cust, event, sched)
        elif t is ev.PaymentFailed:
            self._habit(cust, event.ts_us).failed_payments += 1
        elif t is ev.ShipmentException:
            self._habit(cust, event.ts_us).exceptions += 1
        elif t is ev.OrderReturned:
            self._habit(cust, event.ts_us).returns += 1
        elif t is ev.ShipmentDelivered:
            ship = cust.shipments.get(event.shipment_id)
            if ship is not None and event.ts_us > ship.eta_us:
                self._habit(cust, event.ts_us).late_deliveries += 1
        return []

    def _order(self, cust: CustomerState, event: ev.OrderPlaced, sched: Scheduler) -> list[Candidate]:
        ts = event.ts_us
        h = self._habit(cust, ts)
        last = cust.last_order_us
        if last is not None and ts <= last or same_visit(ts, last):
            # An older order arriving late (the open predictions are about a later one), or
            # one more order of the same visit: neither changes the customer's rhythm.
            return []
        model = self.models.get()
        if last is not None and h.visits >= self.params.min_orders:
            model.note_spell((ts - last - h.spell_noted_us) / DAY, True)
        h.spell_noted_us = 0
        for pend in h.pending:  # the customer came back within every open window
            self._learn(pend, False)
        h.pending = []
        sched.disarm(DUE)
        h.order_placed(ts, last)
        if h.visits < self.params.min_orders:
            return []  # one visit is not yet a habit: nothing to predict
        # The state counts this order only after the detectors have seen it.
        self._evaluate(cust, h, ts, ts, cust.orders_count + 1, cust.ltv + event.total, sched)
        g = model.expected_gap_days(h)
        sched.arm(CHECK, ts + whole_seconds(max(self.params.check_gaps * g, self.params.min_check_days) * DAY))
        return []

    def on_deadline(self, cust: CustomerState, timer: str, deadline_us: int, sched: Scheduler) -> list[Candidate]:
        h = cust.ext.get(self.kind)
        last = cust.last_order_us
        if h is None or last is None:
            return []
        if timer == DUE:
            self._due(h, last, deadline_us, sched)
            return []
        return self._check(cust, h, deadline_us, sched)

    def _due(self, h: Habit, last: int, now: int, sched: Scheduler) -> None:
        """Windows that ended without an order: label 1, learn; the store's exposure grows."""
        ended = [pend for pend in h.pending if pend.due_us <= now]
        if not ended:
            return
        h.pending = [pend for pend in h.pending if pend.due_us > now]
        for pend in ended:
            self._learn(pend, True)
        self.models.get().note_spell((now - last - h.spell_noted_us) / DAY, False)
        h.spell_noted_us = now - last
        if h.pending:
            sched.arm(DUE, min(pend.due_us for pend in h.pending))

    def _learn(self, pend: Pending, churned: bool) -> None:
        self.models.get().learn(pend.values(), churned, pend.p)

    def _evaluate(self, cust: CustomerState, h: Habit, now: int, last: int, orders: int, ltv: float,
                  sched: Scheduler) -> tuple[tuple[float, ...], float, float, Outlook, int]:
        """Predict for a window starting ``now``; keep the prediction until its label arrives."""
        model, p = self.models.get(), self.params
        window = min(max(p.horizon_gaps * model.expected_gap_days(h), p.min_horizon_days), p.max_horizon_days)
        due = now + whole_seconds(window * DAY)
        look = model.outlook(h, now, last, orders, ltv, due)
        x = features(h, now, orders, ltv, last,
                     look.expected_gap_days, look.activity_rate, look.prior)
        p_model = model.score(x)
        prob = model.blend(p_model, look.prior)
        h.pending = keep_last([*h.pending, Pending.make(x, prob, due)], MAX_PENDING)
        first_due = min(pend.due_us for pend in h.pending)
        if sched.armed(DUE) != first_due:
            sched.arm(DUE, first_due)
        return x, prob, p_model, look, due

    def _check(self, cust: CustomerState, h: Habit, now: int, sched: Scheduler) -> list[Candidate]:
        p = self.params
        last = cust.last_order_us
        x, prob, p_model, look, due = self._evaluate(cust, h, now, last, cust.orders_count, cust.ltv, sched)
        if now - last < p.give_up_days * DAY:
            sched.arm(CHECK, now + whole_seconds(p.recheck_gaps * look.expected_gap_days * DAY))
        # One warning per quiet spell (its trigger id is the spell's), and none within the
        # cooldown of the last one, across spells.
        free = not h.fired_us or (h.fired_us < last and now - h.fired_us >= p.cooldown_days * DAY)
        fired = prob >= p.threshold and free
        self.models.get().observe(cust.customer_id, cust.customer_id, None, now, prob, fired,
                                  {"model_score": p_model, "prior": look.prior})
        sched.score(self.kind, prob, p.threshold)
        if not fired:
            return []
        h.fired_us = now
        return [self._candidate(cust, h, now, x, prob, p_model, look, due)]

    def _candidate(self, cust: CustomerState, h: Habit, now: int, x: tuple[float, ...], prob: float,
                   p_model: float, look: Outlook, due: int) -> Candidate:
        f = dict(zip(FEATURES, x))
        last = cust.last_order_us
        quiet_days = (now - last) / DAY
        seen = h.activity - h.activity_at_order
        expected = look.activity_rate * quiet_days
        reasons = [Reason("quiet", f"No order for {quiet_days:.0f} days, {f['quiet_gaps']:.1f}x their usual "
                                   f"{look.expected_gap_days:.1f} days between orders.")]
        if seen + 1 < 0.5 * (expected + 1):
            reasons.append(Reason("engagement_drop", f"{seen} sessions, e-mail opens or clicks since the last "
                                                     f"order, where about {expected:.0f} would be usual."))
        if f["gap_trend"] > 0.4:
            reasons.append(Reason("orders_spacing_out", f"The last gap between orders ({h.last_gap_days:.0f} days) "
                                                        f"was longer than their average."))
        bad = [(n, what) for n, what in ((h.late_deliveries, "late deliveries"), (h.exceptions, "parcel problems"),
                                         (h.failed_payments, "failed payments"), (h.returns, "returns"),
                                         (h.support, "support contacts")) if n]
        if bad:
            reasons.append(Reason("bad_experiences", "Experienced " + ", ".join(f"{n} {what}" for n, what in bad) + "."))
        clv = {"historic": round(cust.ltv, 2), "predicted_365d": round(look.clv_predicted, 2),
               "total": round(cust.ltv + look.clv_predicted, 2)}
        next_order = format_us(look.next_order_us)
        return Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=None,
            subject=cust.customer_id,
            episode=format_us(last),  # the quiet spell since this order
            fired_at=now,
            reasons=reasons,
            evidence={
                "probability": round(prob, 4),
                "model_probability": round(p_model, 4),
                "prior_probability": round(look.prior, 4),
                "threshold": self.params.threshold,
                "labels_learned": self.models.get().labels,
                "p_alive": round(look.p_alive, 4),
                "expected_gap_days": round(look.expected_gap_days, 2),
                "expected_next_order_at": next_order,
                "last_order_at": format_us(last),
                "window_ends": format_us(due),
                "clv": clv,
                "features": {k: round(v, 4) for k, v in f.items()},
            },
            score=round(prob, 4),
            value_at_risk=round(look.clv_predicted, 2),
            customer={"expected_next_order_at": next_order, "clv": clv["total"], "p_alive": round(look.p_alive, 4)},
        )
