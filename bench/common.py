"""What every measurement needs: the machine, the services, a store to replay, engines to start.

Benchmarks run against the real Kafka and Redis (``FOREWARN_KAFKA_BOOTSTRAP``,
``FOREWARN_REDIS_URL``, defaults the shared loopback ones), in their own topics and Redis
prefix, which they delete afterwards.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from forewarn.core.settings import ENV_OVERRIDES
from forewarn.engine.config import to_toml

REPO = Path(__file__).resolve().parent.parent
KAFKA = os.environ.get("FOREWARN_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
REDIS = os.environ.get("FOREWARN_REDIS_URL", "redis://127.0.0.1:6379/0")
TOPICS = ("orders", "payments", "shipments", "customers", "support")
# A fixed, past window: the same store every run.
STORE_END = "2026-10-31T00:00:00Z"


def store_spec(customers: int, seed: int = 7):
    """The benchmarked store: 30 days of ``customers``, with the inbound support traffic
    ``forewarn simulate`` makes by default (triage, replies and their review measured too)."""
    from forewarn.apps.simulator import SimSpec

    return SimSpec(customers=customers, days=30, seed=seed, end=STORE_END, support_rate=1.0)


def machine() -> dict:
    """The machine the numbers were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gb": round(mem_kb / 2**20, 1),
            "python": platform.python_version(), "load_avg_1m": round(os.getloadavg()[0], 2)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def namespace(what: str) -> str:
    return f"bench-{what}-{uuid.uuid4().hex[:6]}"


def engine_config(ns: str, topics_ns: str, metrics_port: int, **sections: dict) -> dict[str, dict]:
    """A run config reading ``topics_ns``'s topics, writing under the Redis prefix ``ns:``.
    Every detector and model is on (their defaults); allowed lateness is 0."""
    base = {
        "engine": {"allowed_lateness_seconds": 0, "idle_timeout_seconds": 2},
        "kafka": {"bootstrap": KAFKA, "group_id": ns, "topics": [f"{topics_ns}-{t}" for t in TOPICS]},
        "redis": {"url": REDIS, "prefix": f"{ns}:"},
        "metrics": {"port": metrics_port},
    }
    for name, body in sections.items():
        base.setdefault(name, {}).update(body)
    return base


class RunProcess:
    """``forewarn run`` in a subprocess, with its own metrics port."""

    def __init__(self, config: dict[str, dict], args: tuple[str, ...] = (), log: str = "engine") -> None:
        self.port = config["metrics"]["port"]
        self.dir = Path(tempfile.mkdtemp(prefix="forewarn-bench-"))
        cfg = self.dir / "config.toml"
        cfg.write_text(to_toml(config))
        self.log_path = self.dir / f"{log}.log"
        env = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES}  # the config file decides
        self.proc = subprocess.Popen([sys.executable, "-m", "forewarn.apps.cli", "run", "--config", str(cfg), *args],
                                     cwd=REPO, stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT, env=env)

    def metric(self, name: str) -> float:
        from urllib.request import urlopen

        from prometheus_client.parser import text_string_to_metric_families

        text = urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5).read().decode()
        return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_serving(self) -> None:
        """Until it serves its metrics (it has started), or has died."""
        while self.alive():
            try:
                self.metric("forewarn_events_total")
                return
            except OSError:
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """CPU time the engine process has used (user + system): a rate per CPU second is
        steadier than one per wall second on a machine other work shares."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def stop(engines: list[RunProcess]) -> None:
    """Signal all first: a process of a cluster that stops alone waits for its peers."""
    for e in engines:
        e.proc.terminate()
    for e in engines:
        try:
            e.proc.wait(30)
        except subprocess.TimeoutExpired:
            e.proc.kill()
            e.proc.wait()


def events_read(engines: list[RunProcess]) -> float | None:
    try:
        return sum(e.metric("forewarn_events_total") for e in engines)
    except OSError:
        return None  # not serving metrics yet


def follow(engines: list[RunProcess], total: int, timeout: float = 600,
           interval: float = 0.2) -> list[tuple[float, float, float]]:
    """Sample the events read until ``total``: (monotonic time, events read, engines' CPU seconds)."""
    series: list[tuple[float, float, float]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not all(e.alive() for e in engines):
            raise RuntimeError("an engine died:\n" + "\n".join(e.output()[-3000:] for e in engines))
        n = events_read(engines)
        if n is not None:
            series.append((time.monotonic(), n, sum(e.cpu_seconds() for e in engines)))
            if n >= total:
                return series
        time.sleep(interval)
    raise TimeoutError(f"engines read {series[-1][1] if series else 0:.0f} of {total} events in {timeout:.0f} s")


def steady_rate(series: list[tuple[float, float, float]], total: int, lo: float = 0.1,
                hi: float = 0.9) -> tuple[float, float]:
    """Events per wall second and per CPU second between reading ``lo`` and ``hi`` of the total
    (start-up and the tail left out)."""
    t0, n0, c0 = next(s for s in series if s[1] >= lo * total)
    t1, n1, c1 = next(s for s in series if s[1] >= hi * total)
    return (n1 - n0) / (t1 - t0), (n1 - n0) / max(c1 - c0, 1e-9)


def queued(client: redis.Redis, prefix: str) -> int:
    from sinks.redis_queue import all_queue_keys

    return sum(client.xlen(k) for k in all_queue_keys(prefix))


def cleanup(topics_ns: str | None = None, prefixes: tuple[str, ...] = (), topics: tuple[str, ...] = TOPICS) -> None:
    """Delete this benchmark's own topics and Redis keys."""
    if prefixes:
        client = redis.Redis.from_url(REDIS)
        for prefix in prefixes:
            keys = list(client.scan_iter(f"{prefix}*", count=10_000))
            for i in range(0, len(keys), 10_000):
                client.delete(*keys[i:i + 10_000])
    if topics_ns:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": KAFKA})
        for fut in admin.delete_topics([f"{topics_ns}-{t}" for t in topics]).values():
            try:
                fut.result(30)
            except Exception:  # a topic never created: nothing to delete
                pass
