"""A start with a backlog commits its first epoch early: a crash soon after it starts costs a
round of work, not a replay of everything it read (issue 15, case 5).

Bytewax resumes from the last committed epoch of the latest execution, or, for an execution
that committed nothing, from where that one resumed (the ``default_progress`` of its resume
query), so commits are what a restart keeps. They come when an epoch's input is processed;
the Kafka source reads a bounded round per worker (``kafka.batch_size``), so an epoch holds
what the worker processes in about a round, whatever the backlog.
"""

import pickle
import sqlite3
import time

import pytest

from forewarn.apps.producer import produce
from forewarn.apps.simulator import SimSpec, generate
from forewarn.engine.config import from_dict
from tests.conftest import live_config
from tests.faults import free_port

pytestmark = [pytest.mark.services, pytest.mark.slow]

ENGINE = {"allowed_lateness_seconds": 0, "idle_timeout_seconds": 2}


def committed(recovery) -> int:
    """The newest epoch committed in the recovery partition (0 = none yet)."""
    path = recovery / "part-0.sqlite3"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute("SELECT COALESCE(MAX(commit_epoch), 0) FROM commits").fetchone()[0]
    except sqlite3.OperationalError:  # the partition is being initialised
        return 0


def first_commit(recovery) -> tuple[int, int] | None:
    """The newest committed epoch and the input offsets it holds (the events a restart from it
    does not read again), read in one transaction; None before the first commit."""
    path = recovery / "part-0.sqlite3"
    if not path.exists():
        return None
    try:
        with sqlite3.connect(path, timeout=5) as db:
            epoch = db.execute("SELECT COALESCE(MAX(commit_epoch), 0) FROM commits").fetchone()[0]
            if epoch < 1:
                return None
            rows = db.execute("SELECT state_key, ser_change FROM snaps WHERE step_id = 'forewarn.inputs' "
                              "AND snap_epoch <= ? ORDER BY snap_epoch", (epoch,)).fetchall()
    except sqlite3.OperationalError:  # the partition is being initialised
        return None
    latest = dict(rows)  # per input partition, its state at the newest epoch up to the commit
    # A Kafka partition's snapshot is (next offset, high watermark): the offset counts its events.
    return epoch, sum(pickle.loads(state)[0] for state in latest.values() if state is not None)


def test_a_start_with_a_backlog_commits_its_first_epoch_before_it_has_read_much_of_it(
        services, namespace, start_engine, tmp_path):
    events = generate(SimSpec(customers=2000, days=30, seed=23, end="2026-10-31T00:00:00Z"),
                      from_dict({"engine": ENGINE})).events
    produce(events, services["kafka"], topic_prefix=f"{namespace}-")
    port = free_port()
    recovery = tmp_path / "recovery"
    engine = start_engine(live_config(namespace, services, engine=ENGINE, metrics={"port": port},
                                      recovery={"directory": str(recovery), "snapshot_interval_seconds": 1.0}))
    found = None
    deadline = time.monotonic() + 120
    # Read from the recovery store itself, not the engine's event counter: what a restart resumes
    # from is what the commit holds, and the counter runs on while a poll of it is under way.
    while found is None and time.monotonic() < deadline and engine.alive():
        found = first_commit(recovery)
        time.sleep(0.02)
    engine.stop()
    assert found is not None, engine.output()[-3000:]
    epoch, committed_events = found
    # Before the bounded rounds: about half of these 84,504 events were read before the
    # first commit (56,699 in the run, 43,500 here); a round is 8,000 at most.
    assert 0 < committed_events < 0.25 * len(events), (epoch, committed_events, len(events))
