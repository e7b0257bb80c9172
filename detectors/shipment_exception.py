"""``shipment_exception``: the carrier reports a problem with a parcel; fires at once.

Every ``shipment.exception`` is its own situation (a parcel can fail a delivery attempt
today and be held by customs next week). The carrier's code becomes plain words for the
agent, with what usually helps, and flags the routing table keys on: ``lost`` and
``damaged`` (the goods must be replaced or refunded), ``urgent`` (the customer has days
to act before the parcel goes back).

>>> EXPLAIN["customs_hold"].flags
('urgent',)

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("shipment_exception")]
[('2026-01-01T00:00:00Z', 'lost')]
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import msgspec

from detectors.base import Candidate, Detector, example_event, order_value, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from forewarn.core.timefmt import format_us
from forewarn.core.text import DETAIL_MAX, ID_MAX, NAME_MAX, clean, quote, said


class Explained(NamedTuple):
    words: str  # what happened, for the agent
    next_step: str  # what usually resolves it
    flags: tuple[str, ...]


EXPLAIN: dict[str, Explained] = {
    "failed_attempt": Explained(
        "the courier could not deliver it (nobody home)",
        "Tell the customer when the next attempt is, or offer a pick-up point.", ()),
    "address_issue": Explained(
        "the carrier cannot deliver to the address given",
        "Confirm the address with the customer quickly: carriers return parcels after a few days.",
        ("urgent",)),
    "damaged": Explained(
        "the parcel was damaged in transit",
        "Offer a replacement or a refund; the carrier claim is ours to file.", ("damaged",)),
    "lost": Explained(
        "the carrier has lost the parcel",
        "Offer a replacement or a refund now; do not wait for the carrier's search.", ("lost",)),
    "customs_hold": Explained(
        "customs is holding the parcel and asks for documents",
        "Help the customer send what customs asks for: held parcels are returned after a deadline.",
        ("urgent",)),
    "other": Explained(
        "the carrier reports a delay or problem it did not classify",
        "Check the carrier's detail and tell the customer what it means for delivery.", ()),
}


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[detectors.shipment_exception]``: no thresholds; every carrier exception fires."""


class ShipmentException(Detector):
    kind: ClassVar[str] = "shipment_exception"
    Params = Params
    PRIORITY = "p2"
    ROUTE = "ai"
    SUBJECT = "shipment"
    COOLDOWN_HOURS = 6.0
    LEAD_TIMES = True
    EXAMPLE = (
        example_event("shipment.exception", "2026-01-01T00:00:00Z", order_id="o1", shipment_id="s1", code="lost"),
    )

    EVENTS: ClassVar[frozenset[type]] = frozenset({ev.ShipmentException})

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        if not isinstance(event, ev.ShipmentException):
            return []
        x = EXPLAIN[event.code]
        ship = cust.shipments.get(event.shipment_id)
        carrier = ship.carrier if ship is not None else None
        value, currency = order_value(cust, event.order_id)
        detail = f" The carrier reported: {quote(event.detail, DETAIL_MAX)}." if clean(event.detail) else ""
        return [Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=event.order_id,
            subject=event.shipment_id,
            episode=f"{event.code}@{format_us(event.ts_us)}",
            fired_at=event.ts_us,
            reasons=[Reason(
                event.code,
                f"Parcel {clean(event.shipment_id, ID_MAX)} with {said('carrier', carrier, NAME_MAX, 'the carrier')}: "
                f"{x.words}.{detail} {x.next_step}",
            )],
            evidence={
                "shipment_id": event.shipment_id,
                "carrier": carrier,
                "exception_code": event.code,
                "carrier_detail": clean(event.detail, DETAIL_MAX),
                "status_before": ship.status if ship is not None else None,
                "estimated_delivery_at": format_us(ship.eta_us) if ship is not None else None,
            },
            value_at_risk=value,
            currency=currency,
            flags=x.flags,
        )]
