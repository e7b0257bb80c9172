"""What really happened, whatever the thresholds: the yardstick a threshold sweep is scored on.

A ground-truth file states what *the rule at one threshold* should fire. Scored against
it, a sweep of that same threshold is judged by one of its own values: every other value
looks wrong by construction. For a kind whose threshold is a waiting time before deciding
that something went wrong, the business question is different — did it really go wrong?

* ``payment_failed`` — **never recovered**: an episode (opened by an order's first failed
  payment, closed by a ``payment.succeeded``) that no success closes by the end of the input.
  A cancellation does not close it: the sale is lost, which is exactly what an early nudge
  is for. A short recovery window then also fires for payments that would have recovered
  on their own (false alarms); a long one fires later. Episodes opened less than
  ``DECIDED_AFTER`` before the end of the input are *undecided* and left out of the score,
  triggers about them included: the data cannot say yet whether they recover.

Lead time (:class:`Surfacing`): how long before the problem would have reached the shop
without the trigger. That is the first moment the customer acts on it — their first
``support_contact`` activity, or the cancellation of the order concerned — within
``SURFACE_WINDOW`` after the situation began (the earlier of the truth row's ``fired_at``
and the trigger's; for ``payment_failed`` outcome rows, the first failure). A positive
lead means the shop reached out first; negative, the customer had to ask. A situation the
customer never acted on in that window has no lead time (``lead_n`` counts those that do).
Only kinds a customer notices by themselves get one: shipment kinds and ``payment_failed``.

>>> rows, undecided = never_recovered_payments(groundtruth.timeline([
...     b'{"event_id":"1","type":"payment.failed","ts":"2026-01-01T00:00:00Z","customer_id":"c",'
...     b'"order_id":"o","amount":10,"currency":"EUR","failure_code":"card_declined"}',
...     b'{"event_id":"2","type":"customer.activity","ts":"2026-01-03T00:00:00Z","customer_id":"c",'
...     b'"kind":"support_contact"}']))
>>> [(r["subject"], r["fired_at"]) for r in rows], undecided
([('o', '2026-01-01T00:00:00Z')], set())
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from typing import Any

from forewarn.apps import groundtruth
from forewarn.core import events as ev
from forewarn.core.timefmt import DAY, format_us

DECIDED_AFTER = DAY
SURFACE_WINDOW = 3 * DAY

Timeline = list[tuple[int, ev.AnyEvent]]


def never_recovered_payments(timeline: Timeline) -> tuple[list[dict[str, Any]], set[tuple[str, str, str]]]:
    """Truth rows (groundtruth's format, ``fired_at`` = first failure) of the payment episodes
    never recovered, and the (kind, customer, order) keys still undecided at the end."""
    if not timeline:
        return [], set()
    end = timeline[-1][0]
    opened: dict[tuple[str, str], int] = {}  # (customer, order) -> first failure of the open episode
    rows: list[dict[str, Any]] = []
    undecided: set[tuple[str, str, str]] = set()
    lost: list[tuple[str, str, int]] = []
    for ts, e in timeline:
        if isinstance(e, ev.PaymentFailed):
            opened.setdefault((e.customer_id, e.order_id), ts)
        elif isinstance(e, ev.PaymentSucceeded):
            opened.pop((e.customer_id, e.order_id), None)
    # An episode closed by a success is gone from ``opened``; a later failure reopens it.
    for (cid, oid), first in opened.items():
        if end - first < DECIDED_AFTER:
            undecided.add(("payment_failed", cid, oid))
        else:
            lost.append((cid, oid, first))
    for cid, oid, first in sorted(lost, key=lambda x: (x[2], x[0], x[1])):
        rows.append({"kind": "payment_failed", "customer_id": cid, "order_id": oid, "subject": oid,
                     "fired_at": format_us(first), "planted": False,
                     "detail": f"first failure {format_us(first)}, never recovered by {format_us(end)}"})
    return rows, undecided


# kind -> the outcome truth that replaces a truth file's rows when that kind's thresholds are swept
OUTCOMES = {"payment_failed": never_recovered_payments}


class Surfacing:
    """When each customer acted on a problem by themselves: support contacts and cancellations."""

    def __init__(self, timeline: Timeline) -> None:
        contacts: dict[str, list[int]] = defaultdict(list)
        cancels: dict[tuple[str, str], list[int]] = defaultdict(list)
        for ts, e in timeline:
            if isinstance(e, ev.CustomerActivity) and e.kind == "support_contact":
                contacts[e.customer_id].append(ts)
            elif isinstance(e, ev.OrderCancelled):
                cancels[(e.customer_id, e.order_id)].append(ts)
        self.contacts = dict(contacts)  # already in time order: the timeline is sorted
        self.cancels = dict(cancels)

    def first(self, customer_id: str, order_id: str | None, start: int) -> int | None:
        """The customer's first support contact or cancellation of ``order_id`` in
        ``[start, start + SURFACE_WINDOW]``, or None."""
        found = [t for t in (_first_from(self.contacts.get(customer_id), start),
                             _first_from(self.cancels.get((customer_id, order_id)), start))
                 if t is not None and t <= start + SURFACE_WINDOW]
        return min(found) if found else None


def _first_from(times: list[int] | None, start: int) -> int | None:
    if not times:
        return None
    i = bisect_left(times, start)
    return times[i] if i < len(times) else None
