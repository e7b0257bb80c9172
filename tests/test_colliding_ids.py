"""Ids a producer chose collide across customers (issue 15): two shops merged into one stream, or
a clumsy producer numbering orders per shop front, send two customers' events under one
``order_id``, ``shipment_id`` or ``message_id``. Each customer's situation is its own trigger
with its own ``trigger_id`` (the queues dedupe on it), and a replay still gives the same ids."""

import json

from detectors import REGISTRY
from detectors.base import Candidate
from forewarn.apps.cli import main
from forewarn.apps.model_quality import evaluate
from tests.factory import carrier_exception, disputed, event, failed, lines, order, shipped, tick

NO_CITY = {"country": "DE", "postal_code": "10115"}  # data_quality: an address without a city


def _backtest(tmp_path, events, name="events"):
    src, out = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.triggers.jsonl"
    src.write_bytes(b"\n".join(lines(events)) + b"\n")
    assert main(["backtest", "--input", str(src), "--output", str(out)]) == 0
    return [json.loads(x) for x in out.read_text().splitlines()]


def _shop(customer_id):
    """One shop's customer: order o1 (no city on the address), its card declined as fraud, a
    chargeback, parcel s1 damaged and never delivered, a message about it."""
    return [
        order("2026-11-01T10:00:00Z", order_id="o1", customer_id=customer_id, shipping_address=NO_CITY),
        failed("2026-11-01T10:01:00Z", "fraud_suspected", customer_id=customer_id),
        shipped("2026-11-01T12:00:00Z", eta="2026-11-03T12:00:00Z", customer_id=customer_id),
        carrier_exception("2026-11-01T18:00:00Z", "damaged", customer_id=customer_id),
        disputed("2026-11-02T09:00:00Z", customer_id=customer_id),
        event("support.message", "2026-11-02T09:30:00Z", customer_id=customer_id, message_id="m1",
              channel="email", body="Where is my parcel?", order_id="o1"),
    ]


def _merged():
    # Both shops' events in one stream, in event time (c1 first at each instant), then time moves
    # on past every deadline.
    return sorted(_shop("c1") + _shop("c2"), key=lambda e: e["ts"]) + [tick("2026-11-06T00:00:00Z")]


def test_two_customers_under_one_order_and_shipment_id_each_get_every_trigger_with_an_id_of_their_own(tmp_path):
    got = _backtest(tmp_path, _merged())
    kinds = {"data_quality", "payment_failed", "shipment_exception", "payment_disputed", "support_message",
             "delivery_late"}
    for cid in ("c1", "c2"):
        assert {t["kind"] for t in got if t["customer_id"] == cid} == kinds
        assert {t["order_id"] for t in got if t["customer_id"] == cid} == {"o1"}
    ids = [t["trigger_id"] for t in got]
    assert len(ids) == len(set(ids)) == 2 * len(kinds)  # no trigger shares its id with the other shop's


def test_the_same_situation_keeps_its_id_whatever_else_is_in_the_stream(tmp_path):
    merged = _backtest(tmp_path, _merged(), "merged")
    again = _backtest(tmp_path, _merged(), "again")  # a replay
    alone = _backtest(tmp_path, _shop("c1") + [tick("2026-11-06T00:00:00Z")], "alone")
    assert [t["trigger_id"] for t in again] == [t["trigger_id"] for t in merged]
    assert {(t["kind"], t["trigger_id"]) for t in alone} == {
        (t["kind"], t["trigger_id"]) for t in merged if t["customer_id"] == "c1"}


def test_every_kind_about_an_id_a_producer_chose_scopes_its_trigger_id_by_the_customer():
    # Kinds registered later are covered too: only a kind whose subject is the customer itself
    # may leave the customer out, since its subject already is the customer id.
    for kind, cls in REGISTRY.items():
        def candidate(customer_id, subject):
            return Candidate(kind=kind, customer_id=customer_id, order_id="o1", subject=subject,
                             episode="2026-11-03T12:00:00Z", fired_at=0, reasons=[], evidence={})

        if cls.SUBJECT == "customer":
            assert candidate("c1", "c1").trigger_id != candidate("c2", "c2").trigger_id, kind
        else:
            assert candidate("c1", "x1").trigger_id != candidate("c2", "x1").trigger_id, kind
            assert candidate("c1", "x1").trigger_id == candidate("c1", "x1").trigger_id, kind


def test_model_quality_keeps_two_customers_orders_under_one_id_apart():
    # c1's o1 is the planted anomaly, scored high; c2's o1 is an ordinary order, scored low.
    scores = [{"kind": "order_anomaly", "customer_id": "c1", "subject": "o1", "score": 0.9},
              {"kind": "order_anomaly", "customer_id": "c2", "subject": "o1", "score": 0.1},
              {"kind": "order_anomaly", "customer_id": "c3", "subject": "o3", "score": 0.5}]
    truth = [{"kind": "order_anomaly", "customer_id": "c1", "subject": "o1"}]
    res = evaluate(scores, truth)["order_anomaly"]
    assert (res["subjects"], res["positives"], res["scored_positives"]) == (3, 1, 1)
    assert res["auc"] == 1.0  # 0.9 above both 0.5 and 0.1
