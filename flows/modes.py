"""The three ways to run the dataflow: ``run`` (Kafka to Redis), ``backtest`` (file to file), ``demo``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path

from bytewax.errors import BytewaxRuntimeError
from bytewax.outputs import Sink
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.run import cli_main
from bytewax.testing import run_main

from flows import dataflow
from flows.outputs import CallbackSink, JsonlSink, OrderedSink, RedisDeadLetterSink, RedisTriggerSink, trigger_line
from flows.broadcast import clock_keys
from flows.sources import KafkaSource, Line, LinesSource, TimeLimits, WakerSource, file_lines, list_partitions, quiet
from forewarn.engine.config import Config
from forewarn.engine.engine import Engine
from forewarn.core.timefmt import format_us
from forewarn.engine.watermark import WorkerClocks
from online_models.base import Observation
from sinks.deadletter import DeadLetterWriter
from sinks.redis_queue import TRANSIENT, QueueWriter, claim_marker, connect
from sinks.retry import with_backoff

log = logging.getLogger("forewarn")

# A finite replay is one ordered stream, so it is one shard: deadlines then fire in
# event-time order interleaved with the events, the same way on every machine.
ONE_SHARD = "all"


def _one_shard(_customer_id: str) -> str:
    return ONE_SHARD


def _lateness_us(config: Config) -> int:
    return int(config.engine.allowed_lateness_seconds * 1_000_000)


def _time_limits(config: Config) -> TimeLimits:
    return TimeLimits(config.engine.max_future_seconds, config.engine.max_past_days)


def _deadletter_line(letter: tuple[bytes, str, str, str]) -> bytes:
    import msgspec

    raw, error, source, reason = letter
    return msgspec.json.encode({"raw": raw.decode("utf-8", "replace"), "error": error, "source": source, "reason": reason})


def _score_line(obs: Observation) -> bytes:
    """One online-model evaluation as a JSON line (``forewarn backtest --scores``)."""
    import msgspec

    row = {"kind": obs.kind, "customer_id": obs.customer_id, "subject": obs.subject, "order_id": obs.order_id,
           "at": format_us(obs.at_us), "score": round(obs.score, 6), "fired": obs.fired}
    for k, v in (obs.extra or {}).items():
        row[k] = round(v, 6) if isinstance(v, float) else v
    return msgspec.json.encode(row)


def replay(config: Config, lines: Callable[[], Iterator[Line]], triggers: Sink,
           deadletters: Sink | None, scores: Sink | None = None, progress: Callable[[int], None] | None = None) -> None:
    """Run the dataflow over a finite ordered stream, in this thread, to the end; ``progress(n)``
    as each batch of ``n`` lines is read."""
    source = LinesSource(lines, _lateness_us(config), _one_shard, _time_limits(config), progress=progress)
    flow = dataflow.build(config, source, triggers, deadletters, scores=scores, persist=False)  # nothing to resume
    run_main(flow, epoch_interval=timedelta(seconds=3600))


def backtest(config: Config, input_path: str, output_path: str, deadletter_path: str | None = None,
             scores_path: str | None = None, progress: Callable[[int], None] | None = None) -> None:
    """Replay a file; triggers (and dead letters, and every model evaluation) to JSONL files;
    ``progress(n)`` as each batch of ``n`` lines is read."""
    if not Path(input_path).exists():
        raise FileNotFoundError(f"input file {input_path} not found")
    for path in (output_path, deadletter_path):
        if path and path != "-":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    replay(config, file_lines(input_path), JsonlSink(output_path, trigger_line),
           JsonlSink(deadletter_path, _deadletter_line) if deadletter_path else None,
           JsonlSink(scores_path, _score_line) if scores_path else None, progress)


def backtest_share(config: Config, input_path: str, share: tuple[int, int], triggers_path: str,
                   deadletter_path: str | None = None, scores_path: str | None = None,
                   progress: Callable[[int], None] | None = None) -> None:
    """One partition of ``forewarn backtest --workers N`` (see :mod:`forewarn.apps.parallel`).

    ``share`` ``(index, count)``: only the customers :func:`flows.sources.share_of` puts in
    ``index``; triggers go to ``triggers_path`` as pickled batches of ``(order, line)``, in
    ``order``; dead letters (``index`` 0 only) and model evaluations as ``backtest`` writes them.
    ``progress(n)``: as each batch is read, the lines of it this share owns (each line is one share's).
    """
    source = LinesSource(file_lines(input_path), _lateness_us(config), _one_shard, _time_limits(config), share=share,
                         progress=progress)
    flow = dataflow.build(config, source, OrderedSink(triggers_path),
                          JsonlSink(deadletter_path, _deadletter_line) if deadletter_path and share[0] == 0 else None,
                          scores=JsonlSink(scores_path, _score_line) if scores_path else None, persist=False,
                          ordered=True)
    run_main(flow, epoch_interval=timedelta(seconds=3600))


def demo(config: Config, lines: Callable[[], Iterator[Line]], show: Callable[[list], None]) -> None:
    replay(config, lines, CallbackSink(show), None)


def kafka_conf(config: Config) -> dict:
    return quiet({
        "bootstrap.servers": config.kafka.bootstrap,
        "group.id": config.kafka.group_id,
        "enable.auto.commit": False,  # positions live in Bytewax's recovery snapshots
        "enable.partition.eof": False,
        "auto.offset.reset": "earliest",
        # librdkafka prefetches up to 64 MB per consumer by default, one consumer per partition:
        # while a sink outage holds the worker, that grew the process by about 0.85 MB/s up to
        # a GB. 2 MB each still holds several rounds of kafka.batch_size.
        "queued.max.messages.kbytes": 2048,
        **config.kafka.extra,
    })


def build_live(config: Config, worker_count: int = 1, engine: Engine | None = None, marker: str | None = None,
               stop: threading.Event | None = None):
    """The live dataflow: Kafka in, Redis queues and dead letters out, one key per customer.

    ``worker_count`` is the number of Bytewax workers in the whole cluster (all processes):
    every partition reports its progress to each of them. ``engine``, ``stop``: see :func:`run`.
    ``marker``: the token Redis must hold for the queue writers to write (:func:`sinks.redis_queue.claim_marker`).
    None if ``stop`` was set while waiting for Kafka.
    """
    from confluent_kafka import OFFSET_BEGINNING

    conf = kafka_conf(config)
    parts = list_partitions(conf, list(config.kafka.topics), stop)
    if parts is None:
        return None
    workers = WorkerClocks(_lateness_us(config), config.engine.idle_timeout_seconds, parts)
    source = KafkaSource(conf, parts, clock_keys(worker_count), config.kafka.batch_size, OFFSET_BEGINNING,
                         _time_limits(config), stop)
    r = config.redis
    triggers = RedisTriggerSink(lambda: QueueWriter(r.url, r.prefix, r.dedupe_ttl_days, r.retry_max_seconds, marker))
    letters = RedisDeadLetterSink(lambda: DeadLetterWriter(r.url, r.prefix, r.dedupe_ttl_days, r.retry_max_seconds,
                                                           r.deadletter_max_entries, r.deadletter_retain_days,
                                                           r.deadletter_raw_max_bytes))
    models = str(Path(config.recovery.directory) / "models") if config.recovery.directory else None
    return dataflow.build(config, source, triggers, letters, workers=workers, waker=WakerSource(workers, stop=stop),
                          engine=engine, checkpoint_dir=models, persist=bool(config.recovery.directory))


def run(config: Config, workers: int = 1, process_id: int | None = None, addresses: list[str] | None = None,
        engine: Engine | None = None, accept_empty_redis: bool = False, stop: threading.Event | None = None) -> None:
    """Run until ``stop`` is set (or for ever).

    ``engine``: pass one to change its thresholds while the flow runs (``forewarn.engine.liveconfig``).
    ``stop``: set it (on SIGTERM, Ctrl-C) to end the run cleanly: every source ends its input,
    Bytewax closes the last epoch (with recovery, its snapshot) and returns, as at the end of a
    finite input. (An exception raised into Bytewax instead — a KeyboardInterrupt from a signal
    handler — panics its worker and prints a Rust backtrace.)

    Raises :class:`sinks.redis_queue.RedisLostData` when Redis was wiped before the start
    (``accept_empty_redis``: the operator accepts an empty Redis). While it runs, a sink that
    cannot write ends the process at once with one line and its exit code (3 Redis wiped, 4
    credentials refused, 1 anything else; :class:`flows.outputs._FailFast`): nothing after the
    last committed epoch is committed, and the next start resumes from it.
    """
    r = config.redis
    client = connect(r.url)
    marker = with_backoff("redis_queue", lambda: claim_marker(client, r.prefix, config.recovery.directory or None,
                                                                 accept_empty_redis), TRANSIENT, r.retry_max_seconds)
    client.close()
    flow = build_live(config, workers * (len(addresses) if addresses else 1), engine, marker, stop)
    if flow is None:
        return
    rec = config.recovery
    recovery = None
    if rec.directory:
        db = Path(rec.directory)
        if not db.exists() or not any(db.glob("part-*.sqlite3")):
            db.mkdir(parents=True, exist_ok=True)
            init_db_dir(db, rec.partitions)
            log.info("initialised %d recovery partition(s) in %s", rec.partitions, db)
        backup = timedelta(seconds=rec.backup_interval_seconds) if rec.backup_interval_seconds else timedelta(0)
        recovery = RecoveryConfig(str(db), backup)
    try:
        cli_main(flow, workers_per_process=workers, process_id=process_id, addresses=addresses,
                 epoch_interval=timedelta(seconds=rec.snapshot_interval_seconds), recovery_config=recovery)
    except BytewaxRuntimeError as exc:
        if not _stopped_by_signal(exc):
            raise
        log.info("stopped by signal; the next start resumes from the last snapshot" if recovery else
                 "stopped by signal")


def _chain(exc: BaseException) -> Iterable[BaseException]:
    """``exc`` and its causes, as Bytewax wraps the error of a source or sink call."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        yield node
        seen.add(id(node))
        node = node.__cause__ or node.__context__


def _stopped_by_signal(exc: BaseException) -> bool:
    """A stop by SIGINT/SIGTERM: Bytewax's own "signal received", or our KeyboardInterrupt
    raised inside a source or sink call (then Bytewax wraps it as that call's error)."""
    return any(isinstance(node, KeyboardInterrupt) or "signal received" in str(node) or "KeyboardInterrupt" in str(node)
               for node in _chain(exc))
