"""A support lead retunes `[triage]` on a running `forewarn run` (real Kafka and Redis): the ai lane's
confidence bar, its intents and the flags that need a person change for the next messages, a bad
value is refused and the triage in force stays, and the intent model keeps what it knew."""

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from forewarn.apps.cli import main
from forewarn.apps.producer import produce
from forewarn.apps.simulator import phrasing as ph
from tests.conftest import live_config, queued_triggers, wait_for
from tests.factory import lines
from tests.faults import free_port
from tests.test_live_tuning import _write
from tests.test_triage_seed import first_messages, helpdesk_tickets, write_csv

pytestmark = [pytest.mark.services]


def _reloads(port: int, source: str, result: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return next((s.value for fam in text_string_to_metric_families(text) for s in fam.samples
                 if s.name == "forewarn_config_reloads_total"
                 and s.labels == {"source": source, "result": result}), 0.0)


def test_triage_retuned_live_applies_to_the_next_messages(services, namespace, start_engine, redis_client, tmp_path):
    # The store's own export seeds the model, so messages are triaged from the first one.
    export, seed = tmp_path / "export.csv", tmp_path / "intent-seed.npz"
    write_csv(export, helpdesk_tickets(1500, seed=1))
    assert main(["triage", "seed", "--input", str(export), "--output", str(seed), "--folds", "0"]) == 0

    prefix, port = f"{namespace}:", free_port()
    hash_key = f"{prefix}forewarn:config"
    topics = [f"{namespace}-{t}" for t in ("orders", "payments", "shipments", "customers", "support")]
    config_text = live_config(namespace, services, kafka={"topics": topics}, metrics={"port": port},
                              live={"poll_seconds": 0.3}, triage={"seed": str(seed)})
    config_path = tmp_path / "engine.toml"
    engine = start_engine(config_text)
    messages, truth = first_messages(40)

    def batch(first: int, last: int) -> list[dict]:
        produce(lines(messages[first:last]), services["kafka"], topic_prefix=f"{namespace}-")
        wanted = {f"m{i}" for i in range(first, last)}

        def arrived():
            found = {t["evidence"]["triage"]["message_id"]: t for t in queued_triggers(redis_client, prefix)
                     if t["kind"] == "support_message" and t["evidence"]["triage"]["message_id"] in wanted}
            return [found[f"m{i}"] for i in range(first, last)] if len(found) == len(wanted) else None
        return wait_for(arrived, 90, what=f"the triggers of messages m{first}..m{last - 1}\n{engine.output()}")

    def triage(t: dict) -> dict:
        return t["evidence"]["triage"]

    # As started: simple questions the model is sure of go to the ai lane.
    before = batch(0, 10)
    ai = [t for t in before if t["route"] == "ai"]
    assert ai and all(triage(t)["intent"] in ph.ANSWERABLE and triage(t)["confidence"] >= 0.9 for t in ai)
    assert [triage(t)["intent"] for t in before] == truth[:10]
    assert {triage(t)["model_labels_seen"] for t in before} == {1500}

    # The lead wants certainty for now: from the next message on, no confidence is enough.
    redis_client.hset(hash_key, "triage.min_confidence", "1.0")
    wait_for(lambda: _reloads(port, "redis", "applied") == 1, 30, what="the change in the metrics")
    strict = batch(10, 20)
    assert {t["route"] for t in strict} == {"human"}
    sure = [t for t in strict if triage(t)["intent"] in ph.ANSWERABLE and triage(t)["confidence"] >= 0.9]
    assert sure and all(f"triage: confidence {triage(t)['confidence']:.2f} is below triage.min_confidence 1"
                        in t["evidence"]["routing"] for t in sure)

    # A flag the engine does not know is refused, with the key; the bar of 1.0 stays in force.
    redis_client.hset(hash_key, "triage.human_flags", '["angry", "bored"]')
    wait_for(lambda: _reloads(port, "redis", "rejected") == 1, 30, what="the refusal in the metrics")
    assert "triage.human_flags = ['angry', 'bored']: unknown flag(s) ['bored']" in engine.output()
    assert {t["route"] for t in batch(20, 25)} == {"human"}

    # Back to the default bar, and only refunds for the ai lane, from the config file.
    redis_client.hdel(hash_key, "triage.min_confidence", "triage.human_flags")
    wait_for(lambda: _reloads(port, "redis", "applied") == 2, 30, what="the hash cleared in the metrics")
    _write(config_path, config_text.replace("[triage]\n", '[triage]\nai_intents = ["refund_status"]\n'))
    wait_for(lambda: _reloads(port, "file", "applied") == 1, 30, what="the file change in the metrics")
    after = batch(25, 40)
    assert all(t["route"] == "human" for t in after if triage(t)["intent"] != "refund_status")
    others = [t for t in after if triage(t)["intent"] in ph.ANSWERABLE - {"refund_status"}]
    assert others and all(f"triage: intent {triage(t)['intent']} is not in triage.ai_intents"
                          in t["evidence"]["routing"] for t in others)
    assert {triage(t)["model_labels_seen"] for t in after} == {1500}  # what it learned is kept

    assert engine.alive(), engine.output()
    assert engine.output().count("\n  metrics   http://") == 1  # one start-up banner: never restarted
    queued = queued_triggers(redis_client, prefix)
    assert len({t["trigger_id"] for t in queued}) == len(queued) == 40
    engine.stop()
    redis_client.delete(hash_key)
