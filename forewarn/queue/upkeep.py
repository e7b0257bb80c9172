"""The queue upkeep ``forewarn run`` keeps in a background thread: queue gauges and retention.

Every ``queue.upkeep_interval_seconds`` it trims what every group has acknowledged
(forewarn/queue/retention.py) and reads the lanes' stats into the ``forewarn_queue_*`` gauges
(contract section 6: depth and oldest pending age per queue). Redis being away only pauses it; the engine's
own writer reports that outage.
"""

from __future__ import annotations

import logging
import threading

import redis
from prometheus_client import Gauge

from forewarn.core.settings import QueueSettings
from forewarn.queue.retention import trim
from forewarn.queue.stats import failed_length, queue_stats
from sinks import metrics
from sinks.redis_queue import connect

log = logging.getLogger("forewarn.queue")


class QueueUpkeep:
    """Parameters: ``url`` and ``prefix`` of the queues; ``interval`` seconds between passes;
    ``retain_acked_seconds`` how long acknowledged entries are kept before trimming."""

    def __init__(self, url: str, prefix: str, interval: float, retain_acked_seconds: float) -> None:
        self.client = connect(url)
        self.prefix = prefix
        self.interval = interval
        self.retain = retain_acked_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="forewarn-queue-upkeep", daemon=True)
        self._shown: dict[Gauge, set[tuple[str, ...]]] = {}
        self._failing = False

    @classmethod
    def from_config(cls, config: QueueSettings) -> QueueUpkeep:
        q = config.queue
        return cls(config.redis.url, config.redis.prefix, q.upkeep_interval_seconds, q.retain_acked_hours * 3600)

    def start(self) -> QueueUpkeep:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            try:
                self.tick()
                if self._failing:
                    log.info("queue upkeep: Redis back, queue metrics and retention resumed")
                self._failing = False
            except redis.RedisError as exc:
                if not self._failing:
                    log.warning("queue upkeep: %s; queue metrics are stale and nothing is trimmed until Redis answers", exc)
                self._failing = True
            if self._stop.wait(self.interval):
                return

    def tick(self) -> None:
        """One pass: trim, then publish the gauges (so the length shown is after retention)."""
        for lane, (trimmed, _forgotten) in trim(self.client, self.prefix, self.retain).items():
            if trimmed:
                metrics.QUEUE_TRIMMED.labels(lane).inc(trimmed)
        lanes = queue_stats(self.client, self.prefix)
        values: dict[Gauge, dict[tuple[str, ...], float]] = {g: {} for g in (
            metrics.QUEUE_LENGTH, metrics.QUEUE_DEPTH, metrics.QUEUE_PENDING, metrics.QUEUE_LAG, metrics.QUEUE_OLDEST_AGE)}
        for lane in lanes:
            values[metrics.QUEUE_LENGTH][(lane.lane,)] = lane.length
            for g in lane.groups:
                labels = (lane.lane, g.group)
                values[metrics.QUEUE_PENDING][labels] = g.pending
                values[metrics.QUEUE_OLDEST_AGE][labels] = g.oldest_age_seconds or 0.0
                if g.waiting is not None:  # unknown lag: no sample rather than a wrong one
                    values[metrics.QUEUE_LAG][labels] = g.waiting
                    values[metrics.QUEUE_DEPTH][labels] = g.depth
        for gauge, samples in values.items():
            self._publish(gauge, samples)
        metrics.QUEUE_FAILED.set(failed_length(self.client, self.prefix))

    def _publish(self, gauge: Gauge, samples: dict[tuple[str, ...], float]) -> None:
        """Set these label sets and remove the ones no longer there (a group destroyed)."""
        for labels, value in samples.items():
            gauge.labels(*labels).set(value)
        for gone in self._shown.get(gauge, set()) - samples.keys():
            gauge.remove(*gone)
        self._shown[gauge] = set(samples)
