"""Bytewax sinks around the plain writers in ``sinks/``: Redis queues, dead letters, JSONL, console."""

from __future__ import annotations

import logging
import os
import pickle
import sys
import time
from collections.abc import Callable

from bytewax.outputs import DynamicSink, StatelessSinkPartition

from forewarn.core.timefmt import format_us, now_us
from forewarn.core.trigger import Trigger, encode
from outreach.step import moved_by_compliance
from sinks import metrics
from sinks.retry import Fatal

log = logging.getLogger("forewarn")


def stamp(routed: list[tuple[Trigger, int | None, float]]) -> list[Trigger]:
    """Set ``emitted_at`` on a batch about to be written."""
    emitted = format_us(now_us())
    out = []
    for trig, _source_ts, _ingest in routed:
        trig.emitted_at = emitted
        out.append(trig)
    return out


def measure(written: list[tuple[Trigger, int | None, float]]) -> None:
    """Record the emit metrics for triggers just written (not for re-emitted duplicates)."""
    now = now_us()
    wall = time.time()
    for trig, source_ts, ingest in written:
        kind = trig.kind
        child = metrics.child
        child(metrics.TRIGGERS, kind, trig.route, trig.priority).inc()
        for reason in trig.reasons:
            child(metrics.TRIGGER_REASONS, kind, reason["code"]).inc()
        if not trig.outreach.get("allowed", False):
            child(metrics.OUTREACH_SUPPRESSED, kind).inc()
        for draft in trig.drafts:
            child(metrics.DRAFTS, kind, draft["channel"]).inc()
        for finding in trig.compliance.get("findings", ()):
            child(metrics.COMPLIANCE_FINDINGS, finding["code"], finding["severity"]).inc()
        if moved_by_compliance(trig.evidence):
            child(metrics.DRAFTS_BLOCKED, kind).inc()
        value = float(trig.evidence.get("value_at_risk", 0.0))
        if value:
            child(metrics.VALUE_AT_RISK, kind, trig.evidence.get("currency", "unknown")).inc(value)
        if source_ts is not None:
            child(metrics.EVENT_TO_QUEUE, kind).observe(max(0.0, (now - source_ts) / 1e6))
        child(metrics.INGEST_TO_QUEUE, kind).observe(max(0.0, wall - ingest))
        if kind == "support_message":
            triage = trig.evidence.get("triage", {})
            child(metrics.TRIAGE_MESSAGES, trig.route).inc()
            if triage.get("linked"):
                metrics.TRIAGE_LINKED.inc()
            for flag in triage.get("flags", ()):
                child(metrics.TRIAGE_FLAGS, flag).inc()


class _CallPartition(StatelessSinkPartition):
    def __init__(self, write: Callable[[list], None], close: Callable[[], None] = lambda: None) -> None:
        self._write = write
        self._close = close

    def write_batch(self, items: list) -> None:
        if items:
            self._write(items)

    def close(self) -> None:
        self._close()


class _FailFast(_CallPartition):
    """A live sink: when a write fails, one line and the process ends, committing nothing more.

    Raising into Bytewax would panic its worker and print a Rust panic and backtrace before
    our message, and there is no clean way out that is safe: ending the input as SIGTERM does
    (flows.modes.run) lets Bytewax close the epoch, which would commit the Kafka positions of
    the batch that was never written. So the process exits at once, as a crash does (the
    tests kill -9 the engine on purpose): the next start resumes from the last committed
    epoch and writes the batch again, once. A :class:`sinks.retry.Fatal` error gets its own
    exit code and says what to do; anything else is a bug: its traceback, exit 1.
    """

    def __init__(self, name: str, write: Callable[[list], None]) -> None:
        super().__init__(write)
        self.name = name

    def write_batch(self, items: list) -> None:
        try:
            super().write_batch(items)
        except Fatal as exc:
            _exit(f"forewarn: {exc}", exc.exit_code)
        except Exception as exc:  # noqa: BLE001 - the process ends here; say what broke
            log.error("the %s sink failed", self.name, exc_info=True)
            _exit(f"forewarn: the {self.name} sink failed ({type(exc).__name__}: {exc}); nothing it did not "
                  "write is committed, the next start resumes from the last snapshot; the traceback is above", 1)


def _exit(line: str, code: int) -> None:
    print(line, file=sys.stderr, flush=True)
    logging.shutdown()
    os._exit(code)


class RedisTriggerSink(DynamicSink):
    def __init__(self, make_writer: Callable) -> None:
        self.make_writer = make_writer

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _CallPartition:
        writer = self.make_writer()

        def write(items: list) -> None:
            fresh = writer.write(stamp(items))
            measure([item for item, new in zip(items, fresh) if new])
            dupes = len(fresh) - sum(fresh)
            if dupes:
                metrics.TRIGGERS_DEDUPED.inc(dupes)

        return _FailFast("redis_queue", write)


class RedisDeadLetterSink(DynamicSink):
    def __init__(self, make_writer: Callable) -> None:
        self.make_writer = make_writer

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _CallPartition:
        writer = self.make_writer()

        def write(items: list) -> None:
            writer.write(items)
            metrics.DEADLETTERS.inc(len(items))

        return _FailFast("redis_deadletter", write)


class JsonlSink(DynamicSink):
    """One trigger (or dead letter) JSON per line, in the order the single backtest shard emits them."""

    def __init__(self, path: str, encode_item: Callable[[object], bytes]) -> None:
        self.path = path
        self.encode_item = encode_item

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _CallPartition:
        f = open(self.path, "wb") if self.path != "-" else sys.stdout.buffer

        def write(items: list) -> None:
            f.write(b"".join(self.encode_item(i) + b"\n" for i in items))

        def close() -> None:
            f.flush()
            if f is not sys.stdout.buffer:
                f.close()

        return _CallPartition(write, close)


class OrderedSink(DynamicSink):
    """One backtest partition's triggers, as pickled batches of ``(order, trigger JSON line)``
    for the merge into the one-shard order (``forewarn.apps.parallel``)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _CallPartition:
        f = open(self.path, "wb")

        def write(items: list) -> None:
            pickle.dump([(order, trigger_line((trig, source_ts, ingest))) for trig, source_ts, ingest, order in items],
                        f, protocol=5)

        return _CallPartition(write, f.close)


def read_ordered(path: str):
    """The ``(order, line)`` records an :class:`OrderedSink` wrote, in order."""
    with open(path, "rb") as f:
        while True:
            try:
                batch = pickle.load(f)
            except EOFError:
                return
            yield from batch


def trigger_line(item: tuple[Trigger, int | None, float]) -> bytes:
    [trig] = stamp([item])
    measure([item])
    return encode(trig)


class CallbackSink(DynamicSink):
    """Hands each batch to a function (the demo's live display, tests)."""

    def __init__(self, fn: Callable[[list], None]) -> None:
        self.fn = fn

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _CallPartition:
        return _CallPartition(self.fn)
