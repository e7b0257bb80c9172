"""A history shaped like a real marketplace's: most customers order once.

The simulator's store is a loyal one (every customer orders again and again, ~40 events a
customer a month). A marketplace's order history is mostly one-order customers, each with
its payment and parcel scans and little else, so the per-customer work (new state, first
features, a model's cold start per customer) weighs more. ``orders`` orders, 70 % of them by
customers seen once; the rest by repeat customers. Written as contract events, in event
time order, seeded.

    python -m bench.marketplace --orders 100000 --output marketplace.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta, timezone

COUNTRIES = ("DE", "FR", "NL", "ES", "IT", "PL", "AT", "BE", "SE", "US")
CARRIERS = ("DHL", "DPD", "UPS", "GLS", "PostNL")
START = datetime(2026, 9, 1, tzinfo=timezone.utc)


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def events(orders: int, seed: int = 7, days: float = 60.0) -> list[dict]:
    """About four events per order: placed, paid (sometimes failed first), shipped, scanned, delivered."""
    rng = random.Random(seed)
    out: list[tuple[datetime, int, dict]] = []
    repeat_pool = [f"m{n}" for n in range(max(1, orders // 10))]
    n_customer = 0
    for n in range(orders):
        if rng.random() < 0.7:
            n_customer += 1
            cust = f"one{n_customer}"
        else:
            cust = rng.choice(repeat_pool)
        placed = START + timedelta(seconds=rng.uniform(0, days * 86400))
        oid, sid = f"o{n}", f"s{n}"
        qty, price = rng.randint(1, 3), round(rng.lognormvariate(3.3, 0.8), 2)
        country = rng.choice(COUNTRIES)
        seq = iter(range(10))

        def add(t: datetime, type_: str, **fields) -> None:
            out.append((t, len(out), {"event_id": f"{oid}-{next(seq)}", "type": type_, "ts": _ts(t),
                                      "customer_id": cust, "order_id": oid, **fields}))

        add(placed, "order.placed", total=round(qty * price, 2), currency="EUR",
            items=[{"sku": f"sku{rng.randint(1, 5000)}", "qty": qty, "unit_price": price}],
            shipping_address={"country": country, "city": "c", "postal_code": "1"})
        t = placed + timedelta(minutes=rng.uniform(0.1, 5))
        if rng.random() < 0.04:
            add(t, "payment.failed", amount=round(qty * price, 2), currency="EUR",
                failure_code=rng.choice(("card_declined", "insufficient_funds")))
            t += timedelta(minutes=rng.uniform(1, 90))
            if rng.random() < 0.5:
                continue
        add(t, "payment.succeeded", amount=round(qty * price, 2), currency="EUR")
        shipped = t + timedelta(hours=rng.uniform(4, 48))
        eta = shipped + timedelta(days=rng.randint(2, 5))
        carrier = rng.choice(CARRIERS)
        add(shipped, "shipment.created", shipment_id=sid, carrier=carrier, estimated_delivery_at=_ts(eta))
        scan = shipped + timedelta(hours=rng.uniform(6, 30))
        add(scan, "shipment.updated", shipment_id=sid, status="in_transit")
        arrives = eta + timedelta(hours=rng.gauss(-12, 20))
        if rng.random() < 0.01:
            add(scan + timedelta(hours=5), "shipment.exception", shipment_id=sid, code="failed_attempt")
        add(max(arrives, scan + timedelta(hours=1)), "shipment.delivered", shipment_id=sid)
    out.sort(key=lambda e: (e[0], e[1]))
    return [e for _, _, e in out]


def write(path: str, orders: int, seed: int = 7) -> int:
    evs = events(orders, seed)
    with open(path, "w") as f:
        for e in evs:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    return len(evs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--output", required=True)
    args = p.parse_args()
    print(f"{write(args.output, args.orders, args.seed)} events -> {args.output}")


if __name__ == "__main__":
    main()
