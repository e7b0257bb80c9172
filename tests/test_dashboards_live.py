"""The dashboards and alert rules, proven on the real Prometheus.

A simulated store streams through Kafka into ``forewarn run`` serving its metrics on
127.0.0.1:9108, which the Prometheus of ``scripts/services.sh`` scrapes every 2 s. Then every
panel query of every dashboard, with Grafana's variables filled in, is evaluated through
Prometheus' HTTP API and must return data — so a metric renamed in code, or a query that names
one that does not exist, fails here. Every alert expression must parse and every metric it
reads must exist. The scrape itself must pass ``promtool check metrics`` and carry no
customer, order, shipment or event id in a label.
"""

from __future__ import annotations

import json
import math
import re
import socket
import subprocess
import threading
import time
import urllib.request
import warnings

import pytest
import yaml

from dashboards.build import render, sources
from dashboards.queries import Prometheus, PromQLError, substitute, targets, variable_queries
from forewarn.engine.config import from_dict
from forewarn.apps.producer import produce
from forewarn.apps.simulator import SimSpec, generate
from sinks.redis_queue import all_queue_keys
from tests.conftest import REPO, live_config, queued_triggers, wait_for, wait_progress
from tests.faults import metrics

pytestmark = [pytest.mark.services, pytest.mark.slow]

# The port deploy/prometheus/prometheus.yml scrapes (job "forewarn"); only this test serves it.
METRICS = ("127.0.0.1", 9108)
INSTANCE = f"{METRICS[0]}:{METRICS[1]}"
# Grafana's variables as a dashboard user would have them, the rate window short enough for a
# test yet ten scrapes wide, the dashboard range wider than the test's run.
VARIABLES = {"datasource": "prometheus", "job": "forewarn", "instance": INSTANCE, "kind": ".+",
             "__rate_interval": "20s", "__range": "3m"}
# About 46,000 events, 170 late deliveries and 1,084 support messages (927 labelled): at 300
# events/s the stream outlasts the test and a trigger fires about every second, so every rate
# window holds fresh samples, the support lead's triage panels included.
SPEC = SimSpec(customers=1000, days=30, seed=23, duplicate_rate=0.02, late_rate=0.02, invalid_rate=0.02,
               support_rate=1.0)
TOPICS = ("orders", "payments", "shipments", "customers", "support")
RATE = 300.0
# How long the set of queries still without data may stay the same before the test gives up:
# rates need a full window after the first samples. A slow machine stretches the whole wait;
# only this long without one more query showing data fails it.
SETTLE = 90
# How long the engine may read no event, or Prometheus scrape it not once more, before a wait
# counts as hung (a loaded machine slows both; neither stops for a minute and a half when well).
STALL = 90
HELPDESK = "helpdesk"


def _lands(path: str, pattern: str = "") -> bool:
    """Whether code matching ``pattern`` exists under ``path`` (a file or a folder of modules)."""
    files = [REPO / path] if (REPO / path).is_file() else list((REPO / path).glob("*.py"))
    return any(f.exists() and f.name != "__init__.py" and re.search(pattern, f.read_text()) for f in files)


# Panels fed by work other engineers are landing: strict as soon as the code that exports the
# metric is in the tree (so a rename still fails then); until then they must only parse.
PRODUCERS = {
    "forewarn_queue_depth_entries": ("the queue upkeep", lambda: _lands("forewarn/queue/upkeep.py")),
    "forewarn_queue_oldest_pending_age_seconds": ("the queue upkeep", lambda: _lands("forewarn/queue/upkeep.py")),
    "forewarn_detector_score": ("a detector reporting scores (sched.score)",
                                lambda: _lands("detectors", r"\.score\(") or _lands("online_models", r"\.score\(")),
    "forewarn_model_": ("the online models' quality metrics", lambda: _lands("online_models", "forewarn_model_")),
}


def _serving(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _finite(result: list[dict]) -> bool:
    return any(math.isfinite(float(r["value"][1])) for r in result)


def _exported(prom: Prometheus, metric: str) -> bool:
    """This engine exports ``metric`` now (an instant selector skips series gone stale)."""
    return bool(prom.query(f'{metric}{{job="forewarn", instance="{INSTANCE}"}}'))


def _own(metric: str) -> float | None:
    """``metric`` as the engine serves it on its port now (summed over labels); None until it serves.

    The engine's own word, not Prometheus': the waits below move on while it does.
    """
    try:
        return metrics(METRICS[1]).get(metric)
    except OSError:
        return None


def _read() -> float | None:
    return _own("forewarn_events_total")


def _ids(sim) -> set[str]:
    """Every customer, order, shipment and event id the store produced: none may become a label."""
    out = set()
    for raw in sim.events:
        try:
            ev = json.loads(raw)
        except ValueError:
            continue
        if isinstance(ev, dict):
            out.update(str(ev[k]) for k in ("customer_id", "order_id", "shipment_id", "event_id") if k in ev)
    return out


@pytest.fixture
def live_engine(services, namespace, start_engine, redis_client, tmp_path):
    """An engine on :9108 fed by a steady simulated stream, with a helpdesk group on every lane."""
    if _serving(*METRICS):
        pytest.fail(f"something already serves {INSTANCE}, the port this test's engine must use "
                    "(Prometheus scrapes it); stop it and rerun")
    prefix = f"{namespace}:"
    for key in all_queue_keys(prefix):  # a helpdesk reads every lane, so the queues have a depth and an age
        redis_client.xgroup_create(key, HELPDESK, id="0", mkstream=True)
    sim = generate(SPEC, from_dict({}))
    head, tail = sim.events[:300], sim.events[300:]
    produce(head, services["kafka"], topic_prefix=f"{namespace}-")  # the topics exist before the engine starts
    stop = threading.Event()
    producer = threading.Thread(target=produce, args=((e for e in tail if not stop.is_set()), services["kafka"], RATE,
                                                      f"{namespace}-"), daemon=True)
    producer.start()
    launched = time.time()
    engine = start_engine(live_config(
        namespace, services,
        kafka={"topics": [f"{namespace}-{t}" for t in TOPICS]},
        metrics={"host": METRICS[0], "port": METRICS[1]},
        recovery={"directory": str(tmp_path / "recovery"), "snapshot_interval_seconds": 1.0}))
    try:
        yield engine, sim, launched, prefix
    finally:
        stop.set()
        producer.join(30)
        engine.stop()


def test_every_panel_and_alert_query_returns_data_on_the_real_prometheus(live_engine, services, redis_client):
    """Each panel query returns data, each alert parses and reads exported metrics, the scrape is clean."""
    engine, sim, launched, prefix = live_engine
    prom = Prometheus(services["prometheus"])
    selector = f'{{job="forewarn", instance="{INSTANCE}"}}'

    # The data is this engine's: Prometheus holds the process start time the engine itself serves.
    # Start-up has no counter to watch; a start that takes longer than this is a hang.
    def serving():
        assert engine.alive(), engine.output()
        return _own("process_start_time_seconds")
    own_start = wait_for(serving, 300, interval=1, what=f"the engine to serve metrics on {INSTANCE}")
    assert launched - 2 < own_start, (own_start, launched)  # not an older process on the port

    def scraped() -> bool:
        starts = prom.query(f"process_start_time_seconds{selector}")
        return bool(starts) and float(starts[0]["value"][1]) == own_start
    wait_progress(scraped, _read, stall=STALL, interval=1, what=f"Prometheus to scrape the engine on {INSTANCE}")
    # A helpdesk picks up and acknowledges some triggers, as one would.
    wait_progress(lambda: queued_triggers(redis_client, prefix), _read, stall=STALL, interval=1,
                  what="triggers in the queues")
    for key in all_queue_keys(prefix):
        for _stream, entries in redis_client.xreadgroup(HELPDESK, "agent-1", {key: ">"}, count=5) or []:
            redis_client.xack(key, HELPDESK, *[entry_id for entry_id, _ in entries[:2]])

    # Ten successful scrapes of this engine, so every rate window holds samples. Counted since the
    # launch, not in a fixed window: on a loaded machine a scrape can miss its 2 s timeout
    # (up = 0) without anything being wrong, and the next one counts again.
    def scrapes() -> int:
        result = prom.query(f"sum_over_time(up{selector}[{int(time.time() - launched) + 1}s])")
        return int(float(result[0]["value"][1])) if result else 0
    wait_progress(lambda: scrapes() >= 10, scrapes, stall=STALL, interval=1,
                  what=lambda: f"ten successful scrapes (have {scrapes()})")

    failures = []
    queries = {}  # (dashboard / panel [ref]) -> expression with the variables filled in
    for path in sources():
        dash = render(path)
        for name, selector, label in variable_queries(dash):
            match = substitute(selector, VARIABLES) if selector else None
            if not prom.label_values(label, match):
                failures.append(f"{dash['title']}: variable ${name} (label_values({selector}, {label})) has no values")
        for panel, target in targets(dash):
            queries[f"{dash['title']} / {panel['title']} [{target['refId']}]"] = substitute(target["expr"], VARIABLES)
    assert len(queries) >= 40

    # Every query must parse at once, and return a finite value at least once while the stream
    # runs (a lane can be quiet for one rate window; a metric that does not exist never shows).
    pending = {prefix: what for prefix, (what, landed) in PRODUCERS.items() if not landed()}
    waiting = {}
    for where, expr in queries.items():
        try:
            prom.query(expr)
        except PromQLError as exc:
            failures.append(f"{where}: {exc}\n    {expr}")
            continue
        waits_for = [what for prefix, what in pending.items() if prefix in expr]
        if waits_for:
            warnings.warn(f"{where}: parses; no data required until {waits_for[0]} is in the tree")
        else:
            waiting[where] = expr
    moved = time.monotonic()
    while waiting and time.monotonic() - moved < SETTLE:
        still = {w: e for w, e in waiting.items() if not _finite(prom.query(e))}
        if len(still) < len(waiting):
            moved = time.monotonic()
        waiting = still
        if waiting:
            time.sleep(2)
    failures += [f"{where}: no data, and no other query got any in the last {SETTLE}s\n    {expr}"
                 for where, expr in waiting.items()]
    # Range windows may still hold an earlier run's samples; an instant selector only sees series
    # this engine exports now, so every metric a held panel reads must be among them.
    for where, expr in queries.items():
        for metric in sorted(set(re.findall(r"\b(forewarn_[a-z0-9_]+)\{", expr))):
            if not any(metric.startswith(prefix) for prefix in pending) and not _exported(prom, metric):
                failures.append(f"{where}: reads {metric}, which the engine does not export")
    assert not failures, f"{len(failures)} of {len(queries)} panel queries failed:\n" + "\n".join(failures)

    rules = yaml.safe_load((REPO / "deploy/prometheus/alerts.yml").read_text())["groups"]
    exprs = [(r["alert"], r["expr"]) for g in rules for r in g["rules"]]
    assert len(exprs) >= 4
    for alert, expr in exprs:
        try:
            prom.query(expr)  # parses and evaluates (firing or not)
        except PromQLError as exc:
            failures.append(f"alert {alert}: {exc}")
            continue
        for metric in sorted(set(re.findall(r"\b(forewarn_[a-z0-9_]+|up)\b(?!\s*\()", expr))):
            if any(metric.startswith(prefix) for prefix in pending):
                continue
            if not _exported(prom, metric):
                failures.append(f"alert {alert}: reads {metric}, which the engine does not export")
    assert not failures, "\n".join(failures)

    # The scrape itself: valid exposition, and no id of the store in any label value.
    text = urllib.request.urlopen(f"http://{INSTANCE}/metrics", timeout=5).read().decode()
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), \
        check.stdout + check.stderr

    series = [line for line in text.splitlines() if line.startswith("forewarn_")]
    values = set(re.findall(r'="([^"]*)"', "\n".join(series)))
    leaked = values & _ids(sim)
    assert not leaked, f"ids in label values: {sorted(leaked)[:10]}"
    assert 50 < len(series) < 2000, len(series)  # bounded: grows with kinds and lanes, not customers
    assert engine.alive(), engine.output()
