"""The trigger, contract section 3: one JSON object per situation, schema ``forewarn.trigger/v1``."""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import msgspec

SCHEMA = "forewarn.trigger/v1"

# The lanes a trigger goes to: a priority, most urgent first, and a route (contract section 3).
Priority = Literal["p1", "p2", "p3", "p4"]
Route = Literal["human", "ai"]
PRIORITIES: tuple[Priority, ...] = Priority.__args__
ROUTES: tuple[Route, ...] = Route.__args__  # human first: within a priority, people before bots


class Trigger(msgspec.Struct, kw_only=True):
    """Field order here is the order in the JSON, so a replay prints the same bytes."""

    schema: str = SCHEMA
    trigger_id: str
    kind: str
    customer_id: str
    order_id: str | None
    fired_at: str
    emitted_at: str = ""
    priority: str
    route: str
    score: float | None
    reasons: list[dict[str, str]]
    customer: dict[str, Any]
    outreach: dict[str, Any]
    evidence: dict[str, Any]
    # v1.1: what would be sent, per channel, and its compliance review (outreach/).
    drafts: list[dict[str, Any]] = []
    # No draft, nothing that could be sent: no block finding, so ok (contract 3: ok = no block).
    compliance: dict[str, Any] = msgspec.field(default_factory=lambda: {"ok": True, "findings": []})


def trigger_id(kind: str, subject: str, episode: str, customer_id: str) -> str:
    """Deterministic id: the same situation gets the same id after a restart or a replay.

    A subject other than the customer itself is an id a producer chose (an order, a shipment, a
    message id), which two customers' events may carry: a clumsy producer, two shops merged into
    one stream. It is taken as that customer's, the episode scoped by the customer id, so two
    customers never share an id (the queues dedupe on it and would drop the second as a replay).
    A kind about the customer (``churn_risk``) needs no scoping: its subject is the customer id.

    >>> trigger_id("delivery_late", "s1", "2026-11-04T10:00:00Z", "c1") == trigger_id(
    ...     "delivery_late", "s1", "2026-11-04T10:00:00Z", "c2")
    False
    >>> trigger_id("churn_risk", "c1", "2026-11-01T00:00:00Z", "c1")
    'a36c2a5f26e7f3ce5c3878a341b4128e'
    """
    if subject != customer_id:
        # The customer first: a message's episode is empty, and its id stays what it was when
        # the detector set the customer id as the episode itself.
        episode = f"{customer_id}\x1f{episode}" if episode else customer_id
    digest = hashlib.blake2b(f"{kind}\x1f{subject}\x1f{episode}".encode(), digest_size=16)
    return digest.hexdigest()


_encoder = msgspec.json.Encoder()


def encode(trigger: Trigger) -> bytes:
    return _encoder.encode(trigger)


def decode(raw: bytes | str) -> Trigger:
    return msgspec.json.decode(raw, type=Trigger)
