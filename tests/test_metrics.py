"""The metrics exposition is valid Prometheus text, and the emit path records what the dashboards read."""

import subprocess

from prometheus_client import REGISTRY, generate_latest

from flows.outputs import measure, stamp
from sinks import metrics
from tests.factory import consent, order, replay, shipped, tick


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_trigger_feeds_the_trigger_reason_value_and_latency_metrics():
    [trig] = [t for t in replay([
        consent("2026-11-01T09:00:00Z", email=False),
        order("2026-11-01T10:00:00Z", total=120.0, currency="SEK"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z"),
        tick("2026-11-06T00:00:00Z"),
    ]) if t.kind == "delivery_late"]  # the parcel also stalls
    assert (trig.evidence["value_at_risk"], trig.evidence["currency"]) == (120.0, "SEK")
    before = {
        "triggers": _sample("forewarn_triggers_total", kind="delivery_late", route=trig.route, priority=trig.priority),
        "reasons": _sample("forewarn_trigger_reasons_total", kind="delivery_late", code="past_delivery_estimate"),
        "value": _sample("forewarn_value_at_risk_total", kind="delivery_late", currency="SEK"),
        "suppressed": _sample("forewarn_outreach_suppressed_total", kind="delivery_late"),
        "latency": _sample("forewarn_event_to_queue_latency_seconds_count", kind="delivery_late"),
    }
    item = (trig, 1_700_000_000_000_000, 1_700_000_000.0)
    [out] = stamp([item])
    measure([item])
    assert out.emitted_at
    assert _sample("forewarn_triggers_total", kind="delivery_late", route=trig.route, priority=trig.priority) == before["triggers"] + 1
    assert _sample("forewarn_trigger_reasons_total", kind="delivery_late", code="past_delivery_estimate") == before["reasons"] + 1
    assert _sample("forewarn_value_at_risk_total", kind="delivery_late", currency="SEK") == before["value"] + 120.0
    assert not trig.outreach["allowed"]  # email opt-out on record: outreach suppressed
    assert _sample("forewarn_outreach_suppressed_total", kind="delivery_late") == before["suppressed"] + 1
    assert _sample("forewarn_event_to_queue_latency_seconds_count", kind="delivery_late") == before["latency"] + 1


def test_scored_evaluations_feed_the_score_histogram_and_threshold_gauge():
    n = _sample("forewarn_detector_score_count", kind="churn_risk")
    metrics.observe_scores([("churn_risk", 0.2, 0.7), ("churn_risk", 0.9, 0.75)])
    assert _sample("forewarn_detector_score_count", kind="churn_risk") == n + 2
    assert _sample("forewarn_detector_score_threshold", kind="churn_risk") == 0.75


def test_promtool_accepts_the_exposition():
    metrics.set_queue_slas({"p1": 900.0})
    done = subprocess.run(["promtool", "check", "metrics"], input=generate_latest(), capture_output=True)
    assert done.returncode == 0 and not done.stdout and not done.stderr, done.stdout + done.stderr
