"""Parcels of the simulated store: on time, late, never delivered, stalled, carrier
exceptions, cancelled on the way — each clear-cut with respect to the thresholds.

A mixin of :class:`forewarn.apps.simulator.store.Store`: it uses the store's ``emit``,
``fmt``, ``planted``, ``grace``, ``stall``, ``gap_max``, ``end`` and ``n_shipments``. A late
parcel arrives at least 6 h after its deadline (or never), an on-time one at least 1 h
before; quiet spells are either 2 h shorter than the stall time or 6 h longer.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from forewarn.apps.simulator.clock import seconds
from forewarn.apps.simulator.reference import (
    CARRIERS, COUNTRIES, ETA_DAYS_T, EXCEPTION_DETAIL, EXCEPTION_T, P_CANCELLED, P_EXCEPTION, P_LATE,
    P_NEVER, P_SLOW_PICKUP, P_SLOW_PICKUP_LATE, P_STALLED, pick,
)
from forewarn.core.timefmt import DAY, HOUR, MINUTE

if TYPE_CHECKING:
    from forewarn.apps.simulator.store import Customer


class Parcels:

    def fill(self, r: random.Random, a: int, b: int) -> list[int]:
        """In-transit scan times strictly between ``a`` and ``b``, no gap over ``gap_max``."""
        g = min(0.6 * self.gap_max, (14 + r.random() * 16) * HOUR)
        n = max(0, math.ceil((b - a) / g) - 1)
        slot = (b - a) / (n + 1)
        return [a + seconds(slot * (j + 1 + (r.random() - 0.5) * 0.5)) for j in range(n)]

    def path(self, r: random.Random, a: int, d: int) -> list[tuple[int, str]]:
        """Scans from the last event at ``a`` to delivery at ``d``: in transit, out for delivery."""
        out_at = d - seconds(HOUR + r.random() * 4 * HOUR)
        steps: list[tuple[int, str]] = []
        if out_at > a + 10 * MINUTE:
            steps += [(t, "in_transit") for t in self.fill(r, a, out_at)]
            steps.append((out_at, "out_for_delivery"))
        else:
            steps += [(t, "in_transit") for t in self.fill(r, a, d)]
        steps.append((d, "delivered"))
        return steps

    def shipment(self, r: random.Random, c: Customer, oid: str, created: int, far: bool,
                 total: float) -> tuple[int | None, int, bool]:
        """Shipment events; returns (delivered at or None, delivery deadline, lost for good)."""
        self.n_shipments += 1
        sid = f"shp_{self.n_shipments:07d}"
        cid = c.cid
        grace, stall = self.grace, self.stall
        carrier = r.choice(CARRIERS.get(c.country, CARRIERS[""]))
        eta0 = (created // DAY + pick(r, ETA_DAYS_T) + (2 if far else 0)) * DAY + r.choice((18, 20)) * HOUR
        hubs = [city for city, _ in next((x[4] for x in COUNTRIES if x[0] == c.country), (("Hub", ""),))]
        t1 = created + seconds(3 * HOUR + r.random() * 11 * HOUR)
        u = r.random()
        if u < P_LATE:
            outcome = "late"
        elif u < P_LATE + P_NEVER:
            outcome = "never"
        elif u < P_LATE + P_NEVER + P_EXCEPTION:
            outcome = "exception"
        elif u < P_LATE + P_NEVER + P_EXCEPTION + P_STALLED:
            outcome = "stalled"
        elif u < P_LATE + P_NEVER + P_EXCEPTION + P_STALLED + P_CANCELLED:
            outcome = "cancelled"
        else:
            outcome = "on_time"
        eta = eta0
        scans: list[tuple[int, str]] = []  # (ts, status) after the first in-transit scan
        new_eta = None
        if outcome in ("on_time", "late") and r.random() < (0.08 if outcome == "on_time" else 0.25):
            if outcome == "on_time" and r.random() < 0.2 and eta0 - DAY > t1 + 30 * HOUR:
                new_eta = eta0 - DAY  # good news: earlier than first said
            else:
                new_eta = eta0 + r.choice((1, 1, 2)) * DAY
            eta = new_eta
        deadline = eta + grace
        delivered: int | None = None
        lost = False
        code = None
        cancel_at = None
        if outcome == "on_time":
            if grace >= 2 * HOUR and r.random() < 0.15:
                d = eta + seconds(r.random() * (grace - HOUR))
            else:
                lo = max(t1 + 4 * HOUR, eta - 60 * HOUR)
                d = lo + seconds(r.random() * max(0, eta - HOUR - lo))
            delivered = min(d, deadline - HOUR)
            scans = self.path(r, t1, delivered)
        elif outcome == "late":
            delivered = deadline + seconds(6 * HOUR + r.random() * 90 * HOUR)
            scans = self.path(r, t1, delivered)
        elif outcome == "never":
            last = t1
            for _ in range(r.randint(0, 2)):
                last += seconds((0.3 + r.random() * 0.6) * min(self.gap_max, 30 * HOUR))
                scans.append((last, "in_transit"))
            lost = True
        elif outcome == "stalled":
            s = t1
            if r.random() < 0.5:
                s = t1 + seconds((0.3 + r.random() * 0.6) * min(self.gap_max, 30 * HOUR))
                scans.append((s, "in_transit"))
            resume = s + stall + seconds(6 * HOUR + r.random() * 66 * HOUR)
            if r.random() < 0.6:
                d = resume + seconds(2 * HOUR + r.random() * 20 * HOUR)
                d = self.clear_delivery(r, d, deadline)
                scans.append((resume, "in_transit"))
                scans += self.path(r, resume, d)
                delivered = d
            else:
                scans.append((resume, "in_transit"))
                lost = True
        elif outcome == "exception":
            code = pick(r, EXCEPTION_T)
            x = t1 + seconds(4 * HOUR + r.random() * max(HOUR, eta + 6 * HOUR - t1 - 4 * HOUR))
            before = [(t, "in_transit") for t in self.fill(r, t1, x)]
            if code == "failed_attempt":
                oft = x - seconds(HOUR + r.random() * 2 * HOUR)
                if oft > (before[-1][0] if before else t1) + 10 * MINUTE:
                    before.append((oft, "out_for_delivery"))
            after: list[tuple[int, str]] = []
            if code == "failed_attempt":
                again = x + seconds(16 * HOUR + r.random() * 10 * HOUR)
                after = [(again, "out_for_delivery"), (again + seconds(HOUR + r.random() * 3 * HOUR), "delivered")]
            elif code in ("address_issue", "customs_hold", "other") and (code != "address_issue" or r.random() < 0.5):
                wait = {"address_issue": (10 * HOUR, 26 * HOUR), "customs_hold": (2 * DAY, 4 * DAY),
                        "other": (12 * HOUR, 36 * HOUR)}[code]
                resume = x + seconds(wait[0] + r.random() * (wait[1] - wait[0]))
                d = resume + seconds(6 * HOUR + r.random() * 30 * HOUR)
                after = [(resume, "in_transit")] + self.path(r, resume, d)
            else:
                lost = True
            if after:
                d = after[-1][0]
                shift = self.clear_delivery(r, d, deadline) - d
                after = [(t + shift, s) for t, s in after]
                delivered = after[-1][0]
            scans = before + [(x, "exception")] + after
        else:  # cancelled while on its way
            cancel_at = created + seconds(2 * HOUR + r.random() * max(HOUR, min(18 * HOUR, stall - 3 * HOUR)))
        # emit
        ids = {"order_id": oid, "shipment_id": sid}
        emit = self.emit
        emit(created, "shipment.created", cid, {**ids, "carrier": carrier, "estimated_delivery_at": self.fmt(eta0)})
        first = {**ids, "status": "in_transit", "location": r.choice(hubs)}
        if new_eta is not None:
            first["estimated_delivery_at"] = self.fmt(new_eta)
        elif outcome in ("on_time", "late"):
            t1 = self.pickup(sid, outcome, created, t1, scans[0][0])
        if cancel_at is None or t1 < cancel_at:
            emit(t1, "shipment.updated", cid, first)
        for t, status in scans:
            if status == "delivered":
                emit(t, "shipment.delivered", cid, ids)
            elif status == "exception":
                emit(t, "shipment.exception", cid, {**ids, "code": code, "detail": EXCEPTION_DETAIL[code]})
            else:
                emit(t, "shipment.updated", cid, {**ids, "status": status, "location": r.choice(hubs)})
        if cancel_at is not None:
            emit(cancel_at, "order.cancelled", cid, {"order_id": oid, "reason": "customer_request"})
            emit(cancel_at + seconds(DAY + r.random() * 3 * DAY), "payment.refunded", cid,
                 {"order_id": oid, "amount": total, "currency": c.currency})
            return None, deadline, False
        # what was planted
        if outcome == "exception":
            self.planted["shipment_exception"].add(sid)
            if lost:
                self.emit(x + seconds(DAY + r.random() * 2 * DAY), "payment.refunded", cid,
                          {"order_id": oid, "amount": total, "currency": c.currency})
        if outcome in ("stalled", "never"):
            self.planted["shipment_stalled"].add(sid)
        if delivered is None or delivered >= deadline + 6 * HOUR:
            self.planted["delivery_late"][sid] = deadline
            self.planted["delivery_at_risk"].add(sid)
            if r.random() < 0.35:  # "where is my parcel?"
                emit(deadline + seconds(2 * HOUR + r.random() * 46 * HOUR), "customer.activity", cid,
                     {"kind": "support_contact"})
        return delivered, deadline, lost

    def pickup(self, sid: str, outcome: str, created: int, t1: int, next_scan: int) -> int:
        """When the carrier's first scan comes: later than usual for most parcels that will be
        late (a slow pickup is how delays often start), rarely for the others.

        Drawn from a generator of its own and never moved out of the window, so the rest of
        the store — every other event, its id, the ground truth — is the same with or without
        it; the scan stays before the next one and within ``gap_max`` of creation, so no quiet
        spell and no deadline changes."""
        r = random.Random(f"forewarn-sim:{self.spec.seed}:pickup:{sid}")
        if r.random() >= (P_SLOW_PICKUP_LATE if outcome == "late" else P_SLOW_PICKUP):
            return t1
        latest = min(next_scan, created + self.gap_max, self.end) - 30 * MINUTE
        if latest - t1 < 2 * HOUR:
            return t1
        return t1 + seconds((0.5 + 0.5 * r.random()) * (latest - t1))

    def clear_delivery(self, r: random.Random, d: int, deadline: int) -> int:
        """Move a delivery time out of (deadline - 1 h, deadline + 6 h): clearly on time or late."""
        if deadline - HOUR < d < deadline + 6 * HOUR:
            return deadline + 6 * HOUR + seconds(r.random() * 3 * HOUR)
        return d

