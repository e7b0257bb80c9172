"""``delivery_late``: a shipment not delivered by its estimate plus a grace period.

Armed by ``shipment.created``; a new ``estimated_delivery_at`` on ``shipment.updated``
re-arms it at the new estimate (a new episode), and arms it for a parcel whose creation this
input never showed (a recording that starts later). ``shipment.delivered`` or
``order.cancelled`` before the deadline disarms it. Fires once per episode, at the
deadline, when the watermark passes it — even if the customer never sends another event.

>>> from detectors.delivery_late import Params
>>> Params().grace_hours
12.0

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("delivery_late")]
[('2026-01-02T12:00:00Z', 'past_delivery_estimate')]
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from detectors.base import Candidate, Detector, example_event, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from forewarn.core.timefmt import HOUR, format_us
from forewarn.core.text import ID_MAX, NAME_MAX, clean, said


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Thresholds under ``[detectors.delivery_late]``.

    grace_hours: how long past ``estimated_delivery_at`` a parcel may still arrive
        before it counts as late (0..720).
    """

    grace_hours: Annotated[float, msgspec.Meta(ge=0, le=720)] = 12.0


def _cancelled(cust: CustomerState, order_id: str) -> bool:
    order = cust.orders.get(order_id)
    return order is not None and order.status == "cancelled"


class DeliveryLate(Detector):
    kind: ClassVar[str] = "delivery_late"
    Params = Params
    PRIORITY = "p3"
    ROUTE = "ai"
    SUBJECT = "shipment"
    COOLDOWN_HOURS = 0.0  # every late parcel is its own case
    LEAD_TIMES = True
    EVENTS: ClassVar[frozenset[type]] = frozenset({
        ev.ShipmentCreated, ev.ShipmentUpdated, ev.ShipmentDelivered, ev.OrderCancelled})
    EXAMPLE = (
        example_event("shipment.created", "2026-01-01T00:00:00Z", order_id="o1", shipment_id="s1",
                      estimated_delivery_at="2026-01-02T00:00:00Z"),
        example_event("customer.activity", "2026-01-03T00:00:00Z", kind="session"),  # time moves on
    )

    def _arm(self, sched: Scheduler, shipment_id: str, eta_us: int) -> None:
        sched.arm(shipment_id, eta_us + int(self.params.grace_hours * HOUR))

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        match event:
            case ev.ShipmentCreated():
                if not _cancelled(cust, event.order_id):  # the cancellation may be read first
                    self._arm(sched, event.shipment_id, ev.to_us(event.estimated_delivery_at))
            case ev.ShipmentUpdated(estimated_delivery_at=eta) if eta is not None:
                ship = cust.shipments.get(event.shipment_id)
                if ship is not None and ship.eta_us != ev.to_us(eta) or ship is None and not _cancelled(cust, event.order_id):
                    self._arm(sched, event.shipment_id, ev.to_us(eta))
            case ev.ShipmentDelivered():
                sched.disarm(event.shipment_id)
            case ev.OrderCancelled():
                for sid, ship in cust.shipments.items():
                    if ship.order_id == event.order_id:
                        sched.disarm(sid)
        return []

    def on_deadline(self, cust: CustomerState, shipment_id: str, deadline_us: int, sched: Scheduler) -> list[Candidate]:
        ship = cust.shipments.get(shipment_id)
        if ship is None:
            return []
        order = cust.orders.get(ship.order_id)
        # The grace this deadline was armed with: a live change of grace_hours applies to
        # deadlines armed after it, so the current params may not be what decided this one.
        late_by_h = (deadline_us - ship.eta_us) / HOUR
        carrier = said("carrier", ship.carrier, NAME_MAX, "the carrier")
        return [Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=ship.order_id,
            subject=shipment_id,
            episode=format_us(ship.eta_us),
            fired_at=deadline_us,
            reasons=[Reason(
                "past_delivery_estimate",
                f"Parcel {clean(shipment_id, ID_MAX)} with {carrier} was due {format_us(ship.eta_us)} "
                f"and is still not delivered {late_by_h:g} h later "
                f"(last status: {ship.status.replace('_', ' ')}).",
            )],
            evidence={
                "shipment_id": shipment_id,
                "carrier": ship.carrier,
                "estimated_delivery_at": format_us(ship.eta_us),
                "grace_hours": late_by_h,
                "deadline": format_us(deadline_us),
                "last_status": ship.status,
                "last_update_at": format_us(ship.last_update_us),
            },
            value_at_risk=order.total if order is not None else 0.0,
        )]
