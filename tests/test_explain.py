"""`forewarn explain`: a support lead asks about one customer or order of a backtest file, or of
a live engine's recovery snapshot, and reads its state, deadlines, triggers and why a kind did not
fire."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from forewarn.apps import cli
from tests.factory import disputed, failed, lines, order, paid, shipped, tick


def _file(tmp_path, events) -> str:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines(events)) + b"\n")
    return str(path)


STORY = [
    order("2026-11-20T10:00:00Z", "o1", total=120.0),
    failed("2026-11-20T10:05:00Z", order_id="o1", amount=120.0),
    paid("2026-11-20T10:20:00Z", order_id="o1", amount=120.0),  # recovered within 60 min
    shipped("2026-11-20T12:00:00Z", eta="2026-11-22T18:00:00Z"),
    tick("2026-11-24T00:00:00Z"),  # another customer moves event time past the deadline
]


def _explain(capsys, *args: str) -> tuple[int, dict]:
    code = cli.main(["explain", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_customer_of_a_backtest_file(tmp_path, capsys):
    events = _file(tmp_path, STORY)
    code, rep = _explain(capsys, "--input", events, "--customer", "c1")
    assert code == 0
    assert rep["customer_id"] == "c1" and rep["watermark"] == "2026-11-24T00:00:00Z"
    assert rep["state"]["orders"]["o1"] == {"total": 120.0, "currency": "EUR", "placed_at": "2026-11-20T10:00:00Z",
                                            "status": "open", "paid": True}
    assert rep["state"]["shipments"]["s1"]["eta"] == "2026-11-22T18:00:00Z"
    assert rep["armed"] == []
    # The triggers are the backtest's, id for id.
    out = tmp_path / "triggers.jsonl"
    assert cli.main(["backtest", "--input", events, "--output", str(out), "--workers", "1"]) == 0
    backtest = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(t["kind"], t["trigger_id"], t["fired_at"]) for t in backtest if t["customer_id"] == "c1"] == \
           [(t["kind"], t["trigger_id"], t["fired_at"]) for t in rep["triggers"]]
    assert [(t["kind"], t["fired_at"], t["lane"]) for t in rep["triggers"]] == [
        ("shipment_stalled", "2026-11-22T12:00:00Z", "human:p3"),  # no consent: the ai lane goes to a person
        ("delivery_late", "2026-11-23T06:00:00Z", "human:p3")]
    # Why the payment failure did not fire: the detector's own deadline, disarmed by the payment.
    assert rep["why_not"]["payment_failed"][:2] == [
        "o1: armed for 2026-11-20T11:05:00Z by payment.failed at 2026-11-20T10:05:00Z",
        "o1: disarmed by payment.succeeded at 2026-11-20T10:20:00Z (it was due 2026-11-20T11:05:00Z)"]
    assert rep["why_not"]["payment_failed"][-1] == "thresholds: recovery_minutes 60.0, max_attempts 3"
    assert rep["why_not"]["payment_disputed"][0] == \
        "never evaluated: it reads payment.disputed and this customer sent none"
    assert rep["state"]["consent"] == ("outreach not allowed (no consent on record): triggers go to the human "
                                       "lane, marked not allowed")


def test_at_a_time_before_the_deadline_it_shows_what_is_armed(tmp_path, capsys):
    code, rep = _explain(capsys, "--input", _file(tmp_path, STORY), "--customer", "c1", "--at", "2026-11-21T00:00:00Z")
    assert code == 0 and rep["triggers"] == []
    assert {"kind": "delivery_late", "subject": "s1", "due": "2026-11-23T06:00:00Z"} in rep["armed"]
    assert rep["why_not"]["delivery_late"][0] == (
        "waiting: s1 is due 2026-11-23T06:00:00Z, 54.0 h after the watermark (2026-11-21T00:00:00Z)")


def test_an_order_and_a_trigger_held_back_by_the_cooldown(tmp_path, capsys):
    story = [order("2026-11-20T10:00:00Z", "o1"), order("2026-11-20T10:10:00Z", "o2"),
             failed("2026-11-20T10:01:00Z", code="fraud_suspected", order_id="o1"),
             failed("2026-11-20T10:11:00Z", code="fraud_suspected", order_id="o2"),
             disputed("2026-11-20T11:00:00Z", order_id="o1"),
             tick("2026-11-21T00:00:00Z")]
    code, rep = _explain(capsys, "--input", _file(tmp_path, story), "--order", "o2")
    assert code == 0 and rep["customer_id"] == "c1"
    assert list(rep["state"]["orders"]) == ["o2"] and rep["triggers"] == []
    assert rep["held_back"] == [{"kind": "payment_failed", "subject": "o2", "fired_at": "2026-11-20T10:11:00Z",
                                 "why": "cooldown: another payment_failed for this customer less than 1 h before "
                                        "(routing.cooldown_hours.payment_failed)"}]
    assert "payment_disputed" in rep["why_not"]  # fired for o1, not for this order


def test_an_unknown_customer_exits_1(tmp_path, capsys):
    assert cli.main(["explain", "--input", _file(tmp_path, STORY), "--customer", "nobody"]) == 1
    assert "not found: no valid event of this customer" in capsys.readouterr().out


def test_a_live_engines_recovery_snapshot(tmp_path, capsys):
    """The state a live engine snapshotted (one key per customer, as `forewarn run` keys it)."""
    from bytewax.recovery import RecoveryConfig, init_db_dir
    from bytewax.testing import run_main

    from flows import dataflow
    from flows.outputs import CallbackSink
    from flows.sources import LinesSource, file_lines
    from forewarn.engine.config import load

    config = load(None, {"engine.allowed_lateness_seconds": 0})
    recovery = tmp_path / "recovery"
    recovery.mkdir()
    init_db_dir(recovery, 1)
    source = LinesSource(file_lines(_file(tmp_path, STORY[:4])), 0, lambda cid: cid)
    flow = dataflow.build(config, source, CallbackSink(lambda items: None), None, persist=True)
    run_main(flow, epoch_interval=timedelta(seconds=3600), recovery_config=RecoveryConfig(str(recovery)))
    code, rep = _explain(capsys, "--recovery", str(recovery), "--customer", "c1")
    assert code == 0
    assert rep["source"].startswith(f"recovery snapshot in {recovery}, epoch ")
    assert rep["state"]["orders"]["o1"]["paid"] is True
    assert {"kind": "delivery_late", "subject": "s1", "due": "2026-11-23T06:00:00Z"} in rep["armed"]
    assert rep["why_not"]["delivery_late"][0].startswith("waiting: s1 is due 2026-11-23T06:00:00Z")
