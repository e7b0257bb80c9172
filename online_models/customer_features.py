"""Customer features for churn: habit, engagement and experiences, kept as running counts.

:class:`Habit` (in ``CustomerState.ext["churn_risk"]``, ~100 bytes plus waiting
predictions) is updated by cheap increments — an activity event is one addition, no model
call — and read at evaluation time by :func:`features`, together with the customer's
order history already in :class:`forewarn.core.state.CustomerState` (orders, lifetime value,
first and last order).

The features (names in ``FEATURES``), as of event time ``now``:

* ``log_orders`` — log(1 + orders placed);
* ``quiet_gaps`` — time since the last order, in expected gaps (see :mod:`online_models.churn`);
* ``engagement`` — log((1 + sessions, opens, clicks since the last order) / (1 + the number
  the customer's usual activity rate predicts for that time));
* ``gap_trend`` — log(last gap / mean gap): positive when orders are spacing out;
* ``log_order_value`` — log(1 + average order value);
* ``failed_payments``, ``late_deliveries``, ``exceptions``, ``returns``,
  ``support_contacts`` — log(1 + count) of the experiences that drive people away;
* ``prior_logit`` — the logit of the heuristic churn probability (the model's prior).
"""

from __future__ import annotations

import math

import msgspec

from forewarn.core.timefmt import DAY, HOUR
from online_models.labels import Pending

SAME_VISIT = HOUR  # orders closer than this to the previous one belong to the same visit
FEATURES = ("log_orders", "quiet_gaps", "engagement", "gap_trend", "log_order_value",
            "failed_payments", "late_deliveries", "exceptions", "returns", "support_contacts", "prior_logit")


# gc=False: holds only values and lists of values, never a cycle (see forewarn/core/state.py).
class Habit(msgspec.Struct, array_like=True, gc=False):
    """One customer's running counts (``CustomerState.ext["churn_risk"]``).

    since_us: event time of the first event counted (the engagement baseline's start).
    activity: sessions, e-mail opens and clicks since ``since_us``.
    activity_at_order: ``activity`` when the last order was placed.
    gaps, gap_days: gaps between visits seen and their sum in days; last_gap_days the latest.
    spell_noted_us: how much of the current quiet spell the store's exposure already counts.
    pending: evaluations waiting for their label (each with the end of its window).
    fired_us: event time of the last churn_risk trigger (for the cooldown; 0: never).
    """

    since_us: int
    activity: int = 0
    activity_at_order: int = 0
    support: int = 0
    failed_payments: int = 0
    late_deliveries: int = 0
    exceptions: int = 0
    returns: int = 0
    gaps: int = 0
    gap_days: float = 0.0
    last_gap_days: float = 0.0
    spell_noted_us: int = 0
    pending: list[Pending] = []
    fired_us: int = 0

    @property
    def visits(self) -> int:
        """Orders at least ``SAME_VISIT`` apart (once the customer has ordered): the habit, in visits."""
        return self.gaps + 1

    def order_placed(self, ts: int, last_order_us: int | None) -> None:
        """Count a new visit's order (not one within ``SAME_VISIT`` of the last: see :func:`same_visit`)."""
        self.activity_at_order = self.activity
        if last_order_us is not None and ts > last_order_us:
            gap = (ts - last_order_us) / DAY
            self.gaps += 1
            self.gap_days += gap
            self.last_gap_days = gap


def same_visit(ts: int, last_order_us: int | None) -> bool:
    """An order placed within ``SAME_VISIT`` of the previous one (the forgotten item, the
    split basket) is part of the same visit: it says nothing about the customer's rhythm."""
    return last_order_us is not None and abs(ts - last_order_us) < SAME_VISIT


def _log1p(n: float) -> float:
    return math.log1p(max(n, 0.0))


def features(h: Habit, now: int, orders: int, ltv: float, last_order_us: int,
             expected_gap_days: float, activity_rate: float, prior: float) -> tuple[float, ...]:
    """The feature values in ``FEATURES`` order (see the module docstring).

    expected_gap_days: the customer's expected days between orders.
    activity_rate: their usual activity events per day while active.
    prior: the heuristic probability that the open prediction ends in churn.
    """
    quiet_days = max(0.0, (now - last_order_us) / DAY)
    seen = h.activity - h.activity_at_order
    expected = activity_rate * quiet_days
    mean_gap = h.gap_days / h.gaps if h.gaps else 0.0
    trend = math.log((h.last_gap_days + 1.0) / (mean_gap + 1.0)) if h.gaps >= 2 else 0.0
    p = min(max(prior, 1e-3), 1 - 1e-3)
    return (
        _log1p(orders),
        quiet_days / expected_gap_days,
        math.log((seen + 1.0) / (expected + 1.0)),
        trend,
        _log1p(ltv / orders if orders else 0.0),
        _log1p(h.failed_payments),
        _log1p(h.late_deliveries),
        _log1p(h.exceptions),
        _log1p(h.returns),
        _log1p(h.support),
        math.log(p / (1 - p)),
    )
