"""``vip_engagement_drop``: a high-value customer goes quiet, well below their own habit.

Watched: customers in the ``vip`` segment — ``tier`` vip, or lifetime value at or above
``[routing] vip_ltv``. Engagement is every ``order.placed`` and ``customer.activity``
(sessions, e-mail opens and clicks, support contacts).

*Baseline.* The customer's usual engagement rate, an exponentially weighted average of
their events with time constant ``baseline_days`` (bias-corrected while the history is
shorter than that, so a week of history gives a plain average over the week).

*Drop.* A Page–CUSUM test for a Poisson rate falling to ``drop_to`` times the baseline λ:
the evidence for a drop grows by ``(1 - drop_to) * λ`` per day of silence and falls by
``ln(1 / drop_to)`` with every engagement, never below zero. It fires when the evidence
reaches ``threshold`` (a likelihood ratio of ``e**threshold`` for "dropped" over "as
usual"). Between events the evidence grows linearly, so the moment it will reach the
threshold if the customer stays silent is known in advance: that moment is armed as an
event-time deadline, re-armed at each event, so a customer who never sends another event
is still caught. With the defaults a VIP with three engagements a day is flagged after
about four and a half silent days; one with one a day after about two weeks.

Once per drop: after firing, the evidence is held at the threshold and the next drop can
only fire after it has fallen back to zero (the customer is engaging as usual again).
``fired_at`` is the deadline; the evidence dates the drop's start (the last time the
evidence was zero) and counts what happened since.

>>> p = Params()
>>> (p.drop_to, p.threshold, p.baseline_days, p.min_history_days)
(0.1, 12.0, 14.0, 7.0)

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("vip_engagement_drop")]
[('2026-01-14T21:48:35Z', 'engagement_drop')]
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

import msgspec

from detectors.base import Candidate, Detector, example_event, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from forewarn.core.timefmt import DAY, SECOND, format_us


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Thresholds under ``[detectors.vip_engagement_drop]``.

    drop_to: the engagement level, as a share of the baseline, that counts as a drop
        (0.01..0.8). Lower ignores milder slowdowns: with 0.1 a customer still engaging at
        more than about 40 % of their habit never accumulates evidence.
    threshold: evidence (natural log of the likelihood ratio) needed to fire (1..50).
        Higher waits longer and raises fewer false alarms; 12 keeps ordinary quiet spells
        of daily-active VIPs (three silent days happen) below it.
    baseline_days: time constant of the baseline average, days (1..365).
    min_history_days: engagement history needed before a customer's baseline is trusted,
        days (1..365); counted from the first engagement seen while they were a VIP.
    """

    drop_to: Annotated[float, msgspec.Meta(ge=0.01, le=0.8)] = 0.1
    threshold: Annotated[float, msgspec.Meta(ge=1, le=50)] = 12.0
    baseline_days: Annotated[float, msgspec.Meta(ge=1, le=365)] = 14.0
    min_history_days: Annotated[float, msgspec.Meta(ge=1, le=365)] = 7.0


# gc=False: holds only values and lists of values, never a cycle (see forewarn/core/state.py).
class Watch(msgspec.Struct, array_like=True, gc=False):
    """One VIP's engagement record (kept in ``cust.ext``)."""

    since_us: int  # first engagement watched: the baseline's start
    at_us: int  # the time level and evidence are carried to
    last_engaged_us: int
    level: float  # exponentially decayed engagement count at at_us
    evidence: float  # CUSUM statistic at at_us
    quiet_since_us: int  # when the evidence was last zero: the drop's likely start
    events_since_quiet: int  # engagements since then
    fired: bool = False


class VipEngagementDrop(Detector):
    kind: ClassVar[str] = "vip_engagement_drop"
    Params = Params
    PRIORITY = "p2"
    ROUTE = "human"
    SUBJECT = "customer"
    COOLDOWN_HOURS = 168.0
    EXAMPLE = (
        (example_event("customer.updated", "2026-01-01T00:00:00Z", tier="vip"),)
        + tuple(example_event("customer.activity", f"2026-01-{day:02d}T{hour:02d}:00:00Z", kind="session")
                for day in range(1, 11) for hour in (9, 13, 18))  # three sessions a day for ten days ...
        + (example_event("customer.activity", "2026-02-01T00:00:00Z", "c2", kind="session"),)  # ... then silence
    )

    EVENTS: ClassVar[frozenset[type]] = frozenset({ev.OrderPlaced, ev.CustomerActivity})

    def __init__(self, params: Params, vip_ltv: float = 2000.0) -> None:
        self.params = params
        self.vip_ltv = vip_ltv
        self.tau_us = params.baseline_days * DAY
        self.min_history_us = int(params.min_history_days * DAY)
        self.event_cost = math.log(1.0 / params.drop_to)  # evidence one engagement removes
        self.silence_share = 1.0 - params.drop_to  # of λ: evidence one silent day adds

    @classmethod
    def from_config(cls, params: Params, config: Any) -> VipEngagementDrop:
        """Who counts as VIP is the routing table's business: one threshold for both."""
        return cls(params, config.routing.vip_ltv)

    def _is_vip(self, cust: CustomerState) -> bool:
        # CustomerState.segment's "vip" test, inlined: this runs for every engagement event.
        return cust.tier == "vip" or cust.ltv >= self.vip_ltv

    def rate_per_day(self, w: Watch) -> float:
        """Baseline engagements per day at ``w.at_us``, bias-corrected for a short history."""
        age = w.at_us - w.since_us
        if age <= 0:
            return 0.0
        return w.level / (self.params.baseline_days * -math.expm1(-age / self.tau_us))

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        if type(event) not in self.EVENTS:
            return []
        w: Watch | None = cust.ext.get(self.kind)
        if not self._is_vip(cust):
            if w is not None:  # no longer high-value (refunds): stop watching
                del cust.ext[self.kind]
                sched.disarm(cust.customer_id)
            return []
        ts = event.ts_us
        if w is None:
            w = cust.ext[self.kind] = Watch(ts, ts, ts, 0.0, 0.0, ts, 0)
        self._accrue(w, ts)
        w.last_engaged_us = max(w.last_engaged_us, ts)
        w.level += 1.0
        w.evidence = max(0.0, w.evidence - self.event_cost)
        w.events_since_quiet += 1
        if w.evidence == 0.0:
            w.quiet_since_us, w.events_since_quiet = ts, 0
            w.fired = False  # engaging as usual again: a later drop is a new one
        self._arm(cust, w, sched)
        return []

    def _accrue(self, w: Watch, ts: int) -> None:
        """Carry the record from its last event to ``ts`` (no engagement in between)."""
        dt = max(0, ts - w.at_us)  # a late event is counted at the latest time known
        if self._trusted(w):
            w.evidence += self.silence_share * self.rate_per_day(w) * dt / DAY
            if w.fired:
                w.evidence = min(w.evidence, self.params.threshold)
        w.level *= math.exp(-dt / self.tau_us)
        w.at_us += dt

    def _trusted(self, w: Watch) -> bool:
        return w.at_us - w.since_us >= self.min_history_us

    def _arm(self, cust: CustomerState, w: Watch, sched: Scheduler) -> None:
        rate = self.rate_per_day(w)
        if w.fired or not self._trusted(w) or rate <= 0.0:
            sched.disarm(cust.customer_id)
            return
        days = (self.params.threshold - w.evidence) / (self.silence_share * rate)
        # Whole seconds, like event times: the trigger's fired_at reads cleanly.
        sched.arm(cust.customer_id, w.at_us + math.ceil(days * DAY / SECOND) * SECOND)

    def on_deadline(self, cust: CustomerState, timer: str, deadline_us: int, sched: Scheduler) -> list[Candidate]:
        w: Watch | None = cust.ext.get(self.kind)
        if w is None or not self._is_vip(cust):
            return []
        rate = self.rate_per_day(w)  # the baseline the deadline was computed with
        self._accrue(w, deadline_us)
        w.fired = True
        p = self.params
        quiet_days = (deadline_us - w.quiet_since_us) / DAY
        expected = rate * quiet_days
        seen = w.events_since_quiet
        silent_days = (deadline_us - w.last_engaged_us) / DAY
        lately = (f"nothing at all for {silent_days:.1f} days" if seen == 0 else
                  f"only {seen} engagement{'s' if seen > 1 else ''} in {quiet_days:.1f} days "
                  f"(the last {silent_days:.1f} days ago)")
        return [Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=None,
            subject=cust.customer_id,
            episode=format_us(deadline_us),
            fired_at=deadline_us,
            reasons=[Reason(
                "engagement_drop",
                f"This VIP usually engages about {rate:.1f} times a day (orders, visits, e-mails); "
                f"since {format_us(w.quiet_since_us)}: {lately}, where about {expected:.0f} were "
                "expected. A personal check-in now is cheaper than winning them back later.",
            )],
            evidence={
                "baseline_per_day": round(rate, 3),
                "drop_since": format_us(w.quiet_since_us),
                "engagements_since": seen,
                "expected_since": round(expected, 1),
                "last_engagement_at": format_us(w.last_engaged_us),
                "evidence": round(w.evidence, 3),
                "threshold": p.threshold,
                "drop_to": p.drop_to,
                "baseline_days": p.baseline_days,
                "watched_since": format_us(w.since_us),
                "ltv": round(cust.ltv, 2),
                "tier": cust.tier,
            },
            score=round(max(0.0, min(1.0, 1.0 - seen / expected)), 4) if expected > 0 else None,
        )]
