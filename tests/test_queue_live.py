"""The helpdesk side on a real Redis: competing consumers, crashes, priority, retries, dead letters."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading

import pytest
import redis

from forewarn.queue import TriggerQueue
from sinks.redis_queue import failed_key, lane_key, lane_names
from tests.conftest import REPO, wait_for
from tests.queue_helpers import enqueue, make_queue, trigger

pytestmark = pytest.mark.services


def _consumer(url: str, prefix: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.queue_consumer", args[0], url, prefix, *args[1:]],
                            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_two_competing_consumers_never_get_the_same_entry(services, prefix, redis_client):
    lanes = [(r, p) for p in ("p1", "p2", "p3", "p4") for r in ("human", "ai")]
    triggers = [trigger(i, *random.Random(i).choice(lanes)) for i in range(2000)]
    assert all(enqueue(services["redis"], prefix, triggers))
    procs = [_consumer(services["redis"], prefix, "drain", name) for name in ("left", "right")]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    taken = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        taken.append([line.split() for line in out.splitlines()])

    left, right = ({t for _h, t, _d in rows} for rows in taken)
    assert left & right == set(), "an entry went to both consumers"
    assert left | right == {t.trigger_id for t in triggers}
    assert sum(map(len, taken)) == len(triggers)  # nobody got one twice either
    assert left and right, "the two consumers did not compete; the test proves nothing"
    for lane in lane_names():
        [group] = redis_client.xinfo_groups(lane_key(prefix, lane))
        assert (group["pending"], group["lag"]) == (0, 0)


def test_a_consumer_killed_mid_work_has_its_entries_reclaimed_by_another(services, prefix, redis_client):
    triggers = [trigger(i, "human", "p2") for i in range(8)]
    enqueue(services["redis"], prefix, triggers)
    worker = _consumer(services["redis"], prefix, "hold", "doomed", "5")
    held = []
    for line in worker.stdout:
        if line.strip() == "holding":
            break
        held.append(line.split())
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert len(held) == 5 and all(d == "1" for _h, _t, d in held)

    patient = make_queue(services["redis"], prefix, consumer="patient", visibility_timeout=3600)
    rest = patient.pull(count=10)
    assert {j.trigger_id for j in rest} == {t.trigger_id for t in triggers[5:]}, "held entries handed out too early"
    patient.ack(*rest)

    rescuer = make_queue(services["redis"], prefix, consumer="rescuer", visibility_timeout=0.5)
    got = []
    wait_for(lambda: got.extend(rescuer.pull(count=10, block_ms=200)) or len(got) >= 5, 30,
             what="the killed consumer's entries to be reclaimed")
    assert sorted(j.handle for j in got) == sorted(h for h, _t, _d in held)
    assert all(j.deliveries == 2 for j in got)
    assert rescuer.ack(*got) == 5
    assert redis_client.xpending(lane_key(prefix, "human:p2"), "helpdesk")["pending"] == 0


def test_pull_takes_the_most_urgent_lane_first_and_fifo_within_a_lane(services, prefix):
    rng = random.Random(3)
    lanes = [(r, p) for r in ("human", "ai") for p in ("p1", "p2", "p3", "p4")]
    triggers = [trigger(i, *lanes[i % 8]) for i in range(40)]
    rng.shuffle(triggers)
    enqueue(services["redis"], prefix, triggers)
    q = make_queue(services["redis"], prefix)

    pulled = [q.pull()[0] for _ in range(40)]
    assert q.pull() == []
    order = lane_names()
    assert [order.index(j.lane) for j in pulled] == sorted(order.index(j.lane) for j in pulled)
    for lane in order:
        in_lane = [j.trigger_id for j in pulled if j.lane == lane]
        assert in_lane == [t.trigger_id for t in triggers if f"{t.route}:{t.priority}" == lane]
    assert pulled[0].lane == "human:p1" and pulled[-1].lane == "ai:p4"


def test_a_new_urgent_trigger_overtakes_waiting_ones_and_a_route_sees_only_its_lanes(services, prefix):
    enqueue(services["redis"], prefix, [trigger(i, "human", "p4") for i in range(3)] + [trigger(9, "ai", "p3")])
    q = make_queue(services["redis"], prefix, route="human")
    assert q.pull()[0].lane == "human:p4"
    enqueue(services["redis"], prefix, [trigger(10, "human", "p1"), trigger(11, "ai", "p1")])
    assert [j.trigger_id for j in q.pull(count=10)] == ["trg00010", "trg00001", "trg00002"]
    assert q.pull() == []  # the ai lanes are someone else's
    assert [j.trigger_id for j in make_queue(services["redis"], prefix, route="ai", consumer="bot").pull(count=10)] \
        == ["trg00011", "trg00009"]


def test_a_blocking_pull_wakes_for_a_new_entry_and_keeps_priority_across_lanes(services, prefix):
    conn = redis.Redis.from_url(services["redis"], client_name=f"{prefix}blocked")
    q = make_queue(services["redis"], prefix, client=conn)
    q.pull()  # creates the groups, so the blocking read below waits on every lane
    result: list = []
    waiter = threading.Thread(target=lambda: result.extend(q.pull(count=1, block_ms=30_000)))
    waiter.start()

    def blocked() -> bool:
        return any(c.get("name") == f"{prefix}blocked" and "b" in c.get("flags", "") for c in conn.client_list())

    wait_for(blocked, 20, interval=0.05, what="the pull to block")
    writer = redis.Redis.from_url(services["redis"])
    tx = writer.pipeline(transaction=True)  # both lanes fill at once: one read sees both
    tx.xadd(lane_key(prefix, "ai:p3"), {"trigger": b'{"trigger_id": "later"}'})
    tx.xadd(lane_key(prefix, "human:p1"), {"trigger": b'{"trigger_id": "urgent"}'})
    tx.execute()
    waiter.join(30)
    assert [(j.trigger_id, j.deliveries) for j in result] == [("urgent", 1)]
    # The extra entry the read delivered was handed back as never delivered, not lost.
    assert [(j.trigger_id, j.deliveries) for j in q.pull(count=5)] == [("later", 1)]


def test_a_failing_entry_is_retried_with_backoff_then_dead_lettered_then_replayed_once(services, prefix, redis_client):
    enqueue(services["redis"], prefix, [trigger(1, "human", "p1")])
    q = make_queue(services["redis"], prefix, visibility_timeout=60, max_deliveries=3, retry_backoff=0.05)
    seen = []
    for _ in range(3):
        job = wait_for(lambda: (q.pull(count=1, block_ms=200) or [None])[0], 30, what="the entry again")
        seen.append(job.deliveries)
        outcome = q.fail(job, f"helpdesk said no ({job.deliveries})")
    assert seen == [1, 2, 3]
    assert outcome == "dead-lettered"
    assert redis_client.xpending(lane_key(prefix, "human:p1"), "helpdesk")["pending"] == 0

    [letter] = q.failed()
    assert (letter.lane, letter.entry, letter.deliveries, letter.group, letter.consumer) == \
        ("human:p1", job.id, 3, "helpdesk", "c1")
    assert letter.error == "helpdesk said no (3)"
    assert letter.trigger["trigger_id"] == "trg00001"

    [(replayed, new_id)] = q.replay_failed([letter.id])
    assert replayed.id == letter.id and new_id != job.id
    assert q.replay_failed([letter.id]) == []  # once only
    assert redis_client.xlen(failed_key(prefix)) == 0
    [again] = q.pull()
    assert (again.trigger_id, again.deliveries, again.id) == ("trg00001", 1, new_id)


def test_entries_nobody_acks_are_dead_lettered_by_whoever_reclaims_them_too_often(services, prefix):
    enqueue(services["redis"], prefix, [trigger(1), trigger(2)])
    consumers = [make_queue(services["redis"], prefix, consumer=f"c{i}", max_deliveries=2) for i in range(3)]
    assert [j.deliveries for j in consumers[0].pull(count=2)] == [1, 1]
    assert [j.deliveries for j in consumers[1].reclaim(min_idle=0)] == [2, 2]
    assert consumers[2].reclaim(min_idle=0) == []
    letters = consumers[2].failed()
    assert [(d.trigger["trigger_id"], d.deliveries, d.consumer) for d in letters] == \
        [("trg00001", 3, "c2"), ("trg00002", 3, "c2")]
    assert "delivered 3 times without an ack" in letters[0].error


def test_a_permanent_failure_and_an_entry_that_is_not_a_trigger_go_straight_to_dead_letters(services, prefix, redis_client):
    enqueue(services["redis"], prefix, [trigger(1, "ai", "p2")])
    redis_client.xadd(lane_key(prefix, "ai:p1"), {"note": "hello"})
    redis_client.xadd(lane_key(prefix, "ai:p1"), {"trigger": "{not json"})
    q = make_queue(services["redis"], prefix)
    [job] = q.pull(count=10)
    assert job.trigger_id == "trg00001"
    assert q.fail(job, "HTTP 422", retry=False) == "dead-lettered"
    letters = q.failed()
    assert [(d.lane, d.error.split(":")[0]) for d in letters] == \
        [("ai:p1", "not a trigger"), ("ai:p1", "not a trigger"), ("ai:p2", "HTTP 422")]
    assert [d for d, _ in q.replay_failed()] == [letters[2]]  # what was never a trigger stays put


def test_the_group_is_created_again_if_the_stream_was_deleted(services, prefix, redis_client):
    q = make_queue(services["redis"], prefix)
    enqueue(services["redis"], prefix, [trigger(1)])
    q.ack(*q.pull())
    redis_client.delete(lane_key(prefix, "ai:p3"))
    redis_client.xadd(lane_key(prefix, "ai:p3"), {"trigger": b'{"trigger_id": "after"}'})
    assert [j.trigger_id for j in q.pull()] == ["after"]


def test_check_names_what_is_wrong_when_redis_is_away():
    q = TriggerQueue("redis://127.0.0.1:1/0")
    with pytest.raises(redis.ConnectionError):
        q.check()
