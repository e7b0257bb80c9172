"""Long commands show a progress bar with count, rate and ETA on a terminal (a real pty), and
nothing of it when their stderr is a pipe: simulate, backtest, a `--set` sweep, record."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading

import pytest

from forewarn.apps.simulator import SimSpec, generate, write_jsonl
from tests.conftest import REPO, live_config

SPEC = SimSpec(customers=60, days=7, seed=11, end="2026-10-31T00:00:00Z")


def _forewarn(args: list[str], terminal: bool, cwd) -> tuple[int, str]:
    """Run forewarn with stderr on an 80x24 pty (``terminal``) or a pipe; its exit code and stderr."""
    if not terminal:
        done = subprocess.run([sys.executable, "-m", "forewarn", *args], cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
        return done.returncode, done.stderr
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "forewarn", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=slave, env={**os.environ, "PYTHONPATH": str(REPO)})
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # read as it comes: a full pty would block the child
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    code = proc.wait(600)
    reader.join(30)
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


def _parts(screen: str) -> list[str]:
    """What was drawn, piece by piece: a terminal goes back to the line's start at each \\r."""
    return [part.strip() for line in screen.replace("\r\n", "\n").split("\n") for part in line.split("\r")]


def _final(screen: str, desc: str) -> str:
    """The last state the bar called ``desc`` drew."""
    drawn = [part for part in _parts(screen) if part.startswith(f"{desc}: ") and "|" in part]
    assert drawn, screen
    return drawn[-1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("progress")
    sim = generate(SPEC, None)
    write_jsonl(sim, d / "events.jsonl", d / "truth.jsonl")
    return d, sum(1 for line in open(d / "events.jsonl", "rb") if line.strip())


def test_a_backtest_on_a_terminal_shows_a_bar_that_ends_at_every_line_with_rate_and_eta(store):
    d, n = store
    code, screen = _forewarn(["backtest", "--input", "events.jsonl", "--output", "t.jsonl"], True, d)
    assert code == 0, screen
    bar = _final(screen, "backtest")
    assert bar.startswith("backtest: 100%|") and f"| {n}/{n} [" in bar, bar
    assert "<00:00" in bar and "event/s]" in bar  # elapsed<remaining, and the rate
    assert all(len(part) <= 80 for part in _parts(screen))
    assert f"backtest: {n} events (0 invalid)" in screen  # the summary line still follows


def test_a_backtest_piped_prints_its_summary_and_no_bar(store):
    d, n = store
    code, err = _forewarn(["backtest", "--input", "events.jsonl", "--output", "t.jsonl"], False, d)
    assert code == 0, err
    assert "\r" not in err and "%|" not in err and "event/s]" not in err
    assert err.splitlines()[-1].startswith(f"backtest: {n} events (0 invalid) in ")


def test_a_sweep_on_two_workers_counts_each_line_of_each_run_once(store):
    d, n = store
    args = ["backtest", "--input", "events.jsonl", "--output", "sweep/t.jsonl", "--workers", "2",
            "--set", "detectors.delivery_late.grace_hours=6,24"]
    code, screen = _forewarn(args, True, d)
    assert code == 0, screen
    bar = _final(screen, "backtest")
    assert bar.startswith("backtest: 100%|") and f"| {2 * n}/{2 * n} [" in bar, bar
    # The per-run lines are printed above the bar, whole.
    assert any(line.startswith("backtest: run 2/2 delivery_late.grace_hours=24: ") and "events/s" in line
               for line in _parts(screen)), screen

    code, err = _forewarn(args, False, d)
    assert code == 0 and "%|" not in err and err.count("events/s") == 2, err


def test_simulate_on_a_terminal_shows_its_bars_and_piped_none(tmp_path):
    args = ["simulate", "--customers", "40", "--days", "5", "--end", "2026-10-31T00:00:00Z",
            "--output", "e.jsonl", "--truth", "t.jsonl"]
    code, screen = _forewarn(args, True, tmp_path)
    assert code == 0, screen
    assert _final(screen, "simulate").startswith("simulate: 100%|") and "| 40/40 [" in _final(screen, "simulate")
    assert "customer/s]" in _final(screen, "simulate")
    lines = sum(1 for _ in open(tmp_path / "e.jsonl"))
    assert f"| {lines}/{lines} [" in _final(screen, "write")
    code, err = _forewarn(args, False, tmp_path)
    assert code == 0 and "%|" not in err and "\r" not in err, err


@pytest.mark.services
def test_record_on_a_terminal_shows_a_bar_of_the_messages_and_piped_none(services, namespace, tmp_path):
    from confluent_kafka import Producer

    topic = f"{namespace}-orders"
    producer = Producer({"bootstrap.servers": services["kafka"]})
    t0 = 1_790_000_000_000  # 2026-09-21, ms
    for i in range(300):
        producer.produce(topic, b'{"type": "x"}', f"c{i}".encode(), timestamp=t0 + i)
    assert producer.flush(30) == 0
    (tmp_path / "c.toml").write_text(live_config(namespace, services))
    args = ["record", "--config", "c.toml", "--from", "2026-09-21T00:00:00Z", "--topics", topic, "--output", "r.jsonl"]
    code, screen = _forewarn(args, True, tmp_path)
    assert code == 0, screen
    bar = _final(screen, "record")
    assert bar.startswith("record: 100%|") and "| 300/300 [" in bar and "message/s]" in bar, bar
    code, err = _forewarn(args, False, tmp_path)
    assert code == 0 and "%|" not in err and "\r" not in err, err
    assert "record: 300 events from" in err
