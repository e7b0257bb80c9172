"""Retention bounds the queues' memory and never removes an entry some group has not acknowledged;
the upkeep that ``forewarn run`` starts publishes what is in them."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from forewarn.queue.retention import trim
from forewarn.queue.stats import queue_stats
from forewarn.queue.upkeep import QueueUpkeep
from sinks.redis_queue import lane_key
from tests.conftest import REDIS, wait_for
from tests.queue_helpers import delete_prefix, make_queue

pytestmark = pytest.mark.services

LANE = "ai:p3"


def _now_ms(client: redis.Redis) -> int:
    secs, micros = client.time()
    return secs * 1000 + micros // 1000


def _fill(client: redis.Redis, prefix: str, ages_s: list[float]) -> list[str]:
    """Entries in LANE with ids as old as ``ages_s`` (oldest first): ids are the enqueue time."""
    now = _now_ms(client)
    key = lane_key(prefix, LANE)
    return [client.xadd(key, {"trigger": f'{{"trigger_id": "t{n}"}}'}, id=f"{now - int(age * 1000)}-{n}").decode()
            for n, age in enumerate(ages_s)]


def _ids(client: redis.Redis, prefix: str) -> list[str]:
    return [i.decode() for i, _f in client.xrange(lane_key(prefix, LANE))]


def _rank(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


# Per group: how many entries it took, and which of them it acknowledged (all, or a pattern).
GROUP_WORK = st.lists(st.tuples(st.integers(0, 30), st.one_of(st.just([True] * 30), st.lists(st.booleans(), max_size=30))),
                      min_size=1, max_size=3)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 30), groups=GROUP_WORK)
def test_trim_removes_exactly_what_every_group_acknowledged_and_nothing_it_still_owes(services, redis_client, n, groups):
    prefix = f"r{uuid.uuid4().hex[:10]}:"
    try:
        ids = _fill(redis_client, prefix, [600 - i for i in range(n)])
        owed: set[str] = set()  # pending or never delivered, for some group
        keep_from = []
        for g, (delivered, acks) in enumerate(groups):
            q = make_queue(REDIS, prefix, group=f"g{g}", route="ai")
            jobs = q.pull(count=delivered) if delivered else []
            q.ensure_group(LANE)
            acked = [j for j, ack in zip(jobs, acks) if ack]
            q.ack(*acked)
            pending = [j.id for j in jobs if j not in acked]
            owed |= set(pending) | set(ids[len(jobs):])
            # what this group still needs starts at its oldest pending entry, else after its last delivered one
            keep_from.append(ids.index(min(pending, key=_rank)) if pending else len(jobs))

        trimmed, _ = trim(redis_client, prefix, retain_acked_seconds=0)[LANE]

        left = _ids(redis_client, prefix)
        assert owed <= set(left), "retention removed an entry a group has not acknowledged"
        assert left == ids[min(keep_from):], "retention kept acknowledged entries it could remove"
        assert trimmed == min(keep_from)
    finally:
        delete_prefix(redis_client, prefix)


def test_a_lane_nobody_reads_is_not_trimmed(services, prefix, redis_client):
    ids = _fill(redis_client, prefix, [7200, 3600, 60])
    assert trim(redis_client, prefix, retain_acked_seconds=0)[LANE] == (0, 0)
    assert _ids(redis_client, prefix) == ids


def test_acknowledged_entries_are_kept_for_the_retention_window(services, prefix, redis_client):
    ids = _fill(redis_client, prefix, [7200, 5400, 600, 300])
    q = make_queue(REDIS, prefix, route="ai")
    q.ack(*q.pull(count=4))
    assert trim(redis_client, prefix, retain_acked_seconds=3600)[LANE] == (2, 0)
    assert _ids(redis_client, prefix) == ids[2:]


def test_consumers_holding_nothing_are_forgotten_once_idle_and_holders_are_kept(services, prefix, redis_client):
    _fill(redis_client, prefix, [60, 30])
    holder, done = make_queue(REDIS, prefix, consumer="holder", route="ai"), make_queue(REDIS, prefix, consumer="done", route="ai")
    holder.pull()
    done.ack(*done.pull())
    time.sleep(0.01)  # both have been idle a little while
    assert trim(redis_client, prefix, retain_acked_seconds=3600, forget_consumers_after_seconds=0.001)[LANE] == (0, 1)
    assert [c["name"] for c in redis_client.xinfo_consumers(lane_key(prefix, LANE), "helpdesk")] == [b"holder"]


def _sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_upkeep_publishes_depth_pending_lag_and_oldest_age_per_lane_and_group_then_trims(services, prefix, redis_client):
    _fill(redis_client, prefix, [7200, 120, 60, 30])
    q = make_queue(REDIS, prefix, route="ai")
    first, second = q.pull(count=2)
    q.ack(first)
    upkeep = QueueUpkeep(REDIS, prefix, interval=60, retain_acked_seconds=0)
    upkeep.tick()

    lane = {"queue": LANE, "group": "helpdesk"}
    assert _sample("forewarn_queue_length_entries", queue=LANE) == 3  # the acknowledged 2-hour-old one was trimmed
    assert _sample("forewarn_queue_trimmed_entries_total", queue=LANE) >= 1
    assert _sample("forewarn_queue_pending_entries", **lane) == 1
    assert _sample("forewarn_queue_consumer_lag_entries", **lane) == 2
    assert _sample("forewarn_queue_depth_entries", **lane) == 3
    assert 120 <= _sample("forewarn_queue_oldest_pending_age_seconds", **lane) < 600  # `second`, queued 2 min ago
    assert _sample("forewarn_queue_depth_entries", queue="human:p1", group="") == 0  # nobody reads it yet

    redis_client.xgroup_destroy(lane_key(prefix, LANE), "helpdesk")
    upkeep.tick()
    assert _sample("forewarn_queue_depth_entries", **lane) is None  # the group is gone, so is its series
    assert _sample("forewarn_queue_depth_entries", queue=LANE, group="") == 3


def test_upkeep_thread_runs_and_survives_redis_being_away(services, prefix, redis_client, caplog):
    _fill(redis_client, prefix, [30])
    upkeep = QueueUpkeep(REDIS, prefix, interval=0.2, retain_acked_seconds=0).start()
    wait_for(lambda: _sample("forewarn_queue_length_entries", queue=LANE) == 1, 20, what="the gauge")
    upkeep.stop()

    caplog.set_level(logging.WARNING, logger="forewarn.queue")
    away = QueueUpkeep("redis://127.0.0.1:1/0", prefix, interval=0.2, retain_acked_seconds=0).start()
    wait_for(lambda: "queue metrics are stale" in caplog.text, 20, what="the outage warning")
    away.stop()
    assert caplog.text.count("queue metrics are stale") == 1  # said once per outage, not every pass


def test_stats_count_waiting_and_pending_per_group_and_age_the_oldest_unacknowledged(services, prefix, redis_client):
    _fill(redis_client, prefix, [300, 200, 100])
    make_queue(REDIS, prefix, group="desk", route="ai").pull()
    make_queue(REDIS, prefix, group="bot", route="ai").ensure_group(LANE)
    [lane] = [s for s in queue_stats(redis_client, prefix, route="ai") if s.lane == LANE]
    by_group = {g.group: g for g in lane.groups}
    assert lane.length == 3
    assert (by_group["desk"].waiting, by_group["desk"].pending, by_group["desk"].depth) == (2, 1, 3)
    assert (by_group["bot"].waiting, by_group["bot"].pending) == (3, 0)
    assert 300 <= by_group["desk"].oldest_age_seconds < 900
    assert 300 <= by_group["bot"].oldest_age_seconds < 900
    [only] = [s for s in queue_stats(redis_client, prefix, group="bot") if s.lane == LANE]
    assert [g.group for g in only.groups] == ["bot"]
