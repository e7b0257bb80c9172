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
    __slots__ = ("high", "last_wall")

    def __init__(self) -> None:
        self.high = NEVER
        self.last_wall = 0.0


class StreamClock:
    """Per-partition event time, combined into one process watermark. Thread-safe."""

    def __init__(self, lateness_us: int, idle_timeout_s: float, wall=time.monotonic) -> None:
        self.lateness_us = lateness_us
        self.idle_timeout_s = idle_timeout_s
        self.wall = wall
        self.parts: dict[str, PartitionClock] = {}
        self._lock = threading.Lock()
        self._floor = NEVER  # the watermark never goes back

    def observe(self, part: str, ts_us: int) -> None:
        p = self.parts.get(part)
        if p is None:
            with self._lock:
                p = self.parts.setdefault(part, PartitionClock())
        if ts_us > p.high:
            p.high = ts_us
        p.last_wall = self.wall()

    def touch(self, part: str) -> None:
        """The partition answered a poll (perhaps with nothing): register it as present."""
        with self._lock:
            self.parts.setdefault(part, PartitionClock())

    def watermark(self) -> int:
        now = self.wall()
        with self._lock:
            active = [p.high for p in self.parts.values()
                      if p.high != NEVER and now - p.last_wall < self.idle_timeout_s]
            if active:
                wm = min(active) - self.lateness_us
            else:
                seen = [p for p in self.parts.values() if p.high != NEVER]
                if not seen:
                    return self._floor
                last = max(seen, key=lambda p: p.high)
                quiet_for = now - max(p.last_wall for p in seen) - self.idle_timeout_s
                wm = last.high - self.lateness_us + int(max(0.0, quiet_for) * 1_000_000)
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
