"""Payments of the simulated store: most succeed at once, some fail and recover, some never do.

A mixin of :class:`forewarn.apps.simulator.store.Store`: it uses the store's ``emit``,
``planted``, ``window`` (the payment recovery window, µs) and ``max_attempts``. A recovery or a
third attempt is never within 2 minutes of the end of the recovery window, and recovery
delays are spread from 5 to 300 minutes, so a sweep over ``recovery_minutes`` changes what
is true.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from forewarn.apps.simulator.clock import seconds
from forewarn.apps.simulator.reference import METHOD_T, P_PAYMENT_FAIL, SOFT_T, pick
from forewarn.core.timefmt import HOUR, MINUTE, SECOND

if TYPE_CHECKING:
    from forewarn.apps.simulator.store import Customer


class Payments:
    def payment(self, r: random.Random, c: Customer, oid: str, t: int, total: float) -> int | None:
        """Payment events for an order; returns when it was paid (None: never)."""
        cid, cur = c.cid, c.currency
        method = pick(r, METHOD_T)
        base = {"order_id": oid, "amount": total, "currency": cur, "method": method}
        if r.random() >= P_PAYMENT_FAIL:
            paid = t + seconds(3 * SECOND + r.random() * 117 * SECOND)
            self.emit(paid, "payment.succeeded", cid, base)
            return paid
        self.planted["payment_failed"].add(oid)
        window = self.window
        f0 = t + seconds(5 * SECOND + r.random() * 85 * SECOND)

        def fail(at: int, attempt: int, code: str) -> None:
            self.emit(at, "payment.failed", cid, {**base, "failure_code": code, "attempt": attempt})

        def clear(at: int) -> int:
            """Move ``at`` out of the 2 minutes either side of the recovery window's end."""
            edge = f0 + window
            if abs(at - edge) < 2 * MINUTE:
                at = edge + (2 * MINUTE + seconds(r.random() * 3 * MINUTE)) * (1 if at >= edge else -1)
            return at

        def cancel(at: int, reason: str) -> None:
            self.emit(at, "order.cancelled", cid, {"order_id": oid, "reason": reason})

        u = r.random()
        if u < 0.08:  # fraud screening refuses it
            fail(f0, 1, "fraud_suspected")
            if r.random() < 0.7:
                cancel(clear(f0 + seconds(HOUR + r.random() * 11 * HOUR)), "fraud_suspected")
            return None
        code = pick(r, SOFT_T)
        fail(f0, 1, code)
        if u < 0.70:  # recovers 5 to 300 minutes later, log-uniform (the sweep), maybe after a 2nd try
            delay = seconds(5 * MINUTE * 60 ** r.random())
            paid = clear(f0 + delay)
            paid = max(paid, f0 + 3 * MINUTE)
            if r.random() < 0.3 and paid - f0 > 4 * MINUTE:
                second = clear(f0 + MINUTE + seconds(r.random() * (paid - f0 - 3 * MINUTE)))
                if f0 < second < paid - MINUTE:
                    fail(second, 2, code)
            self.emit(paid, "payment.succeeded", cid, base)
            return paid
        if u < 0.85:  # tries again and again: attempt 3 (max_attempts by default)
            at = f0
            for attempt in range(2, max(3, self.max_attempts) + 1):
                at = clear(at + seconds(MINUTE + r.random() * 19 * MINUTE))
                fail(at, attempt, r.choice((code, code, "card_declined")))
            if r.random() < 0.4:
                paid = clear(at + seconds(10 * MINUTE + r.random() * 230 * MINUTE))
                self.emit(paid, "payment.succeeded", cid, base)
                return paid
            if r.random() < 0.6:
                cancel(clear(at + seconds(3 * HOUR + r.random() * 45 * HOUR)), "payment_failed")
            return None
        # never recovers; one more try at most, then the shop may cancel
        at = f0
        if r.random() < 0.5:
            at = clear(f0 + seconds(5 * MINUTE + r.random() * 25 * MINUTE))
            fail(at, 2, code)
        if r.random() < 0.6:
            cancel(clear(at + seconds(3 * HOUR + r.random() * 45 * HOUR)), "payment_failed")
        return None

    # -- shipments
