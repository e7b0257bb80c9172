"""The ``forewarn`` command (contract section 5)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from collections import Counter
from pathlib import Path


def _load(args: argparse.Namespace, overrides: dict | None = None):
    from forewarn.engine import config as cfgmod

    return cfgmod.load(getattr(args, "config", None), overrides)


def _sim_spec(args: argparse.Namespace):
    from forewarn.apps.simulator import SimSpec

    return SimSpec(customers=args.customers, days=args.days, seed=args.seed, start=args.start, end=args.end,
                   duplicate_rate=args.duplicate_rate, late_rate=args.late_rate, invalid_rate=args.invalid_rate,
                   support_rate=args.support_rate)


def cmd_backtest(args: argparse.Namespace) -> int:
    from forewarn.apps import parallel, progress

    if args.set or args.truth or args.json:
        return _whatif(args)
    from sinks import metrics

    config = _load(args)
    workers = _workers(args)
    invalid_before = _by_reason(metrics.INVALID)
    with progress.bar(_lines_if_shown(args.input), "backtest", "event") as bar:
        counts = parallel.backtest(parallel.Run(config, args.input, args.output, args.deadletter, args.scores),
                                   workers, bar.update)
    print(f"backtest: {counts.events} events ({counts.invalid} invalid) in {counts.seconds:.1f} s "
          f"({counts.events / max(counts.seconds, 1e-9):,.0f} events/s) -> {args.output}", file=sys.stderr)
    if counts.held:
        print(f"backtest: {counts.held} trigger(s) held back by [routing.cooldown_hours]", file=sys.stderr)
    if counts.invalid:
        after = _by_reason(metrics.INVALID)
        reasons = sorted(((r, int(n - invalid_before.get(r, 0))) for r, n in after.items()
                          if n > invalid_before.get(r, 0)), key=lambda rn: -rn[1])
        where = (f"written with their line and error to {args.deadletter}" if args.deadletter else
                 "left out; --deadletter FILE writes each with its line and error")
        print(f"backtest: {counts.invalid} invalid line(s) ({', '.join(f'{r} {n}' for r, n in reasons)}), {where}",
              file=sys.stderr)
    if not counts.events:
        print(f"backtest: no valid event in {args.input}: nothing to replay", file=sys.stderr)
        return 1
    return 0


def _lines_if_shown(path: str, runs: int = 1) -> int | None:
    """A progress bar's total: the input's lines times the runs, counted only for a terminal."""
    from forewarn.apps import progress

    return progress.lines_in(path) * runs if progress.on_terminal() and Path(path).exists() else None


def _by_reason(counter) -> dict[str, float]:
    """A counter labelled by ``reason``: reason -> value."""
    return {s.labels["reason"]: s.value for family in counter.collect() for s in family.samples
            if s.name.endswith("_total")}


def _workers(args: argparse.Namespace) -> int:
    from forewarn.apps import parallel
    from forewarn.engine import config as cfgmod

    if args.workers < 1:
        raise cfgmod.ConfigError(f"--workers {args.workers}: give 1 or more processes")
    return args.workers


def _whatif(args: argparse.Namespace) -> int:
    """``backtest`` with ``--set``, ``--truth`` or ``--json``: one run per combination, and a report."""
    import json

    from forewarn.apps import parallel, progress, whatif
    from forewarn.engine import config as cfgmod

    if args.output == "-":
        raise cfgmod.ConfigError("--output -: the report goes to stdout; give the triggers a file path")
    if not Path(args.input).exists():
        raise FileNotFoundError(f"input file {args.input} not found")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    combos = whatif.grid(whatif.parse_sets(args.set or []))
    configs = [(overrides, _load(args, overrides)) for overrides in combos]  # all valid before any run
    workers = _workers(args)

    with progress.bar(_lines_if_shown(args.input, len(configs)), "backtest", "event") as bar:
        # Dead letters do not differ by run: backtest_many writes them once.
        def replay(runs: list[tuple[cfgmod.Config, str, str, str | None]], done) -> None:
            parallel.backtest_many([parallel.Run(config, input_path, output_path, args.deadletter, scores)
                                    for config, input_path, output_path, scores in runs],
                                   workers, lambda i, counts: done(i, counts.events, counts.seconds), bar.update)

        # Lines through the bar, which keeps itself below them on a terminal.
        report = whatif.sweep(configs, args.input, args.output, replay, args.truth,
                              progress=lambda line: bar.write(f"backtest: {line}", file=sys.stderr),
                              scores=args.scores)
    print(json.dumps(report, indent=2) if args.json else whatif.table(report))
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    from forewarn.apps.record import record
    from forewarn.core.timefmt import parse_rfc3339
    from forewarn.engine import config as cfgmod

    config = _load(args)
    times = {}
    for flag, value in (("--from", args.start), ("--to", args.end)):
        try:
            times[flag] = parse_rfc3339(value) if value else None
        except ValueError:
            raise cfgmod.ConfigError(f"{flag} {value!r}: not an RFC 3339 time with an offset, "
                                     "e.g. 2026-11-26T10:00:00Z") from None
    if times["--to"] is not None and times["--to"] < times["--from"]:
        raise cfgmod.ConfigError(f"--to {args.end} is before --from {args.start}")
    topics = [t for t in args.topics.split(",") if t] if args.topics else list(config.kafka.topics)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    conf = {"bootstrap.servers": config.kafka.bootstrap, **config.kafka.extra}
    try:
        summary = record(conf, topics, times["--from"], times["--to"], args.output,
                         progress=lambda line: print(f"record: {line}", file=sys.stderr, flush=True))
    except (ValueError, RuntimeError) as exc:
        print(f"forewarn record: {exc}", file=sys.stderr)
        return 1
    notes = [f"{n} {what}" for n, what in ((summary.skipped_empty, "empty values skipped"),
                                            (summary.rejoined_lines, "multi-line values put on one line")) if n]
    print(f"record: {summary.messages:,} events from {len(summary.partitions)} partition(s)"
          + (f" ({'; '.join(notes)})" if notes else "")
          + f". Next: forewarn backtest --input {args.output} --output triggers.jsonl", file=sys.stderr)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from forewarn.apps import simulator

    from forewarn.core.timefmt import MINUTE, format_us, now_us

    config = _load(args)
    pinned = None
    if not (args.start or args.end):  # the window ends now: said, so the same data can be had again
        pinned = args.end = format_us(now_us() // MINUTE * MINUTE)
    spec = _sim_spec(args)
    started = time.monotonic()
    if args.truth:
        Path(args.truth).parent.mkdir(parents=True, exist_ok=True)
    truth = args.truth or None
    if args.to == "kafka":
        from forewarn.apps.producer import produce

        stats = simulator.write(spec, config, None, truth,
                                sink=lambda lines: produce(lines, config.kafka.bootstrap, args.rate,
                                                           topic_prefix=args.topic_prefix))
        where = f"produced to {config.kafka.bootstrap}"
    else:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        stats = simulator.write(spec, config, args.output, truth)
        where = f"wrote {args.output}"
    took = time.monotonic() - started
    print(f"simulate: {stats['lines']:,} events for {args.customers:,} customers over {args.days:g} days "
          f"in {took:.1f} s ({stats['lines'] / max(took, 1e-9):,.0f} events/s); {where}"
          + (f" and truth {truth}" if truth else ""), file=sys.stderr)
    if pinned:
        print(f"simulate: the window ends now, {pinned}; --seed {args.seed} --end {pinned} gives these events again",
              file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from flows import modes
    from forewarn.apps import simulator

    config = _load(args)
    spec = _sim_spec(args)
    sim = simulator.generate(spec, config)
    kinds: Counter = Counter()
    print(f"forewarn demo: a simulated store of {spec.customers} customers over {spec.days:g} days, "
          f"{len(sim.events)} events, replayed through the dataflow.\n")
    print(f"{'fired at (event time)':<22} {'kind':<20} {'lane':<9} {'customer':<10} {'order':<12} reason")

    def show(items: list) -> None:
        for trig, _src, _ingest in items:
            kinds[trig.kind] += 1
            if args.limit and sum(kinds.values()) > args.limit:
                continue
            reason = trig.reasons[0]["detail"] if trig.reasons else ""
            print(f"{trig.fired_at:<22} {trig.kind:<20} {trig.route + ':' + trig.priority:<9} "
                  f"{trig.customer_id:<10} {str(trig.order_id or '-'):<12} {reason[:90]}")
            if args.pace:
                time.sleep(args.pace)

    modes.demo(config, lambda: ((f"sim:{i}", raw, None) for i, raw in enumerate(sim.events, 1)), show)
    total = sum(kinds.values())
    print(f"\n{total} triggers: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print("Next: `forewarn simulate --output events.jsonl --truth truth.jsonl`, then "
          "`forewarn backtest --input events.jsonl --output triggers.jsonl`.")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from forewarn.apps import groundtruth, scoring, triage_quality

    try:
        rows = scoring.report_files(args.truth, args.triggers, args.scores)
        triage = triage_quality.report(groundtruth.load_jsonl(args.triggers), groundtruth.load_jsonl(args.truth),
                                       args.after_labels)
    except ValueError as exc:
        print(f"forewarn: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**rows, "triage": triage} if triage else rows, indent=2))
    else:
        print(scoring.table(rows))
        print("\nroc_auc: " + (f"over every model evaluation in {args.scores} (fired or not), each labelled by "
                                "the ground truth" if args.scores else
                                "over the fired triggers' scores only (matched to the truth or not); "
                                "--scores FILE (from backtest --scores) judges every evaluation"))
        if triage:
            print()
            print(triage_quality.table(triage))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from forewarn.apps import service

    stopper = service.Stopper()  # SIGTERM and Ctrl-C end the input: Bytewax finishes the flow cleanly
    stopper.install()  # first, so that a stop during the (slow) imports and connects is clean too
    from prometheus_client import start_http_server

    from flows import modes
    from forewarn.engine.engine import Engine
    from forewarn.engine.liveconfig import Reloader
    from sinks import metrics

    reloader = Reloader(args.config, observe=metrics.config_checked)
    config = reloader.load_initial()  # the file, then thresholds set in the Redis hash
    _refuse_bad_redis_credentials(config)
    signal.signal(signal.SIGHUP, lambda signum, frame: reloader.wake())
    addresses = args.addresses.split(";") if args.addresses else None
    print(service.banner(config, args.config, args.workers, args.process_id, addresses), file=sys.stderr, flush=True)
    service.publish_build_info()
    if config.metrics.port:
        metrics.set_queue_slas(config.metrics.queue_sla_seconds)
        try:
            start_http_server(config.metrics.port, config.metrics.host)
        except OSError as exc:
            print(f"forewarn run: cannot serve metrics on {config.metrics.host}:{config.metrics.port} ({exc.strerror}); "
                  "set [metrics] port (or FOREWARN_METRICS_PORT) to a free port, 0 for none", file=sys.stderr)
            return 2
    from forewarn.queue.upkeep import QueueUpkeep

    QueueUpkeep.from_config(config).start()  # queue depth/age gauges and retention, in a daemon thread
    engine = Engine(config)
    reloader.start(engine)
    if args.progress_seconds:
        service.ProgressLog(args.progress_seconds, stopper.event).start()
    from sinks.redis_queue import RedisLostData

    try:
        if not stopper.event.is_set():
            modes.run(config, workers=args.workers, process_id=args.process_id, addresses=addresses, engine=engine,
                      accept_empty_redis=args.accept_empty_redis, stop=stopper.event)
    except RedisLostData as exc:
        print(f"forewarn: {exc}", file=sys.stderr)
        return 3
    finally:
        stopper.event.set()
        reloader.stop()
    logging.getLogger("forewarn").info("stopped" + ("; the next start resumes from the last snapshot"
                                                    if config.recovery.directory else ""))
    return 0


def _refuse_bad_redis_credentials(config) -> None:
    """Wrong credentials never heal by waiting: refuse them at start (an unreachable Redis is
    waited for, as an outage is: the sinks retry)."""
    import redis

    from forewarn.core.settings import ConfigError, redact_url

    client = redis.Redis.from_url(config.redis.url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.ping()
    except (redis.AuthenticationError, redis.exceptions.AuthorizationError, redis.exceptions.NoPermissionError) as exc:
        raise ConfigError(f"redis.url = {redact_url(config.redis.url)!r}: Redis refused these "
                          f"credentials ({exc}); fix the user or password in the URL") from None
    except redis.RedisError as exc:
        logging.getLogger("forewarn").warning("redis at %s not reachable at start (%s); the sinks wait for it",
                                              redact_url(config.redis.url), exc)
    finally:
        client.close()


def cmd_dashboards_build(args: argparse.Namespace) -> int:
    from dashboards.build import DashboardError, build

    try:
        written = build(Path(args.out))
    except DashboardError as exc:
        print(f"forewarn: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from forewarn.apps import lint

    return lint.main(args)


def _add_sim_args(p: argparse.ArgumentParser, customers: int, days: float) -> None:
    p.add_argument("--customers", type=int, default=customers, help="number of customers (default %(default)s)")
    p.add_argument("--days", type=float, default=days, help="days of store history (default %(default)s)")
    p.add_argument("--seed", type=int, default=7,
                   help="random seed (default %(default)s); the same seed gives the same data only with "
                        "--end (or --start) pinned: without them the window ends now, so it moves")
    p.add_argument("--start", help="first event time, RFC 3339 (default: end - days)")
    p.add_argument("--end", help="last event time, RFC 3339 (default: now, rounded down to the minute; "
                                 "pin it for reproducible data)")
    p.add_argument("--duplicate-rate", type=float, default=0.01, help="share of events delivered twice")
    p.add_argument("--late-rate", type=float, default=0.0, help="share of events delivered out of order")
    p.add_argument("--invalid-rate", type=float, default=0.0, help="share of malformed lines mixed in")
    p.add_argument("--support-rate", type=float, default=1.0,
                   help="inbound support messages and their labels, as a multiple of the rates in "
                        "docs/situations.md (default %(default)s; 0 = none, the other events stay the same)")


def _version() -> str:
    from forewarn.apps.service import version_line

    return version_line()


def parser(queue: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``queue=False`` leaves out ``forewarn queue`` (it imports the Redis client)."""
    p = argparse.ArgumentParser(prog="forewarn", description="Real-time triggers for proactive e-commerce support.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version=_version(), help="print the versions and exit")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="the production dataflow: Kafka in, Redis queues out, metrics served")
    r.add_argument("--config", help="TOML config (default forewarn.toml if present)")
    r.add_argument("-w", "--workers", type=int, default=1, help="Bytewax worker threads in this process")
    r.add_argument("-i", "--process-id", type=int, help="this process's index in a Bytewax cluster")
    r.add_argument("-a", "--addresses", help="cluster addresses host:port;host:port (with --process-id)")
    r.add_argument("--progress-seconds", type=float, default=30.0,
                   help="log a progress line (events/s, watermark, lag, triggers) this often; 0 = never "
                        "(default %(default)s)")
    r.add_argument("--accept-empty-redis", action="store_true",
                   help="start although Redis lost the marker this engine set (it was wiped): triggers replayed "
                        "since the last snapshot are queued again (exit code 3 without it; docs/helpdesk.md)")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="a quick look: a simulated store through the dataflow, no services needed")
    d.add_argument("--config", help="TOML config (default forewarn.toml if present)")
    _add_sim_args(d, customers=300, days=14)
    d.add_argument("--limit", type=int, default=60, help="print at most this many triggers (0 = all)")
    d.add_argument("--pace", type=float, default=0.0, help="seconds to pause after each printed trigger")
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("simulate", help="synthetic store events to JSONL or Kafka, with a ground-truth file")
    s.add_argument("--config", help="TOML config (default forewarn.toml if present)")
    _add_sim_args(s, customers=2000, days=30)
    s.add_argument("--to", choices=["jsonl", "kafka"], default="jsonl",
                   help="write a JSONL file (--output) or produce to the Kafka topics (default %(default)s)")
    s.add_argument("--output", default="events.jsonl", help="JSONL path (with --to jsonl)")
    s.add_argument("--truth", default="truth.jsonl", help="ground-truth JSONL path ('' for none)")
    s.add_argument("--rate", type=float, default=0.0, help="events/s when producing to Kafka (0 = as fast as possible)")
    s.add_argument("--topic-prefix", default="", help="prefix for the topic names when producing to Kafka "
                   "(orders, payments, shipments, customers), e.g. 'staging-'")
    s.set_defaults(func=cmd_simulate)

    rec = sub.add_parser("record", help="a time range of the live Kafka topics to JSONL (a backtest input), with offsets")
    rec.add_argument("--config", help="TOML config: Kafka connection and default topics")
    rec.add_argument("--from", dest="start", required=True, help="first Kafka message time, RFC 3339")
    rec.add_argument("--to", dest="end", help="last Kafka message time, RFC 3339 (default: the end of the log now)")
    rec.add_argument("--output", required=True, help="events JSONL; the offsets go to OUTPUT.offsets")
    rec.add_argument("--topics", help="comma-separated topics (default: kafka.topics of the config)")
    rec.set_defaults(func=cmd_record)

    b = sub.add_parser("backtest", help="deterministic event-time replay of a JSONL file")
    b.add_argument("--input", required=True, help="events JSONL, one contract event per line")
    b.add_argument("--output", required=True, help="triggers JSONL ('-' for stdout)")
    b.add_argument("--config", help="TOML config (default forewarn.toml if present)")
    b.add_argument("--deadletter", help="also write invalid events to this JSONL")
    b.add_argument("--workers", type=int, default=1,
                   help="processes, customers split among them (default 1: one model per kind learns from the whole "
                        "file, so the output does not depend on the machine); rule-based kinds are the same for any "
                        "number, model kinds learn per process (docs/tuning.md)")
    b.add_argument("--set", action="append", metavar="KEY=V1,V2",
                   help="what-if: replay once per value of a config key (repeat for a cartesian product); "
                        "with several runs, one output file per run (docs/tuning.md)")
    b.add_argument("--truth", help="ground-truth JSONL (forewarn simulate --truth): adds precision, recall and lead time")
    b.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    b.add_argument("--scores", help="also write every online-model evaluation (fired or not) to this JSONL, "
                                    "for forewarn.apps.model_quality.evaluate (with several --set runs, one file "
                                    "per run, named like the outputs)")
    b.set_defaults(func=cmd_backtest)

    sc = sub.add_parser("score", help="per kind: truth, fired, tp, fp, fn, precision, recall (and ROC AUC of scores)")
    sc.add_argument("--truth", required=True, help="ground-truth JSONL (from `forewarn simulate --truth`)")
    sc.add_argument("--triggers", required=True, help="triggers JSONL (from `forewarn backtest --output`)")
    sc.add_argument("--scores", help="model evaluations JSONL (from `forewarn backtest --scores`): the model "
                                     "kinds' ROC AUC over every evaluation, not only the fired ones")
    sc.add_argument("--json", action="store_true", help="print the table as JSON")
    sc.add_argument("--after-labels", type=int, default=2000,
                    help="the triage table's second row: messages scored after the intent model had learned "
                         "this many labels (default 2000)")
    sc.set_defaults(func=cmd_score)

    g = sub.add_parser("dashboards", help="Grafana dashboards")
    gsub = g.add_subparsers(dest="dashboards_command", required=True)
    gb = gsub.add_parser("build", help="write the Grafana dashboard JSON from dashboards/*.dashboard.py")
    gb.add_argument("--out", default="dashboards/build", help="output directory (default %(default)s)")
    gb.set_defaults(func=cmd_dashboards_build)

    li = sub.add_parser("lint", help="compliance review of outbound texts (JSONL in, one result per line out); no services")
    li.add_argument("--input", required=True, help="messages JSONL, one {id, channel, body, purpose, ...} per line ('-' for stdin)")
    li.add_argument("--output", help="results JSONL, one {id, ok, findings} per input line (default stdout)")
    li.add_argument("--config", help="TOML config whose [compliance] table applies (default forewarn.toml if present)")
    li.set_defaults(func=cmd_lint)

    if queue:
        from forewarn.queue.cli import register as register_queue

        register_queue(sub)
    from forewarn.apps import configcmd, doctor, explain, triage_seed

    configcmd.register(sub)
    doctor.register(sub)
    explain.register(sub)
    triage_seed.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    # lint must start fast and without any service client: it needs neither the queue
    # commands (Redis) nor the engine config (detectors, River), and reports its own errors.
    args = parser(queue=command != "lint").parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.command == "lint":
        return args.func(args)
    from forewarn.engine import config as cfgmod

    try:
        return args.func(args)
    except cfgmod.ConfigError as exc:
        print(f"forewarn: bad config: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"forewarn: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `forewarn score ... | head`: the reader has all it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # keep the final flush quiet
        return 141  # as a command killed by SIGPIPE


if __name__ == "__main__":
    sys.exit(main())
