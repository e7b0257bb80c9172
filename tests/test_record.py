"""`forewarn record` takes a time range of real Kafka topics to a file a backtest runs on directly."""

import json

import pytest

from forewarn.apps.cli import main
from forewarn.core.timefmt import parse_rfc3339
from tests.conftest import live_config
from tests.factory import lines, order, shipped, tick

pytestmark = [pytest.mark.services]

T0 = parse_rfc3339("2026-10-02T14:00:00Z") // 1000  # Kafka timestamps, ms


def _produce(bootstrap: str, messages: list[tuple[str, bytes, str, int]]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    for topic, value, key, ts_ms in messages:
        producer.produce(topic, value, key.encode(), timestamp=ts_ms)
    assert producer.flush(30) == 0


def test_a_recorded_range_replays_like_the_events_it_holds(services, namespace, tmp_path, capsys):
    t = {name: f"{namespace}-{name}" for name in ("orders", "shipments", "customers")}
    before = [order("2026-10-01T09:00:00Z", order_id="o0", customer_id="z")]
    inside = [order("2026-10-01T10:00:00Z", order_id="o1", customer_id="a"),
              shipped("2026-10-01T11:00:00Z", eta="2026-10-02T00:00:00Z", shipment_id="s1", order_id="o1",
                      customer_id="a"),
              order("2026-10-01T10:30:00Z", order_id="o2", customer_id="b"),
              shipped("2026-10-01T11:30:00Z", eta="2026-10-01T12:00:00Z", shipment_id="s2", order_id="o2",
                      customer_id="b"),
              tick("2026-10-02T13:00:00Z")]
    after = [tick("2026-10-03T00:00:00Z", customer_id="later")]
    topic_of = {"order.placed": t["orders"], "shipment.created": t["shipments"], "customer.activity": t["customers"]}
    raw_before, raw_inside, raw_after = lines(before), lines(inside), lines(after)
    broken = b'{"type": "order.placed",\n "broken": '  # kept, on one line: the dead letters want it
    # Kafka time: written after the events happened (a recorded arrival ahead of an event time
    # would be refused as future_timestamp), in the range [T0, T0 + 10 min] in an order unlike event time
    # (shipments before their orders, one per customer key, so partitions differ).
    messages = [(topic_of[e["type"]], raw, e["customer_id"], T0 - 60_000) for e, raw in zip(before, raw_before)]
    messages += [(topic_of[e["type"]], raw, e["customer_id"], T0 + 60_000 * (5 - i))
                 for i, (e, raw) in enumerate(zip(inside, raw_inside))]
    messages.append((t["orders"], broken, "a", T0 + 300_000))
    messages += [(topic_of[e["type"]], raw, e["customer_id"], T0 + 3_600_000) for e, raw in zip(after, raw_after)]
    _produce(services["kafka"], messages)

    cfg = tmp_path / "c.toml"
    cfg.write_text(live_config(namespace, services))
    rec = tmp_path / "rec" / "traffic.jsonl"
    assert main(["record", "--config", str(cfg), "--from", "2026-10-02T14:00:00Z", "--to", "2026-10-02T14:10:00Z",
                 "--output", str(rec), "--topics", ",".join(t.values())]) == 0
    err = capsys.readouterr().err
    assert "record: 6 events from" in err and "1 multi-line values put on one line" in err

    got = rec.read_bytes().splitlines()
    # Event-time order; the broken message (no readable ts) sorts by its Kafka time.
    by_ts = sorted(zip(inside, raw_inside), key=lambda p: p[0]["ts"])
    assert got[:5] == [raw for _, raw in by_ts]  # written to Kafka after all of them:
    assert got[5] == broken.replace(b"\n", b" ")  # it sorts last

    side = [json.loads(x) for x in open(f"{rec}.offsets")]
    assert [s["line"] for s in side] == [1, 2, 3, 4, 5, 6]
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": services["kafka"], "group.id": namespace})
    for s, line in zip(side, got):  # each sidecar row leads back to its message
        consumer.assign([TopicPartition(s["topic"], s["partition"], s["offset"])])
        msg = consumer.poll(10)
        assert msg is not None and msg.error() is None
        assert msg.value().replace(b"\n", b" ") == line
        assert s["timestamp"] >= "2026-10-02T14:00:00Z"
    consumer.close()

    # Without --to: up to the end of the log.
    rest = tmp_path / "rest.jsonl"
    assert main(["record", "--config", str(cfg), "--from", "2026-10-02T14:00:00Z", "--output", str(rest),
                 "--topics", ",".join(t.values())]) == 0
    assert rest.read_bytes().splitlines() == got + raw_after

    # The recording is a backtest input as it is: same triggers as the events it holds.
    direct = tmp_path / "inside.jsonl"
    direct.write_bytes(b"\n".join(raw for _, raw in by_ts) + b"\n")
    out_rec, out_direct, dead = tmp_path / "t_rec.jsonl", tmp_path / "t_direct.jsonl", tmp_path / "dead.jsonl"
    assert main(["backtest", "--input", str(rec), "--output", str(out_rec), "--deadletter", str(dead)]) == 0
    assert main(["backtest", "--input", str(direct), "--output", str(out_direct)]) == 0

    def strip(path):
        return [{k: v for k, v in json.loads(x).items() if k != "emitted_at"} for x in open(path)]

    assert strip(out_rec) == strip(out_direct) and {x["evidence"]["shipment_id"] for x in strip(out_rec)} == {"s1", "s2"}
    [letter] = [json.loads(x) for x in open(dead)]
    assert letter["source"].endswith("traffic.jsonl:6") and side[5]["offset"] >= 0
