"""``forewarn queue stats | peek | pull | ack | reclaim | replay-deadletter | trim | review``.

Readable tables by default, ``--json`` for scripts. Exit codes a script can branch on:
0 done; 1 nothing to do (empty queue, nothing pending, nothing trimmed); 2 usage or config
error; 3 Redis unreachable; 4 Redis refused a command (too old, a key of the wrong type);
5 the output was closed before everything was written (``pull | head``: nothing is
acknowledged then, the entries stay pending and are reclaimed after the visibility timeout).
``review`` (an edited draft before sending): 0 nothing blocks, 1 a ``block`` finding.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import msgspec
import redis

from forewarn.core.settings import ConfigError, QueueSettings, explain, load_queue_settings, read
from forewarn.queue.client import DeadLetter, Job, Peeked, TriggerQueue, parse_handle
from forewarn.queue.retention import trim
from forewarn.queue.stats import NO_GROUP, failed_length, queue_stats
from outreach.compliance import Compliance
from sinks.redis_queue import failed_key

OK, NOTHING, USAGE, UNREACHABLE, REFUSED, BROKEN_PIPE = 0, 1, 2, 3, 4, 5


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``queue`` and its subcommands to the ``forewarn`` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML config (default forewarn.toml if present); [redis] and [queue] apply")
    common.add_argument("--group", help="consumer group (default [queue] group, 'helpdesk')")
    common.add_argument("--route", choices=["human", "ai"], help="only this route's lanes (default both)")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    consumer = argparse.ArgumentParser(add_help=False)
    consumer.add_argument("--consumer", help="consumer name (default cli@HOSTNAME)")
    consumer.add_argument("--visibility-timeout", type=float, metavar="SECONDS",
                          help="reclaim entries pending longer than this (default [queue] visibility_timeout_seconds)")

    q = sub.add_parser("queue", help="helpdesk side: stats, peek, pull, ack, reclaim, replay dead letters",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    qs = q.add_subparsers(dest="queue_command", required=True)

    p = qs.add_parser("stats", parents=[common], help="per lane and group: length, waiting, pending, oldest age")
    p.set_defaults(func=_guard(cmd_stats))

    p = qs.add_parser("peek", parents=[common], help="look at the next entries without taking them")
    p.add_argument("-n", "--count", type=int, default=10, help="show at most this many entries (default %(default)s)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--pending", action="store_true", help="entries delivered and not acknowledged")
    which.add_argument("--failed", action="store_true", help="the dead-letter stream forewarn:queue:failed")
    p.set_defaults(func=_guard(cmd_peek))

    p = qs.add_parser("pull", parents=[common, consumer], help="take entries, most urgent first (ack them when done)")
    p.add_argument("-n", "--count", type=int, default=1, help="take at most this many entries (default %(default)s)")
    p.add_argument("--block", type=float, default=0.0, metavar="SECONDS", help="wait this long for an entry")
    p.add_argument("--ack", action="store_true", help="acknowledge at once (at most once: for inspection, not handling)")
    p.set_defaults(func=_guard(cmd_pull))

    p = qs.add_parser("ack", parents=[common], help="acknowledge entries by handle (lane/id, as pull prints them)")
    p.add_argument("handles", nargs="+", metavar="HANDLE", help="e.g. human:p1/1718000000000-0; '-' reads them from stdin")
    p.set_defaults(func=_guard(cmd_ack))

    p = qs.add_parser("reclaim", parents=[common, consumer],
                      help="take entries left pending too long; dead-letter those delivered too often")
    p.add_argument("-n", "--count", type=int, default=100,
                   help="reclaim at most this many entries (default %(default)s)")
    p.add_argument("--min-idle", type=float, metavar="SECONDS", help="default: the visibility timeout")
    p.set_defaults(func=_guard(cmd_reclaim))

    p = qs.add_parser("replay-deadletter", parents=[common],
                      help="put dead letters back into their lane (all, or by id)")
    p.add_argument("ids", nargs="*", metavar="ID", help="dead-letter ids, as `peek --failed` shows them")
    p.add_argument("--all", action="store_true", help="replay every dead letter")
    p.set_defaults(func=_guard(cmd_replay))

    p = qs.add_parser("trim", parents=[common], help="apply retention now (forewarn run does it periodically)")
    p.set_defaults(func=_guard(cmd_trim))

    p = qs.add_parser("review", parents=[common],
                      help="compliance review of an edited draft before sending (exit 0 ok, 1 blocked)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("handle", nargs="?", metavar="HANDLE", help="the queue entry (lane/id, as pull prints it)")
    which.add_argument("--trigger", metavar="FILE", help="the trigger JSON instead ('-' = stdin), e.g. from pull --json")
    p.add_argument("--channel", required=True, choices=["email", "sms", "phone", "chat", "social"],
                   help="which of the trigger's drafts was edited")
    text = p.add_mutually_exclusive_group(required=True)
    text.add_argument("--body", help="the edited text")
    text.add_argument("--body-file", metavar="FILE", help="read the edited text from FILE ('-' = stdin)")
    p.add_argument("--subject", help="the edited subject (default: the draft's)")
    p.set_defaults(func=_guard(cmd_review))


def _guard(cmd: Callable[[argparse.Namespace, QueueSettings], int]) -> Callable[[argparse.Namespace], int]:
    """Load the config, run the command, turn Redis and usage errors into exit codes with what to do."""

    def run(args: argparse.Namespace) -> int:
        try:
            config = load_queue_settings(args.config)
        except ConfigError as exc:
            return _error(f"bad config: {exc}", USAGE)
        where = _safe_url(config.redis.url)
        # Which Redis (and prefix) this reads, on stderr: the answer to "why is my queue empty?".
        print(f"forewarn queue: Redis {where}" + (f", prefix {config.redis.prefix!r}" if config.redis.prefix else ""),
              file=sys.stderr)
        try:
            return cmd(args, config)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            return _error(f"cannot reach Redis at {where} ({exc}); start it, or point [redis] url or "
                          f"FOREWARN_REDIS_URL at it", UNREACHABLE)
        except redis.ResponseError as exc:
            return _error(f"Redis at {where} refused: {exc}", REFUSED)
        except ValueError as exc:
            return _error(str(exc), USAGE)

    return run


def _stdout_closed() -> None:
    """Stdout's reader is gone: point it at /dev/null so the interpreter's final flush is quiet."""
    import os

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _error(message: str, code: int) -> int:
    print(f"forewarn queue: {message}", file=sys.stderr)
    return code


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port or 6379}{parts.path}"


def _queue(args: argparse.Namespace, config: QueueSettings, **extra: Any) -> TriggerQueue:
    q = TriggerQueue.from_config(
        config, group=args.group, route=args.route,
        consumer=getattr(args, "consumer", None) or f"cli@{socket.gethostname()}",
        visibility_timeout=getattr(args, "visibility_timeout", None), **extra)
    q.check()
    return q


# --- commands --------------------------------------------------------------------------------

def cmd_stats(args: argparse.Namespace, config: QueueSettings) -> int:
    q = _queue(args, config)
    group = args.group or config.queue.group
    lanes = queue_stats(q.client, q.prefix, args.route)
    failed = failed_length(q.client, q.prefix)
    if args.json:
        _print_json({"queues": [{"queue": s.lane, "length": s.length, "groups": [
            {"group": g.group or None, "consumers": g.consumers, "waiting": g.waiting, "pending": g.pending,
             "depth": g.depth, "oldest_age_seconds": g.oldest_age_seconds} for g in s.groups]} for s in lanes],
            "failed": failed})
        return OK
    rows = [(s.lane, s.length, g.group or "(none yet)", g.consumers, _n(g.waiting), g.pending,
             _ago(g.oldest_age_seconds)) for s in lanes for g in s.groups]
    _table(["QUEUE", "LENGTH", "GROUP", "CONSUMERS", "WAITING", "PENDING", "OLDEST"], rows)
    if not any(g.group == group for s in lanes for g in s.groups if g.group != NO_GROUP):
        print(f"\nno lane is read by group '{group}' yet: a helpdesk creates it on its first pull")
    if failed:
        print(f"\n{failed} dead letter(s) in {failed_key(q.prefix)}: see `forewarn queue peek --failed`, "
              f"put back with `forewarn queue replay-deadletter --all`")
    return OK


def cmd_peek(args: argparse.Namespace, config: QueueSettings) -> int:
    q = _queue(args, config)
    if args.failed:
        letters = [d for d in q.failed(count=10_000) if args.route is None or d.lane.startswith(args.route)]
        letters = letters[:args.count]
        if args.json:
            _print_json([_letter_json(d) for d in letters])
        else:
            _table(["ID", "QUEUE", "DELIVERIES", "FAILED_AT", "KIND", "TRIGGER_ID", "ERROR"],
                   [(d.id, d.lane, d.deliveries, d.failed_at, (d.trigger or {}).get("kind", "?"),
                     (d.trigger or {}).get("trigger_id", "?"), d.error[:80]) for d in letters])
        return OK if letters else NOTHING
    entries = q.peek(args.count, pending=args.pending)
    if args.json:
        _print_json([_peeked_json(e) for e in entries])
    elif args.pending:
        _table(["HANDLE", "CONSUMER", "IDLE", "DELIVERIES", "KIND", "CUSTOMER", "ORDER"],
               [(e.handle, e.consumer, _ago(e.idle_seconds), e.deliveries, *_brief(e.trigger)) for e in entries])
    else:
        _table(["HANDLE", "KIND", "CUSTOMER", "ORDER", "FIRED_AT"],
               [(e.handle, *_brief(e.trigger), (e.trigger or {}).get("fired_at", "")) for e in entries])
    return OK if entries else NOTHING


def cmd_pull(args: argparse.Namespace, config: QueueSettings) -> int:
    q = _queue(args, config)
    jobs = q.pull(count=args.count, block_ms=int(args.block * 1000))
    try:
        _print_jobs(jobs, args.json)
        sys.stdout.flush()
    except BrokenPipeError:  # `| head` closed the output: acknowledge nothing, so nothing is lost
        _stdout_closed()
        return _error(f"the output was closed before all was written; none of the {len(jobs)} entries pulled is "
                      f"acknowledged: they stay pending for consumer {q.consumer!r} and are handed out again after "
                      "the visibility timeout (or now: forewarn queue reclaim --min-idle 0)", BROKEN_PIPE)
    if args.ack and jobs:  # after the write: an entry is acknowledged only once it was printed
        q.ack(*jobs)
    if jobs and not args.json and not args.ack:
        print(f"\nacknowledge when handled: forewarn queue ack {' '.join(j.handle for j in jobs[:3])}"
              f"{' ...' if len(jobs) > 3 else ''}", file=sys.stderr)
    return OK if jobs else NOTHING


def cmd_ack(args: argparse.Namespace, config: QueueSettings) -> int:
    handles = sys.stdin.read().split() if args.handles == ["-"] else args.handles
    for h in handles:
        parse_handle(h)  # all well-formed before any is acknowledged
    q = _queue(args, config)
    not_pending = [h for h in handles if not q.ack(h)]
    done = len(handles) - len(not_pending)
    if args.json:
        _print_json({"acked": done, "not_pending": not_pending})
    else:
        print(f"acknowledged {done} of {len(handles)}")
        if not_pending:
            print(f"not pending for group '{q.group}' (already acknowledged, or never delivered): "
                  + " ".join(not_pending))
    return OK if done else NOTHING


def cmd_reclaim(args: argparse.Namespace, config: QueueSettings) -> int:
    q = _queue(args, config)
    failed_before = failed_length(q.client, q.prefix)
    jobs = q.reclaim(count=args.count, min_idle=args.min_idle)
    dead = failed_length(q.client, q.prefix) - failed_before
    _print_jobs(jobs, args.json)
    if dead > 0 and not args.json:
        print(f"\n{dead} entr{'y' if dead == 1 else 'ies'} delivered more than {q.max_deliveries} times "
              f"moved to {failed_key(q.prefix)}", file=sys.stderr)
    return OK if jobs or dead > 0 else NOTHING


def cmd_replay(args: argparse.Namespace, config: QueueSettings) -> int:
    if bool(args.ids) == args.all:
        raise ValueError("name the dead letters to replay (ids from `forewarn queue peek --failed`) or pass --all")
    q = _queue(args, config)
    done = q.replay_failed(None if args.all else args.ids)
    if args.json:
        _print_json([{"deadletter": d.id, "queue": d.lane, "id": new_id, "trigger_id": d.trigger["trigger_id"]}
                     for d, new_id in done])
    else:
        _table(["DEADLETTER", "BACK IN", "AS", "TRIGGER_ID"],
               [(d.id, d.lane, new_id, d.trigger["trigger_id"]) for d, new_id in done])
        if not done:
            print("nothing replayed: no such dead letter, or it was not a trigger", file=sys.stderr)
    return OK if done else NOTHING


def cmd_trim(args: argparse.Namespace, config: QueueSettings) -> int:
    q = _queue(args, config)
    result = trim(q.client, q.prefix, config.queue.retain_acked_hours * 3600)
    if args.json:
        _print_json({lane: {"trimmed": t, "consumers_forgotten": f} for lane, (t, f) in result.items()})
    else:
        _table(["QUEUE", "TRIMMED", "CONSUMERS FORGOTTEN"], [(lane, t, f) for lane, (t, f) in result.items()])
    return OK if any(t for t, _f in result.values()) else NOTHING


def load_compliance(path: str | None) -> Compliance:
    """The ``[compliance]`` section of the config file, validated as the engine validates it."""
    data = read(path).get("compliance", {})
    try:
        return msgspec.convert(data, Compliance, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(explain(str(exc), {"compliance": data})) from None


def cmd_review(args: argparse.Namespace, config: QueueSettings) -> int:
    try:
        compliance = load_compliance(args.config)
    except ConfigError as exc:
        return _error(f"bad config: {exc}", USAGE)
    if args.trigger is not None:
        raw = sys.stdin.read() if args.trigger == "-" else _read(args.trigger)
        try:
            trigger = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--trigger {args.trigger}: not JSON ({exc})") from None
        if isinstance(trigger, dict) and isinstance(trigger.get("trigger"), dict):
            trigger = trigger["trigger"]  # an entry as pull --json prints it
        if not isinstance(trigger, dict):
            raise ValueError(f"--trigger {args.trigger}: not a trigger object")
        q = TriggerQueue.from_config(config, compliance=compliance)
    else:
        q = _queue(args, config, compliance=compliance)
        trigger = q.get(args.handle)
        if trigger is None:
            raise ValueError(f"{args.handle}: no such trigger in the queue (acknowledged and trimmed?)")
    if args.body is not None:
        body = args.body
    else:
        body = sys.stdin.read() if args.body_file == "-" else _read(args.body_file)
    result = q.review(trigger, args.channel, body, args.subject)
    if args.json:
        _print_json(result)
    else:
        _table(["CODE", "SEVERITY", "SPAN", "DETAIL"],
               [(f["code"], f["severity"], "-" if f["span"] is None else f"{f['span'][0]}-{f['span'][1]}",
                 f["detail"]) for f in result["findings"]])
        print("ok to send" if result["ok"] else "blocked: fix the block findings, or leave it to a person")
    return OK if result["ok"] else NOTHING


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from None


# --- output ----------------------------------------------------------------------------------

def _print_jobs(jobs: list[Job], as_json: bool) -> None:
    if as_json:
        _print_json([{"handle": j.handle, "queue": j.lane, "id": j.id, "deliveries": j.deliveries,
                      "trigger": j.trigger} for j in jobs])
    else:
        _table(["HANDLE", "DELIVERIES", "KIND", "CUSTOMER", "ORDER", "FIRED_AT"],
               [(j.handle, j.deliveries, *_brief(j.trigger), j.trigger.get("fired_at", "")) for j in jobs])


def _peeked_json(e: Peeked) -> dict[str, Any]:
    return {"handle": e.handle, "queue": e.lane, "id": e.id, "consumer": e.consumer,
            "idle_seconds": e.idle_seconds, "deliveries": e.deliveries, "trigger": e.trigger}


def _letter_json(d: DeadLetter) -> dict[str, Any]:
    return {"id": d.id, "queue": d.lane, "entry": d.entry, "group": d.group, "consumer": d.consumer,
            "deliveries": d.deliveries, "error": d.error, "failed_at": d.failed_at, "trigger": d.trigger}


def _brief(trigger: dict | None) -> tuple[str, str, str]:
    t = trigger or {}
    return t.get("kind", "(not a trigger)"), t.get("customer_id", ""), t.get("order_id") or "-"


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _table(header: list[str], rows: list[tuple]) -> None:
    if not rows:
        print("(none)")
        return
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"
