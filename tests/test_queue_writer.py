"""The engine's queue writer: each trigger_id queued once within the dedupe horizon, marker and entry
written together or not at all."""

from __future__ import annotations

import socket
import subprocess
import threading

import pytest
import redis

from sinks import metrics
from sinks.redis_queue import QueueWriter, lane_key, seen_key
from tests.conftest import wait_for
from tests.queue_helpers import trigger

pytestmark = pytest.mark.services


def test_a_trigger_id_is_queued_once_and_remembered_for_the_dedupe_horizon(services, prefix, redis_client):
    writer = QueueWriter(services["redis"], prefix, dedupe_ttl_days=2)
    assert writer.write([trigger(1, "human", "p1"), trigger(2, "ai", "p3")]) == [True, True]
    assert writer.write([trigger(1, "human", "p1"), trigger(3, "ai", "p3"), trigger(2, "ai", "p3")]) == [False, True, False]
    assert redis_client.xlen(lane_key(prefix, "human:p1")) == 1
    assert redis_client.xlen(lane_key(prefix, "ai:p3")) == 2
    [(entry_id, _fields)] = redis_client.xrange(lane_key(prefix, "human:p1"))
    marker = seen_key(prefix, "trg00001")
    assert redis_client.get(marker) == entry_id  # where the trigger went
    assert 2 * 86400 - 60 < redis_client.ttl(marker) <= 2 * 86400


def test_a_refused_write_leaves_no_marker_so_the_retry_queues_the_trigger(services, prefix, redis_client):
    writer = QueueWriter(services["redis"], prefix)
    redis_client.set(lane_key(prefix, "ai:p3"), "not a stream")  # an operator's mistake
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        writer.write([trigger(1)])
    assert not redis_client.exists(seen_key(prefix, "trg00001"))
    redis_client.delete(lane_key(prefix, "ai:p3"))
    assert writer.write([trigger(1)]) == [True]


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of this test's own, so it can be made to run out of memory without touching the shared one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                             "--appendonly", "no", "--maxmemory-policy", "noeviction", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    wait_for(lambda: _pings(client), 20, what="the private Redis")
    yield f"redis://127.0.0.1:{port}/0", client
    proc.terminate()
    proc.wait(10)


def _pings(client: redis.Redis) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def test_a_full_redis_holds_the_writer_until_memory_frees_and_loses_nothing(private_redis):
    url, client = private_redis
    client.config_set("maxmemory", client.info("memory")["used_memory"] // 2)  # full: every write is refused
    writer = QueueWriter(url, "", retry_max_seconds=0.2)
    retries_before = metrics.SINK_RETRIES.labels("redis_queue")._value.get()
    result: list = []
    thread = threading.Thread(target=lambda: result.extend(writer.write([trigger(1), trigger(2)])), daemon=True)
    thread.start()
    wait_for(lambda: metrics.SINK_RETRIES.labels("redis_queue")._value.get() > retries_before + 2, 20,
             interval=0.05, what="the writer to retry on OOM")
    assert thread.is_alive()  # holding, not failing
    assert client.xlen(lane_key("", "ai:p3")) == 0 and not client.exists(seen_key("", "trg00001"))
    client.config_set("maxmemory", 0)  # a helpdesk acked, retention trimmed: memory is back
    thread.join(30)
    assert result == [True, True]
    assert client.xlen(lane_key("", "ai:p3")) == 2
    assert writer.write([trigger(1), trigger(2)]) == [False, False]
