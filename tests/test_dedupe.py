"""Dedupe: a redelivered ``event_id`` changes nothing; a distinct one is never dropped.

The two ids below are UUIDs with the same CRC32 (0x33be7e86), found by drawing version-4
UUIDs from ``random.Random(15)``: dedupe by a 32-bit checksum dropped the second event.
"""

import json
import zlib

from detectors.support_message import Seen, SupportMessage
from forewarn.apps import groundtruth
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


def test_two_customers_events_under_one_id_both_count_in_the_engine_and_in_the_ground_truth(tmp_path):
    # Dedupe is the customer's: another customer's event under the same id (two shops merged
    # into one stream) is no redelivery, for the engine and for the truth it is scored against.
    events = [order("2026-11-01T10:00:00Z", order_id="o1", customer_id=cid, event_id=FIRST, shipping_address=NO_CITY)
              for cid in ("c1", "c2")]
    got = _backtest(tmp_path, events)
    assert [(t["kind"], t["customer_id"]) for t in got] == [("data_quality", "c1"), ("data_quality", "c2")]
    truth = groundtruth.compute(lines(events))
    assert [(r["kind"], r["customer_id"], r["subject"]) for r in truth] == [
        ("data_quality", "c1", "o1"), ("data_quality", "c2", "o1")]


def test_two_messages_whose_ids_share_a_crc32_are_both_triaged(tmp_path):
    got = _backtest(tmp_path, [
        event("support.message", "2026-11-02T10:00:00Z", message_id=FIRST, channel="email", body="Where is my parcel?"),
        event("support.message", "2026-11-02T11:00:00Z", message_id=SECOND, channel="chat", body="Can I pay by invoice?"),
        event("support.message", "2026-11-02T11:05:00Z", message_id=SECOND, channel="chat", body="Can I pay by invoice?"),
    ])  # the last one a webhook retry: a new event id, the same message
    assert [(t["kind"], t["evidence"]["triage"]["message_id"]) for t in got] == [
        ("support_message", FIRST), ("support_message", SECOND)]


def test_a_customer_restored_with_the_message_hashes_of_before_forgets_them_and_keeps_going():
    old = Seen(zlib.crc32(FIRST.encode()).to_bytes(4, "little") * 3, [])  # as pickled before Dec 3 2026
    assert old.ids == b""
    assert not SupportMessage._repeated(old, FIRST) and SupportMessage._repeated(old, FIRST)
