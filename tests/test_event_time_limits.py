"""Event times no clock could mean are refused before they reach the watermark.

One ``customer.activity`` stamped 2099 used to drag the watermark to 2099: every armed deadline
fired at once (and every later one too). Now an event more than ``engine.max_future_seconds``
ahead of its arrival is a dead letter ``future_timestamp``; one more than ``engine.max_past_days``
behind its stream is a dead letter ``stale_timestamp``.
"""

import json

from forewarn.apps.cli import main
from tests.factory import event, lines, order, shipped, tick

PARCELS = [ev for n in range(1, 6) for ev in (
    order("2026-11-01T10:00:00Z", order_id=f"o{n}", customer_id=f"c{n}"),
    shipped("2026-11-02T10:00:00Z", eta="2026-11-10T10:00:00Z", shipment_id=f"s{n}", order_id=f"o{n}",
            customer_id=f"c{n}"))]
FROM_2099 = event("customer.activity", "2099-01-01T00:00:00Z", "prankster", kind="session")


def _backtest(tmp_path, events, *args, sidecar=None):
    src, out, dl = tmp_path / "events.jsonl", tmp_path / "triggers.jsonl", tmp_path / "dead.jsonl"
    src.write_bytes(b"\n".join(lines(events)) + b"\n")
    if sidecar is not None:
        (tmp_path / "events.jsonl.offsets").write_bytes(b"".join(
            json.dumps({"line": n, "topic": "t", "partition": 0, "offset": n - 1, "timestamp": ts}).encode() + b"\n"
            for n, ts in enumerate(sidecar, 1)))
    assert main(["backtest", "--input", str(src), "--output", str(out), "--deadletter", str(dl), *args]) == 0
    return ([json.loads(x) for x in out.read_text().splitlines()],
            [json.loads(x) for x in dl.read_text().splitlines()])


def test_an_event_from_2099_fires_no_deadline_and_is_dead_lettered(tmp_path):
    triggers, letters = _backtest(tmp_path, [*PARCELS, tick("2026-11-03T00:00:00Z"), FROM_2099])
    assert [t["kind"] for t in triggers] == []  # five parcels, none due before 2026-11-10
    [letter] = letters
    assert letter["reason"] == "future_timestamp"
    assert letter["source"].endswith("events.jsonl:12")
    # no arrival recorded: judged against the file, 2099 is decades after the parcels
    assert "2099-01-01" in letter["error"] and "engine.max_past_days = 30" in letter["error"]


def test_parcels_still_fire_when_time_really_passes_after_the_2099_event(tmp_path):
    triggers, letters = _backtest(tmp_path, [*PARCELS, FROM_2099, tick("2026-11-12T00:00:00Z")])
    assert [(t["customer_id"], t["fired_at"]) for t in triggers if t["kind"] == "delivery_late"] == [
        (f"c{n}", "2026-11-10T22:00:00Z") for n in range(1, 6)]
    assert [x["reason"] for x in letters] == ["future_timestamp"]


def test_recorded_kafka_timestamps_decide_in_a_backtest_as_they_did_live(tmp_path):
    """``forewarn record`` writes each line's Kafka timestamp to ``F.offsets``: an event an hour
    ahead of the time it reached Kafka is refused, though it lies years behind the wall clock."""
    events = [*PARCELS, tick("2026-11-03T00:00:00Z"),
              event("customer.activity", "2026-11-04T00:00:00Z", "skewed", kind="session"),
              tick("2026-11-03T00:04:00Z")]
    recorded = [e["ts"] for e in events]  # written to Kafka as they happened ...
    recorded[11] = "2026-11-03T00:00:02Z"  # ... the skewed one too, a day before its own ts
    triggers, letters = _backtest(tmp_path, events, sidecar=recorded)
    assert triggers == []
    [letter] = letters
    assert (letter["reason"], letter["source"].rsplit(":", 1)[1]) == ("future_timestamp", "12")
    # Without its sidecar the same file is judged by itself: a day ahead of its stream is plausible.
    (tmp_path / "events.jsonl.offsets").unlink()
    _triggers, letters = _backtest(tmp_path, events)
    assert letters == []


def test_an_event_years_behind_its_stream_fires_no_old_deadline(tmp_path):
    ancient = [order("2016-11-01T10:00:00Z", order_id="o9", customer_id="c9"),
               shipped("2016-11-02T10:00:00Z", eta="2016-11-04T10:00:00Z", shipment_id="s9", order_id="o9",
                       customer_id="c9")]
    triggers, letters = _backtest(tmp_path, [*PARCELS, *ancient, tick("2026-11-03T00:00:00Z")])
    assert triggers == []
    assert [(x["reason"], x["source"].rsplit(":", 1)[1]) for x in letters] == [
        ("stale_timestamp", "11"), ("stale_timestamp", "12")]
    assert "engine.max_past_days = 30" in letters[0]["error"]


def test_a_late_event_within_the_window_is_still_applied(tmp_path):
    late = [order("2026-10-20T10:00:00Z", order_id="o9", customer_id="c9"),
            shipped("2026-10-21T10:00:00Z", eta="2026-10-22T10:00:00Z", shipment_id="s9", order_id="o9",
                    customer_id="c9")]
    triggers, letters = _backtest(tmp_path, [*PARCELS, *late, tick("2026-11-03T00:00:00Z")])
    assert [(t["customer_id"], t["fired_at"]) for t in triggers if t["kind"] == "delivery_late"] == [
        ("c9", "2026-10-22T22:00:00Z")]
    assert letters == []


def test_both_checks_can_be_turned_off(tmp_path):
    triggers, letters = _backtest(tmp_path, [*PARCELS, FROM_2099], "--set", "engine.max_future_seconds=0")
    assert len([t for t in triggers if t["kind"] == "delivery_late"]) == 5 and letters == []
