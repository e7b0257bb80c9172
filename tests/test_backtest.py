"""``forewarn backtest``: the Bytewax dataflow over a file equals the engine's own replay, every time."""

import json

import msgspec

from forewarn.apps.cli import main
from tests.factory import delivered, event, lines, order, replay, shipped, tick

STORY = [
    order("2026-11-01T10:00:00Z", order_id="o1", customer_id="a"),
    shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z", shipment_id="s1", order_id="o1", customer_id="a"),
    order("2026-11-01T11:00:00Z", order_id="o2", customer_id="b"),
    shipped("2026-11-02T11:00:00Z", eta="2026-11-03T10:00:00Z", shipment_id="s2", order_id="o2", customer_id="b"),
    delivered("2026-11-03T09:00:00Z", shipment_id="s2", order_id="o2", customer_id="b"),
    order("2026-11-02T12:00:00Z", order_id="o3", customer_id="c"),
    shipped("2026-11-03T12:00:00Z", eta="2026-11-04T12:00:00Z", shipment_id="s3", order_id="o3", customer_id="c"),
    tick("2026-11-05T00:00:00Z"),
    order("2026-11-05T01:00:00Z", order_id="o4", customer_id="d"),
    shipped("2026-11-05T02:00:00Z", eta="2026-11-06T00:00:00Z", shipment_id="s4", order_id="o4", customer_id="d"),
    event("shipment.updated", "2026-11-05T03:00:00Z", customer_id="d", order_id="o4", shipment_id="s4",
          status="in_transit", estimated_delivery_at="2026-11-08T00:00:00Z"),
    tick("2026-11-08T12:00:00Z"),
]


def _strip(line: str) -> dict:
    obj = json.loads(line)
    obj.pop("emitted_at")
    return obj


def test_backtest_file_gives_the_engine_replay_triggers_in_event_time_order(tmp_path):
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"\n".join(lines(STORY)) + b"\nnot an event\n")
    out, dl = tmp_path / "triggers.jsonl", tmp_path / "dead.jsonl"
    assert main(["backtest", "--input", str(src), "--output", str(out), "--deadletter", str(dl)]) == 0
    got = [_strip(line) for line in out.read_text().splitlines()]
    expected = [msgspec.to_builtins(t) for t in replay(STORY, lateness_s=300)]
    for t in expected:
        t.pop("emitted_at")
    assert got == expected
    assert [(t["customer_id"], t["fired_at"]) for t in got if t["kind"] == "delivery_late"] == [
        ("a", "2026-11-04T22:00:00Z"), ("c", "2026-11-05T00:00:00Z"), ("d", "2026-11-08T12:00:00Z")]
    [letter] = [json.loads(x) for x in dl.read_text().splitlines()]
    assert letter["source"].endswith("events.jsonl:13") and letter["reason"] == "bad_json"


def test_backtest_is_byte_identical_across_runs_apart_from_emitted_at(tmp_path):
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"\n".join(lines(STORY)) + b"\n")
    outs = []
    for n in range(2):
        out = tmp_path / f"t{n}.jsonl"
        assert main(["backtest", "--input", str(src), "--output", str(out)]) == 0
        outs.append([_strip(line) for line in out.read_text().splitlines()])
    assert outs[0] == outs[1] and len([t for t in outs[0] if t["kind"] == "delivery_late"]) == 3
