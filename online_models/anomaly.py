"""The order anomaly model: Half-Space Trees with a streaming quantile threshold, plus clear rules.

:class:`OrderAnomalyModel` scores each order's scaled facts
(:func:`online_models.order_features.scaled`) with River's ``anomaly.HalfSpaceTrees`` and
filters the scores the way ``anomaly.QuantileFilter`` does: an order is an outlier when its
score reaches the running ``q`` quantile of all scores so far (``stats.Quantile``), and
outliers are not learned, so a burst of fraud does not teach the trees that fraud is
normal. (``QuantileFilter.learn_one`` would score each order a second time; the filter is
three lines, so the model does it once.) The trees need one window of orders before they
score; rules that compare with the store need ``warmup_orders``.

:func:`assess` turns facts and the model score into a verdict an agent can act on: the
combined score in ``[0, 1]``, whether it fires, and the reasons — every fact that stood
out, in words. It fires on a clear rule alone, or on a model outlier for which at least
one fact stood out (an outlier nobody can explain is not worth an agent's time). The
thresholds are the detector's params (:class:`detectors.order_anomaly.Params`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from river import anomaly, stats

from online_models.base import Estimator
from online_models.order_features import OrderFacts, StoreProfile
from forewarn.core.text import quote

SUPPORTING = frozenset({"first_order", "new_address", "new_country"})
RULE_SCORE = 0.99  # score of an order a clear rule flags, whatever the trees say
# Half-Space Trees: 10 trees of height 8 over windows of 250 orders (~170 kB of state);
# the seed fixes the random split dimensions so every run learns the same trees.
N_TREES, HEIGHT, WINDOW, SEED = 10, 8, 250, 7


class Order(NamedTuple):
    """An order as the model sees it: its facts (the store profile learns them) and their scaled form (the trees')."""

    facts: OrderFacts
    scaled: dict[str, float]


class Scored(NamedTuple):
    """The trees' score of an order, and the outlier threshold it was compared with (None while warming up)."""

    score: float
    threshold: float | None


class OrderAnomalyModel(Estimator[Order, None, Scored]):
    """Half-Space Trees behind a quantile filter, and the store's order profile; learns without labels.

    q: quantile of past scores at or above which an order is a model outlier (0.5..1);
        ``retune(q=...)`` takes a new one live (the trees stay as learned, the quantile
        estimate starts again).
    """

    kind = "order_anomaly"
    SETTINGS = ("q",)

    def __init__(self, q: float) -> None:
        super().__init__()
        self.q = q
        self.trees = anomaly.HalfSpaceTrees(n_trees=N_TREES, height=HEIGHT, window_size=WINDOW, seed=SEED)
        self.quantile = stats.Quantile(q)
        self.tree_examples = 0  # the trees score only once they have learned a first window
        self.store = StoreProfile()
        self._paths: tuple[dict[str, float], list[list]] | None = None  # the last order scored, its walks

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_paths"] = None  # transient: between score() and learn() of one order
        return state

    def settings_changed(self, old: dict[str, Any]) -> None:
        # The quantile estimate belongs to the old q: start a new one, keep the trees.
        self.quantile = stats.Quantile(self.q)

    def score(self, x: Order) -> Scored:
        """The model score in [0, 1] and the current outlier threshold; (0.0, None) while warming up."""
        if self.tree_examples < WINDOW:
            return Scored(0.0, None)
        paths = self._paths = (x.scaled, paths_of(self.trees, x.scaled))
        return Scored(float(score_paths(self.trees, paths[1])), self.quantile.get())

    def learn(self, x: Order, y: None, given: Scored) -> None:
        """Learn an order already scored (``given``): the store profile always, the trees unless an outlier."""
        warm = self.tree_examples >= WINDOW  # the trees scored this order
        score, threshold = given
        scored, self._paths = self._paths, None
        if not warm or threshold is None or score < threshold:
            if scored is not None and scored[0] is x.scaled:
                learn_paths(self.trees, scored[1])  # the walk score() made: the same path
            else:
                self.trees.learn_one(x.scaled)
            self.tree_examples += 1
        if warm:
            self.quantile.update(score)
        self.store.learn(x.facts.currency, x.facts.total, x.facts.country)
        self.learned += 1


# Half-Space Trees, scored and learned in one walk. River's ``score_one`` and ``learn_one``
# each walk every tree from the root to a leaf; an order is learned right after it is scored,
# and learning changes only the masses of the current window (``l_mass``), which decide the
# path only for a feature the order lacks — the same before and after scoring, since a node's
# children are updated after it. So the path ``score`` walked is the path ``learn`` would walk:
# walking once halves the work, and the arithmetic below is River's (``river.anomaly.hst``
# 0.26: ``_walk_score``, ``_walk_learn``, ``HalfSpaceTrees.learn_one``), in the same order, so
# scores and learned masses are the same bits (tests/test_online_models.py compares them).


def paths_of(hst: anomaly.HalfSpaceTrees, x: dict[str, float]) -> list[list]:
    """Per tree, the nodes from the root to the leaf ``x`` falls in."""
    height = hst.height
    out = []
    for node in hst.trees:
        path = [node]
        for _ in range(height):
            c = node.children
            try:
                value = x[node.feature]
            except KeyError:  # a missing feature follows the most visited child, as River does
                node = c[1] if c[0].l_mass < c[1].l_mass else c[0]
            else:
                node = c[0] if value < node.threshold else c[1]
            path.append(node)
        out.append(path)
    return out


def score_paths(hst: anomaly.HalfSpaceTrees, paths: list[list]) -> float:
    """``hst.score_one(x)`` from the paths of ``x``."""
    if hst._first_window:
        return 0
    size_limit = 0.1 * hst.window_size
    score = 0.0
    for path in paths:
        tree = 0.0
        depth_pow = 1
        for node in path:
            r = node.r_mass
            tree += r * depth_pow
            if r < size_limit:  # (at the leaf, the last node, stopping changes nothing)
                break
            depth_pow <<= 1
        score += tree
    return 1 - score / hst._max_score


def learn_paths(hst: anomaly.HalfSpaceTrees, paths: list[list]) -> None:
    """``hst.learn_one(x)`` from the paths of ``x`` (the trees exist: they were walked)."""
    for path in paths:
        for node in path:
            node.l_mass += 1
    hst.counter += 1
    if hst.counter == hst.window_size:
        for nodes in hst._tree_nodes:
            for node in nodes:
                node.r_mass = node.l_mass
                node.l_mass = 0
        hst._first_window = False
        hst.counter = 0


class Assessment(NamedTuple):
    score: float  # combined score in [0, 1]
    model_score: float  # the Half-Space Trees score alone
    threshold: float | None  # the model's outlier threshold at the time
    fired: bool
    reasons: list[tuple[str, str]]  # (code, detail): every fact that stood out
    rules: list[str]  # the clear rules that flagged it


def _money(v: float, cur: str) -> str:
    return f"{v:,.2f} {cur}"


def assess(f: OrderFacts, model_score: float, threshold: float | None, store_orders: int, p: Any) -> Assessment:
    """The verdict on one order.

    p: the thresholds of :class:`detectors.order_anomaly.Params` — ``spike_ratio``,
        ``min_history``, ``first_order_ratio``, ``bulk_qty``, ``rare_country_share``,
        ``country_change_ratio``, ``warmup_orders``.
    store_orders: orders the store profile has seen (rules against the store wait for
        ``warmup_orders``).
    """
    warm = store_orders >= p.warmup_orders
    reasons: list[tuple[str, str]] = []
    rules: list[str] = []
    money = f.currency
    if f.history >= 1 and f.amount_vs_usual >= 3.0:
        reasons.append(("amount_high_for_customer",
                        f"Total {_money(f.total, money)} is {f.amount_vs_usual:.1f}x this customer's "
                        f"usual {_money(f.usual, money)} ({f.history} earlier orders)."))
        if f.history >= p.min_history and f.amount_vs_usual >= p.spike_ratio:
            rules.append("amount_spike")
    if warm and f.amount_vs_store >= 5.0:
        reasons.append(("amount_high_for_store",
                        f"Total {_money(f.total, money)} is {f.amount_vs_store:.1f}x the store's typical "
                        f"order of {_money(f.store_typical, money)}."))
        if f.first_order and f.amount_vs_store >= p.first_order_ratio:
            rules.append("first_order_high")
    if f.max_qty >= 6:
        reasons.append(("bulk_quantity", f"{f.max_qty} units of a single article."))
        if f.max_qty >= p.bulk_qty:
            rules.append("bulk_quantity")
    if f.lines >= 8:
        reasons.append(("many_articles", f"{f.lines} different articles in one order."))
    if f.discount_share >= 0.3:
        reasons.append(("large_discount", f"Discount of {f.discount_share:.0%} of the order value."))
    if f.new_country:
        if warm and f.country_share < p.rare_country_share:
            reasons.append(("rare_new_country",
                            f"Ships to {quote(f.country, 64)}, a country this customer never used before and only "
                            f"{f.country_share:.2%} of the store's orders go to."))
            rules.append("rare_new_country")
        else:
            reasons.append(("new_country", f"Ships to {quote(f.country, 64)}, a country this customer never used before."))
        if f.amount_vs_usual >= p.country_change_ratio:
            rules.append("new_country_high_value")
    elif f.new_address:
        reasons.append(("new_address", "Ships to an address this customer never used before."))
    if f.first_order:
        reasons.append(("first_order", "The customer's first order."))
    # A first order, a new address or a new (but common) country alone describe many ordinary
    # orders: they support an explanation but do not make one.
    explained = any(code not in SUPPORTING for code, _ in reasons)
    outlier = warm and threshold is not None and model_score >= threshold and explained
    score = max(model_score, RULE_SCORE) if rules else model_score
    return Assessment(score, model_score, threshold, bool(rules) or outlier, reasons, rules)


def evidence(f: OrderFacts, a: Assessment) -> dict[str, Any]:
    """The facts and thresholds that decided, for the trigger's ``evidence``."""
    return {
        "total": f.total,
        "currency": f.currency,
        "earlier_orders": f.history,
        "usual_total": round(f.usual, 2),
        "store_typical_total": round(f.store_typical, 2),
        "amount_vs_usual": round(f.amount_vs_usual, 2),
        "amount_vs_store": round(f.amount_vs_store, 2),
        "max_units_one_article": f.max_qty,
        "articles": f.lines,
        "discount_share": round(f.discount_share, 3),
        "country": f.country,
        "new_country": f.new_country,
        "country_share": round(f.country_share, 5),
        "new_address": f.new_address,
        "first_order": f.first_order,
        "channel": f.channel,
        "model_score": round(a.model_score, 4),
        "model_threshold": None if a.threshold is None else round(a.threshold, 4),
        "rules": a.rules,
    }
