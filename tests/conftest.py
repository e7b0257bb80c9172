"""Fixtures for tests that talk to the real Kafka, Redis and Prometheus (``-m services``).

They are started by ``scripts/services.sh start`` (``scripts/test.sh`` does it); a test
that finds them down fails with what to run, it does not skip.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from forewarn.core.settings import ENV_OVERRIDES
from forewarn.engine.config import to_toml

REPO = Path(__file__).resolve().parent.parent
KAFKA = os.environ.get("FOREWARN_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
REDIS = os.environ.get("FOREWARN_REDIS_URL", "redis://127.0.0.1:6379/0")
PROMETHEUS = os.environ.get("FOREWARN_PROMETHEUS_URL", "http://127.0.0.1:9090")


def _reachable(hostport: str) -> bool:
    host, port = hostport.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def services() -> dict[str, str]:
    redis_hostport = REDIS.split("//", 1)[1].split("/", 1)[0]
    prom_hostport = PROMETHEUS.split("//", 1)[1].rstrip("/")
    down = [name for name, hp in (("kafka", KAFKA), ("redis", redis_hostport), ("prometheus", prom_hostport))
            if not _reachable(hp)]
    if down:
        pytest.fail(f"{', '.join(down)} not reachable; start them with `bash scripts/services.sh start`")
    return {"kafka": KAFKA, "redis": REDIS, "prometheus": PROMETHEUS}


@pytest.fixture
def namespace(request) -> str:
    """A fresh name for this test's topics, consumer group and Redis keys.

    A test on the real services has its topics (``<namespace>-...``) deleted afterwards: left
    behind, thousands of them made the broker take minutes to start. Only this test's own, so
    tests running at the same time in other processes keep theirs.
    """
    ns = f"t{uuid.uuid4().hex[:10]}"
    yield ns
    if "services" in request.fixturenames:
        delete_topics(KAFKA, ns)


def delete_topics(bootstrap: str, ns: str) -> None:
    """Delete the topics named ``ns`` or ``ns-...`` (those the test, or its engine, created)."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    ours = [t for t in admin.list_topics(timeout=30).topics if t == ns or t.startswith(f"{ns}-")]
    for topic, fut in (admin.delete_topics(ours, operation_timeout=30).items() if ours else ()):
        try:
            fut.result(timeout=60)
        except KafkaException as exc:  # already gone is what we wanted; anything else is a failure
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


@pytest.fixture
def redis_client(services):
    import redis

    client = redis.Redis.from_url(services["redis"])
    yield client
    client.close()


@pytest.fixture
def prefix(namespace, redis_client):
    """This test's Redis key prefix; its keys are deleted afterwards."""
    from tests.queue_helpers import delete_prefix

    p = f"{namespace}:"
    yield p
    delete_prefix(redis_client, p)


class RunProcess:
    """``forewarn run`` in a subprocess, as an operator would start it."""

    def __init__(self, config_path: Path, log_path: Path, args: tuple[str, ...] = ()) -> None:
        self.log_path = log_path
        self.log = open(log_path, "wb")
        # The test's config file says where everything is; the FOREWARN_* connection overrides
        # that scripts/test.sh exports for the shared services would take precedence over it.
        env = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "forewarn.apps.cli", "run", "--config", str(config_path), *args],
            cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_engine(tmp_path, namespace):
    # namespace: set up before, so torn down after, the engines (their topics outlive them)
    started: list[RunProcess] = []

    def start(config_text: str, *args: str, name: str = "engine") -> RunProcess:
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(config_text)
        engine = RunProcess(cfg, tmp_path / f"{name}.log", args)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        if engine.alive():
            engine.stop()


def wait_for(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {_said(what)}")


def _said(what) -> str:
    """``what`` a wait is for: a string, or a function giving one at the time of the failure
    (the engine's counters then, not when the wait began)."""
    return what() if callable(what) else what


def wait_progress(predicate, progress, stall: float = 300, interval: float = 0.25, what: str = "condition"):
    """Wait until ``predicate()`` holds for as long as ``progress()`` keeps changing.

    A slow machine only makes the wait longer; it fails when ``progress()`` (events read,
    triggers queued, what the recovery store has committed) has not moved for ``stall``
    seconds: a hang, or an engine that has done all it will and still falls short.
    """
    last, moved = progress(), time.monotonic()
    while True:
        value = predicate()
        if value:
            return value
        now = progress()
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > stall:
            raise AssertionError(f"no progress for {stall:.0f}s (stuck at {last!r}) waiting for {_said(what)}")
        time.sleep(interval)


def live_config(ns: str, services: dict[str, str], **sections: dict) -> str:
    """A run config isolated to this test: own topics, group, Redis prefix and recovery dir."""
    base = {
        "engine": {"allowed_lateness_seconds": 0, "idle_timeout_seconds": 2},
        "kafka": {"bootstrap": services["kafka"], "group_id": ns,
                  "topics": [f"{ns}-{t}" for t in ("orders", "payments", "shipments", "customers")]},
        "redis": {"url": services["redis"], "prefix": f"{ns}:"},
        "metrics": {"port": 0},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return to_toml(base)


def queued_triggers(client, prefix: str) -> list[dict]:
    """Every trigger in every queue stream under ``prefix``."""
    import json

    from sinks.redis_queue import all_queue_keys

    out = []
    for key in all_queue_keys(prefix):
        out.extend(json.loads(fields[b"trigger"]) for _id, fields in client.xrange(key))
    return out


@pytest.fixture(scope="session")
def simulated_month(tmp_path_factory) -> list:
    """The triggers of a month of the simulated store (500 customers, seed 7), as a backtest writes them."""
    from forewarn.apps.cli import main
    from forewarn.core.trigger import decode

    d = tmp_path_factory.mktemp("simulated_month")
    assert main(["simulate", "--customers", "500", "--days", "30", "--seed", "7", "--end", "2026-11-26T00:00:00Z",
                 "--output", str(d / "e.jsonl"), "--truth", str(d / "t.jsonl")]) == 0
    assert main(["backtest", "--input", str(d / "e.jsonl"), "--output", str(d / "triggers.jsonl")]) == 0
    return [decode(line) for line in (d / "triggers.jsonl").read_text().splitlines()]
