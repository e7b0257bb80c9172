"""``support_message``: every message a customer writes in, triaged (contract v1.1, section 3a).

One trigger per distinct ``message_id`` (subject: the message id; ``fired_at``: the message's
``ts``); a repeated ``message_id`` — a webhook retry with a new event id — is a duplicate
delivery and raises nothing (a customer's latest ids are kept, exactly, in ``MESSAGE_ID_BYTES``:
a distinct id is never taken for a redelivery). A message is its customer's: like every subject
a producer numbers, its ``trigger_id`` is scoped by the customer id
(:func:`forewarn.core.trigger.trigger_id`), so two customers' messages under one ``message_id``
(ids colliding in a producer) are two triggers with two ids, and neither is taken for the
other's redelivery by the queues' ``trigger_id`` dedupe.
The trigger routes the message itself: ``score`` is the intent's confidence, and
``evidence.triage`` holds

* ``intent``, ``confidence``, ``alternatives``, ``model_labels_seen``: from the online intent
  model (:mod:`online_models.intent`), which scores the message with what it learned from the
  labels before it and learns from its ``support.labelled`` when that comes;
* ``flags``: rules (:mod:`detectors.message_flags`) over the text — ``angry``, ``legal_threat``,
  ``chargeback_threat``, ``churn_threat``, ``urgent``, and ``repeat_contact`` also from history:
  another message from the customer in the last ``repeat_days`` days about the same order (or,
  this one naming none, with the same predicted intent as one that named none either or named
  the order of a situation still open that this one is linked to);
* ``order_id``: the message's own field, else an order number in the text that is one of the
  customer's own orders (the digits of an order id, ``#1234`` for ``ord_0001234``, at least
  three of them): an id the customer does not own is never taken;
* ``linked``: the ``trigger_id`` of the customer's earlier triggers (of other kinds: what forewarn
  raised before the customer wrote) the message is about — those about the same order, and,
  when the message names no order, those about the customer's only order of the last
  ``link_days`` days (if there is just one), those about the order of the customer's latest
  situation of the last ``latest_days`` days, and the situations still open: a parcel late,
  stalled, at risk or in trouble that has not been delivered, a payment failure not
  recovered, a chargeback within ``dispute_days``, anything else raised in the last
  ``open_days`` days.

Whether the ai lane may answer is routing's (``[triage]``, forewarn/engine/routing.py).
The message text is untrusted: it is bounded (``MAX_TEXT`` characters are read, the quoted
reply chain cut), never copied into ``reasons`` or ``evidence``.

>>> Params().repeat_days, Params().open_days, Params().dispute_days
(7.0, 3.0, 75.0)
>>> own_order("hi, about my order #1234 from last week", ["ord_0001234", "ord_0001240"])
'ord_0001234'
>>> own_order("order 99999 please", ["ord_0001234"]) is None
True

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("support_message")]
[('2026-01-01T09:00:00Z', 'support_message')]
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any, ClassVar

import msgspec

from detectors.base import Candidate, Detector, Reason, Scheduler, example_event, order_value
from detectors.message_flags import flags_in
from forewarn.core import events as ev
from forewarn.core.state import CustomerState, remember, well_formed
from forewarn.core.timefmt import format_us
from online_models import intent_seed
from online_models.base import ModelPerWorker
from online_models.intent import IntentModel
from online_models.intent_seed import Seed
from online_models.text_features import cut_quoted

log = logging.getLogger("forewarn.triage")

MAX_TEXT = 4000  # characters of subject + body read for flags and order numbers
# A customer's latest message ids kept, to drop redeliveries: 2 bytes + the UTF-8 id each, so
# 32 ids of 30 characters (at least three of the longest, 256 characters of 4 bytes).
MESSAGE_ID_BYTES = 1024
SHIPMENT_KINDS = frozenset({"delivery_late", "delivery_at_risk", "shipment_stalled", "shipment_exception"})
_DIGITS = re.compile(r"\d{3,}")
DAY_US = 86_400_000_000


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Thresholds under ``[detectors.support_message]``.

    repeat_days: another message from the customer within this many days about the same order
        (or, this one naming none, with the same intent as one naming none or naming the order
        of an open situation this one is linked to) makes this one a ``repeat_contact``.
    open_days: a trigger with no state that says it is over (an anomaly, a data problem, a
        churn warning) counts as still open this long for linking a message that names no order.
    dispute_days: how long a chargeback stays open for linking.
    link_days: a message naming no order from a customer with exactly one order placed in
        this many days is about that order (linked to its triggers).
    latest_days: a message naming no order is about the order of the customer's latest
        situation raised in this many days (all that order's triggers are linked), open or
        not: people write about the last thing that went wrong, often after it was resolved.
    max_pending: messages per worker kept waiting for their label (the oldest go first).
    pending_days: a label later than this after its message is not learned from.
    """

    repeat_days: Annotated[float, msgspec.Meta(ge=0, le=365)] = 7.0
    open_days: Annotated[float, msgspec.Meta(ge=0, le=365)] = 3.0
    dispute_days: Annotated[float, msgspec.Meta(ge=0, le=365)] = 75.0
    link_days: Annotated[float, msgspec.Meta(ge=0, le=365)] = 30.0
    latest_days: Annotated[float, msgspec.Meta(ge=0, le=365)] = 7.0
    max_pending: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] = 20_000
    pending_days: Annotated[float, msgspec.Meta(gt=0, le=365)] = 14.0


class Seen(msgspec.Struct, array_like=True, gc=False):
    """Per customer: the latest message ids (:func:`forewarn.core.state.remember`), and the latest
    few messages (time, order, intent) for telling a repeat contact."""

    ids: bytes = b""
    recent: list[tuple[int, str | None, str | None]] = []

    def __post_init__(self) -> None:
        # A state from before Dec 3 2026 kept 4-byte CRC32s here (two ids sharing one lost the
        # second message): not ids, so forgotten; a redelivery of one of those messages gets the
        # same trigger_id, which the queues drop.
        if not well_formed(self.ids):
            self.ids = b""


def own_order(text: str, order_ids: list[str]) -> str | None:
    """The first of the customer's own orders named in ``text`` by its id or its number."""
    lowered = text.lower()
    by_number: dict[str, str] = {}
    for oid in order_ids:
        if len(oid) >= 4 and oid.lower() in lowered:
            return oid
        digits = max(_DIGITS.findall(oid), key=len, default=None)
        if digits is not None and len(digits.lstrip("0")) >= 3:
            by_number.setdefault(digits.lstrip("0"), oid)
    for number in _DIGITS.findall(text):
        oid = by_number.get(number.lstrip("0"))
        if oid is not None:
            return oid
    return None


class SupportMessage(Detector):
    kind = "support_message"
    Params = Params
    # The lane of a message is [triage]'s (forewarn/engine/routing.py); p3: answered within the day.
    PRIORITY = "p3"
    ROUTE = "ai"
    SUBJECT = "message"
    COOLDOWN_HOURS = 0.0  # every message is answered
    EVENTS: ClassVar[frozenset[type]] = frozenset({ev.SupportMessage, ev.SupportLabelled})
    EXAMPLE = (
        example_event("support.message", "2026-01-01T09:00:00Z", message_id="m1", channel="email",
                      body="Where is my parcel? It was due on Monday."),
    )

    def __init__(self, params: Params, seed: Seed | None = None) -> None:
        self.params = params
        self.seed = seed
        self.models = ModelPerWorker(self._fresh_model)

    @classmethod
    def from_config(cls, params: Params, config: Any) -> SupportMessage:
        """With ``[triage] seed``: each worker's fresh model starts from that seed file (already
        checked by the config; a checkpoint restored later replaces it)."""
        seed = intent_seed.load(config.triage.seed) if config.triage.seed else None
        if seed is not None:
            log.info("intent models start from the seed %s: %d labels of %d intents (a model restored "
                     "from a checkpoint keeps what it learned instead)", config.triage.seed, seed.labels,
                     len(seed.labels_per_intent))
        return cls(params, seed)

    def _fresh_model(self) -> IntentModel:
        model = IntentModel(self.params.max_pending, self.params.pending_days)
        if self.seed is not None:
            self.seed.apply(model)
        return model

    def retune(self, params: Params, config: Any) -> SupportMessage:
        """New thresholds while running: read at each message; the model keeps what it learned
        (its pending bounds stay those it was built with until a restart)."""
        self.params = params
        return self

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        model = self.models.get()
        if type(event) is ev.SupportLabelled:
            model.learn(cust.customer_id, event.message_id, event.intent, event.ts_us)
            return []
        seen = cust.ext.get(self.kind)
        if seen is None:
            seen = cust.ext[self.kind] = Seen()
        if self._repeated(seen, event.message_id):
            model.count("message_duplicate")
            return []
        ts = event.ts_us
        window = self.params.repeat_days * DAY_US
        text = cut_quoted(event.body[:2 * MAX_TEXT])[:MAX_TEXT]
        if event.subject:
            text = f"{event.subject[:200]}\n{text}"
        prediction = model.predict(cust.customer_id, event.message_id, event.subject, event.body, ts)
        flags = flags_in(text)
        order_id = event.order_id or own_order(text, list(cust.orders))
        linked, parcel, open_orders = self._linked(cust, order_id, ts)
        if self._repeat(seen, ts, order_id, prediction.intent, open_orders):
            flags.add("repeat_contact")
        flags_sorted = sorted(flags)
        sched.score(self.kind, prediction.confidence)
        model.observe(cust.customer_id, event.message_id, order_id, ts, prediction.confidence, True,
                      {"intent": prediction.intent, "flags": flags_sorted, "linked": len(linked)})
        value, currency = order_value(cust, order_id)
        return [Candidate(
            kind=self.kind, customer_id=cust.customer_id, order_id=order_id, subject=event.message_id, episode="",
            fired_at=ts, reasons=[self._reason(event.channel, prediction, flags_sorted, order_id, linked)],
            evidence={"triage": {
                "message_id": event.message_id,
                "intent": prediction.intent,
                "confidence": prediction.confidence,
                "alternatives": prediction.alternatives,
                "flags": flags_sorted,
                "order_id": order_id,
                "linked": linked,
                "model_labels_seen": prediction.labels_seen,
            }, "channel": event.channel, "language": event.language or cust.language,
                **self._order_facts(cust, order_id, parcel)},
            score=prediction.confidence, value_at_risk=value, currency=currency, flags=tuple(flags_sorted))]

    @staticmethod
    def _order_facts(cust: CustomerState, order_id: str | None, parcel: str | None) -> dict[str, Any]:
        """What the ai lane answers "where is my parcel" with: the open shipment of the order, or
        of the latest linked parcel trigger when the message names no order."""
        if order_id is not None:
            ships = [s for s in cust.shipments.values() if s.order_id == order_id]
        else:
            ships = [cust.shipments[parcel]] if parcel in cust.shipments else []
        if not ships:
            return {}
        ship = max(ships, key=lambda s: s.created_us)
        return {"order_facts": {"carrier": ship.carrier, "shipment_status": ship.status,
                                "estimated_delivery_at": format_us(ship.eta_us)}}

    def _repeat(self, seen: Seen, ts: int, order_id: str | None, intent: str | None,
                open_orders: list[str]) -> bool:
        """Whether the customer writes again about the same thing within ``repeat_days`` (and
        remember this message): about the same order; or, this message naming none, with the
        same intent as an earlier one that named none either or named the order of a situation
        still open that this one is linked to ("any news on my delivery?" after "where is order
        1234?" while that parcel is late). The intent must agree when no order is named: an open
        situation is linked to every message naming none, a question about sizes too."""
        recent = [r for r in seen.recent if 0 <= ts - r[0] <= self.params.repeat_days * DAY_US]
        seen.recent = recent[-7:] + [(ts, order_id, intent)]
        if order_id is not None:
            return any(r[1] == order_id for r in recent)
        return intent is not None and any(r[2] == intent and (r[1] is None or r[1] in open_orders) for r in recent)

    @staticmethod
    def _repeated(seen: Seen, message_id: str) -> bool:
        known, seen.ids = remember(seen.ids, message_id, MESSAGE_ID_BYTES)
        return known

    def _linked(self, cust: CustomerState, order_id: str | None,
                ts: int) -> tuple[list[str], str | None, list[str]]:
        """The linked trigger ids, the shipment of the latest linked parcel trigger, and (for a
        message naming no order) the orders of the linked situations still open."""
        out, parcel, open_orders = [], None, []
        earlier = [t for t in cust.recent if t.kind != self.kind and t.fired_us <= ts]
        if order_id is None:
            # A customer with a single order in the last link_days can only mean that one; and
            # one naming none most likely writes about the order of the latest situation.
            recent = [oid for oid, o in cust.orders.items() if 0 <= ts - o.placed_us <= self.params.link_days * DAY_US]
            only = recent[0] if len(recent) == 1 else None
            lately = [t for t in earlier if t.order_id is not None and ts - t.fired_us <= self.params.latest_days * DAY_US]
            latest = max(lately, key=lambda t: t.fired_us).order_id if lately else None
        for t in earlier:
            if order_id is not None:
                about = t.order_id == order_id
            else:
                is_open = self._open(cust, t.kind, t.order_id, t.subject, ts - t.fired_us)
                about = is_open or t.order_id is not None and t.order_id in (only, latest)
                if is_open and t.order_id is not None:
                    open_orders.append(t.order_id)
            if about:
                out.append(t.trigger_id.hex())
                if t.kind in SHIPMENT_KINDS:
                    parcel = t.subject
        return out, parcel, open_orders

    def _open(self, cust: CustomerState, kind: str, order_id: str | None, subject: str, age_us: int) -> bool:
        if kind in SHIPMENT_KINDS:
            ship = cust.shipments.get(subject)  # delivered shipments leave the state
            return ship is not None
        if kind == "payment_failed":
            order = cust.orders.get(order_id) if order_id else None
            return order is not None and not order.paid and order.status == "open"
        limit = self.params.dispute_days if kind == "payment_disputed" else self.params.open_days
        return age_us <= limit * DAY_US

    @staticmethod
    def _reason(channel: str, prediction: Any, flags: list[str], order_id: str | None, linked: list[str]) -> Reason:
        if prediction.intent is None:
            what = ("intent unknown (the model has learned no label yet)" if not prediction.labels_seen else
                    "intent unknown (no words to judge it by)")
        else:
            what = f"intent {prediction.intent} ({prediction.confidence:.0%} sure)"
        parts = [f"customer wrote by {channel}: {what}"]
        if flags:
            parts.append("flags " + ", ".join(flags))
        if order_id is not None:
            parts.append(f"about order {order_id}")
        if linked:
            parts.append(f"linked to {len(linked)} earlier trigger(s)")
        return Reason("support_message", "; ".join(parts))
