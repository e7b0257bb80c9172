"""Events for tests, built from keyword arguments with sensible defaults, as the contract spells them."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

from forewarn.core.timefmt import parse_rfc3339
from forewarn.engine.config import Config, load
from forewarn.engine.engine import Engine
from forewarn.engine.replay import replay as engine_replay
from forewarn.core.trigger import Trigger

_ids = itertools.count(1)


def event(type_: str, ts: str, customer_id: str = "c1", **fields: Any) -> dict:
    return {"type": type_, "event_id": fields.pop("event_id", f"ev{next(_ids)}"), "ts": ts,
            "customer_id": customer_id, **fields}


def order(ts: str, order_id: str = "o1", total: float = 80.0, customer_id: str = "c1", **fields: Any) -> dict:
    fields.setdefault("items", [{"sku": "sku-1", "qty": 1, "unit_price": total}])
    fields.setdefault("shipping_address", {"country": "DE", "city": "Berlin", "postal_code": "10115"})
    fields.setdefault("currency", "EUR")
    return event("order.placed", ts, customer_id, order_id=order_id, total=total, **fields)


def shipped(ts: str, eta: str, shipment_id: str = "s1", order_id: str = "o1", customer_id: str = "c1", **fields: Any) -> dict:
    return event("shipment.created", ts, customer_id, order_id=order_id, shipment_id=shipment_id,
                 estimated_delivery_at=eta, carrier=fields.pop("carrier", "DHL"), **fields)


def late_parcel(day: str, customer_id: str, n: int) -> list[dict]:
    """Order ``o<n>`` placed at 08:00 on ``day`` and shipped at 09:00, due the next day at 10:00:
    with the default grace (12 h), its ``delivery_late`` fires that day at 22:00 unless delivered."""
    due = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    return [order(f"{day}T08:00:00Z", order_id=f"o{n}", customer_id=customer_id),
            shipped(f"{day}T09:00:00Z", eta=f"{due}T10:00:00Z", shipment_id=f"s{n}", order_id=f"o{n}",
                    customer_id=customer_id)]


def delivered(ts: str, shipment_id: str = "s1", order_id: str = "o1", customer_id: str = "c1") -> dict:
    return event("shipment.delivered", ts, customer_id, order_id=order_id, shipment_id=shipment_id)


def consent(ts: str, customer_id: str = "c1", **channels: bool) -> dict:
    return event("customer.updated", ts, customer_id, consent=channels)


def tick(ts: str, customer_id: str = "other") -> dict:
    """Some other customer's activity: moves the stream's event time forward."""
    return event("customer.activity", ts, customer_id, kind="session")


def lines(events: list[dict]) -> list[bytes]:
    return [json.dumps(e).encode() for e in events]


def replay(events: list[dict], config: Config | None = None, lateness_s: float = 0.0,
           engine: Engine | None = None) -> list[Trigger]:
    """The engine over an ordered stream, as a backtest drives it, without Bytewax.

    Pass ``engine`` to run one you look at afterwards (its models, say); it must be built
    from ``config``.
    """
    return replay_with_engine(events, config, lateness_s, engine)[0]


def replay_with_engine(events: list[dict], config: Config | None = None, lateness_s: float = 0.0,
                       engine: Engine | None = None) -> tuple[list[Trigger], Engine]:
    """:func:`replay`, and the engine it ran (for its ``stats``)."""
    config = config or load(None, {"engine.allowed_lateness_seconds": lateness_s})
    engine = engine or Engine(config)
    return engine_replay(events, config, engine), engine


def at(ts: str) -> int:
    return parse_rfc3339(ts)


# --- payments, parcels and engagement (detectors) ---


def paid(ts: str, order_id: str = "o1", amount: float = 80.0, customer_id: str = "c1", **fields: Any) -> dict:
    return event("payment.succeeded", ts, customer_id, order_id=order_id, amount=amount,
                 currency=fields.pop("currency", "EUR"), **fields)


def failed(ts: str, code: str = "card_declined", order_id: str = "o1", amount: float = 80.0,
           customer_id: str = "c1", **fields: Any) -> dict:
    return event("payment.failed", ts, customer_id, order_id=order_id, amount=amount,
                 currency=fields.pop("currency", "EUR"), failure_code=code, **fields)


def disputed(ts: str, order_id: str = "o1", amount: float = 80.0, customer_id: str = "c1", **fields: Any) -> dict:
    return event("payment.disputed", ts, customer_id, order_id=order_id, amount=amount,
                 currency=fields.pop("currency", "EUR"), **fields)


def cancelled(ts: str, order_id: str = "o1", customer_id: str = "c1") -> dict:
    return event("order.cancelled", ts, customer_id, order_id=order_id)


def scan(ts: str, status: str = "in_transit", shipment_id: str = "s1", order_id: str = "o1",
         customer_id: str = "c1", **fields: Any) -> dict:
    return event("shipment.updated", ts, customer_id, order_id=order_id, shipment_id=shipment_id,
                 status=status, **fields)


def carrier_exception(ts: str, code: str, shipment_id: str = "s1", order_id: str = "o1",
                      customer_id: str = "c1", **fields: Any) -> dict:
    return event("shipment.exception", ts, customer_id, order_id=order_id, shipment_id=shipment_id,
                 code=code, **fields)


def profile(ts: str, customer_id: str = "c1", **fields: Any) -> dict:
    return event("customer.updated", ts, customer_id, **fields)


def activity(ts: str, customer_id: str = "c1", kind: str = "session") -> dict:
    return event("customer.activity", ts, customer_id, kind=kind)
