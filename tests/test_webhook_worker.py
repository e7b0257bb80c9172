"""The example worker turns each trigger into exactly one ticket, through a ticket endpoint that fails
often: 500s, 503s after the ticket was made, and answers slower than the worker waits."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from forewarn.queue.stats import queue_stats
from sinks.redis_queue import failed_key
from tests.conftest import REPO, live_config, wait_for
from tests.queue_helpers import delete_prefix, enqueue, trigger

pytestmark = [pytest.mark.services, pytest.mark.slow]

SLOW_SECONDS = 1.0  # the worker gives up on a request after 0.3 s


class TicketDesk:
    """A helpdesk API that honours Idempotency-Key, as Stripe-style APIs do, and fails a lot."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.tickets: dict[str, int] = {}  # idempotency key -> ticket number
        self.created: Counter = Counter()
        self.requests: Counter = Counter()
        self.keyless = 0

    def handle(self, key: str | None, body: dict) -> tuple[int, float]:
        """(status, seconds to wait before answering)."""
        with self.lock:
            self.requests[key] += 1
            if key is None:  # without a key every request is a new ticket: duplicates
                self.keyless += 1
                return 201, 0
            if key != body.get("trigger_id"):
                return 400, 0
            if body.get("kind") == "data_quality":
                return 422, 0  # this desk takes no data-quality tickets
            roll = self.rng.random()
            if roll < 0.25:
                return 500, 0  # failed before doing anything
            if key not in self.tickets:
                self.tickets[key] = len(self.tickets) + 1
                self.created[key] += 1
            if roll < 0.35:
                return 503, 0  # made the ticket, then failed to say so
            if roll < 0.43:
                return 201, SLOW_SECONDS  # made it, answers after the caller gave up
            return 201, 0


def serve(desk: TicketDesk) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, wait = desk.handle(self.headers.get("Idempotency-Key"), body)
            time.sleep(wait)
            try:
                self.send_response(status)
                self.end_headers()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the worker stopped waiting

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_webhook_worker_opens_exactly_one_ticket_per_trigger_through_a_flaky_endpoint(
        services, namespace, redis_client, tmp_path):
    prefix = f"{namespace}:"
    lanes = [("human", "p1"), ("human", "p2"), ("ai", "p2"), ("ai", "p3"), ("ai", "p4")]
    triggers = [trigger(i, *lanes[i % len(lanes)]) for i in range(40)]
    refused = trigger(99, "ai", "p4", kind="data_quality")
    enqueue(services["redis"], prefix, triggers + [refused])

    desk = TicketDesk(seed=4)
    server = serve(desk)
    config = tmp_path / "worker.toml"
    config.write_text(live_config(namespace, services, queue={
        "visibility_timeout_seconds": 10, "retry_backoff_seconds": 0.2, "max_deliveries": 20}))
    url = f"http://127.0.0.1:{server.server_address[1]}/tickets"
    workers = [subprocess.Popen(
        [sys.executable, "examples/webhook_worker.py", "--config", str(config), "--webhook", url,
         "--timeout", "0.3", "--attempts", "3", "--backoff", "0.05", "--consumer", f"w{i}"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"w{i}.log", "wb")) for i in range(2)]
    try:
        def all_done() -> bool:
            assert desk.keyless == 0, "the worker sent requests without an Idempotency-Key"
            depth = sum(g.depth or 0 for s in queue_stats(redis_client, prefix) for g in s.groups)
            return depth == 0 and redis_client.xlen(failed_key(prefix)) == 1 and len(desk.tickets) == len(triggers)

        wait_for(all_done, 120, interval=0.5, what="every trigger handled")
        for w in workers:
            w.send_signal(signal.SIGTERM)
        assert [w.wait(20) for w in workers] == [0, 0]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        server.shutdown()
        delete_prefix(redis_client, prefix)

    assert desk.keyless == 0
    assert set(desk.tickets) == {t.trigger_id for t in triggers}
    assert all(desk.created[t.trigger_id] == 1 for t in triggers)
    assert refused.trigger_id not in desk.tickets
    repeated = [k for k, n in desk.requests.items() if n > 1]
    assert len(repeated) >= 5, "the endpoint hardly failed; the test proves little"


def test_a_refused_trigger_is_dead_lettered_with_the_http_status(services, namespace, redis_client, tmp_path):
    prefix = f"{namespace}:"
    enqueue(services["redis"], prefix, [trigger(1, "ai", "p4", kind="data_quality")])
    server = serve(TicketDesk(seed=1))
    config = tmp_path / "worker.toml"
    config.write_text(live_config(namespace, services))
    worker = subprocess.Popen(
        [sys.executable, "examples/webhook_worker.py", "--config", str(config),
         "--webhook", f"http://127.0.0.1:{server.server_address[1]}/tickets"],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: redis_client.xlen(failed_key(prefix)) == 1, 60, what="the dead letter")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
        [(_id, fields)] = redis_client.xrange(failed_key(prefix))
        assert b"HTTP 422" in fields[b"error"] and fields[b"deliveries"] == b"1"
        assert json.loads(fields[b"trigger"])["trigger_id"] == "trg00001"
    finally:
        if worker.poll() is None:
            worker.kill()
        server.shutdown()
        delete_prefix(redis_client, prefix)
