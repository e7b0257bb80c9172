"""``forewarn backtest --workers N``: customers split over processes, the rule-based triggers the
same as one worker's, byte for byte and in the same order (``emitted_at`` apart)."""

import json

from forewarn.apps.cli import main
from forewarn.core.events import Invalid, decode
from tests.factory import delivered, event, lines, order, shipped, tick

RULE_KINDS = {"delivery_late", "shipment_stalled", "shipment_exception", "payment_failed", "payment_disputed",
              "data_quality", "vip_engagement_drop"}


def _rule_lines(path) -> list[str]:
    """The rule-based triggers' lines as written, ``emitted_at`` blanked (its value is the wall clock)."""
    out = []
    for line in path.read_text().splitlines():
        obj = json.loads(line)
        if obj["kind"] in RULE_KINDS:
            out.append(line.replace(f'"emitted_at":"{obj["emitted_at"]}"', '"emitted_at":""'))
    return out


def _backtest(src, out, workers: int, *extra: str) -> None:
    assert main(["backtest", "--input", str(src), "--output", str(out), "--workers", str(workers), *extra]) == 0


def test_a_simulated_store_with_late_duplicate_and_bad_lines_gives_the_same_rule_triggers_on_any_worker_count(tmp_path):
    src = tmp_path / "events.jsonl"
    assert main(["simulate", "--customers", "400", "--days", "20", "--seed", "3", "--end", "2026-11-20T00:00:00Z",
                 "--late-rate", "0.05", "--duplicate-rate", "0.03", "--invalid-rate", "0.01",
                 "--output", str(src), "--truth", str(tmp_path / "truth.jsonl")]) == 0
    runs = {}
    for workers in (1, 2, 3):
        out, dl = tmp_path / f"t{workers}.jsonl", tmp_path / f"dl{workers}.jsonl"
        _backtest(src, out, workers, "--deadletter", str(dl))
        runs[workers] = (_rule_lines(out), dl.read_text())
    one, letters = runs[1]
    kinds = {json.loads(line)["kind"] for line in one}
    assert {"delivery_late", "shipment_stalled", "payment_failed", "data_quality"} <= kinds
    assert len(one) > 60 and letters.count("\n") > 50
    for workers in (2, 3):
        assert runs[workers][0] == one, f"--workers {workers}"
        assert runs[workers][1] == letters, f"--workers {workers} dead letters"


def _hostile() -> list[dict]:
    """Ties at the same instant across customers, deadlines armed in the past, events older than
    the watermark, a redelivered event, an ETA moved back and forth, a dispute on a late parcel."""
    story = []
    for n in range(12):
        c = f"cust-{n}"
        story += [order("2026-11-01T10:00:00Z", order_id=f"o{n}", customer_id=c),
                  shipped("2026-11-01T10:00:00Z", eta="2026-11-02T10:00:00Z", shipment_id=f"s{n}",
                          order_id=f"o{n}", customer_id=c)]
    # Armed in the past: the ETA plus grace is already behind the event that arms it; it fires
    # right after that event, so after the dispute of the same instant read before it.
    story.append(event("payment.disputed", "2026-11-03T10:00:00Z", customer_id="cust-10", order_id="o10",
                       amount=80.0, currency="EUR"))
    story.append(shipped("2026-11-03T10:00:00Z", eta="2026-10-20T00:00:00Z", shipment_id="s-past", order_id="o3",
                         customer_id="cust-3"))
    story.append(event("shipment.updated", "2026-11-03T10:00:00Z", customer_id="cust-5", order_id="o5",
                       shipment_id="s5", status="in_transit", estimated_delivery_at="2026-11-02T11:00:00Z"))
    story.append(event("payment.failed", "2026-11-03T10:00:00Z", customer_id="cust-7", order_id="o7", amount=80.0,
                       currency="EUR", failure_code="card_declined", event_id="dup-1"))
    story.append(tick("2026-11-03T12:00:00Z"))
    # Older than the watermark: applied at once, counted late.
    story.append(delivered("2026-11-02T09:00:00Z", shipment_id="s8", order_id="o8", customer_id="cust-8"))
    story.append(event("payment.failed", "2026-11-03T10:00:00Z", customer_id="cust-7", order_id="o7", amount=80.0,
                       currency="EUR", failure_code="card_declined", event_id="dup-1"))
    story.append(event("payment.disputed", "2026-11-03T12:00:00Z", customer_id="cust-9", order_id="o9", amount=80.0,
                       currency="EUR", reason="<b>never arrived</b>\u202e"))
    for n in range(12):
        story.append(event("shipment.exception", "2026-11-04T00:00:00Z", customer_id=f"cust-{n}", order_id=f"o{n}",
                           shipment_id=f"s{n}", code="lost"))
    story.append(tick("2026-11-09T00:00:00Z"))
    return story


def test_a_hostile_file_gives_the_same_rule_triggers_on_any_worker_count(tmp_path):
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"\n".join(lines(_hostile())) + b"\n{\"type\": \"order.placed\"}\n\xff\xfe\n")
    runs = {}
    for workers in (1, 2, 4):
        out = tmp_path / f"t{workers}.jsonl"
        _backtest(src, out, workers, "--config", str(_lateness(tmp_path, 3600)))
        runs[workers] = _rule_lines(out)
    kinds = [json.loads(line)["kind"] for line in runs[1]]
    assert kinds.count("delivery_late") >= 10 and kinds.count("shipment_exception") == 12
    assert "payment_disputed" in kinds and "payment_failed" in kinds
    assert runs[2] == runs[1] and runs[4] == runs[1]


def _lateness(tmp_path, seconds: int):
    cfg = tmp_path / "late.toml"
    cfg.write_text(f"[engine]\nallowed_lateness_seconds = {seconds}\n")
    return cfg


def test_a_sweep_on_two_workers_gives_each_value_what_its_own_backtest_gives(tmp_path, capsys):
    src = tmp_path / "events.jsonl"
    assert main(["simulate", "--customers", "200", "--days", "14", "--seed", "5", "--end", "2026-11-20T00:00:00Z",
                 "--output", str(src), "--truth", str(tmp_path / "truth.jsonl")]) == 0
    out = tmp_path / "sweep.jsonl"
    assert main(["backtest", "--input", str(src), "--output", str(out), "--workers", "2",
                 "--set", "detectors.delivery_late.grace_hours=6,30", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["set"] for r in report["runs"]] == [{"detectors.delivery_late.grace_hours": 6},
                                                  {"detectors.delivery_late.grace_hours": 30}]
    for run, hours in zip(report["runs"], (6, 30)):
        single = tmp_path / f"single{hours}.jsonl"
        cfg = tmp_path / f"grace{hours}.toml"
        cfg.write_text(f"[detectors.delivery_late]\ngrace_hours = {hours}\n")
        _backtest(src, single, 1, "--config", str(cfg))
        assert _rule_lines(tmp_path / run["output"].split("/")[-1]) == _rule_lines(single)
        # every valid event was read (the store plants a few invalid support messages: dead letters)
        assert run["events"] == sum(not isinstance(decode(line), Invalid) for line in src.read_bytes().splitlines())
    late = [r["kinds"]["delivery_late"]["fired"] for r in report["runs"]]
    assert late[0] > late[1] > 0
