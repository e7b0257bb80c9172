"""``shipment_stalled``: a parcel on its way with no carrier scan for ``stall_hours``.

Every shipment event that leaves the parcel in transit (``shipment.created``, a
``shipment.updated`` to ``in_transit`` or ``out_for_delivery``) re-arms a deadline at its
event time plus ``stall_hours``. A ``shipment.exception`` disarms it (the exception is its
own trigger, and a parcel held by customs is not "stalled"); the next scan re-arms it.
``shipment.delivered`` or ``order.cancelled`` of the parcel's order ends the watch for good.
Fires once per quiet spell, at the last scan plus ``stall_hours``, even if nothing else
ever arrives for this customer.

>>> from detectors.shipment_stalled import Params
>>> Params().stall_hours
48.0

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("shipment_stalled")]
[('2026-01-03T00:00:00Z', 'no_carrier_update')]
"""

from __future__ import annotations

from typing import Annotated, ClassVar

import msgspec

from detectors.base import Candidate, Detector, example_event, order_value, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from forewarn.core.timefmt import HOUR, format_us
from forewarn.core.text import ID_MAX, NAME_MAX, clean, said


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Thresholds under ``[detectors.shipment_stalled]``.

    stall_hours: how long a parcel in transit may go without a carrier scan before it
        counts as stalled (1..720). Carriers scan at every hub, usually several times a
        day; two days of silence means the parcel is stuck or lost.
    """

    stall_hours: Annotated[float, msgspec.Meta(ge=1, le=720)] = 48.0


class ShipmentStalled(Detector):
    kind: ClassVar[str] = "shipment_stalled"
    Params = Params
    PRIORITY = "p3"
    ROUTE = "ai"
    SUBJECT = "shipment"
    COOLDOWN_HOURS = 6.0
    LEAD_TIMES = True
    EXAMPLE = (
        example_event("shipment.created", "2026-01-01T00:00:00Z", order_id="o1", shipment_id="s1",
                      estimated_delivery_at="2026-01-05T00:00:00Z"),
        example_event("customer.activity", "2026-01-04T00:00:00Z", kind="session"),  # time moves on
    )

    def __init__(self, params: Params) -> None:
        self.params = params
        self.stall_us = int(params.stall_hours * HOUR)

    def _watch(self, cust: CustomerState) -> dict[str, list]:
        # shipment_id -> [order_id, last status, last scan us]: what the deadline needs to
        # speak about a parcel this engine may never have seen created (it started later).
        return cust.ext.setdefault(self.kind, {})

    # The event types it reads; the engine calls it for no others (most events are engagement).
    EVENTS: ClassVar[frozenset[type]] = frozenset({
        ev.ShipmentCreated, ev.ShipmentUpdated, ev.ShipmentException, ev.ShipmentDelivered, ev.OrderCancelled})

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        match event:
            case ev.ShipmentCreated() | ev.ShipmentUpdated():
                status = "created" if isinstance(event, ev.ShipmentCreated) else event.status
                ts = event.ts_us
                self._watch(cust)[event.shipment_id] = [event.order_id, status, ts]
                sched.arm(event.shipment_id, ts + self.stall_us)
            case ev.ShipmentException():
                self._stop(cust, sched, event.shipment_id)
            case ev.ShipmentDelivered():
                self._stop(cust, sched, event.shipment_id)
            case ev.OrderCancelled():
                watch = cust.ext.get(self.kind, {})
                for sid in [sid for sid, (oid, _, _) in watch.items() if oid == event.order_id]:
                    self._stop(cust, sched, sid)
        return []

    def _stop(self, cust: CustomerState, sched: Scheduler, shipment_id: str) -> None:
        sched.disarm(shipment_id)
        watch = cust.ext.get(self.kind)
        if watch is not None:
            watch.pop(shipment_id, None)
            if not watch:
                del cust.ext[self.kind]

    def on_deadline(self, cust: CustomerState, shipment_id: str, deadline_us: int, sched: Scheduler) -> list[Candidate]:
        watched = cust.ext.get(self.kind, {}).get(shipment_id)
        if watched is None:
            return []
        order_id, status, last_us = watched
        self._stop(cust, sched, shipment_id)  # the next scan opens a new spell
        ship = cust.shipments.get(shipment_id)
        carrier = ship.carrier if ship is not None else None
        value, currency = order_value(cust, order_id)
        # The stall time this deadline was armed with (a live change applies to later arming).
        hours = (deadline_us - last_us) / HOUR
        return [Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=order_id,
            subject=shipment_id,
            episode=format_us(last_us),
            fired_at=deadline_us,
            reasons=[Reason(
                "no_carrier_update",
                f"Parcel {clean(shipment_id, ID_MAX)} with {said('carrier', carrier, NAME_MAX, 'the carrier')} has had no scan for {hours:g} h: "
                f"last seen {status.replace('_', ' ')} at {format_us(last_us)}. "
                "Ask the carrier to trace it before the customer asks us.",
            )],
            evidence={
                "shipment_id": shipment_id,
                "carrier": carrier,
                "last_status": status,
                "last_update_at": format_us(last_us),
                "stall_hours": hours,
                "estimated_delivery_at": format_us(ship.eta_us) if ship is not None else None,
            },
            value_at_risk=value,
            currency=currency,
        )]
