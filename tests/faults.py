"""Helpers for the fault tests: free ports, an engine's own metrics, and private services to break.

The shared Kafka and Redis are never stopped: a test that takes a service away starts its own
instance on free ports (a ``redis-server``, or a whole second stack via ``scripts/services.sh``)
and stops only that.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
SERVICES = REPO / "scripts" / "services.sh"


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# A port the kernel hands out for port 0 comes from the ephemeral range, the range every outgoing
# connection takes its local port from: between the pick and the server's bind, a client socket
# (a Kafka client's, the engine's) can take it — a private Kafka controller failed to start so in
# CI ("Unable to start acceptor for CONTROLLER"). Test servers take ports below that range, and a
# lock file per port keeps two test processes on one machine (CI beside a developer's run, or
# xdist workers) and two picks in one process from choosing the same port.
_PORTS = range(20000, max(20001, min(_ephemeral_start(), 32768)))
_LOCKS = Path(tempfile.gettempdir()) / "forewarn-test-ports"
_held: list = []  # lock files this process keeps open (and so locked) until it ends


def _claim(port: int) -> bool:
    """Lock ``port`` for this process if no test process holds it and nothing listens on it."""
    _LOCKS.mkdir(exist_ok=True)
    lock = open(_LOCKS / f"{port}.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
    except OSError:
        lock.close()
        return False
    _held.append(lock)
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that no client connection and no other test can take meanwhile."""
    for _ in range(500):
        port = random.choice(_PORTS)
        if _claim(port):
            return port
    raise RuntimeError(f"no free port in {_PORTS.start}-{_PORTS.stop - 1} on 127.0.0.1")


def free_port_pair() -> int:
    """A port ``p`` with ``p + 1`` free as well (a Kafka broker and its KRaft controller)."""
    for _ in range(500):
        port = random.choice(_PORTS[:-1])
        if _claim(port) and _claim(port + 1):
            return port
    raise RuntimeError(f"no two adjacent free ports in {_PORTS.start}-{_PORTS.stop - 1} on 127.0.0.1")


def late_parcels(client, prefix: str) -> list[dict]:
    """The ``delivery_late`` triggers under ``prefix``: the fault stories are told with late
    parcels (the same events also make other kinds, a stalled parcel, a data-quality note)."""
    from tests.conftest import queued_triggers

    return [t for t in queued_triggers(client, prefix) if t["kind"] == "delivery_late"]


def metrics(port: int) -> dict[str, float]:
    """An engine's Prometheus samples, summed over labels except those named in the key:
    ``{"forewarn_events_total": 12.0, 'forewarn_sink_up{sink="redis_queue"}': 1.0, ...}``."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[s.name] += s.value
            for k, v in s.labels.items():
                out[f'{s.name}{{{k}="{v}"}}'] += s.value
    return dict(out)


class PrivateRedis:
    """A ``redis-server`` of this test's own, on a free port, that the test may stop and start.

    Data survives a stop (``SHUTDOWN SAVE`` to its own directory), as for a Redis restarted
    by an operator.
    """

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir),
             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"private redis-server on port {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Shut down, saving the data set, and wait until the port is closed."""
        import redis

        try:
            redis.Redis(port=self.port).shutdown(save=True)
        except redis.ConnectionError:
            pass  # the shutdown closes the connection
        if self.proc is not None:
            self.proc.wait(20)
            self.proc = None

    def client(self):
        import redis

        return redis.Redis(port=self.port)


@contextmanager
def private_redis(workdir: Path):
    server = PrivateRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None:
            server.proc.kill()
            server.proc.wait()


def _jars() -> str:
    """The Kafka jars the shared stack already fetched, so a private broker downloads nothing."""
    if os.environ.get("FOREWARN_JARS"):
        return os.environ["FOREWARN_JARS"]
    cache = os.environ.get("FOREWARN_CACHE", str(Path.home() / ".cache" / "forewarn"))
    return str(Path(cache) / "kafka-4.1.1" / "libs")


class PrivateStack:
    """A second Kafka broker (and Redis, Prometheus) from ``scripts/services.sh`` on free ports,
    with its own cache directory (data, logs, pid files) and the shared jar cache."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        kafka = free_port_pair()
        self.env = {
            **os.environ,
            "FOREWARN_CACHE": str(cache),
            "FOREWARN_JARS": _jars(),
            "FOREWARN_KAFKA_PORT": str(kafka),
            "FOREWARN_REDIS_PORT": str(free_port()),
            "FOREWARN_PROM_PORT": str(free_port()),
            "FOREWARN_KAFKA_HEAP": "256m",
        }
        self.kafka = f"127.0.0.1:{kafka}"
        self.redis = f"redis://127.0.0.1:{self.env['FOREWARN_REDIS_PORT']}/0"

    def run(self, command: str) -> str:
        done = subprocess.run(["bash", str(SERVICES), command], env=self.env, capture_output=True, text=True,
                              timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"services.sh {command} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def stop(self) -> None:
        self.run("stop")
        shutil.rmtree(self.cache / "run", ignore_errors=True)


@contextmanager
def private_stack(cache: Path):
    stack = PrivateStack(cache)
    try:
        stack.run("start")
        yield stack
    finally:
        stack.stop()
