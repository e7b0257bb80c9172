"""Input events (contract section 1): typed, validated and decoded in one pass.

msgspec decodes JSON straight into these structs, checking types, required fields,
enums and ranges as it goes; a failure names the field (``at `$.items[0].qty```).
Decoding never raises: it returns either an :class:`Event` or an :class:`Invalid`
that carries the reason, so nothing is lost on the way to the dead-letter stream.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Literal, Union
from zoneinfo import available_timezones

import msgspec

from forewarn.core.money import ISO_4217
from forewarn.core.timefmt import format_us, to_us

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Money = Annotated[float, msgspec.Meta(ge=0, le=1e9)]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]

MAX_EVENT_BYTES = 256 * 1024
# Event times outside this range are data errors (epoch zero, year 9999), and one of
# them would drag the watermark far enough to fire every armed deadline at once.
MIN_TS_US = to_us(datetime.fromisoformat("2000-01-01T00:00:00+00:00"))
MAX_TS_US = to_us(datetime.fromisoformat("2100-01-01T00:00:00+00:00"))


class Item(msgspec.Struct, frozen=True, gc=False):
    sku: NonEmpty
    qty: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    unit_price: Money


class Address(msgspec.Struct, frozen=True, gc=False):
    country: Annotated[str, msgspec.Meta(min_length=2, max_length=64)]
    line1: str | None = None
    city: str | None = None
    postal_code: str | None = None


class Consent(msgspec.Struct, frozen=True, gc=False):
    email: bool | None = None
    sms: bool | None = None
    phone: bool | None = None
    # v1.1: promotional content on the channels opted into; without it only service messages.
    marketing: bool | None = None


# BCP 47 in shape (``en``, ``pt-BR``, ``zh-Hant-TW``); ``_`` is taken for ``-`` (``pt_BR``, as
# many systems write it) and normalised when kept. Registry validity is not checked: a tag of
# the right shape the drafts have no templates for falls back to the store's language.
Language = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,6}$")]
# An IANA zone name; checked against the zone database by :func:`decode`.
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Channel = Literal["email", "chat", "sms", "phone", "social"]
# A message body: not empty, nor only white space (checked by :func:`decode`). Bounded by the
# event size (MAX_EVENT_BYTES); what triage reads of it is bounded again (detectors/support_message.py).
Body = Annotated[str, msgspec.Meta(min_length=1)]


class _EventTime:
    """The slot that holds an event's time in µs: not a field, so no input or output has it."""

    __slots__ = ("ts_us",)


_set_ts_us = _EventTime.ts_us.__set__


class Event(msgspec.Struct, _EventTime, frozen=True, kw_only=True, tag_field="type", gc=False):
    """Fields every event carries, and ``ts_us``: ``ts`` in µs since the epoch.

    ``ts_us`` is computed once, when the event is made (decoded, built or copied:
    ``__post_init__``), and read ~5 times an event after that (source, watermark, engine,
    detectors, state). It is a slot of a plain base class, not a field: a sender's
    ``"ts_us"`` is ignored like any unknown key, and it is never encoded, compared or shown.

    ``gc=False`` (inherited by every event type): an event holds only values, lists and other
    events' parts, never a cycle, so the cyclic collector need not track the millions decoded.

    >>> e = decode(b'{"type": "customer.activity", "event_id": "e1", "ts": "2026-11-26T10:00:00+01:00",'
    ...            b' "customer_id": "c1", "kind": "session", "ts_us": 5}')
    >>> e.ts_us == to_us(e.ts), "ts_us" in encode(e).decode()
    (True, False)
    """

    event_id: NonEmpty
    ts: Timestamp
    customer_id: NonEmpty

    def __post_init__(self) -> None:
        _set_ts_us(self, to_us(self.ts))  # the struct is frozen: set through the slot itself

    def __reduce__(self):
        # Pickled (between Bytewax processes, in snapshots of events waiting for the
        # watermark) as its JSON: a third of the time of msgspec's field-by-field pickle.
        return (_from_json, (_encoder.encode(self),))


class OrderPlaced(Event, frozen=True, kw_only=True, tag="order.placed"):
    order_id: NonEmpty
    total: Money
    currency: Currency
    items: Annotated[list[Item], msgspec.Meta(max_length=1000)]
    shipping_address: Address
    promised_delivery_at: Timestamp | None = None
    channel: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    discount: Money | None = None


class OrderCancelled(Event, frozen=True, kw_only=True, tag="order.cancelled"):
    order_id: NonEmpty
    reason: str | None = None


class OrderReturned(Event, frozen=True, kw_only=True, tag="order.returned"):
    order_id: NonEmpty
    reason: str | None = None


class _Charge(Event, frozen=True, kw_only=True):
    """The fields every payment event starts with (encoded first, in this order)."""

    order_id: NonEmpty
    amount: Money
    currency: Currency


class PaymentSucceeded(_Charge, frozen=True, kw_only=True, tag="payment.succeeded"):
    method: str | None = None


FailureCode = Literal[
    "card_declined", "insufficient_funds", "expired_card", "fraud_suspected",
    "processing_error", "other",
]


class PaymentFailed(_Charge, frozen=True, kw_only=True, tag="payment.failed"):
    failure_code: FailureCode
    method: str | None = None
    attempt: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


class PaymentRefunded(_Charge, frozen=True, kw_only=True, tag="payment.refunded"):
    pass


class PaymentDisputed(_Charge, frozen=True, kw_only=True, tag="payment.disputed"):
    reason: str | None = None


class _Parcel(Event, frozen=True, kw_only=True):
    """The fields every shipment event starts with (encoded first, in this order)."""

    order_id: NonEmpty
    shipment_id: NonEmpty


class ShipmentCreated(_Parcel, frozen=True, kw_only=True, tag="shipment.created"):
    estimated_delivery_at: Timestamp
    carrier: str | None = None


class ShipmentUpdated(_Parcel, frozen=True, kw_only=True, tag="shipment.updated"):
    status: Literal["in_transit", "out_for_delivery"]
    location: str | None = None
    estimated_delivery_at: Timestamp | None = None


ExceptionCode = Literal[
    "address_issue", "damaged", "lost", "failed_attempt", "customs_hold", "other",
]


class ShipmentException(_Parcel, frozen=True, kw_only=True, tag="shipment.exception"):
    code: ExceptionCode
    detail: str | None = None


class ShipmentDelivered(_Parcel, frozen=True, kw_only=True, tag="shipment.delivered"):
    pass


class CustomerUpdated(Event, frozen=True, kw_only=True, tag="customer.updated"):
    email: str | None = None
    email_verified: bool | None = None
    consent: Consent | None = None
    tier: str | None = None
    name: str | None = None
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None  # v1.1, as given
    language: Language | None = None  # v1.1
    timezone: TimeZone | None = None  # v1.1


class CustomerActivity(Event, frozen=True, kw_only=True, tag="customer.activity"):
    kind: Literal["session", "email_open", "email_click", "support_contact"]
    value: float | None = None


class SupportMessage(Event, frozen=True, kw_only=True, tag="support.message"):
    """v1.1: a message the customer wrote in; untrusted text (never echoed raw into reasons)."""

    message_id: NonEmpty
    channel: Channel
    body: Body
    subject: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    order_id: NonEmpty | None = None
    language: Language | None = None


class SupportLabelled(Event, frozen=True, kw_only=True, tag="support.labelled"):
    """v1.1: the intent a person confirmed for an earlier message (the store's own, open intent set)."""

    message_id: NonEmpty
    intent: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    by: Annotated[str, msgspec.Meta(max_length=32)] | None = None  # "agent", "qa"


AnyEvent = Union[
    OrderPlaced, OrderCancelled, OrderReturned,
    PaymentSucceeded, PaymentFailed, PaymentRefunded, PaymentDisputed,
    ShipmentCreated, ShipmentUpdated, ShipmentException, ShipmentDelivered,
    CustomerUpdated, CustomerActivity,
    SupportMessage, SupportLabelled,
]
EVENT_TYPES: tuple[str, ...] = tuple(cls.__struct_config__.tag for cls in AnyEvent.__args__)
TOPIC_OF_TYPE: dict[str, str] = {
    t: {"order": "orders", "payment": "payments", "shipment": "shipments",
        "customer": "customers", "support": "support"}[t.split(".")[0]]
    for t in EVENT_TYPES
}

_decoder = msgspec.json.Decoder(AnyEvent)
_encoder = msgspec.json.Encoder()


def _from_json(raw: bytes) -> AnyEvent:
    """An event pickled by ``Event.__reduce__`` (it was valid when pickled)."""
    return _decoder.decode(raw)


class Invalid(msgspec.Struct, frozen=True):
    """An event that failed validation: the raw bytes, why, and a short reason code."""

    raw: bytes
    error: str
    reason: str  # bounded set, used as a metric label


def decode(raw: bytes) -> AnyEvent | Invalid:
    """Decode and validate one event; never raises."""
    if len(raw) > MAX_EVENT_BYTES:
        return Invalid(raw[:1024], f"event is {len(raw)} bytes, over the {MAX_EVENT_BYTES}-byte limit", "too_large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Invalid(raw, f"not UTF-8: {exc}", "bad_encoding")
    try:
        event = _decoder.decode(text)
    except msgspec.ValidationError as exc:
        return Invalid(raw, str(exc), _validation_reason(str(exc)))
    except msgspec.DecodeError as exc:
        return Invalid(raw, str(exc), "bad_json")
    except RecursionError:
        return Invalid(raw[:1024], "JSON nested too deeply", "bad_json")
    ts = event.ts_us
    if not MIN_TS_US <= ts < MAX_TS_US:
        return Invalid(raw, f"ts {event.ts.isoformat()} is outside 2000-01-01..2100-01-01 - at `$.ts`", "bad_timestamp")
    currency = getattr(event, "currency", None)
    if currency is not None and currency not in ISO_4217:
        return Invalid(raw, f"currency {currency!r} is not an ISO 4217 currency in use (EUR, USD, ...) "
                            "- at `$.currency`", "unknown_currency")
    if type(event) is SupportMessage and event.body.isspace():
        return Invalid(raw, "body is only white space: nothing to triage - at `$.body`", "bad_value")
    if type(event) is CustomerUpdated and event.timezone is not None and not known_zone(event.timezone):
        # A wrong zone would put quiet hours in the wrong place: refused, like any bad value,
        # rather than kept or silently dropped (the producer fixes and resends the update).
        return Invalid(raw, f"timezone {event.timezone[:64]!r} is not an IANA time zone (e.g. Europe/Paris) "
                            "- at `$.timezone`", "bad_value")
    return event


def vet_time(event: AnyEvent, raw: bytes, arrival_us: int | None, high_us: int, max_future_us: int,
             max_past_us: int) -> Invalid | None:
    """Refuse an event time no clock could mean (``[engine] max_future_seconds``, ``max_past_days``).

    ``arrival_us``: when the event reached Kafka (its message timestamp), else when it was read;
    an event more than ``max_future_us`` ahead of it is ``future_timestamp`` — one such event
    would drag the watermark ahead and fire every armed deadline. ``high_us``: the largest event
    time its stream (partition, file) has delivered so far; an event more than ``max_past_us``
    behind it is ``stale_timestamp``. 0 turns a check off. None of either reaches the watermark.

    >>> late = decode(b'{"type": "customer.activity", "event_id": "e1", "ts": "2099-01-01T00:00:00Z",'
    ...               b' "customer_id": "c1", "kind": "session"}')
    >>> vet_time(late, b"...", arrival_us=to_us(datetime.fromisoformat("2026-11-26T10:00:00+00:00")),
    ...          high_us=0, max_future_us=300_000_000, max_past_us=0).reason
    'future_timestamp'

    ``arrival_us`` None: the arrival is not known (a file without ``forewarn record``'s sidecar).
    The event is then judged against its stream alone, never the wall clock, so a backtest gives
    the same triggers whenever it runs (contract section 2), for a file of last year or of next
    month alike: ``future_timestamp`` when it is more than ``max_past_us`` (at least
    ``max_future_us``) ahead of the latest event time before it, the same window as the stale check.

    >>> before = to_us(datetime.fromisoformat("2026-11-26T10:00:00+00:00"))
    >>> vet_time(late, b"...", arrival_us=None, high_us=before, max_future_us=300_000_000,
    ...          max_past_us=30 * 86_400_000_000).reason
    'future_timestamp'
    >>> next_month = decode(b'{"type": "customer.activity", "event_id": "e2", "ts": "2026-12-20T00:00:00Z",'
    ...                     b' "customer_id": "c1", "kind": "session"}')
    >>> vet_time(next_month, b"...", arrival_us=None, high_us=before, max_future_us=300_000_000,
    ...          max_past_us=30 * 86_400_000_000) is None
    True
    """
    ts = event.ts_us
    if arrival_us is None:
        if max_future_us and high_us >= MIN_TS_US and ts - high_us > max(max_future_us, max_past_us):
            return Invalid(raw, f"ts {event.ts.isoformat()} is {(ts - high_us) / 86_400e6:,.1f} days after the latest "
                                f"event time of its stream ({format_us(high_us)}), more than engine.max_past_days = "
                                f"{max_past_us / 86_400e6:g} (no arrival time recorded to judge it by; "
                                "engine.max_future_seconds = 0 turns this off) - at `$.ts`", "future_timestamp")
    elif max_future_us and ts - arrival_us > max_future_us:
        return Invalid(raw, f"ts {event.ts.isoformat()} is {(ts - arrival_us) / 1e6:,.0f} s after the event arrived "
                            f"({format_us(arrival_us)}), more than engine.max_future_seconds = {max_future_us / 1e6:g}"
                            " - at `$.ts`", "future_timestamp")
    if max_past_us and high_us - ts > max_past_us:
        return Invalid(raw, f"ts {event.ts.isoformat()} is {(high_us - ts) / 86_400e6:,.1f} days before the latest "
                            f"event time of its stream ({format_us(high_us)}), more than engine.max_past_days = "
                            f"{max_past_us / 86_400e6:g} - at `$.ts`", "stale_timestamp")
    return None


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def known_zone(name: str) -> bool:
    """True if ``name`` is in the IANA zone database (``Europe/Paris``, ``UTC``); no file is opened."""
    return name in _zones()


def _validation_reason(message: str) -> str:
    if "`$.type`" in message or "Missing required field `type`" in message:
        return "unknown_type"
    if "Object missing required field" in message:
        return "missing_field"
    if "`$.ts`" in message or "datetime" in message:
        return "bad_timestamp"
    return "bad_value"


def encode(event: AnyEvent) -> bytes:
    return _encoder.encode(event)
