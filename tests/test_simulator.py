"""The simulated store and its ground truth: deterministic, valid, and true to the rules.

The oracle is checked on small hand-built timelines (one situation each), and the
simulator is checked against what it says it planted.
"""

from __future__ import annotations

import collections
import json

import msgspec
import pytest

from forewarn.core import events as ev
from forewarn.apps import groundtruth
from forewarn.engine.config import Config, from_dict
from forewarn.apps.simulator import SimSpec, generate, iter_events, write_jsonl
from forewarn.core.timefmt import parse_rfc3339

WINDOW = {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}


@pytest.fixture(scope="module")
def store():
    """The 2,000-customer, 30-day store the brief describes."""
    return generate(SimSpec(customers=2000, days=30, seed=7, **WINDOW), Config())


@pytest.fixture(scope="module")
def timeline(store):
    return groundtruth.timeline(store.events)


@pytest.fixture(scope="module")
def noisy():
    """A small store with every kind of noise turned up."""
    spec = SimSpec(customers=150, seed=3, duplicate_rate=0.05, late_rate=0.05, invalid_rate=0.05, **WINDOW)
    return spec, generate(spec, Config())


# --------------------------------------------------------------------------- the simulator


def test_same_seed_same_bytes(noisy):
    spec, sim = noisy
    again = generate(spec, Config())
    assert again.events == sim.events
    assert again.truth == sim.truth
    assert list(iter_events(spec, Config())) == sim.events


def test_other_seed_other_store(noisy):
    spec, sim = noisy
    other = generate(SimSpec(customers=150, seed=4, duplicate_rate=0.05, late_rate=0.05,
                             invalid_rate=0.05, **WINDOW), Config())
    assert other.events != sim.events


def test_no_wall_clock_with_explicit_window(monkeypatch):
    import forewarn.apps.simulator.spec as simulator

    spec = SimSpec(customers=30, days=3, start="2026-03-01T00:00:00Z")
    first = generate(spec).events
    monkeypatch.setattr(simulator, "now_us", lambda: pytest.fail("read the clock"))
    assert generate(spec).events == first
    assert generate(SimSpec(customers=30, start="2026-03-01T00:00:00Z", end="2026-03-04T00:00:00Z")).events == first


def test_every_valid_line_decodes_and_lies_in_the_window(store):
    start, end = parse_rfc3339(store.start), parse_rfc3339(store.end)
    types = collections.Counter()
    for line in store.events:
        e = ev.decode(line)
        assert not isinstance(e, ev.Invalid), (line, e)
        assert start <= e.ts_us <= end
        types[type(e).__struct_config__.tag] += 1
    # every event type occurs (support messages only once the simulator plants them: simsupport)
    assert set(types) >= set(ev.EVENT_TYPES) - {"support.message", "support.labelled"}
    assert b"\n" not in b"".join(store.events)


def test_sorted_by_event_time_without_noise():
    sim = generate(SimSpec(customers=100, duplicate_rate=0.0, **WINDOW))
    ts = [ev.decode(line).ts_us for line in sim.events]
    assert ts == sorted(ts)
    assert len({ev.decode(line).event_id for line in sim.events}) == len(sim.events)


def test_noise_duplicates_lateness_and_invalid_lines(noisy):
    spec, sim = noisy
    clean = generate(SimSpec(customers=150, seed=3, duplicate_rate=0.05, late_rate=0.05, **WINDOW))
    clean_lines = set(clean.events)
    decoded = [ev.decode(line) for line in sim.events]
    invalid = [(line, e) for line, e in zip(sim.events, decoded) if isinstance(e, ev.Invalid)]
    extra = [line for line in sim.events if line not in clean_lines]
    # Invalid lines are exactly the lines the noise added, and there are as many as asked for.
    assert [line for line, _ in invalid] == extra
    assert len(invalid) == sim.stats["invalid"] == round(0.05 * sim.stats["valid"])
    assert len({e.reason for _, e in invalid}) >= 4  # several kinds of malformed
    assert all(line.strip() and b"\n" not in line and b"\r" not in line for line in sim.events)
    # The valid lines are the same store, whatever the invalid rate.
    assert [line for line in sim.events if line in clean_lines] == clean.events
    # Redeliveries: same event_id, same bytes, never before the original, at most 2 min behind.
    valid = [e for e in decoded if not isinstance(e, ev.Invalid)]
    counts = collections.Counter(e.event_id for e in valid)
    assert sum(n - 1 for n in counts.values()) == sim.stats["duplicates"] > 0
    # Out of order by at most 2 minutes of event time (well within allowed lateness).
    high = max_behind = 0
    for e in valid:
        high = max(high, e.ts_us)
        max_behind = max(max_behind, high - e.ts_us)
    assert 0 < max_behind <= 4 * 60 * 1_000_000
    assert sim.stats["late"] > 0


def test_volume_and_mix(store):
    # ~40 events per customer per 30 days: 5,000 customers land in 100k-300k.
    assert 60_000 <= len(store.events) <= 120_000
    orders = [ev.decode(line) for line in store.events if b'"order.placed"' in line]
    orders = list({o.order_id: o for o in orders}.values())
    eur = sum(o.currency == "EUR" for o in orders) / len(orders)
    assert eur > 0.75
    assert all(1 <= len(o.items) <= 5 for o in orders if o.order_id not in store.planted["order_anomaly"])
    failed = {json.loads(line)["order_id"] for line in store.events if b'"payment.failed"' in line}
    assert 0.04 < len(failed) / len(orders) < 0.08
    profiles = [ev.decode(line) for line in store.events if b'"customer.updated"' in line]
    tiers = collections.Counter(p.tier for p in profiles if p.tier)
    assert 0.015 < tiers["vip"] / sum(tiers.values()) < 0.05


def test_every_kind_in_truth(store):
    kinds = collections.Counter(r["kind"] for r in store.truth)
    assert set(kinds) == set(groundtruth.KINDS), kinds
    for row in store.truth:
        assert set(row) == {"kind", "customer_id", "order_id", "subject", "fired_at", "planted", "detail"}
        assert row["fired_at"].endswith("Z")


def test_truth_rows_are_what_was_planted(store):
    # Every row of the simulated store was planted on purpose (none arise by accident).
    accidental = [r for r in store.truth if not r["planted"]]
    assert accidental == []


def test_delivery_late_is_exactly_the_planted_late_parcels(store, timeline):
    end = timeline[-1][0]
    expected = {sid for sid, deadline in store.planted["delivery_late"].items() if deadline <= end}
    late_rows = [r for r in store.truth if r["kind"] == "delivery_late"]
    assert {r["subject"] for r in late_rows} == expected
    assert len(late_rows) == len(expected) > 50
    for r in late_rows:
        assert parse_rfc3339(r["fired_at"]) == store.planted["delivery_late"][r["subject"]]
    # delivery_at_risk: the same parcels, warned at the ETA, 12 h (the grace) earlier.
    risk = {r["subject"]: r for r in store.truth if r["kind"] == "delivery_at_risk"}
    assert set(risk) == expected
    for r in late_rows:
        gap = parse_rfc3339(r["fired_at"]) - parse_rfc3339(risk[r["subject"]]["fired_at"])
        assert gap == 12 * 3600 * 1_000_000


def test_deliveries_are_clear_cut(timeline):
    """No delivery within (deadline - 1 h, deadline + 6 h); no quiet spell near the stall time."""
    hour = 3600 * 1_000_000
    per_ship = collections.defaultdict(list)
    for ts, e in timeline:
        if hasattr(e, "shipment_id"):
            per_ship[e.shipment_id].append((ts, e))
    for seq in per_ship.values():
        eta = None
        for i, (ts, e) in enumerate(seq):
            if getattr(e, "estimated_delivery_at", None) is not None:
                eta = ev.to_us(e.estimated_delivery_at)
            if isinstance(e, ev.ShipmentDelivered):
                assert not eta + 11 * hour < ts < eta + 18 * hour
            if i and not isinstance(seq[i - 1][1], ev.ShipmentException):
                assert not 46 * hour < ts - seq[i - 1][0] < 54 * hour


def test_payment_recoveries_spread_and_clear_of_the_window(timeline):
    minute = 60 * 1_000_000
    first_fail, delays = {}, []
    for ts, e in timeline:
        if isinstance(e, ev.PaymentFailed):
            first_fail.setdefault(e.order_id, ts)
            if ts != first_fail[e.order_id]:
                assert abs(ts - first_fail[e.order_id] - 60 * minute) >= 2 * minute
        elif isinstance(e, ev.PaymentSucceeded) and e.order_id in first_fail:
            delay = ts - first_fail[e.order_id]
            assert abs(delay - 60 * minute) >= 2 * minute
            delays.append(delay / minute)
    assert min(delays) < 10 and max(delays) > 250  # the sweep from 5 to 300 minutes
    assert 0.3 < sum(d <= 60 for d in delays) / len(delays) < 0.7  # the default window catches some


def test_truth_follows_the_config():
    """Ground truth uses the configured thresholds where the config has them."""
    base = SimSpec(customers=300, **WINDOW)
    strict = from_dict({"detectors": {"delivery_late": {"grace_hours": 2}}})
    rows = generate(base, strict).truth
    late = [r for r in rows if r["kind"] == "delivery_late"]
    assert late and all("grace 2 h" in r["detail"] for r in late)


def test_write_jsonl(tmp_path):
    sim = generate(SimSpec(customers=20, days=5, invalid_rate=0.02, **{"start": WINDOW["start"]}))
    events, truth = tmp_path / "events.jsonl", tmp_path / "truth.jsonl"
    write_jsonl(sim, events, truth)
    assert events.read_bytes().split(b"\n")[:-1] == sim.events
    assert groundtruth.load_jsonl(truth) == sim.truth
    only_truth = tmp_path / "only.jsonl"
    write_jsonl(sim, None, only_truth)  # events go elsewhere (Kafka)
    assert only_truth.read_bytes() == truth.read_bytes()


def test_streamed_truth_is_the_oracle_over_the_file(noisy):
    """The truth computed batch by batch, before the noise, is what the oracle finds over the
    finished file (redeliveries, late arrivals and malformed lines included)."""
    spec, sim = noisy
    assert sim.truth == groundtruth.compute(sim.events, Config(), sim.planted)


def test_batches_spilled_to_disk_give_the_same_bytes(monkeypatch, noisy, tmp_path):
    """A store too big for one batch is sorted in runs on disk and merged: the same file and
    the same truth as one batch in memory, and the write reports what it wrote."""
    from forewarn.apps import simulator
    from forewarn.apps.simulator import pipeline

    spec, sim = noisy
    monkeypatch.setattr(pipeline, "BATCH", 40)  # 150 customers: 4 runs
    events, truth = tmp_path / "e.jsonl", tmp_path / "t.jsonl"
    stats = simulator.write(spec, Config(), events, truth, show_progress=False)
    assert events.read_bytes() == b"".join(line + b"\n" for line in sim.events)
    assert groundtruth.load_jsonl(truth) == sim.truth
    assert stats["lines"] == len(sim.events)
    assert stats == {**sim.stats, "lines": len(sim.events)}
    assert list(iter_events(spec, Config())) == sim.events


def test_write_to_a_sink_streams_the_lines(noisy):
    """With a sink (the Kafka producer), the lines are handed over one by one, not as a list."""
    from forewarn.apps import simulator

    spec, sim = noisy
    seen = []
    stats = simulator.write(spec, Config(), None, None, sink=lambda lines: seen.extend(lines), show_progress=False)
    assert seen == sim.events and stats["lines"] == len(sim.events)


def test_progress_is_silent_when_piped(capsys):
    """On a pipe (not a terminal) the progress bar prints nothing: stderr stays for the summary."""
    from forewarn.apps import progress

    with progress.bar(10, "simulate", "customer") as bar:
        bar.update(10)
    assert capsys.readouterr().err == ""


def test_progress_on_a_terminal_shows_count_rate_and_eta():
    import io

    from forewarn.apps import progress

    out = io.StringIO()
    with progress.bar(4, "simulate", "customer", enabled=True, stream=out) as bar:
        bar.update(4)
    text = out.getvalue()
    assert "simulate" in text and "4/4" in text and "customer/s" in text and "<00:00" in text


# --------------------------------------------------------------------------- the oracle, by hand


def _lines(*events: dict) -> list[bytes]:
    out = []
    for i, e in enumerate(events):
        e = {"event_id": e.pop("event_id", f"e{i}"), "customer_id": e.pop("customer_id", "c1"), **e}
        out.append(msgspec.json.encode(e))
    return out


def _ship(type_: str, ts: str, sid: str = "s1", oid: str = "o1", **kw) -> dict:
    return {"type": type_, "ts": ts, "order_id": oid, "shipment_id": sid, **kw}


def _pay(type_: str, ts: str, oid: str = "o1", **kw) -> dict:
    return {"type": type_, "ts": ts, "order_id": oid, "amount": 10.0, "currency": "EUR", **kw}


def _tick(ts: str) -> dict:
    return {"type": "customer.activity", "ts": ts, "kind": "session", "customer_id": "other"}


def _rows(lines, kind=None, config=None):
    rows = groundtruth.compute(lines, config)
    return [(r["kind"], r["subject"], r["fired_at"]) for r in rows if kind is None or r["kind"] == kind]


def test_oracle_delivery_late_new_eta_rearms():
    lines = _lines(
        _ship("shipment.created", "2026-01-01T10:00:00Z", estimated_delivery_at="2026-01-03T18:00:00Z"),
        # a new ETA before the first deadline (01-04 06:00) re-arms with a new one (01-05 06:00)
        _ship("shipment.updated", "2026-01-03T09:00:00Z", status="in_transit",
              estimated_delivery_at="2026-01-04T18:00:00Z"),
        _tick("2026-01-06T00:00:00Z"),
    )
    assert _rows(lines, "delivery_late") == [("delivery_late", "s1", "2026-01-05T06:00:00Z")]
    assert _rows(lines, "delivery_at_risk") == [("delivery_at_risk", "s1", "2026-01-04T18:00:00Z")]


def test_oracle_delivery_late_edges():
    created = _ship("shipment.created", "2026-01-01T10:00:00Z", estimated_delivery_at="2026-01-03T18:00:00Z")
    # delivered exactly at the deadline: in time
    assert _rows(_lines(created, _ship("shipment.delivered", "2026-01-04T06:00:00Z"),
                        _tick("2026-01-09T00:00:00Z")), "delivery_late") == []
    # one second later: late, fired at the deadline
    assert _rows(_lines(dict(created), _ship("shipment.delivered", "2026-01-04T06:00:01Z")),
                 "delivery_late") == [("delivery_late", "s1", "2026-01-04T06:00:00Z")]
    # cancelled before the deadline: disarmed
    assert _rows(_lines(dict(created), {"type": "order.cancelled", "ts": "2026-01-02T00:00:00Z", "order_id": "o1"},
                        _tick("2026-01-09T00:00:00Z")), "delivery_late") == []
    # deadline after the end of the input: not yet
    assert _rows(_lines(dict(created), _tick("2026-01-04T05:59:59Z")), "delivery_late") == []
    # deadline exactly at the end of the input: fires
    assert _rows(_lines(dict(created), _tick("2026-01-04T06:00:00Z")), "delivery_late") == [
        ("delivery_late", "s1", "2026-01-04T06:00:00Z")]
    # an exception does not disarm it; the new ETA after the deadline opens a second episode
    lines = _lines(dict(created), _ship("shipment.exception", "2026-01-03T12:00:00Z", code="customs_hold"),
                   _ship("shipment.updated", "2026-01-05T00:00:00Z", status="in_transit",
                         estimated_delivery_at="2026-01-06T18:00:00Z"),
                   _tick("2026-01-08T00:00:00Z"))
    assert _rows(lines, "delivery_late") == [("delivery_late", "s1", "2026-01-04T06:00:00Z"),
                                             ("delivery_late", "s1", "2026-01-07T06:00:00Z")]
    assert _rows(lines, "shipment_exception") == [("shipment_exception", "s1", "2026-01-03T12:00:00Z")]


def test_oracle_grace_from_config():
    cfg = from_dict({"detectors": {"delivery_late": {"grace_hours": 1}}})
    lines = _lines(_ship("shipment.created", "2026-01-01T10:00:00Z", estimated_delivery_at="2026-01-03T18:00:00Z"),
                   _tick("2026-01-09T00:00:00Z"))
    assert _rows(lines, "delivery_late", cfg) == [("delivery_late", "s1", "2026-01-03T19:00:00Z")]


def test_oracle_stalled():
    lines = _lines(
        _ship("shipment.created", "2026-01-01T00:00:00Z", estimated_delivery_at="2026-01-09T18:00:00Z"),
        _ship("shipment.updated", "2026-01-02T00:00:00Z", status="in_transit"),
        # 72 h of silence: stalled at 01-04 00:00; then moves, and stalls again
        _ship("shipment.updated", "2026-01-05T00:00:00Z", status="in_transit"),
        _ship("shipment.exception", "2026-01-06T00:00:00Z", code="address_issue"),  # not stalled while exception
        _ship("shipment.updated", "2026-01-09T00:00:00Z", status="out_for_delivery"),
        _ship("shipment.delivered", "2026-01-10T00:00:00Z"),  # in time: deadline 01-10 06:00
        _tick("2026-01-20T00:00:00Z"),
    )
    assert _rows(lines, "shipment_stalled") == [("shipment_stalled", "s1", "2026-01-04T00:00:00Z")]
    assert _rows(lines, "delivery_late") == []


def test_oracle_payment_recovered_in_window_and_after():
    lines = _lines(
        _pay("payment.failed", "2026-01-01T10:00:00Z", "o1", failure_code="card_declined", attempt=1),
        _pay("payment.succeeded", "2026-01-01T10:30:00Z", "o1"),  # recovered in the hour
        _pay("payment.failed", "2026-01-01T11:00:00Z", "o2", failure_code="insufficient_funds", attempt=1),
        _pay("payment.failed", "2026-01-01T11:20:00Z", "o2", failure_code="insufficient_funds", attempt=2),
        _pay("payment.succeeded", "2026-01-01T12:30:00Z", "o2"),  # too late: fired at 12:00
        _pay("payment.failed", "2026-01-01T13:00:00Z", "o3", failure_code="expired_card"),
        {"type": "order.cancelled", "ts": "2026-01-01T13:10:00Z", "order_id": "o3"},  # cancelled: disarmed
        _pay("payment.failed", "2026-01-01T23:30:00Z", "o4", failure_code="card_declined"),  # window open at the end
        _tick("2026-01-02T00:00:00Z"),
    )
    assert _rows(lines, "payment_failed") == [("payment_failed", "o2", "2026-01-01T12:00:00Z")]


def test_oracle_payment_attempt_three_and_fraud_fire_at_once():
    lines = _lines(
        _pay("payment.failed", "2026-01-01T10:00:00Z", "o1", failure_code="card_declined", attempt=1),
        _pay("payment.failed", "2026-01-01T10:05:00Z", "o1", failure_code="card_declined", attempt=2),
        _pay("payment.failed", "2026-01-01T10:10:00Z", "o1", failure_code="card_declined", attempt=3),
        _pay("payment.failed", "2026-01-01T10:15:00Z", "o1", failure_code="card_declined", attempt=4),
        _pay("payment.failed", "2026-01-01T11:00:00Z", "o2", failure_code="fraud_suspected", attempt=1),
        _pay("payment.succeeded", "2026-01-01T12:00:00Z", "o1"),
        # a success closes the episode; a later failure opens a new one
        _pay("payment.failed", "2026-01-02T09:00:00Z", "o1", failure_code="processing_error", attempt=1),
        _tick("2026-01-03T00:00:00Z"),
    )
    assert _rows(lines, "payment_failed") == [
        ("payment_failed", "o1", "2026-01-01T10:10:00Z"),  # once per episode, at attempt 3
        ("payment_failed", "o2", "2026-01-01T11:00:00Z"),
        ("payment_failed", "o1", "2026-01-02T10:00:00Z"),
    ]


def test_oracle_disputes_and_data_quality():
    addr = {"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    order = {"type": "order.placed", "total": 10.0, "currency": "EUR",
             "items": [{"sku": "A", "qty": 1, "unit_price": 10.0}]}
    lines = _lines(
        {"type": "customer.updated", "ts": "2026-01-01T00:00:00Z", "email_verified": False},
        {**order, "ts": "2026-01-01T01:00:00Z", "order_id": "o1", "shipping_address": addr},  # profile says no
        {**order, "ts": "2026-01-01T02:00:00Z", "order_id": "o2", "shipping_address": addr,
         "email_verified": True},  # the order says yes
        {"type": "customer.updated", "ts": "2026-01-01T03:00:00Z", "customer_id": "c2", "email_verified": True},
        {**order, "ts": "2026-01-01T04:00:00Z", "order_id": "o3", "customer_id": "c2",
         "shipping_address": {"country": "DE", "city": "Berlin"}},  # no postal code
        {**order, "ts": "2026-01-01T05:00:00Z", "order_id": "o4", "customer_id": "c2", "shipping_address": addr},
        _pay("payment.disputed", "2026-01-01T06:00:00Z", "o4", customer_id="c2", reason="fraudulent"),
    )
    assert _rows(lines) == [
        ("data_quality", "o1", "2026-01-01T01:00:00Z"),
        ("data_quality", "o3", "2026-01-01T04:00:00Z"),
        ("payment_disputed", "o4", "2026-01-01T06:00:00Z"),
    ]


def test_oracle_drops_invalid_lines_and_redeliveries():
    created = _ship("shipment.created", "2026-01-01T10:00:00Z", estimated_delivery_at="2026-01-03T18:00:00Z")
    lines = _lines(created, _tick("2026-01-05T00:00:00Z"))
    noisy = [b"{not json", lines[0], lines[1], lines[0],
             b'{"event_id":"x","type":"customer.activity","ts":"2099-12-31T00:00:00",'
             b'"customer_id":"c","kind":"session"}']  # no UTC offset: invalid
    assert _rows(noisy) == _rows(lines)


def test_oracle_planted_models():
    addr = {"country": "DE", "city": "Berlin", "postal_code": "10115"}
    order = {"type": "order.placed", "total": 10.0, "currency": "EUR",
             "items": [{"sku": "A", "qty": 1, "unit_price": 10.0}], "shipping_address": addr}
    lines = _lines({**order, "ts": "2026-01-01T00:00:00Z", "order_id": "o1"},
                   {**order, "ts": "2026-01-02T00:00:00Z", "order_id": "o2"},
                   _tick("2026-01-20T00:00:00Z"))
    planted = {"order_anomaly": {"o2": "amount_spike"}, "churn_risk": {"c1": "stops"},
               "vip_engagement_drop": {"c1": [parse_rfc3339("2026-01-05T00:00:00Z"), "drop"],
                                       "c9": [0, "never seen"]}}
    rows = [(r["kind"], r["subject"], r["fired_at"], r["planted"]) for r in groundtruth.compute(lines, None, planted)]
    assert rows == [
        ("churn_risk", "c1", "2026-01-02T00:00:00Z", True),
        ("order_anomaly", "o2", "2026-01-02T00:00:00Z", True),
        ("vip_engagement_drop", "c1", "2026-01-05T00:00:00Z", True),
    ]


# --------------------------------------------------------------------------- scoring


def test_score_matches_kind_customer_subject_once():
    truth = [
        {"kind": "delivery_late", "customer_id": "c1", "order_id": "o1", "subject": "s1"},
        {"kind": "shipment_stalled", "customer_id": "c1", "order_id": "o1", "subject": "s1"},
        {"kind": "shipment_stalled", "customer_id": "c1", "order_id": "o1", "subject": "s1"},
        {"kind": "payment_failed", "customer_id": "c2", "order_id": "o2", "subject": "o2"},
        {"kind": "churn_risk", "customer_id": "c3", "order_id": None, "subject": "c3"},
    ]
    triggers = [
        {"kind": "delivery_late", "customer_id": "c1", "order_id": "o1", "evidence": {"shipment_id": "s1"}},
        {"kind": "delivery_late", "customer_id": "c1", "order_id": "o1", "evidence": {"shipment_id": "s1"}},  # twice
        {"kind": "shipment_stalled", "customer_id": "c1", "order_id": "o1", "evidence": {"shipment_id": "s1"}},
        {"kind": "payment_failed", "customer_id": "c9", "order_id": "o2", "evidence": {}},  # wrong customer
        {"kind": "churn_risk", "customer_id": "c3", "order_id": None, "evidence": {}},
    ]
    s = groundtruth.score(triggers, truth)
    assert s["delivery_late"] == {"tp": 1, "fp": 1, "fn": 0, "precision": 0.5, "recall": 1.0}
    assert s["shipment_stalled"] == {"tp": 1, "fp": 0, "fn": 1, "precision": 1.0, "recall": 0.5}
    assert s["payment_failed"] == {"tp": 0, "fp": 1, "fn": 1, "precision": 0.0, "recall": 0.0}
    assert s["churn_risk"]["tp"] == 1
    only = groundtruth.score(triggers, truth, kinds=["churn_risk", "order_anomaly"])
    assert set(only) == {"churn_risk", "order_anomaly"}
    assert only["order_anomaly"] == {"tp": 0, "fp": 0, "fn": 0, "precision": 0.0, "recall": 0.0}


def test_score_of_the_truth_against_itself(store):
    as_triggers = [{"kind": r["kind"], "customer_id": r["customer_id"], "order_id": r["order_id"],
                    "evidence": {"shipment_id": r["subject"]}} for r in store.truth]
    for kind, s in groundtruth.score(as_triggers, store.truth).items():
        assert (s["precision"], s["recall"], s["fp"], s["fn"]) == (1.0, 1.0, 0, 0), kind


def test_simulate_on_a_terminal_shows_a_bar_and_piped_only_the_summary(tmp_path):
    """A user at a terminal sees progress with rate and ETA; a script piping stderr gets one line."""
    import os
    import pty
    import subprocess
    import sys

    args = [sys.executable, "-m", "forewarn", "simulate", "--customers", "60", "--days", "3",
            "--end", "2026-11-26T00:00:00Z", "--output", str(tmp_path / "e.jsonl"), "--truth", str(tmp_path / "t.jsonl")]
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    piped = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    assert piped.stderr.count("\n") == 1 and piped.stderr.startswith("simulate: ")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower, env=env)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the pty closes when the process ends
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait() == 0
    text = seen.decode("utf-8", "replace")
    assert "simulate: 100%" in text and "60/60" in text and "customer/s" in text  # the bar, done
    assert "write:" in text and "event/s" in text and text.rstrip().splitlines()[-1].startswith("simulate: ")
