"""Order features: an order against the customer's own history and against the whole store.

Per customer, :class:`OrderHistory` (in ``CustomerState.ext["order_anomaly"]``, ~60 bytes)
keeps how many orders they placed, the running mean of their log order totals, and the
countries and addresses they shipped to. Store-wide, :class:`StoreProfile` (part of the
model's learned state) keeps the typical order total per currency and how often each
country is shipped to. :func:`extract` combines the three into :class:`OrderFacts` —
plain numbers an agent can read — and :func:`scaled` maps them into ``[0, 1]`` for
Half-Space Trees with fixed, documented ranges, so one extreme order cannot squeeze
every later one into a corner as an online min-max scaler would.

>>> from forewarn.core.events import decode
>>> order = decode(b'{"type":"order.placed","event_id":"e1","ts":"2026-11-01T10:00:00Z",'
...     b'"customer_id":"c","order_id":"o1","total":90.0,"currency":"EUR","items":'
...     b'[{"sku":"a","qty":3,"unit_price":30.0}],"shipping_address":{"country":"DE","city":"Berlin"}}')
>>> store, hist = StoreProfile(), OrderHistory()
>>> f = extract(order, hist, store)
>>> f.first_order, f.new_country, f.max_qty, round(f.usual, 2)
(True, False, 3, 50.0)
>>> remember(hist, order)
>>> hist.n, hist.countries
(1, ['DE'])
"""

from __future__ import annotations

import math
import zlib
from sys import intern

import msgspec
from river import stats

from forewarn.core import events as ev

MAX_PLACES = 6  # countries and addresses remembered per customer: enough to know "new"
DEFAULT_TYPICAL = 50.0  # a store's typical order before it has seen any (major units)
PRIOR_ORDERS = 1.0  # weight of the store's typical order in a customer's "usual"


# gc=False: holds only values and lists of values, never a cycle (see forewarn/core/state.py).
class OrderHistory(msgspec.Struct, array_like=True, gc=False):
    """What one customer's past orders say (``CustomerState.ext["order_anomaly"]``).

    n: orders placed so far.
    log_mean: running mean of the log order totals.
    countries: shipping countries used, most recent last (at most ``MAX_PLACES``).
    places: CRC-32 of the addresses used (country, city, postal code), most recent last.
    """

    n: int = 0
    log_mean: float = 0.0
    countries: list[str] = []
    places: list[int] = []

    def __post_init__(self) -> None:
        if self.countries:  # restored from a snapshot: one "DE" for every customer
            self.countries = [intern(c) for c in self.countries]


class StoreProfile:
    """Store-wide order statistics, learned online.

    Per currency, the median log order total (P² streaming quantile); per country, how
    many orders shipped there. Both are small: a few currencies, a few hundred countries.
    """

    def __init__(self) -> None:
        self.orders = 0
        self.log_median: dict[str, stats.Quantile] = {}
        self.countries: dict[str, int] = {}

    def typical(self, currency: str) -> float:
        """The store's typical order total in ``currency`` (``DEFAULT_TYPICAL`` before any)."""
        q = self.log_median.get(currency)
        value = q.get() if q is not None else None
        return math.exp(value) if value is not None else DEFAULT_TYPICAL

    def country_share(self, country: str) -> float:
        """Share of the store's orders shipped to ``country`` (add-one smoothed)."""
        return (self.countries.get(country, 0) + 1) / (self.orders + 2)

    def learn(self, currency: str, total: float, country: str) -> None:
        q = self.log_median.get(currency)
        if q is None:
            q = self.log_median[currency] = stats.Quantile(0.5)
        q.update(math.log(max(total, 0.01)))
        self.countries[country] = self.countries.get(country, 0) + 1
        self.orders += 1


class OrderFacts(msgspec.Struct, frozen=True):
    """An order as the anomaly model sees it (also what the trigger's evidence shows).

    usual: the customer's usual order total, shrunk towards the store's typical one by
        ``PRIOR_ORDERS`` pseudo-orders (so one past order does not define "usual").
    amount_vs_usual, amount_vs_store: total / usual, total / store typical.
    country_share: share of the store's orders that ship to this country.
    """

    total: float
    currency: str
    history: int
    usual: float
    store_typical: float
    amount_vs_usual: float
    amount_vs_store: float
    max_qty: int
    lines: int
    discount_share: float
    country: str
    new_country: bool
    country_share: float
    new_address: bool
    first_order: bool
    channel: str


def _place(addr: ev.Address) -> int:
    key = f"{addr.country}|{addr.city or ''}|{addr.postal_code or ''}".lower()
    return zlib.crc32(key.encode())  # stable across processes, unlike hash()


def extract(order: ev.OrderPlaced, hist: OrderHistory, store: StoreProfile) -> OrderFacts:
    """The facts of ``order`` given the customer's history and the store's profile."""
    total = max(order.total, 0.01)
    typical = store.typical(order.currency)
    usual = math.exp((hist.n * hist.log_mean + PRIOR_ORDERS * math.log(typical)) / (hist.n + PRIOR_ORDERS))
    addr = order.shipping_address
    subtotal = order.total + (order.discount or 0.0)
    return OrderFacts(
        total=order.total,
        currency=order.currency,
        history=hist.n,
        usual=usual,
        store_typical=typical,
        amount_vs_usual=total / usual,
        amount_vs_store=total / typical,
        max_qty=max((it.qty for it in order.items), default=0),
        lines=len(order.items),
        discount_share=(order.discount or 0.0) / subtotal if subtotal > 0 else 0.0,
        country=addr.country,
        new_country=hist.n > 0 and addr.country not in hist.countries,
        country_share=store.country_share(addr.country),
        new_address=hist.n > 0 and _place(addr) not in hist.places,
        first_order=hist.n == 0,
        channel=order.channel or "",
    )


def _unit(value: float, lo: float, hi: float) -> float:
    return min(max((value - lo) / (hi - lo), 0.0), 1.0)


# Ranges that map each feature into [0, 1]; values beyond them are clipped (already extreme).
# log(total / usual) in [-3, 4] (1/20x .. 55x); quantities in log10 up to 100 units.
SCALED = ("amount_vs_usual", "amount_vs_store", "max_qty", "lines", "discount", "new_country",
          "country_rarity", "new_address", "first_order", "app", "marketplace")


def scaled(f: OrderFacts) -> dict[str, float]:
    """The facts in ``[0, 1]`` for Half-Space Trees (feature names in ``SCALED``)."""
    return {
        "amount_vs_usual": _unit(math.log(f.amount_vs_usual), -3.0, 4.0),
        "amount_vs_store": _unit(math.log(f.amount_vs_store), -3.0, 4.0),
        "max_qty": _unit(math.log10(max(f.max_qty, 1)), 0.0, 2.0),
        "lines": _unit(f.lines, 0.0, 12.0),
        "discount": _unit(f.discount_share, 0.0, 1.0),
        "new_country": float(f.new_country),
        "country_rarity": _unit(-math.log10(f.country_share), 0.0, 4.0),
        "new_address": float(f.new_address),
        "first_order": float(f.first_order),
        "app": float(f.channel == "app"),
        "marketplace": float(f.channel == "marketplace"),
    }


def remember(hist: OrderHistory, order: ev.OrderPlaced) -> None:
    """Fold ``order`` into the customer's history (after it was scored against it)."""
    hist.n += 1
    hist.log_mean += (math.log(max(order.total, 0.01)) - hist.log_mean) / hist.n
    addr = order.shipping_address
    _remember(hist.countries, addr.country)
    _remember(hist.places, _place(addr))


def _remember(seen: list, value) -> None:
    if value in seen:
        seen.remove(value)
    seen.append(value)
    if len(seen) > MAX_PLACES:
        del seen[0]
