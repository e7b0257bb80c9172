"""The churn model: an online logistic regression on delayed labels, over a BG/NBD-like prior.

Labels: a prediction is "no next order within the window" (a few expected gaps, from the
moment it is made); the next order closes it with 0, the end of the window — an event-time
deadline :mod:`detectors.churn_risk` arms — with 1. Until the labels arrive — weeks, for a
store's first customers — the model leans on a heuristic that works from a customer's
first orders, in the spirit of BG/NBD:

* **expected gap** between orders: a Gamma-Poisson estimate, the customer's own gaps
  shrunk towards the store's mean gap by ``PRIOR_GAPS`` pseudo-gaps
  (:meth:`ChurnModel.expected_gap_days`);
* **P(alive)**: after an order a customer is still active with prior ``ALIVE_PRIOR``;
  silence is evidence against it — an active customer orders at rate 1/gap and engages
  (sessions, opens, clicks) at their usual rate, a lapsed one does not order and engages
  at ``DORMANT_ENGAGEMENT`` of it — combined by Bayes' rule over both Poisson streams;
* **P(churn)** = 1 − P(alive) · P(an active customer orders within the window);
* **customer lifetime value**: historic (the lifetime value so far) plus predicted 365-day
  value, P(alive) · 365/gap · average order value.

The classifier (``StandardScaler | LogisticRegression``) learns on the features of
:mod:`online_models.customer_features`, which include the prior's logit. Its probability
is blended with the prior, the classifier weighing ``labels / (labels + WARM_LABELS)``: the
score moves from heuristic to learned as labels accumulate. (Weighing the two by their
running log loss instead was tried: in a young store the labels that have arrived are
skewed — a "came back" label arrives within days, a "churned" one only when its window
ends — and the blend then swings on that skew rather than on which expert is better.)
"""

from __future__ import annotations

import math
from typing import NamedTuple

from river import linear_model, optim, preprocessing

from forewarn.core.timefmt import DAY, whole_seconds
from online_models.base import Estimator
from online_models.customer_features import FEATURES, Habit
from online_models.quality import Prequential

PRIOR_GAPS = 2.0  # pseudo-gaps of the store's mean gap in a customer's order rate (Gamma prior)
DEFAULT_GAP_DAYS = 14.0  # the store's mean gap before it has seen one ...
PRIOR_SPELLS = 20  # ... weighed as this many spells
MIN_BASELINE_DAYS = 7.0  # engagement before the last order is averaged over at least this long
ALIVE_PRIOR = 0.85  # P(still active) right after an order
DORMANT_ENGAGEMENT = 0.25  # a lapsed customer's activity, as a share of their active rate
WARM_LABELS = 500  # labels at which the classifier and the prior weigh equally
CLV_DAYS = 365
LOGIT_ALIVE = math.log(ALIVE_PRIOR / (1 - ALIVE_PRIOR))


class Outlook(NamedTuple):
    """What the heuristics say about a customer at one moment."""

    expected_gap_days: float
    activity_rate: float  # activity events per day before the last order
    p_alive: float
    prior: float  # heuristic P(no order within the window)
    next_order_us: int  # expected next order, if still active
    clv_predicted: float  # predicted value over the next CLV_DAYS


class ChurnModel(Estimator[tuple[float, ...], bool, float]):
    """Logistic regression on delayed labels, the store's habits for the prior, progressive quality.

    >>> m = ChurnModel()
    >>> x = (0.5,) * len(FEATURES)
    >>> p_model = m.score(x)
    >>> p_model, m.blend(p_model, prior=0.8)  # no labels yet: the prior alone
    (0.5, 0.8)
    >>> m.learn(x, True, 0.8)
    >>> m.score(x) > p_model, m.labels, round(m.model_weight(), 4)
    (True, 1, 0.002)
    """

    kind = "churn_risk"

    def __init__(self) -> None:
        super().__init__()
        self.pipeline = preprocessing.StandardScaler() | linear_model.LogisticRegression(
            optimizer=optim.SGD(0.02), l2=1e-4)
        # The store's habits from quiet spells (order to next order, or to a window's end):
        # per customer-day of exposure, so frequent buyers do not dominate the way they would
        # if every gap counted once, and censored spells (no next order yet) are not ignored.
        self.spells_days = 0.0
        self.spells_ordered = 0
        self.prequential = Prequential()

    # -- the store's habits

    def store_gap_days(self) -> float:
        """Mean days between visits: exposure over orders, across the store's closed spells.

        Starts from ``DEFAULT_GAP_DAYS``, weighed as ``PRIOR_SPELLS`` spells: in a young store
        the spells that have closed are the short ones, and would make everyone look overdue.
        """
        return ((self.spells_days + PRIOR_SPELLS * DEFAULT_GAP_DAYS)
                / (self.spells_ordered + PRIOR_SPELLS))

    def note_spell(self, days: float, ordered: bool) -> None:
        """(Part of) a quiet spell is over: ended by an order (``ordered``), or by a window's end."""
        self.spells_days += days
        self.spells_ordered += ordered

    # -- the heuristics

    def order_rate(self, h: Habit) -> tuple[float, float]:
        """Gamma posterior (shape, rate in days) of the customer's order rate while active."""
        return PRIOR_GAPS + h.gaps, PRIOR_GAPS * self.store_gap_days() + h.gap_days

    def expected_gap_days(self, h: Habit) -> float:
        shape, rate = self.order_rate(h)
        return rate / shape

    def outlook(self, h: Habit, now: int, last_order_us: int, orders: int, ltv: float, due: int) -> Outlook:
        """The heuristic view of the customer at ``now``; ``prior`` is about the window up to ``due``."""
        shape, rate = self.order_rate(h)
        quiet = max(0.0, (now - last_order_us) / DAY)
        # log P(no order for `quiet` days | active): Gamma-Poisson, as in Pareto/NBD
        orders_evidence = shape * math.log(rate / (rate + quiet))
        # Engagement: were the sessions, opens and clicks since the last order as many as the
        # customer's own before it predict (active), or DORMANT_ENGAGEMENT of that (lapsed)?
        # Conditional on the total, the split is binomial: no activity rate to estimate.
        base_days = max((last_order_us - h.since_us) / DAY, MIN_BASELINE_DAYS)
        before, seen = h.activity_at_order, h.activity - h.activity_at_order
        engagement_evidence = 0.0
        if quiet > 0:
            p_active = quiet / (quiet + base_days)
            p_lapsed = DORMANT_ENGAGEMENT * quiet / (DORMANT_ENGAGEMENT * quiet + base_days)
            engagement_evidence = (seen * math.log(p_active / p_lapsed)
                                   + before * math.log((1 - p_active) / (1 - p_lapsed)))
        logit = LOGIT_ALIVE + orders_evidence + engagement_evidence
        p_alive = 1 / (1 + math.exp(-logit)) if logit > -50 else 0.0
        # An active customer's rate given the silence so far: Gamma(shape, rate + quiet).
        remaining = max(0.0, (due - now) / DAY)
        p_order_in_time = 1 - ((rate + quiet) / (rate + quiet + remaining)) ** shape
        prior = 1 - p_alive * p_order_in_time
        gap_now = (rate + quiet) / shape  # expected gap from now, if still active
        next_order = last_order_us + whole_seconds(rate / shape * DAY)
        if next_order < now:  # overdue: the next order is a (longer) expected gap away from now
            next_order = now + whole_seconds(gap_now * DAY)
        aov = ltv / orders if orders else 0.0
        return Outlook(rate / shape, before / base_days, p_alive, prior, next_order,
                       p_alive * CLV_DAYS / gap_now * aov)

    # -- the classifier

    def model_weight(self) -> float:
        """The classifier's share of the blend."""
        n = self.prequential.labels
        return n / (n + WARM_LABELS)

    @property
    def labels(self) -> int:
        return self.prequential.labels

    def score(self, x: tuple[float, ...]) -> float:
        """The classifier's own P(churn) for the features ``x`` (see :meth:`blend` for the score a detector uses)."""
        return self.pipeline.predict_proba_one(dict(zip(FEATURES, x))).get(True, 0.5)

    def blend(self, p_model: float, prior: float) -> float:
        """P(churn): the classifier's probability and the heuristic ``prior``, weighed by :meth:`model_weight`."""
        w = self.model_weight()
        return w * p_model + (1 - w) * prior

    def learn(self, x: tuple[float, ...], y: bool, given: float) -> None:
        """Learn a labelled prediction (``y``: churned), scoring what was predicted then (progressive quality)."""
        self.prequential.update(y, given)
        self.pipeline.learn_one(dict(zip(FEATURES, x)), y)
        self.learned += 1

    def quality(self) -> dict[str, float]:
        return {**super().quality(), **self.prequential.get(), "model_weight": self.model_weight()}
