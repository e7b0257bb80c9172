"""Sources: a file or the simulator (one ordered stream), Kafka (a partition per topic-partition),
and the per-worker waker.

Each input source decodes and validates as it reads (one typed pass) and emits invalid input
as dead letters with its position. A finite stream stamps every event with its watermark;
Kafka partitions send progress reports to every worker instead (see ``forewarn/engine/watermark.py``),
and each worker's waker wakes the customers whose deadlines its clock has passed.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec

from bytewax.inputs import DynamicSource, FixedPartitionedSource, StatefulSourcePartition, StatelessSourcePartition

from flows.items import END, EVENT, INVALID, PROGRESS, SHARE, WAKE
from forewarn.core import events as ev
from forewarn.core.timefmt import to_us
from forewarn.engine.watermark import NEVER, WorkerClocks
from sinks import metrics

log = logging.getLogger("forewarn.sources")

Line = tuple[str, bytes, int | None]  # (source position, raw bytes, arrival µs or None)


class TimeLimits:
    """``[engine] max_future_seconds`` and ``max_past_days``, applied as a source reads
    (see :func:`forewarn.core.events.vet_time`): a refused event never reaches a watermark."""

    __slots__ = ("future_us", "past_us")

    def __init__(self, max_future_seconds: float, max_past_days: float) -> None:
        self.future_us = int(max_future_seconds * 1_000_000)
        self.past_us = int(max_past_days * 86_400_000_000)

    def vet(self, event: ev.AnyEvent, raw: bytes, arrival_us: int | None, high_us: int) -> ev.AnyEvent | ev.Invalid:
        refused = ev.vet_time(event, raw, arrival_us, high_us, self.future_us, self.past_us)
        return event if refused is None else refused


def _count(counts: Counter) -> None:
    for (topic, typ), n in counts.items():
        metrics.EVENTS.labels(topic, typ).inc(n)


def _invalid(item: ev.Invalid, source: str, now: float) -> tuple:
    """The dead-letter item of a refused line (counted in ``forewarn_events_invalid_total``)."""
    metrics.INVALID.labels(item.reason).inc()
    return (INVALID, None, (item.raw, item.error, source, item.reason), now)


def _topic_and_type(item: ev.AnyEvent) -> tuple[str, str]:
    tag = item.__struct_config__.tag
    return ev.TOPIC_OF_TYPE[tag], tag


def share_of(customer_id: str, shares: int) -> int:
    """The partition of a multi-process backtest a customer belongs to: crc32, the same in every process."""
    return zlib.crc32(customer_id.encode()) % shares


class _LinesPartition(StatefulSourcePartition):
    """One ordered stream of JSON lines: watermark = largest event time so far, less the lateness.

    ``share`` ``(index, count)``: emit only the events of customers :func:`share_of` puts in
    partition ``index`` (as ``SHARE`` items), with the watermark moves of everyone else's as
    ticks; the first partition alone emits and counts the invalid lines.
    ``progress(n)`` after each batch: the lines of it this partition owns (all of them without a
    share; with shares, each line is owned by one: its customer's, an invalid one by the first),
    so the partitions of a backtest together report each line once.
    """

    def __init__(self, lines: Iterator[Line], lateness_us: int, key_of: Callable[[str], str],
                 batch_size: int, start: int, limits: TimeLimits, share: tuple[int, int] | None = None,
                 progress: Callable[[int], None] | None = None) -> None:
        self.lines = itertools.islice(lines, start, None)
        self.pos = start
        self.lateness_us = lateness_us
        self.key_of = key_of
        self.batch_size = batch_size
        self.limits = limits
        self.share = share
        self.progress = progress
        self.high = NEVER
        self.done = False

    def _decode(self, raw: bytes, arrival_us: int | None) -> ev.AnyEvent | ev.Invalid:
        item = ev.decode(raw)
        if isinstance(item, ev.Invalid):
            return item
        # A line without a recorded arrival is judged against the stream alone, never the wall
        # clock: a replay gives the same triggers whenever it runs (contract section 2).
        return self.limits.vet(item, raw, arrival_us, self.high)

    def next_batch(self) -> list[tuple]:
        if self.done:
            raise StopIteration
        if self.share is not None:
            return self._share_batch()
        out = []
        started = self.pos
        counts: Counter = Counter()
        now = time.time()
        for source, raw, arrival_us in itertools.islice(self.lines, self.batch_size):
            self.pos += 1
            item = self._decode(raw, arrival_us)
            if isinstance(item, ev.Invalid):
                out.append(_invalid(item, source, now))
                continue
            ts = item.ts_us
            if ts > self.high:
                self.high = ts
            counts[_topic_and_type(item)] += 1
            out.append((EVENT, self.key_of(item.customer_id), item, now, self.high - self.lateness_us))
        _count(counts)
        if self.progress is not None:
            self.progress(self.pos - started)
        if len(out) < self.batch_size and self.pos == self._exhausted_at():
            # End of input: the watermark moves to the last event time (contract section 2).
            out.append((END, self.key_of(""), None, now, self.high))
            self.done = True
        return out

    def _share_batch(self) -> list[tuple]:
        index, shares = self.share
        key = self.key_of("")
        out = []
        ticks: list[tuple[int, int]] = []
        counts: Counter = Counter()
        now = time.time()
        read = owned = 0
        wm = self.high - self.lateness_us
        for source, raw, arrival_us in itertools.islice(self.lines, self.batch_size):
            self.pos += 1
            read += 1
            item = self._decode(raw, arrival_us)  # every share refuses the same events
            if isinstance(item, ev.Invalid):
                if index == 0:
                    owned += 1
                    out.append(_invalid(item, source, now))
                continue
            ts = item.ts_us
            if ts > self.high:
                self.high = ts
            if share_of(item.customer_id, shares) == index:
                owned += 1
                counts[_topic_and_type(item)] += 1
                wm = self.high - self.lateness_us
                out.append((SHARE, key, (self.pos, item, ticks), now, wm))
                ticks = []
            elif self.high - self.lateness_us > wm:
                wm = self.high - self.lateness_us
                ticks.append((self.pos, wm))
        _count(counts)
        if self.progress is not None:
            self.progress(owned)
        if read < self.batch_size and self.pos == self._exhausted_at():
            out.append((END, key, (self.pos + 1, ticks), now, self.high))
            self.done = True
        elif ticks:
            out.append((SHARE, key, (self.pos, None, ticks), now, wm))
        return out

    def _exhausted_at(self) -> int:
        peek = next(self.lines, None)
        if peek is None:
            return self.pos
        self.lines = itertools.chain([peek], self.lines)
        return -1

    def snapshot(self) -> int:
        return self.pos


class LinesSource(FixedPartitionedSource):
    """A finite, ordered stream of ``(source position, raw bytes, arrival)``: a JSONL file or the
    simulator. ``arrival`` (µs) is when the line reached Kafka, if it was recorded; None: now."""

    def __init__(self, opener: Callable[[], Iterator[Line]], lateness_us: int,
                 key_of: Callable[[str], str], limits: TimeLimits, batch_size: int = 2000,
                 share: tuple[int, int] | None = None, progress: Callable[[int], None] | None = None) -> None:
        self.opener = opener
        self.progress = progress
        self.lateness_us = lateness_us
        self.key_of = key_of
        self.limits = limits
        self.batch_size = batch_size
        self.share = share

    def list_parts(self) -> list[str]:
        return ["stream"]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _LinesPartition:
        return _LinesPartition(self.opener(), self.lateness_us, self.key_of, self.batch_size, resume_state or 0,
                               self.limits, self.share, self.progress)


class _Recorded(msgspec.Struct):
    line: int
    timestamp: datetime


def recorded_arrivals(path: str) -> dict[int, int]:
    """Line number -> Kafka timestamp (µs) from the ``PATH.offsets`` sidecar ``forewarn record``
    writes beside its file; empty if there is none, or it does not describe this file."""
    side = Path(f"{path}.offsets")
    if not side.exists():
        return {}
    try:
        with open(side, "rb") as f:
            rows = [_sidecar.decode(line) for line in f if line.strip()]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.warning("%s is not a `forewarn record` sidecar (%s): event times are checked against the "
                    "wall clock", side, exc)
        return {}
    with open(path, "rb") as f:
        lines = sum(1 for _ in f)
    if len(rows) != lines:
        log.warning("%s describes %d lines but %s has %d: not using its Kafka timestamps", side, len(rows), path, lines)
        return {}
    return {r.line: to_us(r.timestamp) for r in rows}


_sidecar = msgspec.json.Decoder(_Recorded)


BOM = b"\xef\xbb\xbf"


def file_lines(path: str) -> Callable[[], Iterator[Line]]:
    """The lines of a JSONL file, each with its recorded Kafka timestamp when a sidecar has them."""

    def opener() -> Iterator[Line]:
        arrivals = recorded_arrivals(path)
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip(b"\r\n")
                if n == 1 and line.startswith(BOM):
                    line = line[len(BOM):]  # a file saved "UTF-8 with BOM" (PowerShell, Notepad) is UTF-8
                if line.strip():
                    yield f"{path}:{n}", line, arrivals.get(n)
    return opener


HELD_SECONDS = 2.0  # a partition not read for this long is held: its lag is asked of the broker
# A partition the broker says has more to read, from which librdkafka has delivered nothing for
# this long, gets a new consumer at its read position. After a broker restart librdkafka can
# leave an assign()ed partition unfetched for good (confluentinc/librdkafka#5153, open; seen
# here on 2.16.0: one message of one partition never read, the watermark held on it); a new
# consumer is what fixes it there too. Long enough for a first fetch on a loaded machine.
STUCK_SECONDS = 30.0


class _LogEnds:
    """The ends of the logs of held partitions, asked of the broker every few seconds by a
    thread of its own (with a consumer of its own), so a scrape never waits on the broker."""

    def __init__(self, conf: dict, interval: float = 2.0) -> None:
        self.conf = conf
        self.interval = interval
        self.held: set = set()  # TopicPartitions whose reader asked to be looked up
        self.ends: dict = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def get(self, tp, default: tuple[int, int]) -> tuple[int, int]:
        with self._lock:
            self.held.add(tp)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="forewarn-log-ends", daemon=True)
                self._thread.start()
        return self.ends.get(tp, default)

    def _run(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer(self.conf)
        while True:
            for tp in list(self.held):
                try:
                    self.ends[tp] = consumer.get_watermark_offsets(tp, timeout=1.0, cached=False)
                except Exception:  # the broker is away too: the gauge keeps the last answer
                    pass
            time.sleep(self.interval)


class _WorkerShares:
    """How many Kafka partitions each worker thread reads, so they share one batch per round.

    Bytewax calls every partition's ``next_batch`` once per round of the worker, then runs the
    steps downstream on what they returned. A worker with 16 partitions reading ``batch_size``
    each would take in 16 batches a round, far more than it processes in an epoch: a start
    with a backlog put tens of thousands of events into its first epoch, which then took tens
    of seconds to commit, and a crash in that time sent the next start back to its last commit
    (the beginning, for a first start). Sharing ``batch_size`` over the worker's partitions
    keeps a round, and so an epoch, to what the worker can process: epochs commit on time.
    """

    def __init__(self) -> None:
        self._parts: dict[int, int] = {}
        self._lock = threading.Lock()

    def join(self) -> None:
        with self._lock:
            me = threading.get_ident()
            self._parts[me] = self._parts.get(me, 0) + 1

    def share(self, batch_size: int) -> int:
        # A floor: below a hundred messages a call, the per-call cost of each consumer dominates.
        return max(100, batch_size // self._parts.get(threading.get_ident(), 1))


class _KafkaPartition(StatefulSourcePartition):
    """One Kafka topic-partition, read from a resume offset, reporting how far it has read.

    After each batch whose events moved the partition's event-time high (or that found it at
    the end of its log, or behind again) it sends a progress report to every worker, behind
    the events: the workers' clocks (``forewarn/engine/watermark.py``) take the smallest high of all
    partitions, so no worker runs ahead of an event another worker has read but not yet sent.
    """

    def __init__(self, conf: dict, topic: str, partition: int, resume: tuple[int, int],
                 clock_keys: list[str], batch_size: int, shares: _WorkerShares, ends: _LogEnds,
                 limits: TimeLimits, stop: threading.Event | None = None) -> None:
        from confluent_kafka import TopicPartition

        self.stop = stop
        self.topic = topic
        self.partition = partition
        self.part = f"{topic}/{partition}"
        self.offset, self.high = resume  # next offset to read, largest event time read so far
        self.conf = conf
        self.consumer = self._consumer()
        self.tp = TopicPartition(topic, partition)
        self.stuck_since: float | None = None  # since when the broker has had more and we got none
        self.clock_keys = clock_keys
        self.batch_size = batch_size
        self.limits = limits
        self.shares = shares
        self.ends = ends
        shares.join()  # built on the worker thread that will read it
        self.read_at = time.monotonic()
        self.empty_polls = 0  # in a row
        self.quiet_since: float | None = None
        self.reported: tuple[int, float | None] | None = None
        # Asked at each scrape, from the scrape's thread: a sink outage holds the worker, and
        # with it next_batch, while producers keep writing.
        metrics.CONSUMER_LAG.labels(topic, str(partition)).set_function(self._lag_now)
        self.errors = metrics.KAFKA_ERRORS.labels(topic)  # created at 0: no errors is data too

    def next_batch(self) -> list[tuple]:
        from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaError

        if self.stop is not None and self.stop.is_set():
            raise StopIteration  # a clean stop: Bytewax ends the flow as at the end of its input
        if time.monotonic() - self.read_at > HELD_SECONDS:
            self.stuck_since = None  # held downstream (an outage): not reading is not being stuck
        self.read_at = time.monotonic()
        msgs = self.consumer.consume(self.shares.share(self.batch_size), timeout=0.0)
        now = time.time()
        out: list[tuple] = []
        counts: Counter = Counter()
        high = self.high
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    self.errors.inc()
                    log.warning("kafka %s: %s", self.part, err)
                continue
            self.offset = msg.offset() + 1
            raw = msg.value() or b""
            item = ev.decode(raw)
            if not isinstance(item, ev.Invalid):
                ts_type, ts_ms = msg.timestamp()
                arrival = ts_ms * 1000 if ts_type != TIMESTAMP_NOT_AVAILABLE else int(now * 1_000_000)
                item = self.limits.vet(item, raw, arrival, high)
            if isinstance(item, ev.Invalid):
                out.append(_invalid(item, f"{self.topic}/{self.partition}/{msg.offset()}", now))
                continue
            ts = item.ts_us
            if ts > high:
                high = ts
            counts[(self.topic, item.__struct_config__.tag)] += 1
            out.append((EVENT, item.customer_id, item, now))
        self.high = high
        caught_up = self._caught_up()  # also updates the lag gauge
        if caught_up:
            # At the end of its log, even right after a batch: it has delivered all it had, so
            # it holds back no customer's events (the clock's frontier); idle counts from the
            # last event it read.
            if msgs or self.quiet_since is None:
                self.quiet_since = now
        else:
            self.quiet_since = None
        _count(counts)
        state = (high, self.quiet_since)
        if state != self.reported:
            self.reported = state
            report = (self.part, high, self.quiet_since)
            out.extend((PROGRESS, key, report, now) for key in self.clock_keys)
        self.empty_polls = 0 if msgs else self.empty_polls + 1
        self._unstick(bool(msgs) or caught_up)
        return out

    def _consumer(self):
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(self.conf)
        consumer.assign([TopicPartition(self.topic, self.partition, self.offset)])
        return consumer

    def _unstick(self, moving: bool) -> None:
        """A new consumer for a partition that has more to read and has delivered nothing for
        ``STUCK_SECONDS`` (nothing is lost: it starts at the next offset to read)."""
        now = time.monotonic()
        if moving or self._ends()[1] < 0:  # read, at the end, or nobody knows (the broker is away)
            self.stuck_since = None
        elif self.stuck_since is None:
            self.stuck_since = now
        elif now - self.stuck_since > STUCK_SECONDS:
            log.warning("kafka %s: nothing delivered for %.0f s at offset %d while the log ends at %d: "
                        "reconnecting this partition", self.part, now - self.stuck_since, self.offset,
                        self._ends()[1])
            self.consumer.close()
            self.consumer = self._consumer()
            self.stuck_since = None

    def _ends(self) -> tuple[int, int]:
        """The start and end of the partition's log as the last fetch told us, else as the
        broker says (asked off this thread); the end is -1 when nobody knows."""
        low, high = self.consumer.get_watermark_offsets(self.tp, cached=True)
        if high < 0:
            # No fetch has told us (yet, or again: after a broker restart librdkafka can leave
            # an idle partition's cached end unknown for good, and the partition, never found
            # at its end, held the watermark for minutes): ask the broker, off this thread.
            low, high = self.ends.get(self.tp, (low, high))
        return low, high

    def _caught_up(self) -> bool:
        """At the end of the partition's log, as far as we know."""
        low, high = self._ends()
        if high < 0:
            return False  # nobody knows: assume there is more to read
        return self._position(low, high) >= high

    def _position(self, low: int, high: int) -> int:
        from confluent_kafka import OFFSET_BEGINNING

        # Before the first message the position is logical (beginning or end of the log).
        return self.offset if self.offset >= 0 else (low if self.offset == OFFSET_BEGINNING else high)

    def _lag_now(self) -> float:
        """Messages between the read position and the broker's end of the log.

        While the worker reads, the end of the log as of its last fetch; when it has not read
        for a while (held by an outage downstream), the broker is asked.
        """
        try:
            low, high = self.consumer.get_watermark_offsets(self.tp, cached=True)
        except Exception:  # closed at the end of the run
            return math.nan
        if high < 0 or time.monotonic() - self.read_at > HELD_SECONDS:
            low, high = self.ends.get(self.tp, (low, high))
        return math.nan if high < 0 else max(0, high - self._position(low, high))

    def next_awake(self) -> datetime | None:
        # After an empty poll, back off 1, 2, 4 ... up to 50 ms instead of spinning: a partition
        # that had data a moment ago is polled again soon (the watermark waits for the slowest
        # partition), one that has been quiet for a while costs 20 polls a second.
        if not self.empty_polls:
            return None
        return datetime.now(timezone.utc) + timedelta(milliseconds=min(50, 2 ** (self.empty_polls - 1)))

    def snapshot(self) -> tuple[int, int]:
        # The high comes along so that after a restart the partition holds the watermark
        # where it was, instead of at "nothing read yet" until it reads again or goes idle.
        return self.offset, self.high

    def close(self) -> None:
        self.consumer.close()


class KafkaSource(FixedPartitionedSource):
    """The input topics, one Bytewax partition per topic-partition (listed once, at start)."""

    def __init__(self, conf: dict, parts: list[str], clock_keys: list[str], batch_size: int,
                 start_offset: int, limits: TimeLimits, stop: threading.Event | None = None) -> None:
        self.stop = stop  # set (by SIGTERM or Ctrl-C): every partition ends its input
        self.conf = conf
        self.limits = limits
        self.parts = parts
        self.clock_keys = clock_keys
        self.batch_size = batch_size
        self.start_offset = start_offset
        self.shares = _WorkerShares()
        self.ends = _LogEnds(conf)

    def list_parts(self) -> list[str]:
        return self.parts

    def build_part(self, step_id: str, for_part: str, resume_state: tuple[int, int] | None) -> _KafkaPartition:
        topic, partition = for_part.rsplit("/", 1)
        resume = resume_state if resume_state is not None else (self.start_offset, NEVER)
        return _KafkaPartition(self.conf, topic, int(partition), resume, self.clock_keys, self.batch_size,
                               self.shares, self.ends, self.limits, self.stop)


class KafkaErrors:
    """librdkafka's ``error_cb``: one log line per kind of error, then one a minute while it repeats.

    librdkafka retries a lost broker by itself and logs every attempt (a hundred lines in ten
    seconds of a broker that is down); with its own logging turned down to critical
    (:func:`quiet`) this is what an operator reads instead: what is wrong, and how often.
    """

    def __init__(self, every_s: float | None = 60.0) -> None:
        self.every_s = every_s  # None: log nothing, only keep the latest (the caller says it)
        self.seen: dict[int, list] = {}  # error code -> [last logged (monotonic), repeats since]
        self.last = ""  # the latest error's text, for a retry message

    def __call__(self, err) -> None:
        self.last = err.str()
        if self.every_s is None:
            return
        now = time.monotonic()
        seen = self.seen.get(err.code())
        if seen is None or now - seen[0] >= self.every_s:
            more = f" (and {seen[1]} more like it)" if seen and seen[1] else ""
            log.warning("kafka: %s%s", self.last, more)
            self.seen[err.code()] = [now, 0]
        else:
            seen[1] += 1


def quiet(conf: dict, errors: KafkaErrors | None = None) -> dict:
    """``conf`` with librdkafka's own log turned down to critical and its errors to ``errors``.

    A ``log_level`` in ``kafka.extra`` still wins (``"7"`` for librdkafka's debug log).
    """
    return {"log_level": 2, "logger": logging.getLogger("forewarn.kafka"),
            "error_cb": errors if errors is not None else KafkaErrors(), **conf}


def admin_client(conf: dict, errors: KafkaErrors):
    from confluent_kafka.admin import AdminClient

    return AdminClient(quiet({k: v for k, v in conf.items()
                              if k in ("bootstrap.servers", "log_level")
                              or k.startswith(("security", "sasl", "ssl"))}, errors))


def wait_for_metadata(conf: dict, stop: threading.Event | None = None, attempt_s: float = 3.0,
                      max_backoff_s: float = 30.0):
    """The cluster's metadata, waiting for the brokers as long as it takes: one line per retry.

    Retries back off 1, 2, 4 ... ``max_backoff_s`` seconds. Returns ``(admin client, metadata)``,
    or None when ``stop`` was set while waiting.
    """
    from confluent_kafka import KafkaException

    errors = KafkaErrors(every_s=None)  # the retry line below says it
    admin = admin_client(conf, errors)
    backoff, attempt = 1.0, 1
    while True:
        try:
            return admin, admin.list_topics(timeout=attempt_s)
        except KafkaException as exc:
            admin.poll(0)  # serve the error callback: it knows the cause (refused, unknown host...)
            cause = error_cause(errors.last or exc.args[0].str())
            errors.last = ""
            if stop is not None and stop.is_set():
                return None
            log.warning("kafka: cannot reach %s (%s); retry %d in %g s",
                        conf["bootstrap.servers"], cause, attempt, backoff)
        if stop is None:
            time.sleep(backoff)
        elif stop.wait(backoff):
            return None
        backoff, attempt = min(max_backoff_s, backoff * 2), attempt + 1


def error_cause(text: str) -> str:
    """The reason in librdkafka's message: ``h:9/bootstrap: Connect to ipv4#h:9 failed: Connection
    refused (after 0ms in state CONNECT)`` -> ``Connection refused``."""
    text = re.sub(r" \(after \d+ms in state \w+\)$", "", text)
    return text.rsplit(": ", 1)[-1]


def list_partitions(conf: dict, topics: list[str], stop: threading.Event | None = None) -> list[str] | None:
    """``topic/partition`` for every partition of the input topics, creating missing topics.

    Waits for the brokers (:func:`wait_for_metadata`); None if ``stop`` was set meanwhile.
    """
    found = wait_for_metadata(conf, stop)
    if found is None:
        return None
    admin, meta = found
    missing = [t for t in topics if t not in meta.topics or meta.topics[t].error is not None]
    if missing:
        _create_topics(admin, missing)
        meta = admin.list_topics(timeout=10)
    parts = []
    for topic in topics:
        tmeta = meta.topics.get(topic)
        if tmeta is None or tmeta.error is not None:
            log.warning("topic %r not found on %s and could not be created; not reading it "
                        "(create it and restart)", topic, conf["bootstrap.servers"])
            continue
        parts.extend(f"{topic}/{p}" for p in sorted(tmeta.partitions))
    if not parts:
        raise RuntimeError(f"none of the topics {topics} exist on {conf['bootstrap.servers']}; "
                           "produce some events first (forewarn simulate --to kafka) or fix kafka.topics")
    return parts


class _WakerPartition(StatelessSourcePartition):
    """Wakes this worker's customers whose due time its clock has passed."""

    def __init__(self, workers: WorkerClocks, interval: timedelta, stop: threading.Event | None) -> None:
        self.workers = workers
        self.interval = interval
        self.stop = stop

    def next_batch(self) -> list[tuple]:
        if self.stop is not None and self.stop.is_set():
            raise StopIteration
        wt = self.workers.current()
        now = time.time()
        # Customers whose events wait only for the frontier (apply_on_arrival), then those due on the watermark.
        out = [(WAKE, key, None, now) for key in wt.arrivals.pop_due(wt.clock.frontier() + 1)]
        wm = wt.clock.watermark()
        if wm == NEVER:
            return out
        metrics.set_watermark(wm / 1e6)
        out.extend((WAKE, key, None, now) for key in wt.timers.pop_due(wm))
        return out

    def next_awake(self) -> datetime:
        return datetime.now(timezone.utc) + self.interval


class WakerSource(DynamicSource):
    """One waker per worker: every ``interval`` it wakes the customers that are due.

    On every worker, whether or not it reads any Kafka partition, because the customers a
    worker owns are woken only from that worker's own timer index.
    """

    def __init__(self, workers: WorkerClocks, interval: timedelta = timedelta(milliseconds=10),
                 stop: threading.Event | None = None) -> None:
        self.workers = workers
        self.interval = interval
        self.stop = stop

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _WakerPartition:
        return _WakerPartition(self.workers, self.interval, self.stop)


def _create_topics(admin, topics: list[str]) -> None:
    """Create missing input topics with the broker's default partitioning, as a fresh install expects."""
    from confluent_kafka.admin import NewTopic

    futures = admin.create_topics([NewTopic(t) for t in topics])
    for topic, fut in futures.items():
        try:
            fut.result(timeout=10)
            log.info("created topic %r", topic)
        except Exception as exc:  # already created by someone else, or not allowed: both leave a warning
            log.warning("could not create topic %r: %s", topic, exc)
