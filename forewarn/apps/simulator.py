"""A simulated store: customers, orders, payments, parcels and engagement, seeded and realistic.

:func:`generate` builds a whole store in memory, event by event, customer by customer, then
sorts it by event time (stably) and adds the noise a real feed has: redeliveries of the same
``event_id``, events that arrive a little out of order, and malformed lines. It also plants
the situations the engine exists for — late, stalled and lost parcels, failed payments,
disputes, anomalous orders, churners, VIPs who drift away, bad contact data — and records
the ground truth for them (see :mod:`forewarn.apps.groundtruth` and ``docs/situations.md``).

Everything comes from ``random.Random`` seeded from ``SimSpec.seed`` (one generator per
customer, so customer ``n`` is the same whatever the store size), and the clock is read
only when ``start``/``end`` are not given: the same spec gives the same bytes.

Situations are clear-cut with respect to the configured thresholds (delivery grace, stall
time, payment recovery window): a late parcel arrives at least 6 h after its deadline (or
never), an on-time one at least 1 h before; quiet spells are either 2 h shorter than the stall
time or 6 h longer; a payment recovery or a third attempt is never within 2 minutes of the
end of the recovery window. Payment recovery delays are spread from 5 to 300 minutes on
purpose, so a sweep over ``recovery_minutes`` changes what is true.

>>> sim = generate(SimSpec(customers=20, days=5, start="2026-03-01T00:00:00Z"), None)
>>> from forewarn.core.events import decode, Invalid
>>> all(not isinstance(decode(line), Invalid) for line in sim.events)
True
>>> sim.events == generate(SimSpec(customers=20, days=5, start="2026-03-01T00:00:00Z"), None).events
True
"""

from __future__ import annotations

import json
import math
import random
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from forewarn.apps import groundtruth
from forewarn.core import events as ev
from forewarn.core.timefmt import DAY, HOUR, MINUTE, SECOND, format_us, now_us, parse_rfc3339


@dataclass(frozen=True)
class SimSpec:
    """What to simulate.

    customers: store size (about 40 events per customer per 30 days).
    days: length of the window when ``start`` and ``end`` are not both given.
    seed: everything random derives from it.
    start, end: RFC 3339 bounds of the window. ``end`` defaults to ``start + days`` when
        ``start`` is given, else to now (UTC) rounded down to the minute; ``start`` defaults
        to ``end - days``.
    duplicate_rate: share of events delivered twice (same ``event_id``, same bytes, up to
        2 min later in the stream).
    late_rate: share of events placed later in the stream than their event time (1 s–2 min).
    invalid_rate: malformed lines mixed in, as a share of the valid lines.
    """

    customers: int = 2000
    days: float = 30.0
    seed: int = 7
    start: str | None = None
    end: str | None = None
    duplicate_rate: float = 0.01
    late_rate: float = 0.0
    invalid_rate: float = 0.0


class Simulation:
    """A generated store.

    events: the JSON lines (no newline) in stream order: by event time, except the planted
        redeliveries and late arrivals, with malformed lines interleaved.
    truth: the ground-truth rows (:func:`forewarn.apps.groundtruth.compute`), computed on first use.
    customers: how many customers the store has.
    start, end: the simulated window (RFC 3339); no event lies outside it.
    planted: kind -> the subjects planted on purpose (``delivery_late`` maps shipment id to
        its deadline in microseconds; see :func:`forewarn.apps.groundtruth.compute`).
    stats: counts of valid events, duplicates, late arrivals and invalid lines.
    """

    def __init__(self, spec: SimSpec, events: list[bytes], customers: int, start: str, end: str,
                 planted: dict[str, Any], stats: dict[str, int], config: Any = None) -> None:
        self.spec = spec
        self.events = events
        self.customers = customers
        self.start = start
        self.end = end
        self.planted = planted
        self.stats = stats
        self._config = config
        self._truth: list[dict[str, Any]] | None = None

    @property
    def truth(self) -> list[dict[str, Any]]:
        if self._truth is None:
            self._truth = groundtruth.compute(self.events, self._config, self.planted)
        return self._truth

    def __repr__(self) -> str:
        return (f"Simulation(customers={self.customers}, events={len(self.events)}, "
                f"start={self.start!r}, end={self.end!r})")


def generate(spec: SimSpec, config: Any = None) -> Simulation:
    """Simulate the store of ``spec``; thresholds for clear-cut situations come from ``config``."""
    _check(spec)
    start_us, end_us = _window(spec)
    with groundtruth.paused_gc():
        gen = _Store(spec, config, start_us, end_us)
        for i in range(spec.customers):
            gen.customer(i)
        valid = gen.out
        valid.sort(key=_ts_key)
        lines, stats = _noise(spec, valid)
    stats["customers"] = spec.customers
    return Simulation(spec, lines, spec.customers, format_us(start_us), format_us(end_us),
                      gen.planted, stats, config)


def iter_events(spec: SimSpec, config: Any = None) -> Iterator[bytes]:
    """The event lines of :func:`generate`, one at a time."""
    yield from generate(spec, config).events


def write_jsonl(sim: Simulation, events_path: str | Path | None, truth_path: str | Path | None) -> None:
    """Write the events (one JSON per line) and the ground truth, each only if given a path."""
    if events_path is not None:
        with open(events_path, "wb") as fh:
            for line in sim.events:
                fh.write(line)
                fh.write(b"\n")
    if truth_path is not None:
        with open(truth_path, "w", encoding="utf-8") as fh:
            for row in sim.truth:
                fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
                fh.write("\n")


# --------------------------------------------------------------------------- window and checks


def _check(spec: SimSpec) -> None:
    if spec.customers < 0:
        raise ValueError(f"customers = {spec.customers}: must be >= 0")
    if not spec.days > 0:
        raise ValueError(f"days = {spec.days}: must be > 0")
    for name in ("duplicate_rate", "late_rate", "invalid_rate"):
        value = getattr(spec, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} = {value}: must be between 0 and 1")


def _window(spec: SimSpec) -> tuple[int, int]:
    span = int(spec.days * DAY)
    start = parse_rfc3339(spec.start) if spec.start else None
    end = parse_rfc3339(spec.end) if spec.end else None
    if end is None:
        end = start + span if start is not None else now_us() // MINUTE * MINUTE
    if start is None:
        start = end - span
    if end <= start:
        raise ValueError(f"end {format_us(end)} is not after start {format_us(start)}")
    return start, end


def _ts_key(pair: tuple[int, bytes]) -> int:
    return pair[0]


# --------------------------------------------------------------------------- reference data

# name, share, orders per 30 days, activity events per day, basket factor
SEGMENTS = (
    ("new", 0.25, 0.6, 0.45, 1.0),
    ("occasional", 0.32, 1.0, 0.55, 1.0),
    ("regular", 0.25, 2.6, 1.0, 1.1),
    ("loyal", 0.15, 5.0, 1.5, 1.3),
    ("vip", 0.03, 8.0, 2.5, 2.6),
)
CHURN_P = {"regular": 0.24, "loyal": 0.24}  # chance a customer of the segment is planted to churn
VIP_DROP_P = 0.12  # chance a VIP is planted with a sharp engagement drop

# code, weight, currency, rate from EUR, [(city, postal prefix)], postal pattern (# digit, @ letter)
COUNTRIES = (
    ("DE", 30, "EUR", 1.0, (("Berlin", "10"), ("Hamburg", "20"), ("München", "80"), ("Köln", "50"),
                            ("Frankfurt am Main", "60"), ("Leipzig", "04")), "###"),
    ("FR", 15, "EUR", 1.0, (("Paris", "75"), ("Lyon", "69"), ("Marseille", "13"), ("Toulouse", "31"),
                            ("Lille", "59")), "###"),
    ("NL", 10, "EUR", 1.0, (("Amsterdam", "10"), ("Rotterdam", "30"), ("Utrecht", "35"),
                            ("Eindhoven", "56")), "## @@"),
    ("ES", 8, "EUR", 1.0, (("Madrid", "28"), ("Barcelona", "08"), ("Valencia", "46"), ("Sevilla", "41")), "###"),
    ("IT", 8, "EUR", 1.0, (("Roma", "00"), ("Milano", "20"), ("Torino", "10"), ("Napoli", "80")), "###"),
    ("AT", 5, "EUR", 1.0, (("Wien", "1"), ("Graz", "8"), ("Linz", "4")), "###"),
    ("BE", 5, "EUR", 1.0, (("Bruxelles", "1"), ("Antwerpen", "2"), ("Gent", "9")), "###"),
    ("IE", 3, "EUR", 1.0, (("Dublin", "D"), ("Cork", "T")), "## @###"),
    ("PL", 4, "PLN", 4.3, (("Warszawa", "0"), ("Kraków", "3"), ("Wrocław", "5")), "#-###"),
    ("GB", 6, "GBP", 0.86, (("London", "SW"), ("Manchester", "M"), ("Bristol", "BS")), "# #@@"),
    ("SE", 3, "SEK", 11.4, (("Stockholm", "1"), ("Göteborg", "4")), "## ##"),
    ("CH", 3, "CHF", 0.95, (("Zürich", "80"), ("Genève", "12")), "##"),
)
NEIGHBOURS = {"DE": "AT", "AT": "DE", "FR": "BE", "BE": "NL", "NL": "BE", "ES": "FR", "IT": "FR",
              "IE": "GB", "PL": "DE", "GB": "IE", "SE": "DE", "CH": "DE"}
# Far destinations: a first order shipped here by a European customer is an anomaly.
FAR = (
    ("US", (("New York", "10"), ("Miami", "33")), "###"),
    ("BR", (("São Paulo", "01"),), "###-###"),
    ("NG", (("Lagos", "10"),), "####"),
    ("AE", (("Dubai", "00"),), "###"),
    ("TR", (("İstanbul", "34"),), "###"),
)
STREETS = ("Hauptstraße", "Rue de la Paix", "Kerkstraat", "Calle Mayor", "Via Roma", "Main Street",
           "Bahnhofstraße", "Avenue Victor Hugo", "Dorpsstraat", "Gran Vía", "High Street", "Storgatan")
FIRST = ("Anna", "Lukas", "Marie", "Jonas", "Sophie", "Elias", "Emma", "Noah", "Léa", "Hugo",
         "Julia", "Mateo", "Sara", "Luca", "Eva", "Daan", "Lotte", "Oliver", "Amelia", "Jakub",
         "Zofia", "Erik", "Astrid", "Chloé", "Pablo", "Giulia", "Finn", "Mia", "Aoife", "Sean")
LAST = ("Müller", "Schmidt", "Martin", "Bernard", "de Jong", "Jansen", "García", "Fernández",
        "Rossi", "Bianchi", "Gruber", "Peeters", "Nowak", "Smith", "Jones", "Andersson",
        "Keller", "Murphy", "Dubois", "Weber", "Visser", "López", "Romano", "Wagner")
ASCII = str.maketrans({"ü": "u", "é": "e", "ö": "o", "ä": "a", "á": "a", "í": "i", "ó": "o",
                       "ñ": "n", "ł": "l", " ": ""})
DOMAINS = ("gmail.com", "outlook.com", "web.de", "gmx.de", "orange.fr", "yahoo.com", "icloud.com",
           "hotmail.com", "proton.me", "libero.it")
CARRIERS = {"DE": ("DHL", "DPD", "Hermes", "GLS"), "FR": ("Colissimo", "Chronopost", "DPD"),
            "NL": ("PostNL", "DHL"), "BE": ("bpost", "PostNL"), "GB": ("Royal Mail", "DPD", "Evri"),
            "": ("DHL", "UPS", "DPD", "GLS")}
METHODS = (("card", 0.6), ("paypal", 0.22), ("klarna", 0.12), ("apple_pay", 0.06))
SOFT_DECLINES = (("card_declined", 0.35), ("insufficient_funds", 0.3), ("expired_card", 0.15),
                 ("processing_error", 0.15), ("other", 0.05))
EXCEPTIONS = (("failed_attempt", 0.3), ("address_issue", 0.2), ("damaged", 0.12), ("lost", 0.13),
              ("customs_hold", 0.15), ("other", 0.1))
EXCEPTION_DETAIL = {
    "failed_attempt": "Nobody home, delivery will be re-attempted next working day",
    "address_issue": "Address incomplete or not found",
    "damaged": "Parcel damaged in transit",
    "lost": "Parcel cannot be located",
    "customs_hold": "Held by customs, documents requested",
    "other": "Delayed at sorting centre",
}
ACTIVITY_KINDS = (("session", 0.58), ("email_open", 0.28), ("email_click", 0.11), ("support_contact", 0.03))
# Relative activity by hour of day (UTC); the thinning below keeps the mean rate.
HOURLY = (0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.35, 0.5, 0.65, 0.75, 0.8, 0.85,
          0.9, 0.85, 0.8, 0.8, 0.85, 0.95, 1.0, 1.0, 0.95, 0.8, 0.55, 0.3)
HOURLY_MEAN = sum(HOURLY) / 24

P_PAYMENT_FAIL = 0.06
P_ANOMALY = 0.005
P_DATA_QUALITY = 0.01
# shipment outcomes (cumulative bands on one uniform draw)
P_LATE, P_NEVER, P_EXCEPTION, P_STALLED, P_CANCELLED = 0.06, 0.01, 0.02, 0.02, 0.005
# A slow first scan: most parcels that will be late, a few of the rest (delivery_at_risk's signal).
P_SLOW_PICKUP_LATE, P_SLOW_PICKUP = 0.6, 0.04


def _cum(pairs) -> tuple[tuple[Any, ...], list[float]]:
    values, acc, cum = [], 0.0, []
    for value, weight in pairs:
        acc += weight
        values.append(value)
        cum.append(acc)
    return tuple(values), [c / acc for c in cum]


def _pick(r: random.Random, table: tuple[tuple[Any, ...], list[float]]) -> Any:
    values, cum = table
    return values[min(bisect_right(cum, r.random()), len(values) - 1)]


_SEGMENT_T = _cum((s, s[1]) for s in SEGMENTS)
_COUNTRY_T = _cum((c, c[1]) for c in COUNTRIES)
_METHOD_T = _cum(METHODS)
_SOFT_T = _cum(SOFT_DECLINES)
_EXCEPTION_T = _cum(EXCEPTIONS)
_ACTIVITY_T = _cum(ACTIVITY_KINDS)
_ITEMS_T = _cum(((1, 0.45), (2, 0.27), (3, 0.15), (4, 0.08), (5, 0.05)))
_QTY_T = _cum(((1, 0.82), (2, 0.14), (3, 0.04)))
_CHANNEL_T = _cum((("web", 0.55), ("app", 0.35), ("marketplace", 0.10)))
_ETA_DAYS_T = _cum(((2, 3), (3, 4), (4, 2), (5, 1)))


def _postal(r: random.Random, prefix: str, pattern: str) -> str:
    out = [prefix]
    for ch in pattern:
        if ch == "#":
            out.append(str(r.randrange(10)))
        elif ch == "@":
            out.append(chr(65 + r.randrange(26)))
        else:
            out.append(ch)
    return "".join(out)


_SECS = tuple(f"{s:02d}Z" for s in range(60))


class _Fmt:
    """``format_us`` with everything up to the minute cached: the same text, faster."""

    def __init__(self) -> None:
        self.minutes: dict[int, str] = {}

    def __call__(self, us: int) -> str:
        if us % SECOND:
            return format_us(us)
        minute = us // MINUTE
        prefix = self.minutes.get(minute)
        if prefix is None:
            prefix = self.minutes[minute] = format_us(minute * MINUTE)[:17]
        return prefix + _SECS[us // SECOND % 60]


# --------------------------------------------------------------------------- the store


class _Customer:
    __slots__ = ("cid", "segment", "tier", "country", "currency", "rate", "home", "email",
                 "basket", "orders", "verified", "explicit_verified")

    def __init__(self) -> None:
        self.orders = 0
        self.verified: list[tuple[int, bool]] = []
        self.explicit_verified = False

    def verified_at(self, ts: int) -> bool:
        value = True
        for t, v in self.verified:
            if t <= ts:
                value = v
        return value


class _Store:
    def __init__(self, spec: SimSpec, config: Any, start: int, end: int) -> None:
        self.spec = spec
        self.start = start
        self.end = end
        self.grace = int(groundtruth.threshold(config, "delivery_late", "grace_hours") * HOUR)
        self.stall = int(groundtruth.threshold(config, "shipment_stalled", "stall_hours") * HOUR)
        self.window = int(groundtruth.threshold(config, "payment_failed", "recovery_minutes") * MINUTE)
        self.max_attempts = int(groundtruth.threshold(config, "payment_failed", "max_attempts"))
        # Longest quiet spell of a parcel that is not meant to stall, and its usual spacing.
        self.gap_max = max(HOUR, self.stall - 2 * HOUR)
        self.fmt = _Fmt()
        self.out: list[tuple[int, bytes]] = []
        self.encode = msgspec.json.Encoder().encode
        self.n_events = 0
        self.n_orders = 0
        self.n_shipments = 0
        self.planted: dict[str, Any] = {
            "delivery_late": {}, "delivery_at_risk": set(), "shipment_stalled": set(),
            "shipment_exception": set(), "payment_failed": set(), "payment_disputed": set(),
            "data_quality": set(), "order_anomaly": {}, "churn_risk": {}, "vip_engagement_drop": {},
        }
        cat = random.Random(f"forewarn-sim:{spec.seed}:catalogue")
        prices = sorted(round(round(min(900.0, max(2.0, cat.lognormvariate(math.log(24), 0.9)))) - 0.01, 2)
                        for _ in range(400))
        skus = cat.sample(range(10000, 100000), len(prices))
        self.catalogue: list[tuple[str, float]] = [(f"SKU-{s}", p) for s, p in zip(skus, prices)]
        self.prices = [p for _, p in self.catalogue]

    # -- output

    def emit(self, ts: int, type_: str, cid: str, fields: dict[str, Any]) -> None:
        if ts > self.end or ts < self.start:
            return
        self.n_events += 1
        d = {"event_id": f"ev{self.n_events:09d}", "type": type_, "ts": self.fmt(ts), "customer_id": cid}
        d.update(fields)
        self.out.append((ts, self.encode(d)))

    # -- one customer, start to end

    def customer(self, i: int) -> None:
        r = random.Random(f"forewarn-sim:{self.spec.seed}:customer:{i}")
        start, end = self.start, self.end
        span = end - start
        c = _Customer()
        c.cid = cid = f"cus_{i + 1:06d}"
        seg = _pick(r, _SEGMENT_T)
        c.segment, _, orders_30d, activity_day, basket_factor = seg
        c.tier = "vip" if c.segment == "vip" else "standard"
        country = _pick(r, _COUNTRY_T)
        c.country, _, c.currency, c.rate, cities, pattern = country
        city, prefix = r.choice(cities)
        c.home = {"line1": f"{r.choice(STREETS)} {r.randint(1, 180)}", "city": city,
                  "postal_code": _postal(r, prefix, pattern), "country": c.country}
        first, last = r.choice(FIRST), r.choice(LAST)
        c.email = f"{first}.{last}{r.randint(1, 99)}@{r.choice(DOMAINS)}".lower().translate(ASCII)
        # Usual basket (EUR) and the lifetime value it implies: heavy-tailed.
        c.basket = r.lognormvariate(math.log(45), 0.55) * basket_factor
        _sec = _seconds
        if c.segment == "new":
            life = start + _sec(r.random() * 0.9 * span)
        else:
            life = start + _sec(r.random() * HOUR)
        verified = r.random() >= 0.02
        c.verified.append((life, verified))
        consent: dict[str, bool] = {}
        u = r.random()
        if u < 0.6:
            consent["email"] = True
        elif u < 0.75:
            consent["email"] = False
        u = r.random()
        if u < 0.25:
            consent["sms"] = True
        elif u < 0.4:
            consent["sms"] = False
        u = r.random()
        if u < 0.08:
            consent["phone"] = True
        elif u < 0.12:
            consent["phone"] = False
        profile: dict[str, Any] = {"name": f"{first} {last}", "email": c.email, "email_verified": verified,
                                   "tier": c.tier}
        if consent:
            profile["consent"] = consent
        self.emit(life, "customer.updated", cid, profile)
        if not verified and r.random() < 0.8:  # most confirm their address within days
            t = life + _sec(HOUR + r.random() * 5 * DAY)
            c.verified.append((t, True))
            self.emit(t, "customer.updated", cid, {"email_verified": True})
        if r.random() < 0.05:  # a later change of mind about marketing
            t = life + _sec(r.random() * (end - life))
            ch = r.choice(("email", "email", "sms", "phone"))
            self.emit(t, "customer.updated", cid, {"consent": {ch: not consent.get(ch, False)}})
        if r.random() < 0.01:  # a new e-mail address, verified (or not) a little later
            t = life + _sec(r.random() * (end - life))
            c.email = f"{first}.{last}.{r.randint(100, 999)}@{r.choice(DOMAINS)}".lower().translate(ASCII)
            c.verified.append((t, False))
            self.emit(t, "customer.updated", cid, {"email": c.email, "email_verified": False})
            if r.random() < 0.7:
                t2 = t + _sec(HOUR + r.random() * 47 * HOUR)
                c.verified.append((t2, True))
                self.emit(t2, "customer.updated", cid, {"email_verified": True})
            c.verified.sort(key=lambda tv: tv[0])

        # Planted churn (stops ordering, goes quiet) and VIP engagement drops.
        rate = orders_30d / (30 * DAY) * r.lognormvariate(0, 0.35)
        stop = None  # no orders after this, and activity drops sharply
        plan = None
        quiet = 1.0
        if c.segment == "vip" and r.random() < VIP_DROP_P:
            lo, hi = life + int(0.4 * (end - life)), end - max(5 * DAY, (end - life) // 5)
            if hi > lo:
                stop, plan, quiet = lo + _sec(r.random() * (hi - lo)), "vip_drop", 0.04
        elif c.segment in CHURN_P and r.random() < CHURN_P[c.segment]:
            silence = max(5 * DAY, int(2 / rate)) if rate > 0 else 5 * DAY
            lo, hi = life + int(0.15 * (end - life)), end - silence
            if hi > lo:
                stop, plan, quiet = lo + _sec(r.random() * (hi - lo)), "churn", 0.1
        order_times = _poisson(r, life, stop if stop is not None else end, rate)
        if c.segment == "new" and r.random() < 0.6:
            order_times.append(life + _sec(MINUTE + r.random() * 30 * MINUTE))
        if plan == "churn" and len(order_times) < 2:  # a churner has a habit to break
            order_times += [life + _sec(r.random() * (stop - life)) for _ in range(2 - len(order_times))]
        order_times.sort()
        for t in order_times:
            self.order(r, c, t)
            # a browsing session just before the purchase
            self.emit(t - _sec(2 * MINUTE + r.random() * 40 * MINUTE), "customer.activity", cid,
                      {"kind": "session", "value": round(r.lognormvariate(math.log(9), 0.6), 1)})
        if stop is not None:
            last_order = max((t for t in order_times if t <= end), default=None)
            if plan == "vip_drop":
                self.planted["vip_engagement_drop"][cid] = [
                    stop, f"VIP engagement drops to {quiet:.0%} of its level from {format_us(stop)}"]
            if last_order is not None and sum(1 for t in order_times if t <= end) >= 2:
                self.planted["churn_risk"][cid] = (
                    f"{c.segment} customer stops ordering after {format_us(last_order)}"
                    f" and goes quiet")

        # Engagement: sessions, e-mail opens and clicks, the odd support contact.
        self.activity(r, c, life, end, activity_day * r.lognormvariate(0, 0.3) / DAY, stop, quiet)

    def activity(self, r: random.Random, c: _Customer, lo: int, hi: int, rate: float,
                 stop: int | None, quiet: float) -> None:
        """A Poisson stream of engagement events by time of day, ``quiet`` times as dense
        after ``stop``. The hot loop of the simulator (most events are engagement): inlined."""
        if rate <= 0:
            return
        peak = rate / HOURLY_MEAN
        t = float(lo)
        cid = c.cid
        rnd, lognorm, log = r.random, r.lognormvariate, math.log
        mu = log(6)
        stop_at = stop if stop is not None else hi + 1
        hi = min(hi, self.end + 1)
        values, cum = _ACTIVITY_T
        fmt, encode, append = self.fmt, self.encode, self.out.append
        n = self.n_events
        while True:
            t -= log(1.0 - rnd()) / peak  # random.expovariate, inlined
            if t >= hi:
                break
            ti = int(t) // SECOND * SECOND
            w = HOURLY[ti // HOUR % 24]
            if ti >= stop_at:
                w *= quiet
            if rnd() >= w or ti < self.start:
                continue
            kind = values[bisect_right(cum, rnd())]
            n += 1
            d = {"event_id": f"ev{n:09d}", "type": "customer.activity", "ts": fmt(ti),
                 "customer_id": cid, "kind": kind}
            if kind == "session":
                d["value"] = round(lognorm(mu, 0.8), 1)
            append((ti, encode(d)))
        self.n_events = n

    # -- orders

    def items(self, r: random.Random, c: _Customer, n: int, target_each: float) -> list[dict[str, Any]]:
        prices, cat = self.prices, self.catalogue
        picked: dict[int, int] = {}
        for _ in range(n):
            want = target_each * r.lognormvariate(0, 0.45)
            idx = min(max(bisect_left(prices, want) + r.randint(-3, 3), 0), len(cat) - 1)
            picked[idx] = picked.get(idx, 0) + _pick(r, _QTY_T)
        return [{"sku": cat[i][0], "qty": q, "unit_price": round(cat[i][1] * c.rate, 2)}
                for i, q in picked.items()]

    def top_items(self, r: random.Random, c: _Customer, target: float, k: int) -> list[dict[str, Any]]:
        """A few of the dearest articles, enough of them to reach ``target`` (customer currency)."""
        cat = self.catalogue
        chosen = r.sample(range(len(cat) - 25, len(cat)), k)
        each = sum(cat[i][1] * c.rate for i in chosen)
        qty = max(1, round(target / each))
        return [{"sku": cat[i][0], "qty": qty, "unit_price": round(cat[i][1] * c.rate, 2)} for i in chosen]

    def order(self, r: random.Random, c: _Customer, t: int) -> None:
        if t > self.end:
            return
        self.n_orders += 1
        oid = f"ord_{self.n_orders:07d}"
        cid = c.cid
        prior = c.orders
        c.orders += 1
        channel = _pick(r, _CHANNEL_T)
        address = dict(c.home)
        u = r.random()
        if u < 0.06:  # a gift or the office: another city at home
            country = next(x for x in COUNTRIES if x[0] == c.country)
            city, prefix = r.choice(country[4])
            address = {"line1": f"{r.choice(STREETS)} {r.randint(1, 180)}", "city": city,
                       "postal_code": _postal(r, prefix, country[5]), "country": c.country}
        elif u < 0.07:  # a neighbouring country now and then: not an anomaly
            code = NEIGHBOURS[c.country]
            country = next(x for x in COUNTRIES if x[0] == code)
            city, prefix = r.choice(country[4])
            address = {"line1": f"{r.choice(STREETS)} {r.randint(1, 180)}", "city": city,
                       "postal_code": _postal(r, prefix, country[5]), "country": code}
        anomaly = None
        far = False
        if r.random() < P_ANOMALY:
            if prior == 0 and c.segment == "new":
                anomaly = "first_order_high" if r.random() < 0.7 else "bulk_sku"
            elif prior >= 2:
                anomaly = _pick(r, _cum((("amount_spike", 0.4), ("new_country", 0.3), ("bulk_sku", 0.3))))
            else:
                anomaly = "bulk_sku"
        detail = ""
        if anomaly == "amount_spike":
            factor = 8 + r.random() * 22
            items = self.top_items(r, c, c.basket * c.rate * factor, r.randint(1, 2))
        elif anomaly == "first_order_high":
            items = self.top_items(r, c, (1500 + r.random() * 4500) * c.rate, r.randint(1, 3))
        elif anomaly == "bulk_sku":
            items = self.items(r, c, 1, c.basket / 2)
            items[0]["qty"] = r.randint(20, 80)
        else:
            n = _pick(r, _ITEMS_T)
            items = self.items(r, c, n, c.basket / n)
            if anomaly == "new_country":
                code, cities, pattern = r.choice(FAR)
                city, prefix = r.choice(cities)
                address = {"line1": f"{r.randint(1, 999)} {r.choice(STREETS)}", "city": city,
                           "postal_code": _postal(r, prefix, pattern), "country": code}
                far = True
        subtotal = round(sum(it["qty"] * it["unit_price"] for it in items), 2)
        if anomaly is not None:
            usual = c.basket * c.rate
            if anomaly in ("amount_spike", "first_order_high"):
                detail = f"{anomaly}: {subtotal:.2f} {c.currency}, {subtotal / usual:.0f}x the usual {usual:.2f}"
            elif anomaly == "bulk_sku":
                detail = f"bulk_sku: {items[0]['qty']} x {items[0]['sku']}"
            else:
                detail = f"new_country: ships to {address['country']}, home {c.country}"
            self.planted["order_anomaly"][oid] = detail
        discount = None
        if anomaly is None and r.random() < 0.1:
            discount = round(subtotal * 0.1, 2)
        total = round(subtotal - (discount or 0.0), 2)
        fields: dict[str, Any] = {"order_id": oid, "total": total, "currency": c.currency, "items": items}
        # Contact data as the checkout saw it; ~1% of orders planted with a data-quality problem.
        verified = c.verified_at(t)
        dq = None
        if anomaly is None and r.random() < P_DATA_QUALITY:
            dq = _pick(r, _cum((("unverified", 0.4), ("postal_code", 0.3), ("city", 0.3))))
            if dq == "unverified":
                verified = False
                channel = "web" if channel == "marketplace" else channel
            else:
                address.pop(dq, None)
        fields["shipping_address"] = address
        promised = (t // DAY + 3 + r.randint(0, 3)) * DAY + 20 * HOUR + (2 * DAY if far else 0)
        fields["promised_delivery_at"] = self.fmt(promised)
        fields["channel"] = channel
        if channel != "marketplace" or c.explicit_verified:
            fields["email"] = c.email
            fields["email_verified"] = verified
        if dq == "unverified" and c.verified_at(t):
            # The order's own "false" would become the profile's latest value; later orders
            # state theirs, so the truth does not depend on which of the two a reader trusts.
            c.explicit_verified = True
        if discount:
            fields["discount"] = discount
        if dq is not None or not verified:
            self.planted["data_quality"].add(oid)
        self.emit(t, "order.placed", cid, fields)
        paid = self.payment(r, c, oid, t, total)
        if paid is None:
            return
        if r.random() < 0.012:  # the customer changes their mind before it ships
            cancel = paid + _seconds(30 * MINUTE + r.random() * 8 * HOUR)
            self.emit(cancel, "order.cancelled", cid, {"order_id": oid, "reason": "customer_request"})
            self.emit(cancel + _seconds(HOUR + r.random() * 47 * HOUR), "payment.refunded", cid,
                      {"order_id": oid, "amount": total, "currency": c.currency})
            return
        created = paid + _seconds(6 * HOUR + r.random() * 24 * HOUR)
        delivered, deadline, lost = self.shipment(r, c, oid, created, far, total)
        if delivered is not None and r.random() < 0.05:  # sent back
            ret = delivered + _seconds(2 * DAY + r.random() * 12 * DAY)
            self.emit(ret, "order.returned", cid, {"order_id": oid, "reason": r.choice(
                ("size", "not_as_described", "changed_mind", "damaged"))})
            amount = total if len(items) == 1 or r.random() < 0.6 else round(
                items[0]["qty"] * items[0]["unit_price"], 2)
            self.emit(ret + _seconds(DAY + r.random() * 3 * DAY), "payment.refunded", cid,
                      {"order_id": oid, "amount": amount, "currency": c.currency})
        dispute = None
        if lost and r.random() < 0.25:
            dispute = (deadline + _seconds(2 * DAY + r.random() * 8 * DAY), "product_not_received")
        elif r.random() < 0.004:
            dispute = (paid + _seconds(3 * DAY + r.random() * 22 * DAY),
                       r.choice(("fraudulent", "not_as_described", "duplicate", "unrecognized")))
        if dispute is not None and dispute[0] <= self.end:
            self.planted["payment_disputed"].add(oid)
            self.emit(dispute[0], "payment.disputed", cid, {"order_id": oid, "amount": total,
                                                            "currency": c.currency, "reason": dispute[1]})

    # -- payments

    def payment(self, r: random.Random, c: _Customer, oid: str, t: int, total: float) -> int | None:
        """Payment events for an order; returns when it was paid (None: never)."""
        cid, cur = c.cid, c.currency
        method = _pick(r, _METHOD_T)
        base = {"order_id": oid, "amount": total, "currency": cur, "method": method}
        if r.random() >= P_PAYMENT_FAIL:
            paid = t + _seconds(3 * SECOND + r.random() * 117 * SECOND)
            self.emit(paid, "payment.succeeded", cid, base)
            return paid
        self.planted["payment_failed"].add(oid)
        window = self.window
        f0 = t + _seconds(5 * SECOND + r.random() * 85 * SECOND)

        def fail(at: int, attempt: int, code: str) -> None:
            self.emit(at, "payment.failed", cid, {**base, "failure_code": code, "attempt": attempt})

        def clear(at: int) -> int:
            """Move ``at`` out of the 2 minutes either side of the recovery window's end."""
            edge = f0 + window
            if abs(at - edge) < 2 * MINUTE:
                at = edge + (2 * MINUTE + _seconds(r.random() * 3 * MINUTE)) * (1 if at >= edge else -1)
            return at

        def cancel(at: int, reason: str) -> None:
            self.emit(at, "order.cancelled", cid, {"order_id": oid, "reason": reason})

        u = r.random()
        if u < 0.08:  # fraud screening refuses it
            fail(f0, 1, "fraud_suspected")
            if r.random() < 0.7:
                cancel(clear(f0 + _seconds(HOUR + r.random() * 11 * HOUR)), "fraud_suspected")
            return None
        code = _pick(r, _SOFT_T)
        fail(f0, 1, code)
        if u < 0.70:  # recovers 5 to 300 minutes later, log-uniform (the sweep), maybe after a 2nd try
            delay = _seconds(5 * MINUTE * 60 ** r.random())
            paid = clear(f0 + delay)
            paid = max(paid, f0 + 3 * MINUTE)
            if r.random() < 0.3 and paid - f0 > 4 * MINUTE:
                second = clear(f0 + MINUTE + _seconds(r.random() * (paid - f0 - 3 * MINUTE)))
                if f0 < second < paid - MINUTE:
                    fail(second, 2, code)
            self.emit(paid, "payment.succeeded", cid, base)
            return paid
        if u < 0.85:  # tries again and again: attempt 3 (max_attempts by default)
            at = f0
            for attempt in range(2, max(3, self.max_attempts) + 1):
                at = clear(at + _seconds(MINUTE + r.random() * 19 * MINUTE))
                fail(at, attempt, r.choice((code, code, "card_declined")))
            if r.random() < 0.4:
                paid = clear(at + _seconds(10 * MINUTE + r.random() * 230 * MINUTE))
                self.emit(paid, "payment.succeeded", cid, base)
                return paid
            if r.random() < 0.6:
                cancel(clear(at + _seconds(3 * HOUR + r.random() * 45 * HOUR)), "payment_failed")
            return None
        # never recovers; one more try at most, then the shop may cancel
        at = f0
        if r.random() < 0.5:
            at = clear(f0 + _seconds(5 * MINUTE + r.random() * 25 * MINUTE))
            fail(at, 2, code)
        if r.random() < 0.6:
            cancel(clear(at + _seconds(3 * HOUR + r.random() * 45 * HOUR)), "payment_failed")
        return None

    # -- shipments

    def fill(self, r: random.Random, a: int, b: int) -> list[int]:
        """In-transit scan times strictly between ``a`` and ``b``, no gap over ``gap_max``."""
        g = min(0.6 * self.gap_max, (14 + r.random() * 16) * HOUR)
        n = max(0, math.ceil((b - a) / g) - 1)
        slot = (b - a) / (n + 1)
        return [a + _seconds(slot * (j + 1 + (r.random() - 0.5) * 0.5)) for j in range(n)]

    def path(self, r: random.Random, a: int, d: int) -> list[tuple[int, str]]:
        """Scans from the last event at ``a`` to delivery at ``d``: in transit, out for delivery."""
        out_at = d - _seconds(HOUR + r.random() * 4 * HOUR)
        steps: list[tuple[int, str]] = []
        if out_at > a + 10 * MINUTE:
            steps += [(t, "in_transit") for t in self.fill(r, a, out_at)]
            steps.append((out_at, "out_for_delivery"))
        else:
            steps += [(t, "in_transit") for t in self.fill(r, a, d)]
        steps.append((d, "delivered"))
        return steps

    def shipment(self, r: random.Random, c: _Customer, oid: str, created: int, far: bool,
                 total: float) -> tuple[int | None, int, bool]:
        """Shipment events; returns (delivered at or None, delivery deadline, lost for good)."""
        self.n_shipments += 1
        sid = f"shp_{self.n_shipments:07d}"
        cid = c.cid
        grace, stall = self.grace, self.stall
        carrier = r.choice(CARRIERS.get(c.country, CARRIERS[""]))
        eta0 = (created // DAY + _pick(r, _ETA_DAYS_T) + (2 if far else 0)) * DAY + r.choice((18, 20)) * HOUR
        hubs = [city for city, _ in next((x[4] for x in COUNTRIES if x[0] == c.country), (("Hub", ""),))]
        t1 = created + _seconds(3 * HOUR + r.random() * 11 * HOUR)
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
                d = eta + _seconds(r.random() * (grace - HOUR))
            else:
                lo = max(t1 + 4 * HOUR, eta - 60 * HOUR)
                d = lo + _seconds(r.random() * max(0, eta - HOUR - lo))
            delivered = min(d, deadline - HOUR)
            scans = self.path(r, t1, delivered)
        elif outcome == "late":
            delivered = deadline + _seconds(6 * HOUR + r.random() * 90 * HOUR)
            scans = self.path(r, t1, delivered)
        elif outcome == "never":
            last = t1
            for _ in range(r.randint(0, 2)):
                last += _seconds((0.3 + r.random() * 0.6) * min(self.gap_max, 30 * HOUR))
                scans.append((last, "in_transit"))
            lost = True
        elif outcome == "stalled":
            s = t1
            if r.random() < 0.5:
                s = t1 + _seconds((0.3 + r.random() * 0.6) * min(self.gap_max, 30 * HOUR))
                scans.append((s, "in_transit"))
            resume = s + stall + _seconds(6 * HOUR + r.random() * 66 * HOUR)
            if r.random() < 0.6:
                d = resume + _seconds(2 * HOUR + r.random() * 20 * HOUR)
                d = self.clear_delivery(r, d, deadline)
                scans.append((resume, "in_transit"))
                scans += self.path(r, resume, d)
                delivered = d
            else:
                scans.append((resume, "in_transit"))
                lost = True
        elif outcome == "exception":
            code = _pick(r, _EXCEPTION_T)
            x = t1 + _seconds(4 * HOUR + r.random() * max(HOUR, eta + 6 * HOUR - t1 - 4 * HOUR))
            before = [(t, "in_transit") for t in self.fill(r, t1, x)]
            if code == "failed_attempt":
                oft = x - _seconds(HOUR + r.random() * 2 * HOUR)
                if oft > (before[-1][0] if before else t1) + 10 * MINUTE:
                    before.append((oft, "out_for_delivery"))
            after: list[tuple[int, str]] = []
            if code == "failed_attempt":
                again = x + _seconds(16 * HOUR + r.random() * 10 * HOUR)
                after = [(again, "out_for_delivery"), (again + _seconds(HOUR + r.random() * 3 * HOUR), "delivered")]
            elif code in ("address_issue", "customs_hold", "other") and (code != "address_issue" or r.random() < 0.5):
                wait = {"address_issue": (10 * HOUR, 26 * HOUR), "customs_hold": (2 * DAY, 4 * DAY),
                        "other": (12 * HOUR, 36 * HOUR)}[code]
                resume = x + _seconds(wait[0] + r.random() * (wait[1] - wait[0]))
                d = resume + _seconds(6 * HOUR + r.random() * 30 * HOUR)
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
            cancel_at = created + _seconds(2 * HOUR + r.random() * max(HOUR, min(18 * HOUR, stall - 3 * HOUR)))
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
            emit(cancel_at + _seconds(DAY + r.random() * 3 * DAY), "payment.refunded", cid,
                 {"order_id": oid, "amount": total, "currency": c.currency})
            return None, deadline, False
        # what was planted
        if outcome == "exception":
            self.planted["shipment_exception"].add(sid)
            if lost:
                self.emit(x + _seconds(DAY + r.random() * 2 * DAY), "payment.refunded", cid,
                          {"order_id": oid, "amount": total, "currency": c.currency})
        if outcome in ("stalled", "never"):
            self.planted["shipment_stalled"].add(sid)
        if delivered is None or delivered >= deadline + 6 * HOUR:
            self.planted["delivery_late"][sid] = deadline
            self.planted["delivery_at_risk"].add(sid)
            if r.random() < 0.35:  # "where is my parcel?"
                emit(deadline + _seconds(2 * HOUR + r.random() * 46 * HOUR), "customer.activity", cid,
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
        return t1 + _seconds((0.5 + 0.5 * r.random()) * (latest - t1))

    def clear_delivery(self, r: random.Random, d: int, deadline: int) -> int:
        """Move a delivery time out of (deadline - 1 h, deadline + 6 h): clearly on time or late."""
        if deadline - HOUR < d < deadline + 6 * HOUR:
            return deadline + 6 * HOUR + _seconds(r.random() * 3 * HOUR)
        return d


def _seconds(us: float) -> int:
    """A duration in whole seconds (event times carry no fractions)."""
    return int(us) // SECOND * SECOND


def _poisson(r: random.Random, lo: int, hi: int, rate: float) -> list[int]:
    """Event times of a Poisson process of ``rate`` per microsecond, by day-time (thinning)."""
    out: list[int] = []
    if rate <= 0 or hi <= lo:
        return out
    peak = rate / HOURLY_MEAN
    t = float(lo)
    while True:
        t += r.expovariate(peak)
        if t >= hi:
            return out
        ti = int(t) // SECOND * SECOND
        if r.random() < HOURLY[ti // HOUR % 24]:
            out.append(ti)


# --------------------------------------------------------------------------- noise


def _noise(spec: SimSpec, valid: list[tuple[int, bytes]]) -> tuple[list[bytes], dict[str, int]]:
    """Redeliveries, out-of-order arrivals and malformed lines, from a generator of their own."""
    r = random.Random(f"forewarn-sim:{spec.seed}:noise")
    stats = {"valid": len(valid), "duplicates": 0, "late": 0, "invalid": 0}
    if spec.duplicate_rate or spec.late_rate:
        keyed: list[tuple[int, bytes]] = []
        dups: list[tuple[int, bytes]] = []
        dup_rate, late_rate = spec.duplicate_rate, spec.late_rate
        rnd, randint = r.random, r.randint
        for ts, line in valid:
            key = ts
            if late_rate and rnd() < late_rate:
                key = ts + randint(1, 120) * SECOND
                stats["late"] += 1
            keyed.append((key, line))
            if dup_rate and rnd() < dup_rate:
                dups.append((key + randint(0, 120) * SECOND, line))
        stats["duplicates"] = len(dups)
        keyed += dups  # after the originals, so a stable sort keeps a redelivery behind them
        keyed.sort(key=_ts_key)
        lines = [line for _, line in keyed]
    else:
        lines = [line for _, line in valid]
    n_bad = round(spec.invalid_rate * len(valid))
    if n_bad and lines:
        spots = sorted(r.randrange(len(lines) + 1) for _ in range(n_bad))
        out: list[bytes] = []
        prev = 0
        for pos in spots:
            out += lines[prev:pos]
            out.append(_corrupt(r, lines[min(pos, len(lines) - 1)]))
            prev = pos
        out += lines[prev:]
        lines = out
        stats["invalid"] = n_bad
    return lines, stats


def _corrupt(r: random.Random, line: bytes) -> bytes:
    """A malformed variant of a real line, of the kinds real feeds carry."""
    d = msgspec.json.decode(line)
    how = r.randrange(10)
    if how == 0:
        bad = line[: r.randrange(1, len(line) - 1)]  # truncated mid-write
    elif how == 1:
        d.pop(r.choice(("customer_id", "event_id", "ts")))
        bad = msgspec.json.encode(d)
    elif how == 2:
        d["type"] = r.choice(("order.updated", "cart.abandoned", "Order.Placed", ""))
        bad = msgspec.json.encode(d)
    elif how == 3:
        d["ts"] = r.choice((d["ts"].rstrip("Z"), "yesterday", d["ts"].replace("T", " ")[:10] + "T25:00:00Z"))
        bad = msgspec.json.encode(d)
    elif how == 4:
        d["ts"] = r.choice(("1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"))
        bad = msgspec.json.encode(d)
    elif how == 5:
        d["customer_id"] = r.choice(("", None, 12345))
        bad = msgspec.json.encode(d)
    elif how == 6:
        cut = r.randrange(1, len(line) - 1)
        bad = line[:cut] + b"\xff\xfe" + line[cut:]
    elif how == 7:
        # never a blank line: JSONL readers skip those
        bad = r.choice((b"null", b"[]", b"ping", b"{}", b'"order.placed"', b"\x00"))
    else:  # a field of the wrong shape for its type
        t = d.get("type", "")
        if t == "order.placed":
            d["items"][0]["qty"] = r.choice((0, -1, "2"))
        elif t.startswith("payment."):
            d["currency"] = r.choice(("euro", "eur", "€"))
        elif t == "shipment.updated":
            d["status"] = "lost_in_space"
        elif t == "customer.activity":
            d["kind"] = "page_view"
        elif "order_id" in d:
            d["order_id"] = ""
        else:
            d["event_id"] = 7
        bad = msgspec.json.encode(d)
    if not isinstance(ev.decode(bad), ev.Invalid):  # belt and braces: never a valid line
        bad = line[:-1]
    return bad
