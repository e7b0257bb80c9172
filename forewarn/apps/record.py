"""``forewarn record``: a time range of the live Kafka topics to a JSONL file a backtest runs on.

What is recorded: every message of the topics whose Kafka timestamp lies in ``[from, to]``
(Kafka's time index, as ``offsets_for_times`` reads it: for a live feed the time each event
was written to Kafka, seconds after it happened). Per partition, reading starts at the
first offset at or after ``from`` and stops before the first offset after ``to`` — or at
the end of the log as it was when recording started, when ``to`` is later or not given.

What is written:

* ``F`` — each message's value, byte for byte, one per line, in **event-time order** (the
  ``ts`` field; a message without a readable ``ts`` sorts by its Kafka timestamp). Malformed
  messages are kept, so a backtest sends them to the dead letters as the live engine did. A
  value with line breaks is the one change: valid JSON is re-encoded on one line, anything
  else has its line breaks replaced by spaces. Empty values (tombstones) are skipped.
* ``F.offsets`` — a sidecar, line *n* describing line *n* of ``F``:
  ``{"line": n, "topic": ..., "partition": ..., "offset": ..., "timestamp": "<Kafka time>"}``,
  so a backtest's dead letter (``F:n``) or a surprising trigger leads back to the message.
  The event file itself stays exactly the input format, with nothing added. ``forewarn
  backtest --input F`` reads the sidecar when it is there: each line's Kafka ``timestamp``
  is its arrival, so ``[engine] max_future_seconds`` refuses the same events the live
  engine refused (without the sidecar a backtest compares with the wall clock).

The whole range is held in memory to sort it (about the size of the output file).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from forewarn.apps import progress as bars
from forewarn.core.timefmt import format_us, to_us

STALL_SECONDS = 30.0  # no message for this long while partitions remain: the broker is gone


class _Stamp(msgspec.Struct):
    ts: datetime


_stamp = msgspec.json.Decoder(_Stamp)


def _event_time(raw: bytes, kafka_ms: int) -> int:
    try:
        return to_us(_stamp.decode(raw).ts)
    except (msgspec.DecodeError, TypeError, ValueError, OverflowError):
        return kafka_ms * 1000


def _one_line(raw: bytes) -> bytes:
    if b"\n" not in raw and b"\r" not in raw:
        return raw
    try:
        return msgspec.json.encode(msgspec.json.decode(raw))
    except msgspec.DecodeError:
        return raw.replace(b"\r", b" ").replace(b"\n", b" ")


class Summary(msgspec.Struct):
    messages: int
    skipped_empty: int
    rejoined_lines: int
    partitions: dict[str, list[int]]  # "topic/partition" -> [first offset, offset after the last]


def record(conf: dict[str, Any], topics: list[str], start_us: int, end_us: int | None, output: str | Path,
           progress: Callable[[str], None] = lambda line: None, show_progress: bool | None = None) -> Summary:
    """Record ``topics`` between ``start_us`` and ``end_us`` (None: the end of the log) to ``output``.

    conf: librdkafka settings (at least ``bootstrap.servers``); nothing is committed.
    progress: takes a line as the range is known and one at the end. Between them a bar of
    the messages read, with rate and ETA, on a terminal (``show_progress`` None; see
    :mod:`forewarn.apps.progress`).
    """
    from confluent_kafka import KafkaException

    try:
        return _record(conf, topics, start_us, end_us, output, progress, show_progress)
    except KafkaException as exc:
        raise RuntimeError(f"kafka at {conf['bootstrap.servers']}: {exc}; is the broker up and reachable?") from None


def _record(conf: dict[str, Any], topics: list[str], start_us: int, end_us: int | None, output: str | Path,
            progress: Callable[[str], None], show_progress: bool | None) -> Summary:
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    consumer = Consumer({**conf, "group.id": conf.get("group.id", "forewarn-record"), "enable.auto.commit": False,
                         "enable.partition.eof": True})
    stack = ExitStack()
    try:
        meta = consumer.list_topics(timeout=10)
        missing = [t for t in topics if t not in meta.topics or meta.topics[t].error is not None]
        if missing:
            raise ValueError(f"topic(s) {missing} not found on {conf['bootstrap.servers']}; "
                             f"pass --topics with the topics that exist ({sorted(meta.topics)[:20]})")
        tps = [TopicPartition(t, p) for t in topics for p in sorted(meta.topics[t].partitions)]
        firsts = consumer.offsets_for_times([TopicPartition(tp.topic, tp.partition, start_us // 1000) for tp in tps],
                                            timeout=10)
        stops = (consumer.offsets_for_times([TopicPartition(tp.topic, tp.partition, end_us // 1000 + 1) for tp in tps],
                                            timeout=10) if end_us is not None else [None] * len(tps))
        ranges: dict[tuple[str, int], list[int]] = {}
        for first, stop in zip(firsts, stops):
            high = consumer.get_watermark_offsets(TopicPartition(first.topic, first.partition), timeout=10)[1]
            end = stop.offset if stop is not None and stop.offset >= 0 else high
            if 0 <= first.offset < end:
                ranges[(first.topic, first.partition)] = [first.offset, end]
        total = sum(b - a for a, b in ranges.values())
        progress(f"{len(ranges)} of {len(tps)} partitions have messages in the range, at most {total:,} messages")
        consumer.assign([TopicPartition(t, p, a) for (t, p), (a, _b) in ranges.items()])
        rows: list[tuple[int, int, str, int, int, bytes]] = []
        open_parts = set(ranges)
        skipped = read = 0
        started = last_msg = time.monotonic()
        lo_ms, hi_ms = start_us // 1000, (end_us // 1000 if end_us is not None else None)
        bar = stack.enter_context(bars.bar(total, "record", "message", enabled=show_progress))
        while open_parts:
            batch = consumer.consume(1000, timeout=0.5)
            now = time.monotonic()
            if not batch and now - last_msg > STALL_SECONDS:
                raise RuntimeError(f"no message from {conf['bootstrap.servers']} for {STALL_SECONDS:.0f} s with "
                                   f"{len(open_parts)} partition(s) unfinished; is the broker up?")
            for msg in batch:
                last_msg = now
                key = (msg.topic(), msg.partition())
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        open_parts.discard(key)
                        continue
                    raise RuntimeError(f"kafka {key[0]}/{key[1]}: {err}")
                if key not in open_parts:
                    continue
                if msg.offset() >= ranges[key][1]:
                    open_parts.discard(key)
                    continue
                if msg.offset() == ranges[key][1] - 1:
                    open_parts.discard(key)
                read += 1
                _type, ts_ms = msg.timestamp()
                if ts_ms < lo_ms or (hi_ms is not None and ts_ms > hi_ms):
                    continue  # out of order in Kafka time: outside the range after all
                raw = msg.value()
                if not raw:
                    skipped += 1
                    continue
                rows.append((_event_time(raw, ts_ms), ts_ms, key[0], key[1], msg.offset(), raw))
            bar.update(read - bar.n)
    finally:
        stack.close()  # the bar first: the line below starts on a line of its own
        consumer.close()
    rows.sort(key=lambda r: r[:5])
    rejoined = 0
    with open(output, "wb") as out, open(f"{output}.offsets", "wb") as side:
        for n, (_ts, ts_ms, topic, part, offset, raw) in enumerate(rows, 1):
            line = _one_line(raw)
            rejoined += line is not raw
            out.write(line + b"\n")
            side.write(msgspec.json.encode({"line": n, "topic": topic, "partition": part, "offset": offset,
                                            "timestamp": format_us(ts_ms * 1000)}) + b"\n")
    progress(f"{len(rows):,} messages in {time.monotonic() - started:.1f} s -> {output} (+ {output}.offsets)")
    return Summary(len(rows), skipped, rejoined, {f"{t}/{p}": r for (t, p), r in sorted(ranges.items())})
