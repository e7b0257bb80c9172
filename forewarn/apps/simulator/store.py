"""The simulated store itself: customers, their profiles and engagement, and their orders
(payments and parcels come from the :class:`Payments` and :class:`Parcels` mixins).

One ``random.Random`` per customer, seeded from the spec's seed and the customer's index, so
customer ``n`` is the same whatever the store size. Events are collected as
``(event time µs, JSON bytes)`` in ``Store.out``, in generation order.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, bisect_right
from typing import Any

import msgspec

from forewarn.apps import groundtruth
from forewarn.apps.simulator.clock import Fmt, poisson, seconds
from forewarn.apps.simulator.parcels import Parcels
from forewarn.apps.simulator.payments import Payments
from forewarn.apps.simulator.reference import (
    ACTIVITY_T, ASCII, CHANNEL_T, CHURN_P, COUNTRIES, COUNTRY_T, DOMAINS, FAR, FIRST, HOURLY, HOURLY_MEAN,
    ITEMS_T, LAST, NEIGHBOURS, P_ANOMALY, P_DATA_QUALITY, QTY_T, SEGMENT_T, STREETS, VIP_DROP_P, cum,
    pick, postal,
)
from forewarn.apps.simulator.spec import SimSpec
from forewarn.core.timefmt import DAY, HOUR, MINUTE, SECOND, format_us

class Customer:
    """One customer as generated. ``history`` keeps ``(ts, type, fields)`` of the customer's
    events other than engagement, for the support messages planted afterwards
    (:mod:`.inbound`); ``index``, ``name`` and ``life`` (first seen, µs) likewise."""

    __slots__ = ("cid", "index", "name", "life", "segment", "tier", "country", "currency", "rate", "home",
                 "email", "basket", "orders", "verified", "explicit_verified", "history")

    def __init__(self) -> None:
        self.orders = 0
        self.verified: list[tuple[int, bool]] = []
        self.explicit_verified = False
        self.history: list[tuple[int, str, dict[str, Any]]] = []

    def verified_at(self, ts: int) -> bool:
        value = True
        for t, v in self.verified:
            if t <= ts:
                value = v
        return value


class Store(Payments, Parcels):
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
        self.fmt = Fmt()
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
        # The customers generated since the pipeline last took them (one batch), and the one
        # being generated, whose history emit() keeps.
        self.customers: list[Customer] = []
        self.current: Customer | None = None

    # -- output

    def emit(self, ts: int, type_: str, cid: str, fields: dict[str, Any]) -> None:
        if ts > self.end or ts < self.start:
            return
        self.n_events += 1
        d = {"event_id": f"ev{self.n_events:09d}", "type": type_, "ts": self.fmt(ts), "customer_id": cid}
        d.update(fields)
        self.out.append((ts, self.encode(d)))
        if self.current is not None:
            self.current.history.append((ts, type_, fields))

    # -- one customer, start to end

    def customer(self, i: int) -> None:
        r = random.Random(f"forewarn-sim:{self.spec.seed}:customer:{i}")
        start, end = self.start, self.end
        span = end - start
        c = Customer()
        c.cid = cid = f"cus_{i + 1:06d}"
        c.index = i
        self.current = c
        self.customers.append(c)
        seg = pick(r, SEGMENT_T)
        c.segment, _, orders_30d, activity_day, basket_factor = seg
        c.tier = "vip" if c.segment == "vip" else "standard"
        country = pick(r, COUNTRY_T)
        c.country, _, c.currency, c.rate, cities, pattern = country
        city, prefix = r.choice(cities)
        c.home = {"line1": f"{r.choice(STREETS)} {r.randint(1, 180)}", "city": city,
                  "postal_code": postal(r, prefix, pattern), "country": c.country}
        first, last = r.choice(FIRST), r.choice(LAST)
        c.email = f"{first}.{last}{r.randint(1, 99)}@{r.choice(DOMAINS)}".lower().translate(ASCII)
        # Usual basket (EUR) and the lifetime value it implies: heavy-tailed.
        c.basket = r.lognormvariate(math.log(45), 0.55) * basket_factor
        _sec = seconds
        if c.segment == "new":
            life = start + _sec(r.random() * 0.9 * span)
        else:
            life = start + _sec(r.random() * HOUR)
        c.name, c.life = f"{first} {last}", life
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
        order_times = poisson(r, life, stop if stop is not None else end, rate)
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

    def activity(self, r: random.Random, c: Customer, lo: int, hi: int, rate: float,
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
        values, cum = ACTIVITY_T
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

    def items(self, r: random.Random, c: Customer, n: int, target_each: float) -> list[dict[str, Any]]:
        prices, cat = self.prices, self.catalogue
        picked: dict[int, int] = {}
        for _ in range(n):
            want = target_each * r.lognormvariate(0, 0.45)
            idx = min(max(bisect_left(prices, want) + r.randint(-3, 3), 0), len(cat) - 1)
            picked[idx] = picked.get(idx, 0) + pick(r, QTY_T)
        return [{"sku": cat[i][0], "qty": q, "unit_price": round(cat[i][1] * c.rate, 2)}
                for i, q in picked.items()]

    def top_items(self, r: random.Random, c: Customer, target: float, k: int) -> list[dict[str, Any]]:
        """A few of the dearest articles, enough of them to reach ``target`` (customer currency)."""
        cat = self.catalogue
        chosen = r.sample(range(len(cat) - 25, len(cat)), k)
        each = sum(cat[i][1] * c.rate for i in chosen)
        qty = max(1, round(target / each))
        return [{"sku": cat[i][0], "qty": qty, "unit_price": round(cat[i][1] * c.rate, 2)} for i in chosen]

    def order(self, r: random.Random, c: Customer, t: int) -> None:
        if t > self.end:
            return
        self.n_orders += 1
        oid = f"ord_{self.n_orders:07d}"
        cid = c.cid
        prior = c.orders
        c.orders += 1
        channel = pick(r, CHANNEL_T)
        address = dict(c.home)
        u = r.random()
        if u < 0.06:  # a gift or the office: another city at home
            country = next(x for x in COUNTRIES if x[0] == c.country)
            city, prefix = r.choice(country[4])
            address = {"line1": f"{r.choice(STREETS)} {r.randint(1, 180)}", "city": city,
                       "postal_code": postal(r, prefix, country[5]), "country": c.country}
        elif u < 0.07:  # a neighbouring country now and then: not an anomaly
            code = NEIGHBOURS[c.country]
            country = next(x for x in COUNTRIES if x[0] == code)
            city, prefix = r.choice(country[4])
            address = {"line1": f"{r.choice(STREETS)} {r.randint(1, 180)}", "city": city,
                       "postal_code": postal(r, prefix, country[5]), "country": code}
        anomaly = None
        far = False
        if r.random() < P_ANOMALY:
            if prior == 0 and c.segment == "new":
                anomaly = "first_order_high" if r.random() < 0.7 else "bulk_sku"
            elif prior >= 2:
                anomaly = pick(r, cum((("amount_spike", 0.4), ("new_country", 0.3), ("bulk_sku", 0.3))))
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
            n = pick(r, ITEMS_T)
            items = self.items(r, c, n, c.basket / n)
            if anomaly == "new_country":
                code, cities, pattern = r.choice(FAR)
                city, prefix = r.choice(cities)
                address = {"line1": f"{r.randint(1, 999)} {r.choice(STREETS)}", "city": city,
                           "postal_code": postal(r, prefix, pattern), "country": code}
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
            dq = pick(r, cum((("unverified", 0.4), ("postal_code", 0.3), ("city", 0.3))))
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
            cancel = paid + seconds(30 * MINUTE + r.random() * 8 * HOUR)
            self.emit(cancel, "order.cancelled", cid, {"order_id": oid, "reason": "customer_request"})
            self.emit(cancel + seconds(HOUR + r.random() * 47 * HOUR), "payment.refunded", cid,
                      {"order_id": oid, "amount": total, "currency": c.currency})
            return
        created = paid + seconds(6 * HOUR + r.random() * 24 * HOUR)
        delivered, deadline, lost = self.shipment(r, c, oid, created, far, total)
        if delivered is not None and r.random() < 0.05:  # sent back
            ret = delivered + seconds(2 * DAY + r.random() * 12 * DAY)
            self.emit(ret, "order.returned", cid, {"order_id": oid, "reason": r.choice(
                ("size", "not_as_described", "changed_mind", "damaged"))})
            amount = total if len(items) == 1 or r.random() < 0.6 else round(
                items[0]["qty"] * items[0]["unit_price"], 2)
            self.emit(ret + seconds(DAY + r.random() * 3 * DAY), "payment.refunded", cid,
                      {"order_id": oid, "amount": amount, "currency": c.currency})
        dispute = None
        if lost and r.random() < 0.25:
            dispute = (deadline + seconds(2 * DAY + r.random() * 8 * DAY), "product_not_received")
        elif r.random() < 0.004:
            dispute = (paid + seconds(3 * DAY + r.random() * 22 * DAY),
                       r.choice(("fraudulent", "not_as_described", "duplicate", "unrecognized")))
        if dispute is not None and dispute[0] <= self.end:
            self.planted["payment_disputed"].add(oid)
            self.emit(dispute[0], "payment.disputed", cid, {"order_id": oid, "amount": total,
                                                            "currency": c.currency, "reason": dispute[1]})

    # -- payments

