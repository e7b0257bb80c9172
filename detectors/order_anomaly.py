"""``order_anomaly``: an order unlike the customer's own and the store's, scored as it is placed.

Each ``order.placed`` is scored by :class:`online_models.anomaly.OrderAnomalyModel` (Half-Space
Trees with a streaming quantile threshold) on its facts — total against the customer's usual
and the store's typical order, units of one article, articles, discount, a new country or
address, first order, channel — *before* the model learns it. It fires on a clear rule, or
on a model outlier with at least one fact that stood out; ``reasons`` name those facts,
``score`` is in ``[0, 1]``, ``evidence`` holds the facts and the thresholds. Once per order.

>>> Params().quantile, Params().spike_ratio
(0.995, 8.0)

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("order_anomaly")]
[('2026-01-01T00:00:00Z', 'amount_high_for_store')]
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

from detectors.base import Candidate, Detector, example_event, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from online_models.anomaly import Order, OrderAnomalyModel, assess, evidence
from online_models.base import ModelPerWorker
from online_models.order_features import OrderHistory, extract, remember, scaled


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Thresholds under ``[detectors.order_anomaly]``.

    quantile: an order is a model outlier when its Half-Space Trees score reaches this
        quantile of all scores so far (0.5..0.9999; 0.995 flags about 1 order in 200,
        before the "something stood out" check).
    spike_ratio: rule — total at least this many times the customer's usual (>1) ...
    min_history: ... once the customer has at least this many earlier orders (>=1).
    first_order_ratio: rule — a first order at least this many times the store's typical
        order in its currency (>1).
    bulk_qty: rule — at least this many units of one article (>=2).
    rare_country_share: rule — ships to a country the customer never used that gets less
        than this share of the store's orders (0..1).
    country_change_ratio: rule — a country the customer never used, with a total at least
        this many times their usual (>1).
    warmup_orders: store-wide orders seen before rules that compare with the store, and
        model outliers, may fire (>=0).
    """

    quantile: Annotated[float, msgspec.Meta(ge=0.5, le=0.9999)] = 0.995
    spike_ratio: Annotated[float, msgspec.Meta(gt=1)] = 8.0
    min_history: Annotated[int, msgspec.Meta(ge=1)] = 2
    first_order_ratio: Annotated[float, msgspec.Meta(gt=1)] = 15.0
    bulk_qty: Annotated[int, msgspec.Meta(ge=2)] = 15
    rare_country_share: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.005
    country_change_ratio: Annotated[float, msgspec.Meta(gt=1)] = 3.0
    warmup_orders: Annotated[int, msgspec.Meta(ge=0)] = 200


class OrderAnomaly(Detector):
    kind: ClassVar[str] = "order_anomaly"
    Params = Params
    PRIORITY = "p2"
    ROUTE = "human"
    SUBJECT = "order"
    MODEL_BASED = True
    EVENTS: ClassVar[frozenset[type]] = frozenset({ev.OrderPlaced})
    EXAMPLE = (
        example_event("order.placed", "2026-01-01T00:00:00Z", order_id="o1", total=500.0, currency="EUR",
                      items=[{"sku": "sku-1", "qty": 20, "unit_price": 25.0}],
                      shipping_address={"country": "DE", "city": "Berlin", "postal_code": "10115"}),
    )
    EXAMPLE_SETTINGS = {"warmup_orders": 0}  # a store with no history yet

    def __init__(self, params: Params) -> None:
        self.params = params
        self.models = ModelPerWorker(lambda: OrderAnomalyModel(self.params.quantile))

    def retune(self, params: Params, config: Any) -> OrderAnomaly:
        """New thresholds while running; each worker's model takes a new quantile at its next order."""
        self.params = params
        return self

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        if type(event) is not ev.OrderPlaced:
            return []
        ts = event.ts_us
        known = cust.orders.get(event.order_id)
        if known is not None and known.placed_us == ts and known.total == event.total:
            return []  # the same order sent again under a new event id: scored already
        hist = cust.ext.get(self.kind)
        if hist is None:
            hist = cust.ext[self.kind] = OrderHistory()
        model = self.models.get()
        model.retune(q=self.params.quantile)
        facts = extract(event, hist, model.store)
        order = Order(facts, scaled(facts))
        given = model.score(order)
        threshold = given.threshold
        verdict = assess(facts, given.score, threshold, model.store.orders, self.params)
        model.learn(order, None, given)
        remember(hist, event)
        model.observe(cust.customer_id, event.order_id, event.order_id, ts, verdict.score, verdict.fired,
                      {"model_score": verdict.model_score})
        sched.score(self.kind, verdict.score, threshold)
        if not verdict.fired:
            return []
        return [Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=event.order_id,
            subject=event.order_id,
            episode="placed",
            fired_at=ts,
            reasons=[Reason(code, detail) for code, detail in verdict.reasons],
            evidence=evidence(facts, verdict),
            score=round(verdict.score, 4),
            value_at_risk=event.total,
        )]
