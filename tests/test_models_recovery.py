"""The online models survive a crash: `forewarn run` with a recovery directory and two workers
(each with its own models), killed and started again, keeps learning from where its last
committed epoch left off — neither forgetting what it learned nor learning twice what Kafka
replays after the restart."""

import re
import urllib.request

import pytest

from forewarn.apps.producer import produce
from forewarn.apps.simulator import SimSpec, generate
from tests.conftest import live_config, wait_for
from tests.faults import free_port

pytestmark = [pytest.mark.services, pytest.mark.slow]

SPEC = SimSpec(customers=300, days=10, seed=5, end="2026-10-31T00:00:00Z", duplicate_rate=0.0)


def _metric(port: int, name: str, label: str = "model") -> dict[str, float]:
    """One metric by its label's value, read from the engine's metrics endpoint."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return {}
    return {m: float(v) for m, v in re.findall(rf'^{name}\{{{label}="([a-z_]+)"\}} (\S+)$', text, re.M)}


def _learned(port: int) -> dict[str, float]:
    return _metric(port, "forewarn_model_learned_examples")


def _wait_learned(port: int, n: int, phase: str) -> dict[str, float]:
    """Wait until the anomaly model has learned exactly ``n`` orders; fail with what it has."""
    last: dict[str, float] = {}

    def reached() -> bool:
        last.update(_learned(port))
        return last.get("order_anomaly") == n

    try:
        wait_for(reached, 120, interval=0.5, what="")
    except AssertionError:
        raise AssertionError(f"{phase}: the anomaly model should have learned {n} orders; "
                             f"learned examples by model: {last or 'no metrics yet'}") from None
    return last


def test_models_keep_what_they_learned_across_a_crash(services, namespace, start_engine, tmp_path):
    events = generate(SPEC).events
    orders = [line for line in events if b'"order.placed"' in line]
    half = events.index(orders[len(orders) // 2])  # half of the orders before the restart
    first, second = events[:half], events[half:]
    n_first = sum(1 for line in first if b'"order.placed"' in line)
    port = free_port()
    recovery = tmp_path / "recovery"
    config = live_config(namespace, services, metrics={"port": port},
                         recovery={"directory": str(recovery), "snapshot_interval_seconds": 0.5})

    produce(first, services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(config, "--workers", "2", name="before")
    # The anomaly model learns every order once: a count that says exactly what it has seen.
    before = _wait_learned(port, n_first, "before the crash")
    assert before["churn_risk"] > 0 and before["delivery_at_risk"] > 0, before
    engine.kill()  # a crash: no chance to save anything on the way out
    assert list((recovery / "models").glob("*.pkl")), "no model checkpoint next to the recovery snapshots"

    produce(second, services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(config, "--workers", "2", name="after")
    # Kafka replays what came after the last committed epoch; the models resume at that epoch,
    # so each order is learned exactly once overall: not 0 times (forgotten), not twice.
    after = _wait_learned(port, len(orders), "after the restart")
    assert after["churn_risk"] >= before["churn_risk"] and after["delivery_at_risk"] >= before["delivery_at_risk"]
    # The models' quality is exported too: progressive AUC where labels arrived, and every
    # evaluation since the restart in the score histogram (churn is judged at checkpoints,
    # which this short second half may not reach).
    # The intent model is exported too, with no labels: this store has no support traffic.
    labels = _metric(port, "forewarn_model_labels")
    assert set(labels) == {"churn_risk", "delivery_at_risk", "support_message"} and labels["support_message"] == 0, labels
    assert 0.5 < _metric(port, "forewarn_model_roc_auc")["delivery_at_risk"] <= 1.0
    scored = _metric(port, "forewarn_detector_score_count", label="kind")
    assert scored.get("order_anomaly", 0) > 0 and scored.get("delivery_at_risk", 0) > 0, scored
    assert engine.alive(), engine.output()
    engine.stop()
    assert "resumed from checkpoint" in engine.output()


def test_models_survive_several_restarts_in_a_row(services, namespace, start_engine, tmp_path):
    """Four starts with new traffic before each, stopped by a crash, a SIGTERM, a crash: every
    start resumes the models of the one before it, though most customers were last snapshotted
    by an older start (a customer untouched since then still points at that start's models)."""
    events = generate(SPEC).events
    orders = [i for i, line in enumerate(events) if b'"order.placed"' in line]
    # Most traffic before the first stop, then a little before each restart: most customers
    # are last snapshotted by the first start.
    cuts = [0, *(orders[len(orders) * k // 100] for k in (97, 98, 99)), len(events)]
    port = free_port()
    config = live_config(namespace, services, metrics={"port": port},
                         recovery={"directory": str(tmp_path / "recovery"), "snapshot_interval_seconds": 0.5})
    learned_before = 0
    for start, (lo, hi) in enumerate(zip(cuts, cuts[1:]), 1):
        produce(events[lo:hi], services["kafka"], topic_prefix=f"{namespace}-")
        engine = start_engine(config, "--workers", "2", name=f"start{start}")
        total = sum(1 for line in events[:hi] if b'"order.placed"' in line)
        # Each order learned exactly once over all starts: nothing forgotten, nothing twice.
        learned = _wait_learned(port, total, f"start {start}")
        assert learned["churn_risk"] >= learned_before, (start, learned)
        learned_before = learned["churn_risk"]
        if start > 1:
            assert "resumed from checkpoint" in engine.output(), engine.output()[-2000:]
        assert "not found" not in engine.output(), engine.output()[-2000:]
        if start == 2:
            engine.stop()  # a normal stop (its exit code is tests/test_service.py's story)
        else:
            engine.kill()
