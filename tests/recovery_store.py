"""What a Bytewax recovery store holds, read as a restart would see it (the restart tests).

``forewarn run`` with one recovery partition writes ``part-0.sqlite3`` (Bytewax 0.21.1's
schema): ``commits`` (the newest epoch whose snapshots are all durable: a restart resumes
after it), ``fronts`` (each worker's frontier), and ``snaps`` (per step and key, its state
as of an epoch). The Kafka source's snapshot of a partition is ``(next offset, high)``; the
tests' topics are their own and start at offset 0, so the next offsets add up to the events
read, and a partition not read yet holds the "beginning" sentinel (-2).

Each reader returns the "nothing yet" value while the file is missing or being initialised,
and never creates the file by asking.
"""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path

INPUTS = "forewarn.inputs"  # the step id of the Kafka source (flows/dataflow.py)


def committed(recovery: Path) -> int:
    """The newest epoch committed (0 = none yet)."""
    rows = _query(recovery, "SELECT COALESCE(MAX(commit_epoch), 0) FROM commits")
    return rows[0][0] if rows else 0


def frontier(recovery: Path) -> int:
    """The furthest worker frontier recorded: epochs before it are done."""
    rows = _query(recovery, "SELECT COALESCE(MAX(worker_frontier), 0) FROM fronts")
    return rows[0][0] if rows else 0


def committed_input(recovery: Path) -> tuple[int, int]:
    """(newest committed epoch, Kafka events it covers): what a restart from the store does
    not read again. Read in one transaction, so the two agree."""
    path = recovery / "part-0.sqlite3"
    if not path.exists():
        return 0, 0
    try:
        with sqlite3.connect(path, timeout=5) as db:
            epoch = db.execute("SELECT COALESCE(MAX(commit_epoch), 0) FROM commits").fetchone()[0]
            rows = db.execute("SELECT state_key, ser_change FROM snaps WHERE step_id = ? AND state_key LIKE '%/%' "
                              "AND snap_epoch <= ? ORDER BY snap_epoch", (INPUTS, epoch)).fetchall()
    except sqlite3.OperationalError:  # being initialised
        return 0, 0
    latest = dict(rows)  # per partition, its state as of the newest snapshot up to the commit
    return epoch, sum(_read_up_to(state) for state in latest.values())


def covered_by_epoch(recovery: Path) -> dict[int, int]:
    """Epoch -> the Kafka events read up to its end, for every epoch whose snapshots are still
    in the store (all of them with a long ``backup_interval_seconds``), committed or not."""
    rows = _query(recovery, "SELECT state_key, snap_epoch, ser_change FROM snaps "
                            f"WHERE step_id = '{INPUTS}' AND state_key LIKE '%/%' ORDER BY snap_epoch")
    latest: dict[str, int] = {}
    out: dict[int, int] = {}
    for key, epoch, change in rows:
        latest[key] = _read_up_to(change)
        out[epoch] = sum(latest.values())
    return out


def _read_up_to(state: bytes | None) -> int:
    return 0 if state is None else max(0, pickle.loads(state)[0])


def _query(recovery: Path, sql: str) -> list[tuple]:
    path = recovery / "part-0.sqlite3"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # being initialised
        return []
