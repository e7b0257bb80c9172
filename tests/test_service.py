"""`forewarn run` as an operator meets it: the banner, Kafka down at start, progress, and a stop
by SIGTERM or by Ctrl-C on a real terminal (a pty) that ends with exit 0 and no Rust panic."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request

import pytest

from forewarn import __version__
from forewarn.core.settings import ENV_OVERRIDES
from forewarn.engine.config import to_toml
from tests.conftest import REPO, live_config, wait_for
from tests.faults import free_port


def _env() -> dict[str, str]:
    # The test's config says where everything is, not scripts/test.sh's FOREWARN_* overrides.
    return {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES}


class Terminal:
    """``forewarn`` started on a pseudo-terminal, as in an operator's shell: Ctrl-C is a real ^C."""

    def __init__(self, *args: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes forewarn, with the pty as its controlling terminal
            os.chdir(REPO)
            os.execve(sys.executable, [sys.executable, "-m", "forewarn", *args], _env())
        self.text = ""
        self.status: int | None = None

    def read(self, timeout: float = 0.2) -> str:
        while select.select([self.fd], [], [], timeout)[0]:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # the child is gone and the pty closed
                break
            if not chunk:
                break
            self.text += chunk.decode(errors="replace")
            timeout = 0
        return self.text

    def wait_for(self, pattern: str, timeout: float) -> str:
        return wait_for(lambda: re.search(pattern, self.read()), timeout, interval=0.1, what=repr(pattern)).group(0)

    def ctrl_c(self) -> None:
        os.write(self.fd, b"\x03")

    def exit_code(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read()
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.read()
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"forewarn did not stop within {timeout} s:\n{self.text}")


def test_version_names_forewarn_python_and_bytewax():
    done = subprocess.run([sys.executable, "-m", "forewarn", "--version"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert __version__ == pyproject["project"]["version"]
    assert re.fullmatch(rf"forewarn {re.escape(__version__)} \(python 3\.\d+\.\d+, bytewax 0\.21\.1\)\n", done.stdout)


@pytest.mark.services
def test_kafka_down_at_start_gives_one_line_per_retry_and_ctrl_c_stops_cleanly(services, namespace, tmp_path):
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    cfg = tmp_path / "down.toml"
    cfg.write_text(to_toml({
        "kafka": {"bootstrap": nowhere, "group_id": namespace, "topics": [f"{namespace}-orders"]},
        "redis": {"url": services["redis"], "prefix": f"{namespace}:"},
        "metrics": {"port": 0}}))
    term = Terminal("run", "--config", str(cfg), "--progress-seconds", "0")
    term.wait_for(r"retry 2 in 2 s", timeout=90)
    term.ctrl_c()
    assert term.exit_code() == 0, term.text
    lines = term.text.splitlines()
    retries = [line for line in lines if "cannot reach" in line]
    assert len(retries) in (2, 3), term.text
    assert retries[0].endswith(f"WARNING forewarn.sources: kafka: cannot reach {nowhere} "
                               "(Connection refused); retry 1 in 1 s")
    # Nothing of librdkafka's own log, no traceback, no Rust panic: the banner, the retries, the stop.
    assert not [line for line in lines if line.startswith("%") or "Traceback" in line or "panicked" in line]
    # (and on a Redis new to this prefix, the restart marker's notice)
    assert len([line for line in lines if "marker" not in line]) <= 7 + len(retries) + 2, term.text
    assert lines[0] == f"forewarn {__version__} " + lines[0].split(" ", 2)[2]
    assert lines[2].split() == ["kafka", nowhere + ",", "group", namespace + ",", "topics",
                                f"{namespace}-orders"]
    assert "SIGINT: stopping" in term.text and lines[-1].endswith("INFO forewarn: stopped")


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


@pytest.mark.services
@pytest.mark.slow
def test_a_running_engine_shows_progress_serves_process_metrics_and_stops_on_sigterm(services, namespace, tmp_path):
    from confluent_kafka import Producer

    port = free_port()
    recovery = tmp_path / "recovery"
    cfg = tmp_path / "run.toml"
    cfg.write_text(live_config(namespace, services, metrics={"port": port}, recovery={"directory": str(recovery)}))
    term = Terminal("run", "--config", str(cfg), "--progress-seconds", "1")
    banner = term.wait_for(r"forewarn .*\n(.*\n){6}", timeout=90)
    assert f"metrics   http://127.0.0.1:{port}/metrics" in banner
    assert f"recovery  {recovery} (1 partition(s), snapshot every 5 s)" in banner
    assert f"redis     {services['redis']}, prefix '{namespace}:'" in banner
    producer = Producer({"bootstrap.servers": services["kafka"]})
    for i in range(3):
        event = {"event_id": f"e{i}", "type": "payment.disputed", "ts": "2026-11-26T10:00:00Z",
                 "customer_id": f"c{i}", "order_id": f"o{i}", "amount": 20.0, "currency": "EUR"}
        producer.produce(f"{namespace}-payments", json.dumps(event).encode(), key=f"c{i}".encode())
    producer.flush(10)
    term.wait_for(r"progress: 3 events .*, 3 triggers", timeout=90)
    scraped = _scrape(port)
    assert re.search(r"^process_cpu_seconds_total \d", scraped, re.M)
    assert re.search(r"^process_resident_memory_bytes \d", scraped, re.M)
    assert re.search(rf'^forewarn_build_info\{{bytewax="0.21.1",python="3\.\d+\.\d+",version="{re.escape(__version__)}"\}} 1\.0$',
                     scraped, re.M), scraped
    os.kill(term.pid, signal.SIGTERM)
    assert term.exit_code() == 0, term.text
    assert "panicked" not in term.text and "Traceback" not in term.text
    assert term.text.rstrip().endswith("INFO forewarn: stopped; the next start resumes from the last snapshot")
