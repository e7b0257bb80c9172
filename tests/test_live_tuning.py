"""An operator tunes a running `forewarn run` (real Kafka and Redis): a bad value is refused and
the old one stays, a good one applies to the next triggers, connection settings need a restart,
and nothing the engine knew — armed deadlines, customers' lifetime value — is lost."""

import os
import signal
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from forewarn.apps.producer import produce
from tests.conftest import live_config, queued_triggers, wait_for
from tests.factory import consent, lines, order, shipped, tick
from tests.faults import free_port

pytestmark = [pytest.mark.services]

ENGINE = {"allowed_lateness_seconds": 0, "idle_timeout_seconds": 1}


def _metrics(port: int) -> dict[tuple, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) if fam.name.startswith("forewarn_config")
            for s in fam.samples}


def _reloads(port: int, source: str, result: str) -> float:
    return _metrics(port).get(("forewarn_config_reloads_total", (("result", result), ("source", source))), 0.0)


def _write(path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_thresholds_change_on_a_running_engine_without_restart_or_lost_state(
        services, namespace, start_engine, redis_client, tmp_path):
    prefix, port = f"{namespace}:", free_port()
    hash_key = f"{prefix}forewarn:config"
    sections = dict(engine=ENGINE, metrics={"port": port}, live={"poll_seconds": 0.3})
    config_text = live_config(namespace, services, **sections) + "[detectors.delivery_late]\ngrace_hours = 12\n"
    engine = start_engine(config_text)
    config_path = tmp_path / "engine.toml"

    def send(*events):
        produce(lines(list(events)), services["kafka"], topic_prefix=f"{namespace}-")

    def late(shipment_id: str) -> dict:
        def found():
            return next((t for t in queued_triggers(redis_client, prefix)
                         if t["kind"] == "delivery_late" and t["evidence"]["shipment_id"] == shipment_id), None)
        return wait_for(found, 60, what=f"the delivery_late trigger of {shipment_id}\n{engine.output()}")

    # Before any change: a 12 h grace. Customer a's parcel s1 is armed now, due in three days.
    send(consent("2026-09-30T00:00:00Z", customer_id="a", email=True),
         order("2026-10-01T00:00:00Z", order_id="o1", total=300.0, customer_id="a"),
         shipped("2026-10-01T01:00:00Z", eta="2026-10-04T00:00:00Z", shipment_id="s1", order_id="o1", customer_id="a"),
         order("2026-10-01T00:00:00Z", order_id="ob", customer_id="b"),
         shipped("2026-10-01T01:00:00Z", eta="2026-10-01T10:00:00Z", shipment_id="sb", order_id="ob", customer_id="b"),
         tick("2026-10-02T00:00:00Z"))
    sb = late("sb")
    assert (sb["fired_at"], sb["evidence"]["grace_hours"]) == ("2026-10-01T22:00:00Z", 12.0)
    assert _metrics(port)[("forewarn_config_generation", ())] == 1

    # A bad value in the Redis hash is refused, says why, and the 12 h grace stays in force.
    redis_client.hset(hash_key, "detectors.delivery_late.grace_hours", "-3")
    wait_for(lambda: _reloads(port, "redis", "rejected") == 1, 30, what="the refusal in the metrics")
    assert "detectors.delivery_late.grace_hours = -3: Expected `float` >= 0" in engine.output()
    assert f"set in Redis hash {hash_key}" in engine.output()
    send(order("2026-10-02T01:00:00Z", order_id="oc", customer_id="c"),
         shipped("2026-10-02T02:00:00Z", eta="2026-10-02T04:00:00Z", shipment_id="sc", order_id="oc", customer_id="c"),
         order("2026-10-02T20:00:00Z", order_id="o2", total=200.0, customer_id="a"))
    sc = late("sc")
    assert (sc["fired_at"], sc["evidence"]["grace_hours"]) == ("2026-10-02T16:00:00Z", 12.0)

    # A good value applies to parcels armed from now on; s1, armed before, keeps its deadline.
    redis_client.hset(hash_key, "detectors.delivery_late.grace_hours", "2")
    wait_for(lambda: _reloads(port, "redis", "applied") == 1, 30, what="the change in the metrics")
    assert _metrics(port)[("forewarn_config_generation", ())] == 2
    send(shipped("2026-10-03T01:00:00Z", eta="2026-10-03T04:00:00Z", shipment_id="s2", order_id="o2", customer_id="a"),
         tick("2026-10-05T00:00:00Z"))
    s2, s1 = late("s2"), late("s1")
    assert (s2["fired_at"], s2["evidence"]["grace_hours"]) == ("2026-10-03T06:00:00Z", 2.0)
    assert (s1["fired_at"], s1["evidence"]["grace_hours"]) == ("2026-10-04T12:00:00Z", 12.0)
    for t in (s1, s2):  # customer a's history carried through the change
        assert (t["customer"]["ltv"], t["customer"]["orders"]) == (500.0, 2)
        assert (t["route"], t["priority"]) == ("ai", "p3")

    # Connection settings in the file: refused, restart needed, nothing applied.
    moved = config_text.replace(services["kafka"], "127.0.0.1:1")
    _write(config_path, moved.replace("grace_hours = 12", "grace_hours = 48"))
    wait_for(lambda: _reloads(port, "file", "restart_needed") == 1, 30, what="restart needed in the metrics")
    assert "kafka.bootstrap" in engine.output() and "restart needed" in engine.output()

    # The routing table in the file: the next trigger goes to a human. The hash's 2 h still wins.
    _write(config_path, config_text + '[routing.kinds.delivery_late]\npriority = "p2"\nroute = "human"\n')
    wait_for(lambda: _reloads(port, "file", "applied") == 1, 30, what="the routing change in the metrics")
    send(shipped("2026-10-05T01:00:00Z", eta="2026-10-05T05:00:00Z", shipment_id="s3", order_id="o2", customer_id="a"),
         tick("2026-10-06T00:00:00Z"))
    s3 = late("s3")
    assert (s3["fired_at"], s3["evidence"]["grace_hours"], s3["route"], s3["priority"]) == \
        ("2026-10-05T07:00:00Z", 2.0, "human", "p2")
    assert "kind delivery_late: p2, human lane" in s3["evidence"]["routing"]

    # SIGHUP re-reads at once, even with nothing changed, and the flow carries on.
    engine.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: _reloads(port, "signal", "unchanged") == 1, 30, what="the SIGHUP check in the metrics")

    assert engine.alive(), engine.output()
    assert engine.output().count("\n  metrics   http://") == 1  # one start-up banner: never restarted
    assert _metrics(port)[("forewarn_config_generation", ())] == 3
    queued = queued_triggers(redis_client, prefix)
    late_parcels = [t["evidence"]["shipment_id"] for t in queued if t["kind"] == "delivery_late"]
    assert sorted(late_parcels) == ["s1", "s2", "s3", "sb", "sc"]  # some of them also stall
    assert len({t["trigger_id"] for t in queued}) == len(queued)
    engine.stop()
    redis_client.delete(hash_key)
