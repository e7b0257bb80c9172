"""order_anomaly as a fraud analyst would describe it: orders in, triggers out, field by field."""

from forewarn.engine.config import load
from forewarn.engine.engine import Engine
from tests.factory import event, order, replay

DAY = "2026-11-0{}T{:02d}:{:02d}:00Z"


def _at(i: int) -> str:
    """The i-th minute-spaced time from 2026-11-01 00:00 (days 1-9)."""
    return DAY.format(1 + i // 1440, i // 60 % 24, i % 60)


def ordinary(n: int, start: int = 0, customers: int = 50) -> list[dict]:
    """``n`` everyday orders (1-3 articles, 35-65 EUR) spread over ``customers`` customers in DE."""
    out = []
    for i in range(n):
        total = 35.0 + (i * 7) % 31
        lines = 1 + i % 3
        out.append(order(_at(start + i), order_id=f"w{start + i}", total=total, customer_id=f"w{i % customers}",
                         items=[{"sku": f"sku-{(i + j) % 40}", "qty": 1, "unit_price": round(total / lines, 2)}
                                for j in range(lines)]))
    return out


def config(**params):
    return load(None, {"engine.allowed_lateness_seconds": 0,
                       **{f"detectors.order_anomaly.{k}": v for k, v in params.items()}})


def anomalies(events, cfg) -> list:
    return [t for t in replay(events, cfg) if t.kind == "order_anomaly"]


def test_an_order_many_times_the_customers_usual_fires_with_its_facts():
    events = ordinary(30) + [
        order(_at(100), order_id="a1", total=52.0, customer_id="c1"),
        order(_at(200), order_id="a2", total=48.0, customer_id="c1"),
        order(_at(300), order_id="a3", total=960.0, customer_id="c1"),
    ]
    [t] = anomalies(events, config(warmup_orders=0))
    assert (t.kind, t.customer_id, t.order_id, t.fired_at) == ("order_anomaly", "c1", "a3", _at(300))
    assert t.score == 0.99  # a clear rule
    assert (t.route, t.priority) == ("human", "p1")  # human lane, raised for a 960 EUR order
    assert t.evidence["rules"] == ["amount_spike"]
    assert t.evidence["earlier_orders"] == 2 and 45 < t.evidence["usual_total"] < 55
    assert t.evidence["amount_vs_usual"] > 17
    codes = [r["code"] for r in t.reasons]
    assert codes[0] == "amount_high_for_customer"
    assert "960.00 EUR" in t.reasons[0]["detail"] and "2 earlier orders" in t.reasons[0]["detail"]


def test_everyday_orders_do_not_fire():
    assert anomalies(ordinary(60), config(warmup_orders=0)) == []


def test_a_first_order_far_above_the_stores_typical_fires():
    events = ordinary(30) + [order(_at(100), order_id="f1", total=2400.0, customer_id="new")]
    [t] = anomalies(events, config(warmup_orders=20))
    assert t.order_id == "f1" and t.evidence["first_order"] is True
    assert t.evidence["rules"] == ["first_order_high"]
    assert {"amount_high_for_store", "first_order"} <= {r["code"] for r in t.reasons}


def test_store_rules_wait_for_the_warmup():
    events = ordinary(10) + [order(_at(100), order_id="f1", total=2400.0, customer_id="new")]
    assert anomalies(events, config(warmup_orders=20)) == []


def test_many_units_of_one_article_fire():
    bulk = order(_at(100), order_id="b1", total=600.0, customer_id="c2",
                 items=[{"sku": "sku-9", "qty": 40, "unit_price": 15.0}])
    [t] = anomalies(ordinary(30) + [bulk], config(warmup_orders=0))
    assert t.evidence["rules"] == ["bulk_quantity"] and t.evidence["max_units_one_article"] == 40
    assert any(r["code"] == "bulk_quantity" and "40 units" in r["detail"] for r in t.reasons)


def test_a_rare_new_country_fires_but_a_common_one_does_not():
    home = [order(_at(100 + i), order_id=f"h{i}", total=50.0, customer_id="c3") for i in range(2)]
    far = order(_at(200), order_id="x1", total=55.0, customer_id="c3",
                shipping_address={"country": "US", "city": "Miami", "postal_code": "33101"})
    near = order(_at(200), order_id="x2", total=55.0, customer_id="c4",
                 shipping_address={"country": "DE", "city": "Köln", "postal_code": "50667"})
    events = ordinary(30) + home + [order(_at(150), order_id="h9", total=50.0, customer_id="c4",
                                          shipping_address={"country": "AT", "city": "Wien"})] + [far, near]
    [t] = anomalies(events, config(warmup_orders=0, rare_country_share=0.1))
    assert t.order_id == "x1" and t.evidence["rules"] == ["rare_new_country"]
    assert t.evidence["new_country"] is True and t.evidence["country"] == "US"
    assert t.reasons[0]["code"] == "rare_new_country" and "US" in t.reasons[0]["detail"]


def test_a_redelivered_or_resent_order_is_judged_once():
    spike = order(_at(300), order_id="a3", total=960.0, customer_id="c1")
    resent = dict(spike, event_id="resent-a3")  # same order, new event id
    events = ordinary(30) + [
        order(_at(100), order_id="a1", total=52.0, customer_id="c1"),
        order(_at(200), order_id="a2", total=48.0, customer_id="c1"),
        spike, spike, resent,
    ]
    cfg = config(warmup_orders=0)
    engine = Engine(cfg)
    assert [t.order_id for t in replay(events, cfg, engine=engine) if t.kind == "order_anomaly"] == ["a3"]
    assert engine.models["order_anomaly"].learned == 33  # every distinct order learned once


def test_an_order_arriving_late_is_still_judged():
    events = ordinary(30) + [
        order(_at(100), order_id="a1", total=52.0, customer_id="c1"),
        order(_at(200), order_id="a2", total=48.0, customer_id="c1"),
        event("customer.activity", _at(400), "other", kind="session"),
        order(_at(300), order_id="a3", total=960.0, customer_id="c1"),  # behind the watermark
    ]
    assert [t.order_id for t in anomalies(events, config(warmup_orders=0))] == ["a3"]


def test_the_model_flags_an_order_unlike_the_rest_and_says_why():
    # Past the trees' first window of 250 orders, an order with twelve articles and a 60 %
    # discount breaks no clear rule, but nothing in the store looks like it.
    odd = order(_at(600), order_id="odd", total=40.0, customer_id="w3", discount=60.0,
                items=[{"sku": f"sku-{j}", "qty": 1, "unit_price": 8.33} for j in range(12)])
    [t] = anomalies(ordinary(400) + [odd], config())
    assert t.order_id == "odd" and t.evidence["rules"] == []
    assert t.score == t.evidence["model_score"] >= t.evidence["model_threshold"] > 0
    assert {"many_articles", "large_discount"} <= {r["code"] for r in t.reasons}


def test_a_live_threshold_change_keeps_what_the_model_learned():
    cfg = config(warmup_orders=0)
    engine = Engine(cfg)
    replay(ordinary(300), cfg, engine=engine)
    model = engine.models["order_anomaly"]
    assert engine.reconfigure(config(warmup_orders=0, quantile=0.99)) == ["order_anomaly"]
    replay(ordinary(1, start=400), engine.config, engine=engine)
    assert engine.models["order_anomaly"] is model  # retuned in place, not rebuilt
    assert model.learned == 301 and model.q == 0.99
