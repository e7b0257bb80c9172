"""Shipment features for lateness: the route, the plan, and the progress so far.

Per customer, :class:`Parcels` (in ``CustomerState.ext["delivery_at_risk"]``) remembers the
destination country of orders not yet shipped and, per open shipment, a :class:`Watch`:
its destination, the ETA first announced, the carrier scans so far, the episode already
warned about and the evaluations waiting for their label. Carrier, creation time, current
ETA, status and last scan are in :class:`forewarn.core.state.Shipment` already.

:func:`features` describes a shipment at event time ``now`` against the deadline it must
beat (its ETA plus the delivery_late grace). Numeric features (names in ``NUMERIC``):

* ``planned_days`` — days from creation to the current ETA;
* ``elapsed`` — share of the time from creation to the deadline already gone;
* ``days_left`` — days to the deadline; ``past_eta`` — 1 once the ETA has passed;
* ``created``, ``in_transit``, ``out_for_delivery``, ``exception`` — the current status;
* ``scans`` — carrier updates so far; ``days_since_scan`` — days since the last one;
* ``pickup_days`` — days from creation to the first scan (so far, while there is none):
  a slow pickup is how many delays start;
* ``eta_slip_days`` — how far the ETA moved from the first announced one;
* ``in_transit_past_eta``, ``in_transit_last_day`` — still in transit once the ETA has
  passed, or within a day of it (a linear model needs these interactions spelled out).

Categorical ones are one-hot (``carrier=DHL``, ``to=DE``, ``weekday=5``, ``month=11``): the
same names every run, no hashing, so learning is deterministic.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from sys import intern

import msgspec

from forewarn.core.state import Shipment
from forewarn.core.timefmt import DAY, EPOCH, HOUR
from online_models.labels import Pending

NUMERIC = ("planned_days", "elapsed", "days_left", "past_eta", "created", "in_transit", "out_for_delivery",
           "exception", "scans", "days_since_scan", "pickup_days", "eta_slip_days", "in_transit_past_eta", "in_transit_last_day")
MAX_UNSHIPPED = 8  # orders whose destination is remembered until their shipment is created


# gc=False: holds only values and lists of values, never a cycle (see forewarn/core/state.py).
class Watch(msgspec.Struct, array_like=True, gc=False):
    """One open shipment, as the lateness model follows it.

    country: destination country (from the order; "" if the order was not seen).
    first_eta_us: the ETA announced when the shipment was created.
    scans: carrier updates (``shipment.updated``, ``shipment.exception``) so far.
    first_scan_us: event time of the first of them (0: none yet).
    warned_eta_us: ETA of the episode a warning was already given for (0: none).
    pending: evaluations waiting for their label; ``due_us`` is the deadline each was about.
    """

    country: str
    first_eta_us: int
    scans: int = 0
    first_scan_us: int = 0
    warned_eta_us: int = 0
    pending: list[Pending] = []

    def __post_init__(self) -> None:
        self.country = intern(self.country)  # one "DE" for every parcel, restored ones too


class Parcels(msgspec.Struct, array_like=True, gc=False):
    """A customer's shipments as the lateness model follows them (``ext["delivery_at_risk"]``)."""

    countries: dict[str, str] = {}  # order id -> destination country, until shipped
    watches: dict[str, Watch] = {}  # shipment id -> watch

    def __post_init__(self) -> None:
        if self.countries:
            self.countries = {k: intern(v) for k, v in self.countries.items()}

    def note_order(self, order_id: str, country: str) -> None:
        self.countries[order_id] = country
        if len(self.countries) > MAX_UNSHIPPED:
            del self.countries[next(iter(self.countries))]


def categories(ship: Shipment, watch: Watch) -> tuple[str, ...]:
    """The one-hot feature names of a shipment (fixed for its life): carrier, route, weekday, season.

    >>> categories(Shipment("o1", 1_795_651_200_000_000, 0, "DHL"), Watch("DE", 0))  # 2026-11-26, a Thursday
    ('carrier=DHL', 'to=DE', 'weekday=3', 'month=11')
    """
    return _categories(ship.carrier, watch.country, ship.created_us // DAY)


@lru_cache(maxsize=4096)
def _categories(carrier: str | None, country: str, day: int) -> tuple[str, ...]:
    # Asked at every evaluation and every label of a parcel; a store has few carriers, routes
    # and days in flight at once, so the names are made once each.
    created = EPOCH + timedelta(days=day)
    return (f"carrier={carrier or '?'}", f"to={country or '?'}", f"weekday={created.weekday()}",
            f"month={created.month}")


def features(ship: Shipment, watch: Watch, now: int, deadline: int) -> tuple[float, ...]:
    """The numeric feature values in ``NUMERIC`` order (see the module docstring)."""
    status = ship.status
    span = max(deadline - ship.created_us, HOUR)
    in_transit = status == "in_transit"
    to_eta = ship.eta_us - now
    return (
        (ship.eta_us - ship.created_us) / DAY,
        min(max((now - ship.created_us) / span, 0.0), 2.0),
        (deadline - now) / DAY,
        float(to_eta < 0),
        float(status == "created"),
        float(in_transit),
        float(status == "out_for_delivery"),
        float(status == "exception"),
        float(watch.scans),
        max(now - ship.last_update_us, 0) / DAY,
        max((watch.first_scan_us or now) - ship.created_us, 0) / DAY,
        (ship.eta_us - watch.first_eta_us) / DAY,
        float(in_transit and to_eta < 0),
        float(in_transit and 0 <= to_eta < DAY),
    )


def as_dict(values: tuple[float, ...], cats: tuple[str, ...]) -> dict[str, float]:
    """Numeric values and one-hot categories as the dict River models take."""
    x = dict(zip(NUMERIC, values))
    for name in cats:
        x[name] = 1.0
    return x
