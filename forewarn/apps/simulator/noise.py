"""The noise a real feed has, from a generator of its own: redeliveries of the same
``event_id``, events that arrive a little out of order, and malformed lines."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator

import msgspec

from forewarn.apps.simulator.spec import SimSpec
from forewarn.core import events as ev
from forewarn.core.timefmt import SECOND


class Noise:
    """Redeliveries, out-of-order arrivals and malformed lines over a stream of valid events,
    with memory bounded by the few minutes of displacement, not by the store.

    A redelivery repeats a line (same bytes) 0–2 min after its (possibly displaced) place; a
    late arrival is placed 1 s–2 min after its event time; a malformed line (a corrupted copy
    of its neighbour) is put in at a random place. The stream is the same as sorting the
    whole store at once (stably: a redelivery behind the originals of its instant). Where the
    malformed lines go is drawn before the first line is written, so the total is needed up
    front: ``n_valid``, the count of valid lines to come. The draws come from a generator of
    their own, in the same sequence as ever, so a seed gives the same file as before.

    >>> spec = SimSpec(duplicate_rate=0.5)
    >>> valid = [(t * SECOND, b'{"n":%d}' % t) for t in range(4)]
    >>> n = Noise(spec, len(valid))
    >>> [line for _, line in n.stream(iter(valid))]  # line 0 redelivered a few seconds later
    [b'{"n":0}', b'{"n":1}', b'{"n":2}', b'{"n":3}', b'{"n":0}', b'{"n":3}']
    >>> n.stats
    {'valid': 4, 'duplicates': 2, 'late': 0, 'invalid': 0}
    """

    def __init__(self, spec: SimSpec, n_valid: int) -> None:
        self.spec = spec
        self.r = random.Random(f"forewarn-sim:{spec.seed}:noise")
        self.stats = {"valid": n_valid, "duplicates": 0, "late": 0, "invalid": 0}
        # Draw the redeliveries on a copy first (they depend on nothing but the draws), to
        # know the length of the stream, where the malformed lines go, and the draws after.
        self.after = random.Random()
        self.after.setstate(self.r.getstate())
        self.n_dups = sum(1 for _, dup in self._decisions(self.after, n_valid) if dup is not None)
        n_lines = n_valid + self.n_dups
        n_bad = round(spec.invalid_rate * n_valid)
        self.spots = (sorted(self.after.randrange(n_lines + 1) for _ in range(n_bad))
                      if n_bad and n_lines else [])

    def expected_extra(self) -> int:
        """How many lines the noise adds: the redeliveries and the malformed lines."""
        return self.n_dups + len(self.spots)

    def _decisions(self, r: random.Random, n: int) -> Iterator[tuple[int, int | None]]:
        """For each of ``n`` lines: (its displacement, the delay of its redelivery or None),
        in µs. The one place these draws are made."""
        dup_rate, late_rate = self.spec.duplicate_rate, self.spec.late_rate
        if not (dup_rate or late_rate):
            return
        rnd, randint = r.random, r.randint
        for _ in range(n):
            shift = randint(1, 120) * SECOND if late_rate and rnd() < late_rate else 0
            dup = randint(0, 120) * SECOND if dup_rate and rnd() < dup_rate else None
            yield shift, dup

    def stream(self, valid: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        """``(position key, line)`` in stream order, from the valid ``(ts, line)`` in event-time
        order; the key (the time a line is placed at) never decreases."""
        return self._malformed(self._displaced(valid))

    def _displaced(self, valid: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        spec = self.spec
        if not (spec.duplicate_rate or spec.late_rate):
            yield from valid
            return
        # Pending lines as (key, 1 for a redelivery, sequence, line): a line can be let out
        # once an event at a later time is read, since nothing to come goes before that.
        heap: list[tuple[int, int, int, bytes]] = []
        push, pop = heapq.heappush, heapq.heappop
        draws = self._decisions(self.r, self.stats["valid"])
        stats = self.stats
        n = 0
        for ts, line in valid:
            while heap and heap[0][0] < ts:
                item = pop(heap)
                yield item[0], item[3]
            shift, dup = next(draws)
            if shift:
                stats["late"] += 1
            key = ts + shift
            n += 1
            push(heap, (key, 0, n, line))
            if dup is not None:
                stats["duplicates"] += 1
                push(heap, (key + dup, 1, n, line))
        while heap:
            item = pop(heap)
            yield item[0], item[3]

    def _malformed(self, lines: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        spots = self.spots
        if not spots:
            yield from lines
            return
        r, k, pos = self.after, 0, 0
        key, line = 0, b""
        for key, line in lines:
            while k < len(spots) and spots[k] == pos:
                yield key, corrupt(r, line)
                k += 1
            yield key, line
            pos += 1
        for _ in range(k, len(spots)):  # after the last line: copies of it
            yield key, corrupt(r, line)
        self.stats["invalid"] = len(spots)


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
