"""Retry an I/O call with capped exponential backoff, forever: an outage holds the pipeline, it never drops work.

What waiting cannot heal is a :class:`Fatal` error (Redis wiped, credentials refused): not
retried, it stops the engine with its own exit code and one line saying what to do.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sinks import metrics

T = TypeVar("T")
log = logging.getLogger("forewarn.sinks")


class Fatal(RuntimeError):
    """A sink error that no retry heals; the message says what happened and what to do, and
    ``forewarn run`` exits with ``exit_code`` (docs/reliability.md, "Exit codes of forewarn run")."""

    exit_code = 1


def with_backoff(name: str, call: Callable[[], T], transient: tuple[type[BaseException], ...],
                 max_delay: float = 30.0, sleep: Callable[[float], None] = time.sleep) -> T:
    delay = 0.1
    failures = 0
    metrics.SINK_RETRIES.labels(name)  # a sink that never failed shows 0, not "no data"
    while True:
        try:
            result = call()
        except transient as exc:
            failures += 1
            metrics.SINK_RETRIES.labels(name).inc()
            metrics.SINK_UP.labels(name).set(0)
            log.warning("%s unavailable (%s); retry %d in %.1fs, holding position, nothing dropped",
                        name, exc, failures, delay)
            sleep(delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, max_delay)
            continue
        if failures:
            log.warning("%s back after %d retries", name, failures)
        metrics.SINK_UP.labels(name).set(1)
        return result
