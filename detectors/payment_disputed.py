"""``payment_disputed``: the customer disputed a charge with their bank (a chargeback).

Fires at once on every ``payment.disputed``: the card network gives the shop a fixed time
to answer, and a customer who calls their bank instead of us needs a person, not a bot.
The routing table sends it to the human lane at p1 (``[routing.kinds]``); the ``dispute``
flag, and ``fraud`` when the customer says the purchase was not theirs, are what the
default rules also send to a person. The evidence carries what an agent needs to answer
the bank: the order, its payment and its parcel.

>>> REASONS["product_not_received"]
'says the goods never arrived'

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("payment_disputed")]
[('2026-01-01T00:00:00Z', 'chargeback')]
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from detectors.base import Candidate, Detector, example_event, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from forewarn.core.timefmt import format_us
from forewarn.core.text import DETAIL_MAX, ID_MAX, clean, quote

# The dispute reasons card networks and payment providers report, in words.
REASONS = {
    "product_not_received": "says the goods never arrived",
    "fraudulent": "says they did not make this purchase",
    "not_as_described": "says the goods were not as described",
    "duplicate": "says they were charged twice",
    "unrecognized": "does not recognise the charge",
    "subscription_canceled": "says they had cancelled",
    "credit_not_processed": "says a promised refund never came",
}
FRAUD_REASONS = frozenset({"fraudulent", "unrecognized"})


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[detectors.payment_disputed]``: no thresholds; every dispute fires."""


class PaymentDisputed(Detector):
    kind: ClassVar[str] = "payment_disputed"
    Params = Params
    PRIORITY = "p1"
    ROUTE = "human"
    SUBJECT = "order"
    COOLDOWN_HOURS = 0.0  # every chargeback has its own response deadline
    EXAMPLE = (
        example_event("payment.disputed", "2026-01-01T00:00:00Z", order_id="o1", amount=80.0, currency="EUR",
                      reason="product_not_received"),
    )

    EVENTS: ClassVar[frozenset[type]] = frozenset({ev.PaymentDisputed})

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        if not isinstance(event, ev.PaymentDisputed):
            return []
        said = REASONS.get(event.reason or "", f"gives the reason {quote(event.reason, DETAIL_MAX)}"
                           if clean(event.reason) else "gives no reason")
        order = cust.orders.get(event.order_id)
        parcels = {sid: s.status for sid, s in cust.shipments.items() if s.order_id == event.order_id}
        flags = ("dispute", "fraud") if event.reason in FRAUD_REASONS else ("dispute",)
        return [Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=event.order_id,
            subject=event.order_id,
            episode=format_us(event.ts_us),
            fired_at=event.ts_us,
            reasons=[Reason(
                "chargeback",
                f"The customer disputed {event.amount:.2f} {event.currency} for order {clean(event.order_id, ID_MAX)} "
                f"with their bank and {said}. Answer the bank within the network's deadline, with proof "
                "of order, payment and delivery; contact the customer before the bank decides.",
            )],
            evidence={
                "amount": event.amount,
                "currency": event.currency,
                "dispute_reason": clean(event.reason, DETAIL_MAX),
                "order_status": order.status if order is not None else None,
                "order_paid": order.paid if order is not None else None,
                "order_placed_at": format_us(order.placed_us) if order is not None else None,
                "parcels_not_delivered": parcels,  # shipment -> last status; a delivered parcel is not listed
            },
            value_at_risk=event.amount,
            currency=event.currency,
            flags=flags,
        )]
