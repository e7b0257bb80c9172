"""A start with a backlog commits its first epoch early: a crash soon after it starts costs a
round of work, not a replay of everything it read (issue 15, case 5).

Bytewax resumes from the last committed epoch of the latest execution, or, for an execution
that committed nothing, from where that one resumed (the ``default_progress`` of its resume
query), so commits are what a restart keeps. They come when an epoch's input is processed;
the Kafka source reads a bounded round per worker (``kafka.batch_size``, shared by the
worker's partitions), so an epoch holds what the worker processes in about a round, whatever
the backlog.

Measured without a clock: how many events each epoch covers is read from the Kafka positions
Bytewax snapshots per epoch (kept here with a long ``backup_interval_seconds``), with an
epoch as short as a round. How many events were *read* when a commit was first seen is the
machine's throughput times the epoch interval (on an idle machine 21,397 of 83,682 were,
under load far fewer): it says nothing about the rounds; what an epoch covers does.
"""

import pytest

from forewarn.apps.producer import produce
from forewarn.apps.simulator import SimSpec, generate
from forewarn.engine.config import from_dict
from tests.conftest import live_config, wait_progress
from tests.recovery_store import covered_by_epoch, frontier

pytestmark = [pytest.mark.services, pytest.mark.slow]

ENGINE = {"allowed_lateness_seconds": 0, "idle_timeout_seconds": 2}
BATCH = 1600  # 100 per partition of the 16 this worker reads: the floor of a share


def test_a_start_with_a_backlog_commits_an_epoch_a_round_long_whatever_the_backlog(
        services, namespace, start_engine, tmp_path):
    events = generate(SimSpec(customers=2000, days=30, seed=23, end="2026-10-31T00:00:00Z"),
                      from_dict({"engine": ENGINE})).events
    produce(events, services["kafka"], topic_prefix=f"{namespace}-")
    recovery = tmp_path / "recovery"
    # An epoch per round (1 ms), every snapshot kept, so each epoch's reading can be read back.
    engine = start_engine(live_config(namespace, services, engine=ENGINE, kafka={"batch_size": BATCH},
                                      recovery={"directory": str(recovery), "snapshot_interval_seconds": 0.001,
                                                "backup_interval_seconds": 3600}))
    read = lambda: max(covered_by_epoch(recovery).values(), default=0)  # noqa: E731
    wait_progress(lambda: (frontier(recovery) > 1 and read() >= len(events) // 4) or not engine.alive(), read,
                  what=f"a quarter of the backlog read in epochs\n{engine.output()[-3000:]}")
    assert engine.alive(), engine.output()[-3000:]
    engine.stop()
    covered = covered_by_epoch(recovery)
    epochs = sorted(covered)
    steps = [covered[b] - covered[a] for a, b in zip(epochs, epochs[1:])]
    first = next(e for e in epochs if covered[e] > 0)
    # At most a round per epoch, a small round before a full one at worst: 3,200 events. Before
    # the rounds were shared, each of the 16 partitions read a whole batch_size a round: 25,600
    # (15,797 in the first epoch, measured with the shares reverted).
    assert 0 < covered[first] <= 2 * BATCH, (first, covered[first])
    assert max(steps) <= 2 * BATCH, max(steps)
    # And the epochs went on, each done as it was read: the frontier passed the first long ago.
    assert frontier(recovery) > first and covered[epochs[-1]] >= len(events) // 4
