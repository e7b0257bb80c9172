"""Exactly-once triggers through crashes: ``kill -9`` the engine at fixed points while it
consumes, restart it with recovery, and Redis holds exactly the ground truth, none twice.

Recovery is Bytewax's: every ``snapshot_interval_seconds`` (an epoch) it commits each changed
customer's state together with the Kafka offsets; a restart resumes from the last committed
epoch and replays the rest, and the Redis sink drops the triggers it already wrote (same
``trigger_id``).
"""

from collections import Counter

import pytest

from detectors import REGISTRY
from forewarn.engine.config import from_dict
from forewarn.apps.groundtruth import trigger_subject
from forewarn.apps.producer import produce
from forewarn.apps.simulator import SimSpec, generate
from tests.conftest import live_config, queued_triggers, wait_progress
from tests.factory import lines, order, shipped, tick
from tests.faults import free_port, late_parcels, metrics
from tests.recovery_store import committed, committed_input

pytestmark = [pytest.mark.services, pytest.mark.slow]

ENGINE = {"allowed_lateness_seconds": 0, "idle_timeout_seconds": 2}
# The kinds whose ground truth is a rule (the model-based ones are judged by quality, not
# exactly), among those the engine has detectors for.
RULE_KINDS = {"delivery_late", "shipment_stalled", "shipment_exception", "payment_failed",
              "payment_disputed", "data_quality"} & set(REGISTRY)


def _key(t: dict) -> tuple:
    subject = t["subject"] if "subject" in t else trigger_subject(t)
    return (t["kind"], t["customer_id"], t["order_id"], subject, t["fired_at"])


def _read(port: int) -> float:
    """Events the engine on ``port`` has read (0 while it is starting)."""
    try:
        return metrics(port).get("forewarn_events_total", 0)
    except OSError:
        return 0


def _recovering(ns, services, tmp_path, interval: float = 1.0, **sections) -> str:
    return live_config(ns, services, engine=ENGINE, **sections,
                       recovery={"directory": str(tmp_path / "recovery"), "snapshot_interval_seconds": interval})


def _epochs_later(recovery, n: int, engine) -> None:
    """Wait until the engine has committed ``n`` more epochs: everything it had read by now has
    gone through every step and sink, and what a later epoch would add has had its chance."""
    target = committed(recovery) + n
    wait_progress(lambda: committed(recovery) >= target or not engine.alive(), lambda: committed(recovery),
                  what=f"epoch {target} committed\n{engine.output()[-3000:]}")
    assert engine.alive(), engine.output()


def test_kill_9_at_fixed_points_loses_nothing_and_repeats_nothing(services, namespace, start_engine,
                                                                   redis_client, tmp_path):
    spec = SimSpec(customers=2000, days=30, seed=23, end="2026-10-31T00:00:00Z", duplicate_rate=0.02)
    sim = generate(spec, from_dict({"engine": ENGINE}))
    expected = sorted(_key(r) for r in sim.truth if r["kind"] in RULE_KINDS)
    assert len(expected) > 100
    produce(sim.events, services["kafka"], topic_prefix=f"{namespace}-")

    prefix = f"{namespace}:"
    recovery = tmp_path / "recovery"
    rule_count = lambda: sum(t["kind"] in RULE_KINDS for t in queued_triggers(redis_client, prefix))  # noqa: E731
    port = free_port()
    # What an engine has done so far; a wait fails only when none of it moves for minutes.
    done = lambda: (rule_count(), _read(port), committed_input(recovery)[1])  # noqa: E731

    # Kill points sure to land where they are meant to, however loaded the machine. The first
    # start's first epoch lasts an hour: it is killed inside it, having queued a tenth of the
    # triggers and committed nothing, so the next start reads everything again.
    engine = start_engine(_recovering(namespace, services, tmp_path, interval=3600, metrics={"port": port}),
                          name="engine0")
    wait_progress(lambda: rule_count() >= 0.1 * len(expected) or not engine.alive(), done,
                  what=f"a tenth of the triggers from the first start\n{engine.output()[-3000:]}")
    assert engine.alive(), engine.output()
    engine.kill()  # SIGKILL: no clean shutdown, no last snapshot
    assert committed_input(recovery) == (0, 0)
    # Then each start once a share of the triggers is out and it has committed an epoch of its
    # own, with the uncommitted work of its current epoch behind it to replay.
    config = _recovering(namespace, services, tmp_path, metrics={"port": port})
    for n, share in enumerate((0.25, 0.5, 0.75), 1):
        before = committed(recovery)
        engine = start_engine(config, name=f"engine{n}")
        target = share * len(expected)
        wait_progress(lambda: (rule_count() >= target and committed(recovery) > before) or not engine.alive(),
                      done, what=f"{target:.0f} triggers and a commit before kill {n}\n{engine.output()[-3000:]}")
        assert engine.alive(), engine.output()
        engine.kill()

    engine = start_engine(config, name="final")
    wait_progress(lambda: rule_count() >= len(expected) or not engine.alive(), done, interval=0.5,
                  what=f"{len(expected)} triggers after the last restart\n{engine.output()[-3000:]}")
    _epochs_later(recovery, 3, engine)  # anything extra would show up now
    read_after_restart = _read(port)
    engine.stop()

    live = queued_triggers(redis_client, prefix)
    twice = [i for i, n in Counter(t["trigger_id"] for t in live).items() if n > 1]
    assert twice == [], f"trigger_ids queued twice: {twice}"
    got = sorted(_key(t) for t in live if t["kind"] in RULE_KINDS)
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    assert (missing[:5], extra[:5]) == ([], []), f"{len(missing)} missing, {len(extra)} extra"
    assert got == expected
    # The last start resumed from its snapshot instead of reading the topics from the start.
    assert read_after_restart < len(sim.events) * 0.9


def test_a_deadline_armed_before_a_crash_fires_after_it_without_any_new_event_for_that_customer(
        services, namespace, start_engine, redis_client, tmp_path):
    """The restored customer is back in its worker's timer index: only another customer's event
    moves time past its deadline, and that is enough."""
    before = [
        order("2026-11-01T08:00:00Z", order_id="o0", customer_id="c0"),
        shipped("2026-11-01T09:00:00Z", eta="2026-11-02T10:00:00Z", shipment_id="s0", order_id="o0", customer_id="c0"),
        order("2026-11-01T10:00:00Z", order_id="o1", customer_id="c1"),
        shipped("2026-11-01T11:00:00Z", eta="2026-11-04T10:00:00Z", shipment_id="s1", order_id="o1", customer_id="c1"),
        tick("2026-11-03T00:00:00Z"),  # past c0's deadline (11-02 22:00), before c1's (11-04 22:00)
    ]
    prefix = f"{namespace}:"
    produce(lines(before), services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(_recovering(namespace, services, tmp_path), name="before")
    recovery = tmp_path / "recovery"
    covered = lambda: committed_input(recovery)[1]  # noqa: E731
    # c0's trigger is out, and c1's state, with its armed deadline, committed: a commit covers
    # all five events.
    wait_progress(lambda: (late_parcels(redis_client, prefix) and covered() == len(before)) or not engine.alive(),
                  covered, what=f"c0's trigger and the five events committed\n{engine.output()}")
    assert engine.alive(), engine.output()
    engine.kill()
    assert [t["customer_id"] for t in late_parcels(redis_client, prefix)] == ["c0"]

    port = free_port()
    engine = start_engine(_recovering(namespace, services, tmp_path, metrics={"port": port}), name="after")
    produce(lines([tick("2026-11-05T00:00:00Z", customer_id="someone-else")]), services["kafka"],
            topic_prefix=f"{namespace}-")
    wait_progress(lambda: len(late_parcels(redis_client, prefix)) >= 2 or not engine.alive(), covered,
                  what=f"c1's trigger\n{engine.output()}")
    assert engine.alive(), engine.output()
    read = metrics(port).get("forewarn_events_total", 0)
    _epochs_later(recovery, 2, engine)  # a trigger too many would show up now
    engine.stop()

    triggers = late_parcels(redis_client, prefix)
    assert sorted((t["customer_id"], t["kind"], t["fired_at"]) for t in triggers) == [
        ("c0", "delivery_late", "2026-11-02T22:00:00Z"),
        ("c1", "delivery_late", "2026-11-04T22:00:00Z"),
    ]
    assert read == 1, "the restart should resume after the events it had already read, and read only the new one"
