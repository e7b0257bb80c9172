"""A Redis that comes back empty (no persistence, a failover to an empty replica, FLUSHALL).

The queues' dedupe markers went with it, so a replay would queue again every trigger the
helpdesks already handled. The engine notices (its marker in Redis is gone), queues nothing
again, says what happened and what to do, and starts only when the operator accepts.
"""

import shutil
import time
from contextlib import contextmanager

import pytest

from forewarn.apps.producer import produce
from tests.conftest import live_config, wait_for
from tests.factory import late_parcel, lines, tick
from tests.faults import late_parcels, private_redis

pytestmark = [pytest.mark.services, pytest.mark.slow]

# c1's parcel turns late (deadline 11-02 22:00); later c2's (11-04 22:00).
FIRST = [*late_parcel("2026-11-01", "c1", 1), tick("2026-11-03T00:00:00Z")]
LATER = [*late_parcel("2026-11-03", "c2", 2), tick("2026-11-06T00:00:00Z")]


def _wipe(redis_server) -> None:
    """Kill Redis and start it again with nothing on disk: a restart without persistence."""
    redis_server.proc.kill()
    redis_server.proc.wait()
    shutil.rmtree(redis_server.dir)
    redis_server.dir.mkdir()
    redis_server.start()


def _config(namespace, services, redis_server, tmp_path) -> str:
    return live_config(namespace, services, redis={"url": redis_server.url, "retry_max_seconds": 0.5},
                       recovery={"directory": str(tmp_path / "recovery"), "snapshot_interval_seconds": 0.5})


@contextmanager
def _c1_queued(services, namespace, start_engine, tmp_path, **engine_args):
    """A private Redis, and an engine on it that has queued c1's trigger: (redis, client, config, engine)."""
    with private_redis(tmp_path / "redis") as redis_server:
        client = redis_server.client()
        cfg = _config(namespace, services, redis_server, tmp_path)
        produce(lines(FIRST), services["kafka"], topic_prefix=f"{namespace}-")
        engine = start_engine(cfg, **engine_args)
        wait_for(lambda: late_parcels(client, f"{namespace}:"), 60, what=f"c1's trigger\n{engine.output()}")
        yield redis_server, client, cfg, engine


def test_a_restart_on_a_wiped_redis_queues_nothing_again_until_the_operator_accepts(
        services, namespace, start_engine, tmp_path):
    with _c1_queued(services, namespace, start_engine, tmp_path, name="first") as (redis_server, client, cfg, engine):
        time.sleep(2)  # several epochs commit after the trigger was written
        engine.stop()

        _wipe(redis_server)
        refused = start_engine(cfg, name="refused")
        wait_for(lambda: not refused.alive(), 60, what="the engine to refuse the wiped Redis")
        assert refused.proc.returncode == 3, refused.output()
        out = refused.output()
        assert "Redis lost its data" in out and "--accept-empty-redis" in out and "Traceback" not in out, out
        assert late_parcels(client, f"{namespace}:") == []  # nothing queued again

        accepted = start_engine(cfg, "--accept-empty-redis", name="accepted")
        produce(lines(LATER), services["kafka"], topic_prefix=f"{namespace}-")
        wait_for(lambda: late_parcels(client, f"{namespace}:"), 60, what=f"c2's trigger\n{accepted.output()}")
        accepted.stop()
        # c1's trigger was committed before the wipe: resumed from the snapshot, not re-emitted.
        assert [t["customer_id"] for t in late_parcels(client, f"{namespace}:")] == ["c2"]


def test_redis_wiped_while_the_engine_runs_stops_it_before_anything_is_queued_again(
        services, namespace, start_engine, tmp_path):
    with _c1_queued(services, namespace, start_engine, tmp_path) as (redis_server, client, _cfg, engine):
        _wipe(redis_server)
        produce(lines(LATER), services["kafka"], topic_prefix=f"{namespace}-")  # c2's trigger is due now
        wait_for(lambda: not engine.alive(), 60, what=f"the engine to stop on the wiped Redis\n{engine.output()}")
        assert engine.proc.returncode == 3, engine.output()
        out = engine.output()
        assert "Redis lost its data while the engine ran" in out
        assert "panicked" not in out and "stack backtrace" not in out and "Traceback" not in out, out
        assert late_parcels(client, f"{namespace}:") == []
