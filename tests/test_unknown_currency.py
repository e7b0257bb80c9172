"""An amount in a currency no one pays with counts into nothing (issue 15.9).

Before, ``XXX`` ("no currency") and made-up ``ZZZ`` orders of 999,999,999 counted one to one
into the customer's lifetime value: a first-time buyer became a VIP and every trigger of theirs
p1. Now such an event is a dead letter ``unknown_currency`` and the customer is judged by what
they really spent.
"""

import json

from forewarn.apps.cli import main
from tests.factory import failed, lines, order, tick


def test_orders_in_xxx_and_zzz_are_dead_lettered_and_count_into_no_lifetime_value(tmp_path):
    src, out, dl = tmp_path / "events.jsonl", tmp_path / "triggers.jsonl", tmp_path / "dead.jsonl"
    src.write_bytes(b"\n".join(lines([
        order("2026-11-01T10:00:00Z", order_id="o1", total=999_999_999.0, currency="XXX"),
        order("2026-11-01T11:00:00Z", order_id="o2", total=999_999_999.0, currency="ZZZ"),
        order("2026-11-02T10:00:00Z", order_id="o3", total=80.0),
        failed("2026-11-02T10:05:00Z", order_id="o3"),
        tick("2026-11-04T00:00:00Z"),
    ])) + b"\n")
    assert main(["backtest", "--input", str(src), "--output", str(out), "--deadletter", str(dl)]) == 0

    letters = [json.loads(x) for x in dl.read_text().splitlines()]
    assert [(d["reason"], d["source"].rsplit(":", 1)[1]) for d in letters] == [
        ("unknown_currency", "1"), ("unknown_currency", "2")]
    assert "'XXX' is not an ISO 4217 currency in use" in letters[0]["error"]
    [trigger] = [json.loads(x) for x in out.read_text().splitlines()]
    assert trigger["kind"] == "payment_failed"
    assert trigger["customer"]["ltv"] == 80.0
    assert trigger["customer"]["orders"] == 1
    assert trigger["customer"]["segment"] == "new"
    assert trigger["priority"] == "p2"
