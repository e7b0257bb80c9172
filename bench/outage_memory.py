"""RSS of `forewarn run` while its Redis is away and producers keep writing (issue 15.7).

Needs the shared Kafka on 127.0.0.1:9092 and `redis-server`; uses the fault-test helpers (a private
Redis of its own, stopped and started again). From the repository root:

    PYTHONPATH=$PWD python -m bench.outage_memory [outage seconds, 180] [events/s, 300]
"""
import sys, threading, time, uuid
from pathlib import Path
from forewarn.apps.producer import produce
from tests.conftest import Engine, live_config, wait_for
from tests.factory import lines, tick
from tests.faults import free_port, late_parcels, metrics, private_redis
from tests.test_outages import BEFORE, DURING

outage, rate = float(sys.argv[1]) if len(sys.argv) > 1 else 180, float(sys.argv[2]) if len(sys.argv) > 2 else 300
kafka = "127.0.0.1:9092"
ns = f"rss{uuid.uuid4().hex[:8]}"
work = Path(f"/tmp/forewarn-outage-memory/{ns}"); work.mkdir(parents=True)

def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

with private_redis(work / "redis") as server:
    port = free_port()
    cfg = work / "c.toml"
    cfg.write_text(live_config(ns, {"kafka": kafka, "redis": server.url},
                               redis={"url": server.url, "retry_max_seconds": 1.0}, metrics={"port": port}))
    produce(lines(BEFORE), kafka, topic_prefix=f"{ns}-")
    engine = Engine(cfg, work / "engine.log")
    client = server.client()
    wait_for(lambda: late_parcels(client, f"{ns}:"), 120, what="c1's trigger")
    time.sleep(5)
    print(f"before the outage: RSS {rss_mb(engine.proc.pid):.1f} MB", flush=True)
    server.stop()
    produce(lines(DURING), kafka, topic_prefix=f"{ns}-")
    wait_for(lambda: metrics(port).get('forewarn_sink_retries_total{sink="redis_queue"}', 0) >= 2, 60, what="retrying")
    n = int(outage * rate)
    held = lines([tick(f"2026-11-05T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z", customer_id=f"h{i % 997}")
                  for i in range(n)])
    t = threading.Thread(target=lambda: produce(held, kafka, rate, topic_prefix=f"{ns}-"), daemon=True)
    started = time.monotonic()
    t.start()
    samples = []
    while time.monotonic() - started < outage:
        samples.append((time.monotonic() - started, rss_mb(engine.proc.pid),
                        metrics(port).get("forewarn_kafka_consumer_lag_messages", 0)))
        print(f"t={samples[-1][0]:6.1f}s RSS {samples[-1][1]:7.1f} MB consumer lag {samples[-1][2]:,.0f}", flush=True)
        time.sleep(10)
    t.join(60)
    half = [s for s in samples if s[0] >= outage / 2]
    slope = (half[-1][1] - half[0][1]) / (half[-1][0] - half[0][0]) if len(half) > 1 else 0.0
    print(f"outage {outage:.0f} s at {rate:.0f} events/s: RSS {samples[0][1]:.1f} -> max {max(s[1] for s in samples):.1f}"
          f" -> last {samples[-1][1]:.1f} MB; second half {slope:+.3f} MB/s; lag {samples[-1][2]:,.0f}", flush=True)
    server.start()
    wait_for(lambda: len(late_parcels(client, f"{ns}:")) >= 2, 180, what="c2's trigger after the outage")
    print(f"after Redis came back: RSS {rss_mb(engine.proc.pid):.1f} MB", flush=True)
    engine.stop()
