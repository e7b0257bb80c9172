"""``payment_failed``: an order's payment failed and was not put right.

Per order, the first ``payment.failed`` opens an episode and arms a deadline
``recovery_minutes`` later; a ``payment.succeeded`` or ``order.cancelled`` for the order
closes the episode (a success at exactly the deadline is in time). It fires once per
episode: at the deadline if nothing put it right, or at once when a failure says waiting
is pointless — ``fraud_suspected``, or the ``max_attempts``-th attempt. After a success a
new failure opens a new episode.

Hard and soft declines, as card networks and Stripe's retry logic tell them apart:

* hard — the issuer will not approve this card as it stands, so no retry helps:
  ``expired_card`` (Visa's "cannot approve with these details": the customer must update
  the card) and ``fraud_suspected`` (never retried; card-network rules and Stripe advise
  not telling the customer it was a fraud decline).
* soft — a retry later or another payment method may well work: ``insufficient_funds``
  (Visa's "cannot approve at this time"), ``processing_error`` (a technical failure),
  ``card_declined`` (the issuer's generic refusal, which Stripe's Smart Retries retries),
  ``other`` (unknown: treated as soft).

>>> DECLINES["expired_card"].hard, DECLINES["insufficient_funds"].hard
(True, False)

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("payment_failed")]
[('2026-01-01T01:00:00Z', 'not_recovered')]
"""

from __future__ import annotations

from typing import Annotated, ClassVar, NamedTuple

import msgspec

from detectors.base import Candidate, Detector, example_event, order_value, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from forewarn.core.timefmt import MINUTE, format_us

MAX_OPEN = 16  # episodes remembered per customer; the oldest finished one goes first


class Decline(NamedTuple):
    hard: bool
    words: str  # what the code means, for the agent
    next_step: str


DECLINES: dict[str, Decline] = {
    "expired_card": Decline(
        True, "the card has expired",
        "A retry cannot help: ask the customer to update the card or pay another way."),
    "fraud_suspected": Decline(
        True, "the payment was refused as suspected fraud",
        "Do not retry and do not tell the customer it looked like fraud: present it as a "
        "declined payment and offer another method, after checking the order."),
    "insufficient_funds": Decline(
        False, "the card did not have enough funds",
        "A retry in a day or two, or another payment method, usually works."),
    "processing_error": Decline(
        False, "a technical error at the payment provider",
        "A retry usually works; ask the customer to try again."),
    "card_declined": Decline(
        False, "the card issuer declined without giving a reason",
        "A retry may work; otherwise the customer should call their bank or pay another way."),
    "other": Decline(
        False, "the payment failed for an unclassified reason",
        "Ask the customer to try again or use another payment method."),
}


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Thresholds under ``[detectors.payment_failed]``.

    recovery_minutes: how long after an order's first failure a successful payment still
        counts as recovered without help (1..10080). Most customers who retry on their own
        do so within the hour; later than that, a reminder helps.
    max_attempts: the attempt number (the event's ``attempt``; when missing, one more than
        the order's failures so far) at which a failure fires at once, without waiting for
        the window (1..100).
    """

    recovery_minutes: Annotated[float, msgspec.Meta(ge=1, le=10080)] = 60.0
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3


# gc=False: holds only values and lists of values, never a cycle (see forewarn/core/state.py).
class Episode(msgspec.Struct, array_like=True, gc=False):
    """One order's open failure episode (kept in ``cust.ext``)."""

    first_us: int
    amount: float
    currency: str
    codes: list[str]  # failure codes in order
    attempts: int  # highest attempt number seen
    fired: bool = False


class PaymentFailed(Detector):
    kind: ClassVar[str] = "payment_failed"
    Params = Params
    PRIORITY = "p2"
    ROUTE = "ai"
    SUBJECT = "order"
    COOLDOWN_HOURS = 1.0
    LEAD_TIMES = True
    EXAMPLE = (
        example_event("payment.failed", "2026-01-01T00:00:00Z", order_id="o1", amount=80.0, currency="EUR",
                      failure_code="card_declined"),
        example_event("customer.activity", "2026-01-01T02:00:00Z", kind="session"),  # no retry succeeded
    )

    def __init__(self, params: Params) -> None:
        self.params = params
        self.window_us = int(params.recovery_minutes * MINUTE)

    # The event types it reads; the engine calls it for no others (most events are engagement).
    EVENTS: ClassVar[frozenset[type]] = frozenset({ev.PaymentFailed, ev.PaymentSucceeded, ev.OrderCancelled})

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        match event:
            case ev.PaymentFailed():
                return self._failed(cust, event, sched)
            case ev.PaymentSucceeded() | ev.OrderCancelled():
                episodes = cust.ext.get(self.kind)
                if episodes is not None and episodes.pop(event.order_id, None) is not None:
                    sched.disarm(event.order_id)
                    if not episodes:
                        del cust.ext[self.kind]
        return []

    def _failed(self, cust: CustomerState, event: ev.PaymentFailed, sched: Scheduler) -> list[Candidate]:
        episodes: dict[str, Episode] = cust.ext.setdefault(self.kind, {})
        ts = event.ts_us
        ep = episodes.get(event.order_id)
        if ep is None:
            ep = episodes[event.order_id] = Episode(ts, event.amount, event.currency, [], 0)
            sched.arm(event.order_id, ts + self.window_us)
            if len(episodes) > MAX_OPEN:
                self._forget_oldest(episodes, sched)
        ep.codes.append(event.failure_code)
        # ``attempt?`` is optional: without it this failure is the next of the order's episode
        # (redeliveries are dropped before, by event_id), so three failures are three attempts.
        attempt = event.attempt or ep.attempts + 1
        ep.attempts = max(ep.attempts, attempt)
        if ep.fired:
            return []
        if event.failure_code == "fraud_suspected" or attempt >= self.params.max_attempts:
            sched.disarm(event.order_id)
            return [self._candidate(cust, event.order_id, ep, ts, now=event)]
        return []

    def _forget_oldest(self, episodes: dict[str, Episode], sched: Scheduler) -> None:
        # Orders that failed and were never paid nor cancelled would otherwise pile up.
        oldest = min(episodes, key=lambda oid: (not episodes[oid].fired, episodes[oid].first_us))
        del episodes[oldest]
        sched.disarm(oldest)

    def on_deadline(self, cust: CustomerState, order_id: str, deadline_us: int, sched: Scheduler) -> list[Candidate]:
        ep = cust.ext.get(self.kind, {}).get(order_id)
        if ep is None or ep.fired:
            return []
        return [self._candidate(cust, order_id, ep, deadline_us, now=None)]

    def _candidate(self, cust: CustomerState, order_id: str, ep: Episode, at: int,
                   now: ev.PaymentFailed | None) -> Candidate:
        ep.fired = True  # the episode stays open (a later failure is part of it) until paid or cancelled
        p = self.params
        # At the deadline, the window it was armed with (a live change applies to later episodes).
        window_min = p.recovery_minutes if now is not None else (at - ep.first_us) / MINUTE
        # The hardest decline decides: once a card is known expired, a later generic refusal
        # does not make a retry worthwhile again.
        hard_codes = [c for c in ep.codes if DECLINES[c].hard]
        decisive_code = hard_codes[-1] if hard_codes else ep.codes[-1]
        decisive = DECLINES[decisive_code]
        flags: list[str] = []
        reasons: list[Reason] = []
        amount = f"{ep.amount:.2f} {ep.currency}"
        if now is not None and now.failure_code == "fraud_suspected":
            flags.append("fraud")
            reasons.append(Reason("fraud_suspected", f"Payment of {amount} for order {order_id} was "
                                  f"refused as suspected fraud at {format_us(at)}."))
        elif now is not None:
            flags.append("repeated_failure")
            reasons.append(Reason("repeated_failure", f"Payment of {amount} for order {order_id} failed "
                                  f"{ep.attempts} times (limit {p.max_attempts}); the latest at {format_us(at)}."))
        else:
            reasons.append(Reason("not_recovered", f"Payment of {amount} for order {order_id} failed at "
                                  f"{format_us(ep.first_us)} and was not completed within "
                                  f"{window_min:g} minutes."))
        if ep.attempts >= p.max_attempts and "repeated_failure" not in flags:
            flags.append("repeated_failure")
        if decisive.hard:
            flags.append("hard_decline")
            reasons.append(Reason("hard_decline", f"Hard decline: {decisive.words}. {decisive.next_step}"))
        else:
            reasons.append(Reason("soft_decline", f"Soft decline: {decisive.words}. {decisive.next_step}"))
        value, currency = order_value(cust, order_id)
        return Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=order_id,
            subject=order_id,
            episode=format_us(ep.first_us),
            fired_at=at,
            reasons=reasons,
            evidence={
                "first_failure_at": format_us(ep.first_us),
                "failure_codes": list(ep.codes),
                "decline": "hard" if decisive.hard else "soft",
                "decisive_code": decisive_code,
                "attempts": ep.attempts,
                "max_attempts": p.max_attempts,
                "recovery_minutes": window_min,
                "fired_because": reasons[0].code,
            },
            value_at_risk=value or ep.amount,
            currency=currency if value else ep.currency,
            flags=tuple(flags),
        )
