"""Stream time for the live engine: a watermark per input partition, and a timer index.

The watermark of one partition is the largest event time it has delivered, less the
allowed lateness. The watermark is the smallest of the *active* partitions (as Flink
does): a partition that has been quiet for ``idle_timeout`` stops holding the others
back, and when every partition is quiet the watermark advances with the wall clock from
where the data left it, so a deadline still fires on time in a quiet hour.

Each worker keeps its own :class:`WorkerTime` (a :class:`StreamClock` and a
:class:`TimerIndex`), fed by the progress reports the partitions send it in band, behind
their events (see ``flows/sources.py``): a report that has reached a worker means every
event the partition read before it has reached that worker too, whichever worker or
process read it. So no customer applies an event, or fires a deadline, ahead of an event
that another partition has read but not yet delivered.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterable

NEVER = -(2**62)
UNBOUNDED = 2**62  # a frontier with no partition still reading


class PartitionClock:
    __slots__ = ("high", "quiet_since")

    def __init__(self) -> None:
        self.high = NEVER
        self.quiet_since: float | None = None  # wall time it was first found at the end of its log


class StreamClock:
    """Per-partition event time as reported, combined into one watermark.

    Only a partition itself can say it is idle (at the end of its log, with nothing new, for
    ``idle_timeout``): a partition that merely has not reported for a while, because its
    worker was busy elsewhere, still holds the watermark back. ``quiet_since`` is wall time
    (Unix seconds) as the reading worker saw it; machines of one cluster are assumed to
    agree on the time to well within ``idle_timeout``.

    >>> clock = StreamClock(lateness_us=0, idle_timeout_s=30, parts=["a", "b"], wall=lambda: 100.0)
    >>> clock.report("a", 5_000_000, None)
    >>> clock.watermark() == NEVER  # b has reported nothing yet
    True
    >>> clock.report("b", 7_000_000, None)
    >>> clock.watermark()
    5000000
    >>> clock.report("a", 5_000_000, quiet_since=60.0)  # a has been at its end for 40 s
    >>> clock.watermark()
    7000000
    """

    def __init__(self, lateness_us: int, idle_timeout_s: float, parts: Iterable[str] = (),
                 wall: Callable[[], float] = time.time) -> None:
        self.lateness_us = lateness_us
        self.idle_timeout_s = idle_timeout_s
        self.wall = wall
        self.parts: dict[str, PartitionClock] = {p: PartitionClock() for p in parts}
        self._floor = NEVER  # the watermark never goes back
        # The watermark only changes with a report, or when a quiet partition turns idle:
        # cache it until then (it is read once per customer batch).
        self._cached: int | None = None
        self._valid_until = 0.0
        self._frontier: int | None = None  # likewise, until the next report

    def report(self, part: str, high: int, quiet_since: float | None) -> None:
        """Partition ``part`` has delivered events up to ``high``; ``quiet_since`` is when it
        was first found at the end of its log (None while it has more to read)."""
        p = self.parts.get(part)
        if p is None:
            p = self.parts[part] = PartitionClock()
        if high > p.high:
            p.high = high
        p.quiet_since = quiet_since
        self._cached = None
        self._frontier = None

    def frontier(self) -> int:
        """The event time every partition still reading has delivered up to, without the lateness.

        An eager customer step applies an event at or before it (``[engine] apply_on_arrival``):
        what the partitions still have to deliver is later, if each is in event-time order. A
        partition at the end of its log holds nothing back (an event produced to it a moment
        ago, not yet fetched, is then applied after newer ones: counted out of order); one that
        has reported nothing yet holds everything back. All at their end: no limit.

        >>> clock = StreamClock(lateness_us=300_000_000, idle_timeout_s=5, parts=["a", "b"], wall=lambda: 100.0)
        >>> clock.report("a", 7_000_000, None)
        >>> clock.frontier() == NEVER  # b has reported nothing yet
        True
        >>> clock.report("b", 5_000_000, None)
        >>> clock.frontier()
        5000000
        >>> clock.report("b", 5_000_000, quiet_since=99.0)  # b is at the end of its log
        >>> clock.frontier()
        7000000
        """
        if self._frontier is None:
            reading = [p.high for p in self.parts.values() if p.quiet_since is None]
            self._frontier = min(reading) if reading else UNBOUNDED
        return self._frontier

    def watermark(self) -> int:
        now = self.wall()
        if self._cached is not None and now < self._valid_until:
            return self._cached
        timeout = self.idle_timeout_s
        active = []
        turns_idle = float("inf")
        for p in self.parts.values():
            if p.quiet_since is None:
                active.append(p.high)
            elif now - p.quiet_since < timeout:
                active.append(p.high)
                turns_idle = min(turns_idle, p.quiet_since + timeout)
        if active:
            low = min(active)
            wm = self._floor if low == NEVER else low - self.lateness_us
            self._valid_until = turns_idle
        else:
            seen = [p for p in self.parts.values() if p.high != NEVER]
            if not seen:
                return self._floor
            # Everything is idle: advance with the wall clock from where the data left off.
            high = max(p.high for p in seen)
            idle_for = now - max(p.quiet_since for p in self.parts.values()) - timeout
            wm = high - self.lateness_us + int(max(0.0, idle_for) * 1_000_000)
            self._valid_until = 0.0  # moves with the wall clock
        if wm > self._floor:
            self._floor = wm
        self._cached = self._floor
        return self._floor


class TimerIndex:
    """Earliest due time per state key, for the customers of one worker.

    A customer step registers its shard's next due time after every batch; the worker's
    waker pops the keys whose time the watermark has passed and wakes them, so a customer
    who sends nothing more still has its deadlines fired. (A second index holds the times of
    events waiting for the frontier, popped with ``pop_due(frontier + 1)``.)
    """

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}

    def register(self, key: str, deadline_us: int | None) -> None:
        if deadline_us is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) == deadline_us:
            return
        self._due[key] = deadline_us
        heapq.heappush(self._heap, (deadline_us, key))

    def pop_due(self, watermark: int) -> list[str]:
        """Keys with a due time before ``watermark``; each is returned once per registration."""
        out = []
        heap, due = self._heap, self._due
        while heap and heap[0][0] < watermark:
            deadline, key = heapq.heappop(heap)
            if due.get(key) == deadline:
                del due[key]
                out.append(key)
        return out

    def __len__(self) -> int:
        return len(self._due)


class WorkerTime:
    """The clock and the timer indexes of one worker: deadlines and due events on the
    watermark, and events waiting only for the frontier (``arrivals``)."""

    __slots__ = ("clock", "timers", "arrivals")

    def __init__(self, clock: StreamClock) -> None:
        self.clock = clock
        self.timers = TimerIndex()
        self.arrivals = TimerIndex()


class WorkerClocks:
    """One :class:`WorkerTime` per worker thread of this process.

    A Bytewax worker is a thread, and runs every step of its share of the dataflow: the
    customer steps it owns, the clock reports routed to it, and its waker. So the thread
    identifies the worker, and nothing here is shared between threads. (Keyed by thread id,
    not ``threading.local``: Bytewax's Rust threads take the GIL with a fresh Python thread
    state each time, which would empty a ``threading.local``.)
    """

    def __init__(self, lateness_us: int, idle_timeout_s: float, parts: list[str]) -> None:
        self.lateness_us = lateness_us
        self.idle_timeout_s = idle_timeout_s
        self.parts = parts
        self._by_thread: dict[int, WorkerTime] = {}

    def current(self) -> WorkerTime:
        tid = threading.get_ident()
        wt = self._by_thread.get(tid)
        if wt is None:
            wt = self._by_thread[tid] = WorkerTime(StreamClock(self.lateness_us, self.idle_timeout_s, self.parts))
        return wt
