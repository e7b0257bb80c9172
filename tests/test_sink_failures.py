"""A sink that cannot write while `forewarn run` runs: one line naming what failed and what to do,
its own exit code, no Rust panic or backtrace, and nothing lost for the next start.

* Credentials refused mid-run (the password changed, as an operator rotating it does: `ACL
  SETUSER` on a user of this test's own, then its connections killed) is not an outage:
  waiting never heals it. Exit 4; started again with the new password, the engine queues
  the trigger it could not write, once.
* Anything else a sink raises (here a key of the wrong type where a queue should be): exit 1,
  the Python traceback, and the one line.

The shared Redis's default user is never touched: each test makes and deletes its own user.
"""

import uuid

import pytest

from forewarn.apps.producer import produce
from sinks.redis_queue import lane_names, queue_key
from tests.conftest import live_config, wait_for
from tests.factory import lines
from tests.faults import late_parcels
from tests.test_redis_wiped import FIRST, LATER

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def redis_user(redis_client, namespace):
    """A Redis ACL user of this test's own, allowed this test's keys only."""
    name, password = f"forewarn-test-{namespace}", uuid.uuid4().hex
    redis_client.acl_setuser(name, enabled=True, passwords=[f"+{password}"], keys=[f"{namespace}:*"],
                             channels=["*"], commands=["+@all", "-@dangerous"])
    try:
        yield name, password
    finally:
        redis_client.acl_deluser(name)


def _url(services, user: str, password: str) -> str:
    return services["redis"].replace("redis://", f"redis://{user}:{password}@", 1)


def _config(namespace, services, url, tmp_path) -> str:
    return live_config(namespace, {**services, "redis": url}, redis={"retry_max_seconds": 0.5},
                       recovery={"directory": str(tmp_path / "recovery"), "snapshot_interval_seconds": 0.5})


def _no_panic(out: str) -> None:
    assert "panicked" not in out and "stack backtrace" not in out and "Box<dyn Any>" not in out, out


def test_a_password_changed_mid_run_stops_the_engine_with_one_line_and_loses_nothing(
        services, namespace, prefix, redis_client, redis_user, start_engine, tmp_path):
    user, old = redis_user
    produce(lines(FIRST), services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(_config(namespace, services, _url(services, user, old), tmp_path))
    wait_for(lambda: late_parcels(redis_client, f"{namespace}:"), 90, what=f"c1's trigger\n{engine.output()}")

    new = uuid.uuid4().hex
    redis_client.acl_setuser(user, enabled=True, reset_passwords=True, passwords=[f"+{new}"])  # the rest kept
    redis_client.client_kill_filter(user=user)  # what a rotation does to the sessions still open
    produce(lines(LATER), services["kafka"], topic_prefix=f"{namespace}-")  # c2's trigger is due now
    wait_for(lambda: not engine.alive(), 90, what=f"the engine to stop on refused credentials\n{engine.output()}")
    out = engine.output()
    assert engine.proc.returncode == 4, out
    refused = [line for line in out.splitlines() if "refused the engine while it ran" in line]
    assert len(refused) == 1 and refused[0].startswith(f"forewarn: Redis at redis://{user}:***@"), out
    assert "Fix redis.url or the Redis user, then start again" in refused[0]
    assert old not in out and new not in out  # the password is never printed
    _no_panic(out)
    assert "Traceback" not in out
    assert [t["customer_id"] for t in late_parcels(redis_client, f"{namespace}:")] == ["c1"]

    again = start_engine(_config(namespace, services, _url(services, user, new), tmp_path), name="again")
    wait_for(lambda: len(late_parcels(redis_client, f"{namespace}:")) >= 2, 90,
             what=f"c2's trigger after the restart\n{again.output()}")
    assert again.stop() == 0, again.output()
    assert sorted(t["customer_id"] for t in late_parcels(redis_client, f"{namespace}:")) == ["c1", "c2"]


def test_a_sink_error_that_is_no_outage_says_which_sink_failed_in_one_line_without_a_rust_panic(
        services, namespace, prefix, redis_client, start_engine, tmp_path):
    # Every lane's key holds a plain string instead of a stream: XADD answers WRONGTYPE.
    for lane in lane_names():
        route, priority = lane.split(":")
        redis_client.set(queue_key(prefix, route, priority), "not a stream")
    produce(lines(FIRST), services["kafka"], topic_prefix=f"{namespace}-")
    engine = start_engine(_config(namespace, services, services["redis"], tmp_path))
    wait_for(lambda: not engine.alive(), 90, what=f"the engine to stop on the failing sink\n{engine.output()}")
    out = engine.output()
    assert engine.proc.returncode == 1, out
    said = out.strip().splitlines()[-1]
    assert said.startswith("forewarn: the redis_queue sink failed (ResponseError: ") and "WRONGTYPE" in said, out
    assert said.endswith("the next start resumes from the last snapshot; the traceback is above")
    assert "Traceback (most recent call last)" in out  # a bug or a clash: the Python traceback helps
    _no_panic(out)
