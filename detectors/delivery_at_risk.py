"""``delivery_at_risk``: the predictive warning, before a parcel's delivery_late deadline.

Every shipment is followed by :class:`online_models.lateness.LatenessModel`: it is
evaluated at every carrier scan (``shipment.updated``,
``shipment.exception``) and at checkpoints ``checkpoint_hours`` before its deadline — the
deadline :mod:`detectors.delivery_late` armed (ETA plus its grace), read from that
detector's timer so the two never disagree; this detector therefore runs after it. Each
evaluation predicts first and waits, with its features and probability, for the parcel's
outcome: delivered by the deadline it was about (label 0), or that deadline passed first
(label 1). Then the model learns it.

It fires when the probability reaches ``threshold`` — once the model has learned
``min_labels`` outcomes — at most once per episode (one ETA), always before the deadline,
with the probability as ``score`` and the lead time it bought in ``evidence``. It never
replaces or suppresses ``delivery_late``, which fires at the deadline as ever.

>>> Params().threshold, Params().checkpoint_hours
(0.7, [24.0, 12.0, 6.0])

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("delivery_at_risk")]
[('2026-01-02T00:00:00Z', 'lateness_likely')]
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

from detectors.delivery_late import DeliveryLate
from detectors.base import Candidate, Detector, example_event, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState, Shipment
from forewarn.core.timefmt import HOUR, format_us, whole_seconds
from forewarn.core.text import ID_MAX, NAME_MAX, clean, said
from online_models.base import ModelPerWorker
from online_models.labels import Pending, keep_last
from online_models.lateness import LatenessModel, Parcel
from online_models.shipment_features import NUMERIC, Parcels, Watch, categories, features

MAX_PENDING = 3  # evaluations kept per open shipment: the latest, nearest the deadline


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Thresholds under ``[detectors.delivery_at_risk]``.

    threshold: warn when the probability of missing the deadline reaches this (0..1).
    checkpoint_hours: besides every carrier scan, evaluate this many hours before the
        deadline (each 0..720), so a parcel that goes silent is still judged in time.
    min_labels: parcel outcomes the model must have learned before it may warn (>=0).
    """

    threshold: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.7
    checkpoint_hours: list[Annotated[float, msgspec.Meta(ge=0, le=720)]] = msgspec.field(
        default_factory=lambda: [24.0, 12.0, 6.0])
    min_labels: Annotated[int, msgspec.Meta(ge=0)] = 300


class DeliveryAtRisk(Detector):
    kind: ClassVar[str] = "delivery_at_risk"
    Params = Params
    PRIORITY = "p4"
    ROUTE = "ai"
    SUBJECT = "shipment"
    MODEL_BASED = True
    LEAD_TIMES = True
    EVENTS: ClassVar[frozenset[type]] = frozenset({
        ev.OrderPlaced, ev.ShipmentCreated, ev.ShipmentUpdated, ev.ShipmentException, ev.ShipmentDelivered,
        ev.OrderCancelled})
    EXAMPLE = (
        example_event("shipment.created", "2026-01-01T00:00:00Z", order_id="o1", shipment_id="s1",
                      estimated_delivery_at="2026-01-03T00:00:00Z"),
        example_event("shipment.updated", "2026-01-02T00:00:00Z", order_id="o1", shipment_id="s1",
                      status="in_transit"),
    )
    EXAMPLE_SETTINGS = {"threshold": 0.0, "min_labels": 0}  # an untrained model: any probability fires

    def __init__(self, params: Params) -> None:
        self._take(params)
        self.models = ModelPerWorker(LatenessModel)

    def retune(self, params: Params, config: Any) -> DeliveryAtRisk:
        """New thresholds while running: read at each use, nothing learned is lost. Parcels
        already watched keep the checkpoints they have armed until their next judgement."""
        self._take(params)
        return self

    def _take(self, params: Params) -> None:
        self.params = params
        # How long before the deadline each checkpoint is, computed once (asked at every scan).
        self.before_us = sorted({whole_seconds(h * HOUR) for h in params.checkpoint_hours}, reverse=True)

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        t = type(event)
        if t is ev.OrderPlaced:
            self._parcels(cust).note_order(event.order_id, event.shipping_address.country)
            return []
        if t is ev.ShipmentCreated:
            parcels = self._parcels(cust)
            country = parcels.countries.pop(event.order_id, "")
            # The deadline delivery_late has just armed fixes the checkpoints; none armed (the
            # order was cancelled) means nothing to watch.
            deadline = sched.deadline_of(DeliveryLate.kind, event.shipment_id)
            if deadline is not None:
                parcels.watches[event.shipment_id] = Watch(country, ev.to_us(event.estimated_delivery_at))
                # Nothing is known yet beyond carrier and route: the first judgement comes at
                # the first scan or checkpoint.
                sched.arm(event.shipment_id, self._next_checkpoint(deadline, event.ts_us))
            return []
        if t is ev.ShipmentUpdated or t is ev.ShipmentException:
            found = self._watched(cust, event.shipment_id)
            if found is None:
                return []
            ship, watch = found
            ts = event.ts_us
            watch.scans += 1
            if not watch.first_scan_us or ts < watch.first_scan_us:
                watch.first_scan_us = ts
            # The state is applied after the detectors: look at the parcel as this scan leaves it.
            eta, status = ship.eta_us, "exception"
            if t is ev.ShipmentUpdated:
                status = event.status
                if event.estimated_delivery_at is not None:
                    eta = ev.to_us(event.estimated_delivery_at)
            after = msgspec.structs.replace(ship, status=status, eta_us=eta, last_update_us=max(ship.last_update_us, ts))
            return self._evaluate(cust, event.shipment_id, after, watch, ts, sched)
        if t is ev.ShipmentDelivered:
            found = self._watched(cust, event.shipment_id)
            if found is not None:
                ship, watch = found
                self._resolve(event.shipment_id, ship, watch, event.ts_us, delivered=True)
                del cust.ext[self.kind].watches[event.shipment_id]
                sched.disarm(event.shipment_id)
            return []
        if t is ev.OrderCancelled:
            parcels = cust.ext.get(self.kind)
            if parcels is not None:
                for sid in list(parcels.watches):
                    ship = cust.shipments.get(sid)
                    if ship is not None and ship.order_id == event.order_id:
                        del parcels.watches[sid]  # a cancelled parcel has no outcome to learn from
                        sched.disarm(sid)
        return []

    def _parcels(self, cust: CustomerState) -> Parcels:
        parcels = cust.ext.get(self.kind)
        if parcels is None:
            parcels = cust.ext[self.kind] = Parcels()
        return parcels

    def _watched(self, cust: CustomerState, shipment_id: str) -> tuple[Shipment, Watch] | None:
        parcels = cust.ext.get(self.kind)
        watch = parcels.watches.get(shipment_id) if parcels is not None else None
        ship = cust.shipments.get(shipment_id)
        return (ship, watch) if watch is not None and ship is not None else None

    def _resolve(self, shipment_id: str, ship: Shipment, watch: Watch, now: int, delivered: bool) -> None:
        """Learn the evaluations whose outcome is known at ``now``.

        Delivered: each was about a deadline, and the parcel beat it or not. Not delivered:
        the evaluations whose deadline has passed are late (a changed ETA leaves earlier
        ones behind).
        """
        if not (delivered or any(pend.due_us <= now for pend in watch.pending)):
            return
        cats = categories(ship, watch)
        model = self.models.get()
        keep = []
        for pend in watch.pending:
            if delivered or pend.due_us <= now:
                # Delivered exactly at the deadline is on time (the event is applied before
                # the deadline fires); not delivered by it is late.
                late = now > pend.due_us if delivered else True
                model.learn(Parcel(pend.values(), cats, shipment_id), late, pend.p)
            else:
                keep.append(pend)
        watch.pending = keep

    def on_deadline(self, cust: CustomerState, shipment_id: str, deadline_us: int, sched: Scheduler) -> list[Candidate]:
        found = self._watched(cust, shipment_id)
        if found is None:
            return []
        ship, watch = found
        return self._evaluate(cust, shipment_id, ship, watch, deadline_us, sched)

    def _next_checkpoint(self, deadline: int, now: int) -> int:
        """The next checkpoint after ``now``, or the deadline itself (where the late are learned)."""
        for before in self.before_us:  # the earliest checkpoint first
            if deadline - before > now:
                return deadline - before
        return deadline

    def _evaluate(self, cust: CustomerState, shipment_id: str, ship: Shipment, watch: Watch, now: int,
                  sched: Scheduler) -> list[Candidate]:
        """Judge the parcel at ``now``: learn what has become late, predict, arm the next checkpoint."""
        self._resolve(shipment_id, ship, watch, now, delivered=False)
        deadline = sched.deadline_of(DeliveryLate.kind, shipment_id)
        if deadline is None or now >= deadline:
            return []  # delivery_late is not watching it (cancelled, or its deadline has passed)
        nxt = self._next_checkpoint(deadline, now)
        if sched.armed(shipment_id) != nxt:  # most scans leave the next checkpoint where it was
            sched.arm(shipment_id, nxt)
        values = features(ship, watch, now, deadline)
        model, params = self.models.get(), self.params
        p = model.score(Parcel(values, categories(ship, watch), shipment_id))
        watch.pending = keep_last([*watch.pending, Pending.make(values, p, deadline)], MAX_PENDING)
        fired = p >= params.threshold and model.labels >= params.min_labels and watch.warned_eta_us != ship.eta_us
        model.observe(cust.customer_id, shipment_id, ship.order_id, now, p, fired)
        sched.score(self.kind, p, params.threshold)
        if not fired:
            return []
        watch.warned_eta_us = ship.eta_us
        return [self._candidate(cust, shipment_id, ship, watch, now, deadline, values, p, model.labels)]

    def _candidate(self, cust: CustomerState, shipment_id: str, ship: Shipment, watch: Watch, now: int,
                   deadline: int, values: tuple[float, ...], p: float, labels: int) -> Candidate:
        f = dict(zip(NUMERIC, values))
        carrier = said("carrier", ship.carrier, NAME_MAX, "the carrier")
        lead = (deadline - now) / HOUR
        reasons = [Reason("lateness_likely",
                          f"Parcel {clean(shipment_id, ID_MAX)} with {carrier} will probably miss its estimate "
                          f"{format_us(ship.eta_us)} ({p:.0%}); a late-delivery notice would be due "
                          f"{format_us(deadline)}, {lead:.0f} h from now.")]
        if f["past_eta"] and ship.status != "out_for_delivery":
            reasons.append(Reason("past_estimate", f"The estimate has passed and the parcel is "
                                                   f"{ship.status.replace('_', ' ')}, not out for delivery."))
        if f["eta_slip_days"] > 0:
            reasons.append(Reason("estimate_moved", f"The carrier moved the estimate back by {f['eta_slip_days']:.1f} days."))
        if ship.status == "exception":
            reasons.append(Reason("carrier_exception", "The carrier reported a problem with the parcel."))
        if f["days_since_scan"] >= 1:
            reasons.append(Reason("no_recent_scan", f"No carrier scan for {f['days_since_scan'] * 24:.0f} h."))
        order = cust.orders.get(ship.order_id)
        return Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=ship.order_id,
            subject=shipment_id,
            episode=format_us(ship.eta_us),
            fired_at=now,
            reasons=reasons,
            evidence={
                "shipment_id": shipment_id,
                "carrier": ship.carrier,
                "destination": watch.country or None,
                "estimated_delivery_at": format_us(ship.eta_us),
                "first_estimated_delivery_at": format_us(watch.first_eta_us),
                "deadline": format_us(deadline),
                "lead_hours": round(lead, 2),
                "probability": round(p, 4),
                "threshold": self.params.threshold,
                "labels_learned": labels,
                "last_status": ship.status,
                "last_update_at": format_us(ship.last_update_us),
                "features": {k: round(v, 4) for k, v in f.items()},
            },
            score=round(p, 4),
            value_at_risk=order.total if order is not None else 0.0,
        )
