"""Scale-out: two Bytewax processes (``forewarn run -i N -a ...``) on topics with several
partitions give the same triggers as one process, and the ground truth.

Each worker applies a customer's events and deadlines only up to its own clock, which the
partitions' progress reports reach in band behind their events, whichever process read them;
and each worker wakes its own silent customers, whether or not it reads any partition.
"""

import json
import time
from collections import Counter

import pytest

from flows.broadcast import worker_of
from forewarn.apps.cli import main
from forewarn.engine.config import from_dict
from forewarn.apps.groundtruth import trigger_subject
from forewarn.apps.producer import produce
from forewarn.apps.simulator import SimSpec, generate, write_jsonl
from tests.conftest import live_config, queued_triggers, wait_for
from tests.factory import lines, order, shipped, tick
from tests.faults import free_port, late_parcels
from tests.test_crash_recovery import RULE_KINDS

pytestmark = [pytest.mark.services, pytest.mark.slow]

ENGINE = {"allowed_lateness_seconds": 0, "idle_timeout_seconds": 2}


def _cluster(start_engine, config: str, processes: int = 2) -> list:
    addresses = ";".join(f"127.0.0.1:{free_port()}" for _ in range(processes))
    return [start_engine(config, "-i", str(i), "-a", addresses, name=f"process{i}") for i in range(processes)]


def _stop(processes: list) -> None:
    """Signal every process first: a Bytewax process that stops alone waits for its peers."""
    for p in processes:
        p.proc.terminate()
    for p in processes:
        p.stop()


def _comparable(t: dict) -> str:
    return json.dumps({k: v for k, v in t.items() if k != "emitted_at"}, sort_keys=True)


def test_two_processes_give_the_same_triggers_as_one(services, namespace, start_engine, redis_client, tmp_path):
    spec = SimSpec(customers=2000, days=30, seed=31, end="2026-10-31T00:00:00Z", duplicate_rate=0.02)
    sim = generate(spec, from_dict({"engine": ENGINE}))
    events = tmp_path / "events.jsonl"
    write_jsonl(sim, events, None)
    expected = sorted((r["kind"], r["customer_id"], r["order_id"], r["subject"], r["fired_at"])
                      for r in sim.truth if r["kind"] in RULE_KINDS)
    produce(sim.events, services["kafka"], topic_prefix=f"{namespace}-")  # 4 topics x 4 partitions

    processes = _cluster(start_engine, live_config(namespace, services, engine=ENGINE))
    prefix = f"{namespace}:"
    rule = lambda: [t for t in queued_triggers(redis_client, prefix) if t["kind"] in RULE_KINDS]  # noqa: E731
    wait_for(lambda: len(rule()) >= len(expected) or not all(p.alive() for p in processes), 120, interval=0.5,
             what=f"{len(expected)} triggers from two processes")
    time.sleep(3)  # anything extra would show up now
    assert all(p.alive() for p in processes), "\n".join(p.output() for p in processes)
    _stop(processes)
    live = rule()

    assert [i for i, n in Counter(t["trigger_id"] for t in live).items() if n > 1] == []
    got = sorted((t["kind"], t["customer_id"], t["order_id"], trigger_subject(t), t["fired_at"]) for t in live)
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    assert (len(missing), len(extra)) == (0, 0), f"missing {missing[:3]}, extra {extra[:3]}"
    # One process is the backtest (tests/test_end_to_end.py): the same triggers, field by field.
    cfg, out = tmp_path / "bt.toml", tmp_path / "bt.jsonl"
    cfg.write_text("[engine]\nallowed_lateness_seconds = 0\n")
    assert main(["backtest", "--input", str(events), "--output", str(out), "--config", str(cfg)]) == 0
    one = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(_comparable(t) for t in one if t["kind"] in RULE_KINDS) == sorted(_comparable(t) for t in live)


def test_a_worker_that_reads_no_partition_still_wakes_its_silent_customers(services, namespace, start_engine,
                                                                           redis_client):
    """One single-partition topic, two processes: one of them reads nothing, yet the customer it
    owns gets its deadline fired when another customer's event moves time past it."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"{namespace}-events"
    admin = AdminClient({"bootstrap.servers": services["kafka"]})
    admin.create_topics([NewTopic(topic, num_partitions=1)])[topic].result(timeout=10)
    # A silent customer owned by each worker, so whichever worker has no partition owns one.
    owned = {}
    for n in range(100):
        owned.setdefault(worker_of(f"silent{n}", 2), f"silent{n}")
    customers = [owned[0], owned[1]]
    events = []
    for i, cid in enumerate(customers):
        events += [order("2026-11-01T08:00:00Z", order_id=f"o{i}", customer_id=cid),
                   shipped("2026-11-01T09:00:00Z", eta="2026-11-02T10:00:00Z", shipment_id=f"s{i}",
                           order_id=f"o{i}", customer_id=cid)]
    events.append(tick("2026-11-03T00:00:00Z"))
    producer = Producer({"bootstrap.servers": services["kafka"]})
    for raw in lines(events):
        producer.produce(topic, raw)
    producer.flush(30)

    processes = _cluster(start_engine, live_config(namespace, services, kafka={"topics": [topic]}))
    prefix = f"{namespace}:"
    wait_for(lambda: len(late_parcels(redis_client, prefix)) >= 2 or not all(p.alive() for p in processes),
             60, what="both silent customers' triggers\n" + "\n".join(p.output() for p in processes))
    _stop(processes)
    assert sorted((t["customer_id"], t["fired_at"]) for t in late_parcels(redis_client, prefix)) == \
        sorted((cid, "2026-11-02T22:00:00Z") for cid in customers)
