"""One customer's state: profile, consent, value, open orders and shipments, deadlines.

Kept small (a few hundred bytes for a typical customer) because every customer the
store has ever seen lives in memory, and Bytewax snapshots each changed customer's
state at every epoch. Histories are bounded: old orders and finished shipments age out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from sys import intern
from typing import Any

import msgspec

from forewarn.core import events as ev
from forewarn.core.money import to_base
from forewarn.core.text import EMAIL_MAX, NAME_MAX, clean, valid_email, valid_phone

TIER_MAX = 32  # a tier is a label (vip, gold); interned, so a 200 KB one must not be kept
MAX_ORDERS = 16  # most recent orders kept for context; LTV and counts cover the rest
# Duplicate deliveries are recognised by exact event id, never by a hash: two distinct ids
# may share one (CRC32s did, among UUIDs) and the second event would vanish. A customer
# remembers its most recent ids that fit in SEEN_BYTES (2 bytes of length + the UTF-8 id
# each: 56 UUIDs, 170 ten-character ids), so dedupe costs at most SEEN_BYTES per customer.
# A redelivery older than that window is applied again: it looks like a new event.
SEEN_BYTES = 2048
# Consent records kept per customer: the contact channels, and (v1.1) marketing on them.
CONSENTS = ("email", "sms", "phone", "marketing")
# Triggers remembered per customer, so that a message can be linked to what forewarn saw
# coming (detectors/support_message.py): the latest few, none older than this.
RECENT_TRIGGERS = 16  # a parcel alone can raise three (at risk, stalled, late)
RECENT_TRIGGER_DAYS = 60


def timer_key(kind: str, timer: str) -> str:
    """Where a kind's timer lives in ``CustomerState.timers`` (and the shard's heap)."""
    return f"{kind}|{timer}"


def split_timer_key(key: str) -> tuple[str, str]:
    """``(kind, timer)`` of a key of ``CustomerState.timers``."""
    kind, _, timer = key.partition("|")
    return kind, timer


# gc=False: these hold only numbers and strings, so they can never be part of a reference
# cycle; untracked, they cost 16 bytes less each and nothing in the cyclic collector's passes.

# Categorical strings are interned whenever a struct is made (``__post_init__``), restores
# included: unpickling a snapshot makes a new "EUR", "open", "DHL", "email", "churn_risk"...
# for every customer, ~1 KB a customer in all, where one of each serves them all.

class Order(msgspec.Struct, array_like=True, gc=False):
    total: float
    currency: str
    placed_us: int
    status: str = "open"  # open | cancelled | returned
    paid: bool = False

    def __post_init__(self) -> None:
        self.currency = intern(self.currency)
        self.status = intern(self.status)


class Shipment(msgspec.Struct, array_like=True, gc=False):
    order_id: str
    created_us: int
    eta_us: int
    carrier: str | None = None
    status: str = "created"  # created | in_transit | out_for_delivery | exception | delivered
    last_update_us: int = 0

    def __post_init__(self) -> None:
        if self.carrier is not None:
            self.carrier = intern(self.carrier)
        self.status = intern(self.status)


def remember(seen: bytes, key: str, budget: int) -> tuple[bool, bytes]:
    """Whether ``key`` is among the ``seen`` ids (exactly: never by a hash, which two distinct ids
    may share), and ``seen`` with it added: each id a 2-byte length then its UTF-8, oldest
    first, the oldest forgotten beyond ``budget`` bytes.

    >>> known, seen = remember(b"", "m1", 64)
    >>> known, remember(seen, "m1", 64)[0], remember(seen, "m2", 64)[0]
    (False, True, False)
    """
    raw = key.encode()
    entry = len(raw).to_bytes(2, "little") + raw
    i = seen.find(entry)
    if i != -1 and _at_entry(seen, i, entry):
        return True, seen
    seen += entry
    start = 0
    while len(seen) - start > budget:  # forget the oldest ids (usually one)
        start += 2 + int.from_bytes(seen[start:start + 2], "little")
    return False, seen[start:] if start else seen


def well_formed(seen: bytes) -> bool:
    """Whether ``seen`` is a run of whole :func:`remember` entries (and not, say, hashes).

    >>> well_formed(remember(b"", "m1", 64)[1]), well_formed(b"\\x9c\\x93\\x9e\\x82")
    (True, False)
    """
    pos = 0
    while pos < len(seen):
        pos += 2 + int.from_bytes(seen[pos:pos + 2], "little")
    return pos == len(seen)


def _at_entry(seen: bytes, i: int, entry: bytes) -> bool:
    """Whether ``entry`` occurs in ``seen`` as a whole entry, not straddling two (checked only
    after bytes.find matched, which is rare: a redelivery, or an id inside another)."""
    pos = 0
    while pos < len(seen):
        if seen.startswith(entry, pos):
            return True
        pos += 2 + int.from_bytes(seen[pos:pos + 2], "little")
    return False
class RecentTrigger(msgspec.Struct, array_like=True, gc=False):
    """A trigger emitted for this customer: its id (16 bytes of the hex ``trigger_id``), what it was about."""

    trigger_id: bytes
    kind: str
    order_id: str | None
    subject: str
    fired_us: int

    def __post_init__(self) -> None:
        self.kind = intern(self.kind)


def _intern(value: str | None) -> str | None:
    # Categorical strings read from events (currency, tier, carrier, status) are interned:
    # one "EUR" for every order of every customer instead of one each.
    return None if value is None else intern(value)


# gc=False: a customer's state holds values, dicts and lists of values and of the small
# structs of its detectors and models, none of which refers back to it: no cycle to collect,
# and a million customers' states stay out of the collector's full passes (latency pauses).
class CustomerState(msgspec.Struct, gc=False):
    customer_id: str
    # The recent event ids, oldest first, each as a 2-byte length then its UTF-8: one bytes
    # object (a third of the memory of a tuple of strings), searched in C by bytes.find.
    seen: bytes = b""
    tier: str | None = None
    name: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    # channel -> (allowed, event time of the record): per channel, the latest record wins
    consent: dict[str, tuple[bool, int]] = {}
    orders_count: int = 0
    ltv: float = 0.0
    first_order_us: int | None = None
    last_order_us: int | None = None
    last_event_us: int = 0
    orders: dict[str, Order] = {}
    shipments: dict[str, Shipment] = {}
    timers: dict[str, int] = {}  # deadline key -> deadline (event time, us)
    ext: dict[str, Any] = {}  # small per-detector and per-model state, keyed by kind
    # v1.1 (after the v1 fields, so snapshots taken before them still load)
    phone: str | None = None  # as given
    language: str | None = None  # BCP 47, ``-`` separated (``pt-BR``); interned
    timezone: str | None = None  # IANA (validated on decode); interned
    country: str | None = None  # shipping country of the latest order; interned
    recent: list[RecentTrigger] = []  # the latest triggers emitted for this customer, oldest first

    def __post_init__(self) -> None:
        # A restored customer (see Order): its labels and the keys of its small dicts shared.
        for name in ("tier", "language", "timezone", "country"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, intern(value))
        if self.consent:
            self.consent = {intern(k): v for k, v in self.consent.items()}
        if self.ext:
            self.ext = {intern(k): v for k, v in self.ext.items()}

    def is_duplicate(self, event_id: str) -> bool:
        """Remember ``event_id``; True only if this exact id was already seen (a redelivery).

        >>> c = CustomerState("c1")
        >>> c.is_duplicate("9c939e82-7e30-4778-b3aa-fa49afaea175")
        False
        >>> c.is_duplicate("9538fd1f-37cd-415c-b21a-df7139708e88")  # same CRC32, another event
        False
        >>> c.is_duplicate("9c939e82-7e30-4778-b3aa-fa49afaea175")
        True
        """
        known, self.seen = remember(self.seen, event_id, SEEN_BYTES)
        return known

    def remember_trigger(self, trigger_id: str, kind: str, order_id: str | None, subject: str, fired_us: int) -> None:
        """Keep an emitted trigger (bounded: ``RECENT_TRIGGERS``, ``RECENT_TRIGGER_DAYS``)."""
        tid = bytes.fromhex(trigger_id)
        horizon = fired_us - RECENT_TRIGGER_DAYS * 86_400_000_000
        kept = [t for t in self.recent if t.trigger_id != tid and t.fired_us >= horizon]
        kept.append(RecentTrigger(tid, kind, order_id, subject, fired_us))
        self.recent = kept[-RECENT_TRIGGERS:]

    def segment(self, vip_ltv: float) -> str:
        if self.tier == "vip" or self.ltv >= vip_ltv:
            return "vip"
        if self.orders_count >= 5:
            return "loyal"
        if self.orders_count >= 2:
            return "repeat"
        if self.orders_count == 1:
            return "new"
        return "prospect"

    def context(self, vip_ltv: float, personal: Collection[str] = ("name",)) -> dict[str, Any]:
        """The customer summary an agent sees on every trigger; of the personal fields only
        those in ``personal`` (``[privacy] include_personal``), and a contact only if valid."""
        ctx: dict[str, Any] = {
            "ltv": round(self.ltv, 2),
            "orders": self.orders_count,
            "tier": self.tier or "standard",
            "segment": self.segment(vip_ltv),
            # v1.1: what a draft is written and timed by.
            "language": self.language,
            "timezone": self.timezone,
            "country": self.country,
        }
        if "name" in personal:
            ctx["name"] = self.name
        if "email" in personal:
            ctx["email"] = self.email if valid_email(self.email) else None
        if "phone" in personal:
            ctx["phone"] = self.phone if valid_phone(self.phone) else None
        return ctx

    def unreachable(self) -> dict[str, str]:
        """Contact channels whose address on record cannot be used: channel -> why."""
        out = {}
        if self.email is not None and not valid_email(self.email):
            out["email"] = "the e-mail address on record is not valid"
        if self.phone is not None and not valid_phone(self.phone):
            out["sms"] = out["phone"] = "the phone number on record is not valid"
        return out

    def apply(self, event: ev.AnyEvent, ts: int, rates: Mapping[str, float] | None = None) -> None:
        """Fold one event into the state (detectors have already seen it).

        ``rates`` (``[routing] exchange_rates``) keeps ``ltv`` in one currency; without it
        amounts add up as they come. Activity, failed payments, disputes and support messages
        only move ``last_event_us``.
        """
        if ts > self.last_event_us:
            self.last_event_us = ts
        fold = _FOLD.get(type(event))  # by exact type: event types have no subclasses
        if fold is not None:
            fold(self, event, ts, rates)

    def _order_placed(self, event: ev.OrderPlaced, ts: int, rates: Mapping[str, float] | None) -> None:
        self.orders_count += 1
        if self.first_order_us is None or ts < self.first_order_us:
            self.first_order_us = ts
        if self.last_order_us is None or ts > self.last_order_us:
            self.last_order_us = ts
        known = self.orders.get(event.order_id)
        # A cancellation read before its order (another topic, another partition) still counts.
        status = known.status if known is not None else "open"
        if status == "open":
            self.ltv += to_base(event.total, event.currency, rates)
        self.orders[event.order_id] = Order(event.total, event.currency, ts, status,
                                            known is not None and known.paid)
        if len(self.orders) > MAX_ORDERS:
            del self.orders[min(self.orders, key=lambda k: self.orders[k].placed_us)]
        if event.email is not None:
            self.email = clean(event.email, EMAIL_MAX)
        if event.email_verified is not None:
            self.email_verified = event.email_verified
        if ts >= self.last_order_us:  # just set to the latest order's time
            self.country = intern(event.shipping_address.country)

    def _order_closed(self, event: ev.OrderCancelled | ev.OrderReturned, ts: int,
                      rates: Mapping[str, float] | None) -> None:
        status = "cancelled" if type(event) is ev.OrderCancelled else "returned"
        order = self.orders.get(event.order_id)
        if order is None:
            self.orders[event.order_id] = Order(0.0, "", ts, status)
        elif order.status == "open":
            order.status = status
            # A cancelled order never counted; a return is taken off by its refund.
            if status == "cancelled":
                self.ltv = max(0.0, self.ltv - to_base(order.total, order.currency, rates))

    def _payment_succeeded(self, event: ev.PaymentSucceeded, ts: int, rates: Mapping[str, float] | None) -> None:
        order = self.orders.get(event.order_id)
        if order is None:
            self.orders[event.order_id] = Order(0.0, event.currency, ts, paid=True)
        else:
            order.paid = True

    def _payment_refunded(self, event: ev.PaymentRefunded, ts: int, rates: Mapping[str, float] | None) -> None:
        order = self.orders.get(event.order_id)
        if order is None or order.status != "cancelled":  # a cancellation already took it off
            self.ltv = max(0.0, self.ltv - to_base(event.amount, event.currency, rates))

    def _shipment_created(self, event: ev.ShipmentCreated, ts: int, rates: Mapping[str, float] | None) -> None:
        self.shipments[event.shipment_id] = Shipment(
            event.order_id, ts, ev.to_us(event.estimated_delivery_at), clean(event.carrier, NAME_MAX),
            "created", ts)

    def _shipment_updated(self, event: ev.ShipmentUpdated, ts: int, rates: Mapping[str, float] | None) -> None:
        ship = self.shipments.get(event.shipment_id)
        if ship is None and event.estimated_delivery_at is not None:
            # Created before this input began (a recording, a new engine): known from
            # its first scan that carries an estimate, so its deadline is watched too.
            self.shipments[event.shipment_id] = Shipment(
                event.order_id, ts, ev.to_us(event.estimated_delivery_at), None, intern(event.status), ts)
        elif ship is not None and ship.status != "delivered":
            ship.status = intern(event.status)
            ship.last_update_us = max(ship.last_update_us, ts)
            if event.estimated_delivery_at is not None:
                ship.eta_us = ev.to_us(event.estimated_delivery_at)

    def _shipment_exception(self, event: ev.ShipmentException, ts: int, rates: Mapping[str, float] | None) -> None:
        ship = self.shipments.get(event.shipment_id)
        if ship is not None and ship.status != "delivered":
            ship.status = "exception"
            ship.last_update_us = max(ship.last_update_us, ts)

    def _shipment_delivered(self, event: ev.ShipmentDelivered, ts: int, rates: Mapping[str, float] | None) -> None:
        # A delivered shipment needs no more watching.
        self.shipments.pop(event.shipment_id, None)

    def _customer_updated(self, event: ev.CustomerUpdated, ts: int, rates: Mapping[str, float] | None) -> None:
        if event.email is not None:
            self.email = clean(event.email, EMAIL_MAX)
        if event.email_verified is not None:
            self.email_verified = event.email_verified
        if event.tier is not None:
            tier = clean(event.tier, TIER_MAX)
            # "VIP", "Vip": the one tier routing reads is matched in any case
            self.tier = "vip" if tier is not None and tier.casefold() == "vip" else _intern(tier)
        if event.name is not None:
            self.name = clean(event.name, NAME_MAX)
        if event.phone is not None:
            self.phone = clean(event.phone, 32)
        if event.language is not None:
            self.language = intern(event.language.replace("_", "-"))
        if event.timezone is not None:
            self.timezone = intern(event.timezone)
        # Per channel (and for marketing, cust.consent["marketing"]), the latest record
        # in event time wins, even if it arrives late.
        if event.consent is not None:
            for ch in CONSENTS:
                val = getattr(event.consent, ch)
                if val is not None and (ch not in self.consent or ts >= self.consent[ch][1]):
                    self.consent[ch] = (val, ts)


# How each event type changes the state (CustomerState.apply); types not here change only
# last_event_us. A dict lookup instead of a match over the types: the most frequent event,
# customer.activity, matched none of ten cases after testing each.
_FOLD = {
    ev.OrderPlaced: CustomerState._order_placed,
    ev.OrderCancelled: CustomerState._order_closed,
    ev.OrderReturned: CustomerState._order_closed,
    ev.PaymentSucceeded: CustomerState._payment_succeeded,
    ev.PaymentRefunded: CustomerState._payment_refunded,
    ev.ShipmentCreated: CustomerState._shipment_created,
    ev.ShipmentUpdated: CustomerState._shipment_updated,
    ev.ShipmentException: CustomerState._shipment_exception,
    ev.ShipmentDelivered: CustomerState._shipment_delivered,
    ev.CustomerUpdated: CustomerState._customer_updated,
}
