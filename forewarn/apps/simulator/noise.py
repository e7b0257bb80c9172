"""The noise a real feed has, from a generator of its own: redeliveries of the same
``event_id``, events that arrive a little out of order, and malformed lines."""

from __future__ import annotations

import random

import msgspec

from forewarn.apps.simulator.spec import SimSpec, ts_key
from forewarn.core import events as ev
from forewarn.core.timefmt import SECOND


def noise(spec: SimSpec, valid: list[tuple[int, bytes]]) -> tuple[list[bytes], dict[str, int]]:
    """Redeliveries, out-of-order arrivals and malformed lines, from a generator of their own."""
    r = random.Random(f"forewarn-sim:{spec.seed}:noise")
    stats = {"valid": len(valid), "duplicates": 0, "late": 0, "invalid": 0}
    if spec.duplicate_rate or spec.late_rate:
        keyed: list[tuple[int, bytes]] = []
        dups: list[tuple[int, bytes]] = []
        dup_rate, late_rate = spec.duplicate_rate, spec.late_rate
        rnd, randint = r.random, r.randint
        for ts, line in valid:
            key = ts
            if late_rate and rnd() < late_rate:
                key = ts + randint(1, 120) * SECOND
                stats["late"] += 1
            keyed.append((key, line))
            if dup_rate and rnd() < dup_rate:
                dups.append((key + randint(0, 120) * SECOND, line))
        stats["duplicates"] = len(dups)
        keyed += dups  # after the originals, so a stable sort keeps a redelivery behind them
        keyed.sort(key=ts_key)
        lines = [line for _, line in keyed]
    else:
        lines = [line for _, line in valid]
    n_bad = round(spec.invalid_rate * len(valid))
    if n_bad and lines:
        spots = sorted(r.randrange(len(lines) + 1) for _ in range(n_bad))
        out: list[bytes] = []
        prev = 0
        for pos in spots:
            out += lines[prev:pos]
            out.append(corrupt(r, lines[min(pos, len(lines) - 1)]))
            prev = pos
        out += lines[prev:]
        lines = out
        stats["invalid"] = n_bad
    return lines, stats


def corrupt(r: random.Random, line: bytes) -> bytes:
    """A malformed variant of a real line, of the kinds real feeds carry."""
    d = msgspec.json.decode(line)
    how = r.randrange(10)
    if how == 0:
        bad = line[: r.randrange(1, len(line) - 1)]  # truncated mid-write
    elif how == 1:
        d.pop(r.choice(("customer_id", "event_id", "ts")))
        bad = msgspec.json.encode(d)
    elif how == 2:
        d["type"] = r.choice(("order.updated", "cart.abandoned", "Order.Placed", ""))
        bad = msgspec.json.encode(d)
    elif how == 3:
        d["ts"] = r.choice((d["ts"].rstrip("Z"), "yesterday", d["ts"].replace("T", " ")[:10] + "T25:00:00Z"))
        bad = msgspec.json.encode(d)
    elif how == 4:
        d["ts"] = r.choice(("1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"))
        bad = msgspec.json.encode(d)
    elif how == 5:
        d["customer_id"] = r.choice(("", None, 12345))
        bad = msgspec.json.encode(d)
    elif how == 6:
        cut = r.randrange(1, len(line) - 1)
        bad = line[:cut] + b"\xff\xfe" + line[cut:]
    elif how == 7:
        # never a blank line: JSONL readers skip those
        bad = r.choice((b"null", b"[]", b"ping", b"{}", b'"order.placed"', b"\x00"))
    else:  # a field of the wrong shape for its type
        t = d.get("type", "")
        if t == "order.placed":
            d["items"][0]["qty"] = r.choice((0, -1, "2"))
        elif t.startswith("payment."):
            d["currency"] = r.choice(("euro", "eur", "€"))
        elif t == "shipment.updated":
            d["status"] = "lost_in_space"
        elif t == "customer.activity":
            d["kind"] = "page_view"
        elif "order_id" in d:
            d["order_id"] = ""
        else:
            d["event_id"] = 7
        bad = msgspec.json.encode(d)
    if not isinstance(ev.decode(bad), ev.Invalid):  # belt and braces: never a valid line
        bad = line[:-1]
    return bad
