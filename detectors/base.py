"""What every detector shares: the candidate it emits and the scheduler it arms deadlines with.

A detector is a small state machine over one customer's events. It is called with the
customer's state *before* the event is applied to it (so it can compare the event with
history), may arm or disarm event-time deadlines through the :class:`Scheduler`, and is
called back with :meth:`Detector.on_deadline` when the watermark passes one.
It does no I/O and never reads a clock: time comes only from events and deadlines.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import msgspec

from forewarn.core.events import AnyEvent
from forewarn.core.state import CustomerState


# Facts a detector can attach to a candidate for the routing table to key on
# (``[[routing.rules]] when.flags``); the config refuses any other name.
FLAGS: dict[str, str] = {
    "fraud": "fraud is suspected (a fraud decline, or a dispute that says the purchase was not theirs)",
    "dispute": "a chargeback: the card network's response deadline runs",
    "hard_decline": "the issuer will not approve this card as it is: a retry cannot help",
    "repeated_failure": "payment failed again and again on the same order",
    "lost": "the carrier lost the parcel",
    "damaged": "the parcel was damaged in transit",
    "urgent": "the customer must act within days or the order fails (address, customs papers), "
              "or a message says it is urgent",
    "compliance": "contacting the customer carries a legal or privacy risk (e.g. unverified e-mail)",
    # v1.1 triage flags of a support_message (detectors/message_flags.py, detectors/support_message.py)
    "angry": "the message is angry: insults to the service, exasperation, shouting",
    "legal_threat": "the message threatens legal action (a lawyer, a court, consumer protection)",
    "chargeback_threat": "the message threatens a chargeback or disputing the payment with the bank",
    "churn_threat": "the message threatens to leave (never order again, close the account)",
    "repeat_contact": "the customer wrote before, in the last days, or says so",
}
TRIAGE_FLAGS = ("angry", "legal_threat", "chargeback_threat", "churn_threat", "repeat_contact", "urgent")


class Reason(msgspec.Struct, frozen=True):
    code: str
    detail: str


class Candidate(msgspec.Struct, kw_only=True):
    """A trigger before routing: what fired, about whom, when and why."""

    kind: str
    customer_id: str
    order_id: str | None
    subject: str  # what the situation is about: a shipment, an order, the customer
    episode: str  # tells one occurrence of the same situation from the next
    fired_at: int  # event time, microseconds
    reasons: list[Reason]
    evidence: dict[str, Any]
    score: float | None = None
    value_at_risk: float = 0.0
    currency: str = ""  # of value_at_risk (ISO 4217); "" = unknown, counted in the routing currency.
    # The engine fills it from the order when it knows it.
    # Facts the routing table keys on: names from FLAGS.
    flags: tuple[str, ...] = ()
    # Filled in by the engine from the customer's state at fire time.
    customer: dict[str, Any] = {}
    consent: dict[str, Any] = {}
    source_ts: int | None = None  # event time of the event or deadline that caused it, for latency
    ingest: float = 0.0  # wall time the engine read the input that led to it, for latency
    order: tuple = ()  # where it falls in a one-shard backtest (forewarn.engine.engine, ordered shards)


def order_value(cust: CustomerState, order_id: str | None) -> tuple[float, str]:
    """The order's total and its currency, as a candidate's ``value_at_risk``; (0, "") if unknown."""
    order = cust.orders.get(order_id) if order_id is not None else None
    if order is None:
        return 0.0, ""
    return order.total, order.currency


class Scheduler(Protocol):
    """Arms and disarms one customer's event-time deadlines; takes scores for the metrics."""

    def arm(self, key: str, deadline_us: int) -> None: ...

    def disarm(self, key: str) -> None: ...

    def score(self, kind: str, value: float, threshold: float | None = None) -> None:
        """Report one scored evaluation, fired or not, with the threshold in force (0..1).

        It feeds the ``forewarn_detector_score`` histogram and the
        ``forewarn_detector_score_threshold`` gauge, so ops see where the threshold cuts.
        """
        ...


class Detector(Protocol):
    """One trigger kind. ``Params`` is a msgspec struct of its documented thresholds.

    Thresholds can change while ``forewarn run`` runs (docs/tuning.md): the engine then
    builds a new instance with the new params, which is right for a detector that keeps all
    its state in :class:`CustomerState`. A detector holding state of its own (a River model)
    defines ``retune(self, params) -> None`` to take new params in place instead, so nothing
    learned is lost; it validates before changing anything (raise ValueError to refuse).
    A deadline armed before a change keeps its time: when firing, take the threshold it was
    armed with from the deadline itself (or from state), not from the current params.

    A detector may declare ``EVENTS``, the event types its ``on_event`` reads; the engine
    then calls it for those only. Without it, it sees every event. One that needs more of
    the config than its ``Params`` defines ``from_config(params, config)``, which the engine
    then builds it with (at start and when its params change).
    """

    kind: ClassVar[str]

    def on_event(self, cust: CustomerState, event: AnyEvent, sched: Scheduler) -> list[Candidate]: ...

    def on_deadline(self, cust: CustomerState, key: str, deadline_us: int, sched: Scheduler) -> list[Candidate]: ...
