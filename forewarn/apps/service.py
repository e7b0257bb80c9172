"""``forewarn run`` as a service: what it says at start, while it runs, and how it stops.

* :func:`banner` — the lines an operator reads first: version, config file, Kafka address and
  topics, Redis, metrics address, workers, recovery;
* :class:`ProgressLog` — every ``--progress-seconds`` one line: events/s, watermark and its
  lag, Kafka lag, triggers; read from the process's own Prometheus metrics, so the line and
  the dashboards never disagree;
* :class:`Stopper` — SIGTERM and Ctrl-C set an event the sources watch: they end their input
  and Bytewax finishes the flow the way it finishes a file, so the run exits 0 with its last
  epoch closed. A second signal stops at once (``KeyboardInterrupt``).

>>> from forewarn.engine.config import Config
>>> print(banner(Config(), None, workers=1))  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
forewarn 0... (python 3..., bytewax ...)
  config    defaults (no --config and no ./forewarn.toml)
  kafka     127.0.0.1:9092, group forewarn, topics orders, payments, ...
  redis     redis://127.0.0.1:6379/0
  metrics   http://127.0.0.1:9108/metrics
  workers   1 in this process
  recovery  off: a restart reads the topics from the start ([recovery] directory)
"""

from __future__ import annotations

import logging
import platform
import signal
import threading
import time
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from typing import TYPE_CHECKING

from forewarn.core import __version__

if TYPE_CHECKING:  # importing the config pulls in every detector: the stopper comes first
    from forewarn.engine.config import Config

log = logging.getLogger("forewarn")


def versions() -> dict[str, str]:
    """forewarn's, Python's and Bytewax's versions (without importing Bytewax)."""
    try:
        bytewax = metadata.version("bytewax")
    except metadata.PackageNotFoundError:
        bytewax = "not installed"
    return {"version": __version__, "python": platform.python_version(), "bytewax": bytewax}


def version_line() -> str:
    v = versions()
    return f"forewarn {v['version']} (python {v['python']}, bytewax {v['bytewax']})"


def redact(url: str) -> str:
    """A connection URL without its password: ``redis://:secret@h:6379/0`` -> ``redis://:***@h:6379/0``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def config_source(path: str | None) -> str:
    if path:
        return str(Path(path).resolve())
    if Path("forewarn.toml").exists():
        return str(Path("forewarn.toml").resolve())
    return "defaults (no --config and no ./forewarn.toml)"


def banner(config: Config, config_path: str | None, workers: int, process_id: int | None = None,
           addresses: list[str] | None = None) -> str:
    """The start-up lines of ``forewarn run``."""
    k, r, m, rec = config.kafka, config.redis, config.metrics, config.recovery
    redis = redact(r.url) + (f", prefix {r.prefix!r}" if r.prefix else "")
    metrics = f"http://{m.host}:{m.port}/metrics" if m.port else "off ([metrics] port = 0)"
    where = f"in process {process_id} of {len(addresses)}" if addresses and process_id is not None else "in this process"
    if rec.directory:
        recovery = (f"{Path(rec.directory).resolve()} ({rec.partitions} partition(s), "
                    f"snapshot every {rec.snapshot_interval_seconds:g} s)")
    else:
        recovery = "off: a restart reads the topics from the start ([recovery] directory)"
    rows = [("config", config_source(config_path)),
            ("kafka", f"{k.bootstrap}, group {k.group_id}, topics {', '.join(k.topics)}"),
            ("redis", redis), ("metrics", metrics), ("workers", f"{workers} {where}"), ("recovery", recovery)]
    return "\n".join([version_line()] + [f"  {name:<9} {value}" for name, value in rows])


def publish_build_info() -> None:
    """``forewarn_build_info{version,python,bytewax} 1``, the usual Prometheus build-info gauge."""
    from sinks import metrics

    v = versions()
    metrics.BUILD_INFO.labels(v["version"], v["python"], v["bytewax"]).set(1)


def _sum(metric) -> float:
    """Sum of a metric's samples over its label sets (counters: the ``_total`` samples)."""
    total = 0.0
    for family in metric.collect():
        for s in family.samples:
            total += s.value
    return total


class ProgressLog(threading.Thread):
    """One line every ``every_s`` seconds: what the engine has done since the last one."""

    def __init__(self, every_s: float, stop: threading.Event) -> None:
        super().__init__(name="forewarn-progress", daemon=True)
        self.every_s = every_s
        self.stop = stop

    def run(self) -> None:
        from sinks import metrics

        last_events, last_at = _sum(metrics.EVENTS), time.monotonic()
        while not self.stop.wait(self.every_s):
            events, now = _sum(metrics.EVENTS), time.monotonic()
            log.info("%s", self.line(events - last_events, now - last_at))
            last_events, last_at = events, now

    @staticmethod
    def line(new_events: float, seconds: float) -> str:
        from forewarn.core.timefmt import format_us
        from sinks import metrics

        wm = _sum(metrics.WATERMARK)
        watermark = (f"watermark {format_us(int(wm * 1e6))} ({_sum(metrics.WATERMARK_LAG):.1f} s behind)"
                     if wm else "watermark not started (no event read yet)")
        return (f"progress: {_sum(metrics.EVENTS):,.0f} events ({new_events / seconds if seconds else 0:,.1f}/s), "
                f"{_sum(metrics.INVALID):,.0f} invalid, {watermark}, kafka lag {_sum(metrics.CONSUMER_LAG):,.0f} "
                f"messages, {_sum(metrics.TRIGGERS):,.0f} triggers")


class Stopper:
    """SIGTERM / SIGINT: the first sets :attr:`event` (a clean stop), a second raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt  # asked twice: do not wait for the flow any longer
        self.event.set()
        log.info("%s: stopping (the sources end their input, the last epoch closes); "
                 "signal again to stop at once", signal.Signals(signum).name)
