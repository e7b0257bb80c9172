"""Stream time for the live engine: the worker clock, the timer index, and the keys that reach every worker."""

import pytest
from bytewax import operators as op
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSource, cluster_main

from flows.broadcast import CLOCK_PREFIX, clock_keys, worker_of
from forewarn.engine.watermark import NEVER, WorkerClocks, StreamClock, TimerIndex

S = 1_000_000


class Wall:
    """A wall clock the test moves by hand."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_watermark_is_the_slowest_partition_less_the_lateness():
    clock = StreamClock(lateness_us=2 * S, idle_timeout_s=30, parts=["a", "b", "c"], wall=Wall())
    clock.report("a", 100 * S, None)
    clock.report("b", 50 * S, None)
    assert clock.watermark() == NEVER  # c has not reported: its first events may be the oldest
    clock.report("c", 70 * S, None)
    assert clock.watermark() == 48 * S
    clock.report("b", 90 * S, None)
    assert clock.watermark() == 68 * S


def test_a_quiet_partition_stops_holding_back_only_after_the_idle_timeout():
    wall = Wall(1000.0)
    clock = StreamClock(0, idle_timeout_s=30, parts=["a", "b"], wall=wall)
    clock.report("a", 100 * S, None)
    clock.report("b", 10 * S, quiet_since=1000.0)
    assert clock.watermark() == 10 * S
    wall.t = 1029.9
    assert clock.watermark() == 10 * S  # still within the timeout (the cached value must expire)
    wall.t = 1030.0
    assert clock.watermark() == 100 * S
    clock.report("b", 20 * S, None)  # b reads again: it holds nothing back that it has passed
    assert clock.watermark() == 100 * S  # and the watermark never goes back


def test_when_every_partition_is_idle_the_watermark_follows_the_wall_clock():
    wall = Wall(1000.0)
    clock = StreamClock(5 * S, idle_timeout_s=10, parts=["a", "b"], wall=wall)
    clock.report("a", 100 * S, quiet_since=1000.0)
    clock.report("b", 80 * S, quiet_since=1002.0)
    wall.t = 1012.0
    assert clock.watermark() == 95 * S  # idle from 1012 on: starts at the highest data less lateness
    wall.t = 1015.5
    assert clock.watermark() == 95 * S + int(3.5 * S)


def test_an_unknown_partition_that_reports_joins_the_clock():
    clock = StreamClock(0, 30, parts=["a"], wall=Wall())
    clock.report("a", 100 * S, None)
    clock.report("new", 40 * S, None)
    assert clock.watermark() == 40 * S


def test_timer_index_returns_each_due_key_once_per_registration():
    timers = TimerIndex()
    timers.register("c1", 10)
    timers.register("c2", 20)
    timers.register("c1", 30)  # re-registered later: the old entry is stale
    assert timers.pop_due(25) == ["c2"]
    assert timers.pop_due(25) == []
    timers.register("c3", 5)
    timers.register("c3", None)  # nothing due any more
    assert timers.pop_due(100) == ["c1"]
    assert len(timers) == 0


def test_each_worker_thread_has_its_own_clock_and_timers():
    import threading

    workers = WorkerClocks(0, 30, ["a"])
    mine = workers.current()
    assert workers.current() is mine
    other = []
    t = threading.Thread(target=lambda: other.append(workers.current()))
    t.start()
    t.join()
    assert other[0] is not mine
    assert set(other[0].clock.parts) == {"a"}


@pytest.mark.parametrize("workers", [1, 2, 3, 5])
def test_clock_keys_reach_every_worker_as_bytewax_routes_them(workers):
    """The broadcast rests on reproducing Bytewax's key routing; check it against Bytewax itself."""
    keys = clock_keys(workers) + [f"c{i:05d}" for i in range(60)] + ["ö-kunde", "x" * 100]
    seen: dict[str, int] = {}
    flow = Dataflow("routing")
    stream = op.input("in", flow, TestingSource(keys))
    keyed = op.key_on("key", stream, lambda k: k)
    owned = op.stateful_map("own", keyed, lambda state, value: (None, value))
    op.inspect_debug("where", owned, lambda _step, item, _epoch, worker: seen.__setitem__(item[0], worker))
    cluster_main(flow, [], 0, worker_count_per_proc=workers)

    assert {k: seen[k] for k in keys} == {k: worker_of(k, workers) for k in keys}
    assert [seen[k] for k in clock_keys(workers)] == list(range(workers))
    assert all(k.startswith(CLOCK_PREFIX) for k in clock_keys(workers))
