"""Stream time for the live engine: a watermark per input partition, and a timer index.

The watermark of one partition is the largest event time it has delivered, less the
allowed lateness. The process watermark is the smallest of its *active* partitions (as
Flink does): a partition that has been quiet for ``idle_timeout`` stops holding the others
back, and when every partition is quiet the watermark advances with the wall clock from
where the data left it, so a deadline still fires on time in a quiet hour.

The :class:`TimerIndex` lets a source, which sees stream time, wake customers whose
deadlines have passed even though they send no event. Customer steps register their
earliest deadline; sources pop the due ones and emit a wake for each.
"""

from __future__ import annotations

import heapq
import threading
import time

NEVER = -(2**62)


class PartitionClock:
    __slots__ = ("high", "quiet_since")

    def __init__(self) -> None:
        self.high = NEVER
        self.quiet_since: float | None = None  # wall time it was first found at the end of its log


class StreamClock:
    """Per-partition event time, combined into one process watermark. Thread-safe.

    Only a partition itself can say it is idle (at the end of its log, with nothing new, for
    ``idle_timeout``): a partition that merely has not been polled for a while, because the
    worker was busy elsewhere, still holds the watermark back.
    """

    def __init__(self, lateness_us: int, idle_timeout_s: float, wall=time.monotonic) -> None:
        self.lateness_us = lateness_us
        self.idle_timeout_s = idle_timeout_s
        self.wall = wall
        self.parts: dict[str, PartitionClock] = {}
        self._lock = threading.Lock()
        self._floor = NEVER  # the watermark never goes back

    def _part(self, part: str) -> PartitionClock:
        p = self.parts.get(part)
        if p is None:
            with self._lock:
                p = self.parts.setdefault(part, PartitionClock())
        return p

    def register(self, part: str) -> None:
        """An assigned partition: until it delivers data or goes idle it holds the watermark
        back, since its first events may be older than everything read so far."""
        self._part(part)

    def observe(self, part: str, high: int) -> None:
        """The partition delivered events up to ``high``."""
        p = self._part(part)
        if high > p.high:
            p.high = high
        p.quiet_since = None

    def behind(self, part: str) -> None:
        """The partition returned nothing but has unread input: not idle."""
        self._part(part).quiet_since = None

    def caught_up(self, part: str) -> None:
        """The partition is at the end of its log; idle once that lasts ``idle_timeout``."""
        p = self._part(part)
        if p.quiet_since is None:
            p.quiet_since = self.wall()

    def _active(self, p: PartitionClock, now: float) -> bool:
        return p.quiet_since is None or now - p.quiet_since < self.idle_timeout_s

    def others_high(self, part: str) -> int:
        """Smallest event-time high of the *other* active partitions (no limit if there are none).

        A source stamps each event with ``min(this, own high) - lateness``: the watermark as it
        stood when that event was read, not after its whole batch.
        """
        now = self.wall()
        with self._lock:
            highs = [p.high for name, p in self.parts.items() if name != part and self._active(p, now)]
        return min(highs) if highs else -NEVER

    def watermark(self) -> int:
        now = self.wall()
        with self._lock:
            active = [p.high for p in self.parts.values() if self._active(p, now)]
            if active:
                if min(active) == NEVER:
                    return self._floor
                wm = min(active) - self.lateness_us
            else:
                seen = [p for p in self.parts.values() if p.high != NEVER]
                if not seen:
                    return self._floor
                # Everything is idle: advance with the wall clock from where the data left off.
                high = max(p.high for p in seen)
                idle_for = now - max(p.quiet_since for p in self.parts.values()) - self.idle_timeout_s
                wm = high - self.lateness_us + int(max(0.0, idle_for) * 1_000_000)
            if wm > self._floor:
                self._floor = wm
            return self._floor

    def lag_seconds(self, wall_now_us: int) -> float | None:
        """How far the watermark trails the wall clock (for the watermark lag metric)."""
        return None if self._floor == NEVER else (wall_now_us - self._floor) / 1_000_000


class TimerIndex:
    """Earliest deadline per state key, across all customers of this process. Thread-safe."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._due: dict[str, int] = {}
        self._lock = threading.Lock()

    def register(self, key: str, deadline_us: int | None) -> None:
        with self._lock:
            if deadline_us is None:
                self._due.pop(key, None)
                return
            if self._due.get(key) == deadline_us:
                return
            self._due[key] = deadline_us
            heapq.heappush(self._heap, (deadline_us, key))

    def pop_due(self, watermark: int) -> list[str]:
        """Keys with a deadline before ``watermark``; each is returned once per registration."""
        out = []
        with self._lock:
            heap = self._heap
            while heap and heap[0][0] < watermark:
                deadline, key = heapq.heappop(heap)
                if self._due.get(key) == deadline:
                    del self._due[key]
                    out.append(key)
        return out

    def __len__(self) -> int:
        return len(self._due)
