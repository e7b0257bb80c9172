"""What every detector shares: the :class:`Detector` base, the candidate it emits, the scheduler.

A detector is a small state machine over one customer's events. It is called with the
customer's state *before* the event is applied to it (so it can compare the event with
history), may arm or disarm event-time deadlines through the :class:`Scheduler`, and is
called back with :meth:`Detector.on_deadline` when the watermark passes one.
It does no I/O and never reads a clock: time comes only from events and deadlines.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Protocol

import msgspec

from forewarn.core.events import AnyEvent
from forewarn.core.state import CustomerState
from forewarn.core.trigger import Priority, Route, trigger_id
from online_models.base import ModelPerWorker


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
    """A trigger before routing: what fired, about whom, when and why.

    Only what the detector decided (and the engine's customer summary): where it came from,
    for latency and ordering, travels beside it (:class:`forewarn.engine.context.Emitted`).
    """

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

    @property
    def trigger_id(self) -> str:
        """The id its trigger gets: from kind, subject and episode, a subject two customers may
        share (an order, shipment or message id) taken as this customer's (:func:`trigger_id`)."""
        return trigger_id(self.kind, self.subject, self.episode, self.customer_id)


def order_value(cust: CustomerState, order_id: str | None) -> tuple[float, str]:
    """The order's total and its currency, as a candidate's ``value_at_risk``; (0, "") if unknown."""
    order = cust.orders.get(order_id) if order_id is not None else None
    if order is None:
        return 0.0, ""
    return order.total, order.currency


class Scheduler(Protocol):
    """One customer's event-time timers, scoped to the calling detector; takes scores for the metrics.

    The engine's timer service of the batch's :class:`forewarn.engine.context.Context`.

    A timer is named by the detector (usually its subject: the shipment, the order); the
    engine keeps it per customer and per kind, as Flink scopes timers to the key, so two
    kinds never see each other's timers except through :meth:`deadline_of`.
    """

    def arm(self, timer: str, deadline_us: int) -> None:
        """Set (or move) the timer: :meth:`Detector.on_deadline` is called once the watermark passes it."""
        ...

    def disarm(self, timer: str) -> None: ...

    def armed(self, timer: str) -> int | None:
        """The deadline this detector's timer is armed for, or None."""
        ...

    def deadline_of(self, kind: str, timer: str) -> int | None:
        """Another kind's armed deadline, read only (``delivery_at_risk`` warns before ``delivery_late``'s)."""
        ...

    def score(self, kind: str, value: float, threshold: float | None = None) -> None:
        """Report one scored evaluation, fired or not, with the threshold in force (0..1).

        It feeds the ``forewarn_detector_score`` histogram and the
        ``forewarn_detector_score_threshold`` gauge, so ops see where the threshold cuts.
        """
        ...


Subject = Literal["shipment", "order", "customer", "message"]


def example_event(type_: str, ts: str, customer_id: str = "c1", **fields: Any) -> dict[str, Any]:
    """One input event of a detector's ``EXAMPLE`` (its ``event_id`` made of customer, type and time)."""
    return {"event_id": f"{customer_id}/{type_}@{ts}", "type": type_, "ts": ts, "customer_id": customer_id, **fields}


class Detector:
    """One trigger kind: everything the engine, the config and the tools need to know about it.

    A kind declares, as class attributes (checked by :func:`detectors.register`):

    * ``kind``: its name, as in the trigger's ``kind`` and ``[detectors.<kind>]``;
    * ``Params``: a msgspec struct of its documented thresholds (the ``[detectors.<kind>]`` table);
    * ``PRIORITY`` and ``ROUTE``: its default row in ``[routing.kinds]`` (the base priority and lane);
    * ``SUBJECT``: what its triggers are about, ``shipment``, ``order``, ``customer`` or
      ``message`` (a trigger's subject is that id; the ground truth is matched on it);
    * ``EVENTS``: the event types ``on_event`` reads (the engine calls it for those only;
      None = every event);
    * ``COOLDOWN_HOURS``: its default ``[routing.cooldown_hours]`` (0 = none);
    * ``MODEL_BASED``: it scores with a learned model (``score`` is a probability, judged by ROC AUC);
    * ``LEAD_TIMES``: a customer notices its situation by themselves, so a trigger can be early
      or late against them (``forewarn whatif`` reports the lead time).
    * ``EXAMPLE`` (and ``EXAMPLE_SETTINGS``): a few events that make it fire, replayed by its
      docstring (``forewarn.engine.replay.example``) and the contract test.

    A kind with an online model sets ``self.models``, a :class:`online_models.base.ModelPerWorker`
    of its :class:`online_models.base.OnlineModel` (None: no model); the engine checkpoints,
    drains and summarises those models through the model interface only.

    It is a small state machine over one customer's events, called with the customer's state
    *before* the event is applied to it, arming deadlines through the :class:`Scheduler`, and
    called back with :meth:`on_deadline` when the watermark passes one. It does no I/O and
    never reads a clock.

    Thresholds can change while ``forewarn run`` runs (docs/tuning.md): the engine calls
    :meth:`retune`, whose default builds a new instance, right for a detector that keeps all
    its state in :class:`CustomerState`. A deadline armed before a change keeps its time:
    when firing, take the threshold it was armed with from the deadline itself (or from
    state), not from the current params.
    """

    kind: ClassVar[str]
    Params: ClassVar[type[msgspec.Struct]]
    PRIORITY: ClassVar[Priority]
    ROUTE: ClassVar[Route]
    SUBJECT: ClassVar[Subject]
    EVENTS: ClassVar[frozenset[type] | None] = None
    COOLDOWN_HOURS: ClassVar[float] = 0.0
    MODEL_BASED: ClassVar[bool] = False
    LEAD_TIMES: ClassVar[bool] = False
    # A small replay that makes it fire (events as dicts, with ``[detectors.<kind>]`` overrides):
    # its docstring's example, and the contract test's (tests/test_detector_contract.py).
    EXAMPLE: ClassVar[tuple[dict[str, Any], ...]] = ()
    EXAMPLE_SETTINGS: ClassVar[dict[str, Any]] = {}
    models: ModelPerWorker | None = None  # this kind's model, one per worker thread

    def __init__(self, params: Any) -> None:
        self.params = params

    @classmethod
    def from_config(cls, params: Any, config: Any) -> Detector:
        """Build it from its params and the whole config; override to read more than the params."""
        return cls(params)

    def retune(self, params: Any, config: Any) -> Detector:
        """Take a new config while running; return the detector to run from now on.

        The default is a new instance (:meth:`from_config`). A detector holding state of its
        own (a River model) takes the params in place and returns itself, so nothing learned
        is lost; it validates before changing anything (raise ValueError to refuse).
        """
        return type(self).from_config(params, config)

    def on_event(self, cust: CustomerState, event: AnyEvent, sched: Scheduler) -> list[Candidate]:
        return []

    def on_deadline(self, cust: CustomerState, timer: str, deadline_us: int, sched: Scheduler) -> list[Candidate]:
        """The watermark has passed ``timer`` (armed for ``deadline_us``), which is now disarmed."""
        return []

    def explain(self, cust: CustomerState, now_us: int) -> list[str]:
        """Lines for ``forewarn explain`` on what this kind waits for in ``cust`` at event time ``now_us``.

        The default says nothing more than the engine already shows (the armed deadlines, the
        scores against their threshold, the params); a kind whose condition lives in state of
        its own (``cust.ext``) overrides it to say where that stands.
        """
        return []
