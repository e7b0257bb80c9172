"""Per-customer, per-kind cooldown: a struggling customer is not flooded with triggers.

After a trigger of kind K for a customer fires at event time t, further K triggers for
that customer firing before t + ``[routing.cooldown_hours] K`` are held back (counted, not
queued). Kept in the customer's state, in event time, so a live run and a backtest hold
back the same ones. Distinct situations still have distinct trigger ids; this only decides
which of them reach an agent.

>>> from forewarn.core.state import CustomerState
>>> from detectors.base import Candidate
>>> gate = Cooldown({"payment_failed": 1.0})
>>> cust = CustomerState("c1")
>>> def cand(at): return Candidate(kind="payment_failed", customer_id="c1", order_id=None,
...     subject="o", episode=str(at), fired_at=at, reasons=[], evidence={})
>>> [gate.admit(cust, cand(t)) for t in (0, 1_800_000_000, 3_600_000_000)]
[True, False, True]
"""

from __future__ import annotations

from collections.abc import Mapping

from detectors.base import Candidate
from forewarn.core.state import CustomerState
from forewarn.core.timefmt import HOUR

EXT_KEY = "cooldown"  # cust.ext[EXT_KEY]: kind -> event time of the last trigger let through


class Cooldown:
    def __init__(self, hours: Mapping[str, float]) -> None:
        self.span_us = {kind: int(h * HOUR) for kind, h in hours.items() if h > 0}

    def admit(self, cust: CustomerState, cand: Candidate) -> bool:
        """True to let the candidate through (and start a cooldown), False to hold it back."""
        span = self.span_us.get(cand.kind)
        if span is None:
            return True
        last = cust.ext.setdefault(EXT_KEY, {})
        prev = last.get(cand.kind)
        # abs(): a late event may fire a trigger earlier in event time than the last one.
        if prev is not None and abs(cand.fired_at - prev) < span:
            return False
        last[cand.kind] = cand.fired_at if prev is None else max(prev, cand.fired_at)
        return True
