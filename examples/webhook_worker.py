"""Turn forewarn triggers into helpdesk tickets through a webhook.

    python examples/webhook_worker.py --webhook https://helpdesk.example.com/hooks/forewarn [--config forewarn.toml]

Each trigger is POSTed as its JSON with the header ``Idempotency-Key: <trigger_id>``, so a
ticket system that honours it (Stripe-style) opens one ticket per trigger however often the
request is repeated: after a timeout whose request did arrive, after this worker died between
the POST and the ack, after a replay from the dead-letter stream.

Retries at two levels. A failed POST (connection error, timeout, 408/425/429/5xx) is retried
here ``--attempts`` times with exponential backoff and jitter; if it still fails, the entry is
failed back to the queue (``TriggerQueue.fail``) and offered again after the queue's backoff,
by this or another worker, until ``[queue] max_deliveries`` sends it to the dead-letter stream.
Any other 4xx is the ticket system refusing this trigger for good: dead-lettered at once.
SIGTERM or Ctrl-C stops after the ticket in hand.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import random
import signal
import sys
import time
import urllib.error
import urllib.request

import redis

from forewarn.engine.config import ConfigError, load
from forewarn.queue import Job, TriggerQueue

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
log = logging.getLogger("webhook_worker")


class Refused(Exception):
    """The endpoint answered with a status that retrying will not change."""


def post(url: str, job: Job, timeout: float, attempts: int, backoff: float) -> int:
    """POST the trigger; the HTTP status on success. Raises Refused, or the last transient error."""
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(url, data=job.raw, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": job.trigger_id,
            "User-Agent": "forewarn-webhook-worker"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            if exc.code not in RETRYABLE_STATUS:
                raise Refused(f"HTTP {exc.code} {exc.reason}") from None
            error: Exception = exc
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as exc:
            error = exc
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))
    raise error


def handle(queue: TriggerQueue, job: Job, args: argparse.Namespace) -> None:
    try:
        status = post(args.webhook, job, args.timeout, args.attempts, args.backoff)
    except Refused as exc:
        queue.fail(job, f"{args.webhook}: {exc}", retry=False)
        log.error("%s %s refused (%s): dead-lettered", job.handle, job.trigger_id, exc)
    except Exception as exc:  # a transient failure of any kind: the queue offers it again later
        outcome = queue.fail(job, f"{args.webhook}: {exc}")
        log.warning("%s %s failed on delivery %d (%s): %s", job.handle, job.trigger_id, job.deliveries, exc, outcome)
    else:
        queue.ack(job)
        log.info("%s %s -> ticket (HTTP %d)", job.handle, job.trigger_id, status)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--webhook", required=True, help="URL that opens a ticket from a trigger JSON")
    p.add_argument("--config", help="forewarn TOML config: [redis] url and prefix, [queue] settings")
    p.add_argument("--route", choices=["human", "ai"], help="only this route's lanes (default both)")
    p.add_argument("--consumer", help="consumer name (default host-pid)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per HTTP request (default %(default)s)")
    p.add_argument("--attempts", type=int, default=3, help="POSTs per delivery before failing it back (default %(default)s)")
    p.add_argument("--backoff", type=float, default=0.5, help="first pause between POSTs, doubling (default %(default)s s)")
    p.add_argument("--metrics-port", type=int, default=0, help="serve Prometheus metrics (acks, retries, dead letters) here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        queue = TriggerQueue.from_config(load(args.config), route=args.route, consumer=args.consumer)
        queue.check()
    except ConfigError as exc:
        print(f"webhook_worker: bad config: {exc}", file=sys.stderr)
        return 2
    except redis.RedisError as exc:
        print(f"webhook_worker: Redis: {exc}; start it, or set [redis] url in --config (or FOREWARN_REDIS_URL)",
              file=sys.stderr)
        return 3
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port)

    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("working %s as %s/%s -> %s", ", ".join(queue.lanes), queue.group, queue.consumer, args.webhook)
    while not stopping:
        try:
            for job in queue.pull(count=1, block_ms=1000):
                handle(queue, job, args)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Whatever was in hand stays pending and is reclaimed after the visibility timeout.
            log.warning("Redis unavailable (%s); retrying in 2 s", exc)
            time.sleep(2)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
