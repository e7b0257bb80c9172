"""Dedupe: a redelivered ``event_id`` changes nothing; a distinct one is never dropped.

The two ids below are UUIDs with the same CRC32 (0x33be7e86), found by drawing version-4
UUIDs from ``random.Random(15)``: dedupe by a 32-bit checksum dropped the second event.
"""

import json
import zlib

from forewarn.apps.cli import main
from forewarn.core import state
from tests.factory import event, lines, order

FIRST = "9c939e82-7e30-4778-b3aa-fa49afaea175"
SECOND = "9538fd1f-37cd-415c-b21a-df7139708e88"
NO_CITY = {"country": "DE", "postal_code": "10115"}


def _backtest(tmp_path, events):
    src, out = tmp_path / "events.jsonl", tmp_path / "triggers.jsonl"
    src.write_bytes(b"\n".join(lines(events)) + b"\n")
    assert main(["backtest", "--input", str(src), "--output", str(out)]) == 0
    return [json.loads(x) for x in out.read_text().splitlines()]


def test_the_ids_share_a_crc32_and_differ():
    assert FIRST != SECOND and zlib.crc32(FIRST.encode()) == zlib.crc32(SECOND.encode())


def test_two_orders_whose_ids_share_a_crc32_are_both_checked(tmp_path):
    got = _backtest(tmp_path, [
        order("2026-11-01T10:00:00Z", order_id="o1", event_id=FIRST, shipping_address=NO_CITY),
        order("2026-11-01T12:00:00Z", order_id="o2", event_id=SECOND, shipping_address=NO_CITY),
    ])
    assert [(t["kind"], t["order_id"]) for t in got] == [("data_quality", "o1"), ("data_quality", "o2")]
    assert [t["customer"]["orders"] for t in got] == [0, 1]  # the first order counted before the second


def test_a_redelivered_order_is_checked_once(tmp_path):
    placed = order("2026-11-01T10:00:00Z", order_id="o1", event_id=FIRST, shipping_address=NO_CITY)
    got = _backtest(tmp_path, [placed, dict(placed), order("2026-11-01T12:00:00Z", order_id="o2",
                                                           event_id="other", shipping_address=NO_CITY)])
    assert [(t["order_id"], t["customer"]["orders"]) for t in got] == [("o1", 0), ("o2", 1)]


def test_the_memory_of_ids_is_bounded_and_keeps_the_newest():
    cust = state.CustomerState("c1")
    ids = [f"evt-{n:06d}-{'x' * 20}" for n in range(500)]
    assert not any(cust.is_duplicate(i) for i in ids)
    assert len(cust.seen) <= state.SEEN_BYTES
    kept = state.SEEN_BYTES // (2 + len(ids[0]))
    assert cust.is_duplicate(ids[-1]) and cust.is_duplicate(ids[-kept])
    assert not cust.is_duplicate(ids[0])  # forgotten: out of the window, applied as new


def test_an_id_inside_another_id_is_not_a_duplicate():
    cust = state.CustomerState("c1")
    long = "ab" + (2).to_bytes(2, "little").decode() + "cd"  # its bytes hold the entry of "cd"
    assert not cust.is_duplicate(long)
    assert not cust.is_duplicate("cd")
    assert cust.is_duplicate("cd") and cust.is_duplicate(long)
