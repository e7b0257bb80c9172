"""Live thresholds without services: the reloader reads a config file and swaps the engine's
detectors; bad values, connection changes and no-op edits leave the config in force."""

import logging
import os

import pytest

from detectors import REGISTRY, delivery_late
from forewarn.engine.config import ConfigError, load
from forewarn.engine.context import Context
from forewarn.engine.engine import Engine, Shard
from forewarn.core.events import decode
from forewarn.engine.liveconfig import Reloader, checksum, diff, hash_overrides, parse_value
from forewarn.engine.routing import route
from tests.factory import consent, lines, order, shipped, tick

BASE = """
[engine]
allowed_lateness_seconds = 0
[live]
redis_hash = ""
"""


def write(path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)  # as an operator's deploy tool would: never a half-written file


@pytest.fixture
def live(tmp_path):
    """A config file, a reloader on it and an engine attached; ``seen`` collects observations."""
    path = tmp_path / "forewarn.toml"
    write(path, BASE + "[detectors.delivery_late]\ngrace_hours = 12\n")
    seen = []
    reloader = Reloader(path, observe=lambda *a: seen.append(a), env={})
    engine = Engine(reloader.load_initial())
    reloader.attach(engine)
    return path, reloader, engine, seen


class Feed:
    """The engine over an ordered stream, fed a piece at a time (as a backtest drives it)."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.shard, self.out = engine, Shard(), []

    def __call__(self, *events: dict) -> None:
        for raw in lines(list(events)):
            ev = decode(raw)
            self.out += self.engine.on_event(self.shard, ev, Context(ev.ts_us))

    def triggers(self):
        return [route(c, self.engine.config.routing) for c in self.out]


def test_a_file_change_applies_to_deadlines_armed_after_it_and_state_carries_on(live):
    path, reloader, engine, seen = live
    feed = Feed(engine)
    feed(consent("2026-11-01T00:00:00Z", customer_id="a", email=True),
         order("2026-11-01T10:00:00Z", order_id="o1", total=300.0, customer_id="a"),
         shipped("2026-11-01T11:00:00Z", eta="2026-11-03T10:00:00Z", shipment_id="s1", order_id="o1", customer_id="a"))

    write(path, BASE + "[detectors.delivery_late]\ngrace_hours = 2\n[routing.kinds.delivery_late]\n"
                       'priority = "p2"\nroute = "human"\n')
    assert reloader.check() == "applied"
    assert engine.config.detectors.delivery_late.grace_hours == 2.0
    assert reloader.generation == 2 and seen[-1] == ("file", "applied", 2, checksum(engine.config))

    feed(order("2026-11-02T10:00:00Z", order_id="o2", total=200.0, customer_id="a"),
         shipped("2026-11-02T11:00:00Z", eta="2026-11-02T20:00:00Z", shipment_id="s2", order_id="o2", customer_id="a"),
         tick("2026-11-05T00:00:00Z"))
    got = {t.evidence["shipment_id"]: t for t in feed.triggers() if t.kind == "delivery_late"}
    # s2 was armed after the change: 2 h grace. s1 was armed before it and keeps its 12 h.
    assert (got["s2"].fired_at, got["s2"].evidence["grace_hours"]) == ("2026-11-02T22:00:00Z", 2.0)
    assert (got["s1"].fired_at, got["s1"].evidence["grace_hours"]) == ("2026-11-03T22:00:00Z", 12.0)
    assert "12 h later" in got["s1"].reasons[0]["detail"]
    assert got["s1"].customer["ltv"] == 500.0 and got["s1"].customer["orders"] == 2
    assert {(t.priority, t.route) for t in got.values()} == {("p2", "human")}


def test_a_bad_value_is_refused_with_key_value_and_rule_and_the_old_one_stays(live, caplog):
    path, reloader, engine, seen = live
    before = engine.config
    write(path, BASE + "[detectors.delivery_late]\ngrace_hours = -3\n")
    with caplog.at_level(logging.ERROR, logger="forewarn.live"):
        assert reloader.check() == "rejected"
    assert engine.config is before and reloader.generation == 1
    assert seen[-1] == ("file", "rejected", 1, checksum(before))
    [msg] = [r.getMessage() for r in caplog.records]
    assert "detectors.delivery_late.grace_hours = -3" in msg and ">= 0" in msg
    assert "generation 1 stays in force" in msg
    assert reloader.check() is None  # the same bad file is not refused again at every poll
    assert reloader.check(forced=True) == "rejected"  # SIGHUP re-evaluates


def test_connection_settings_are_refused_with_restart_needed_and_nothing_applies(live, caplog):
    path, reloader, engine, _ = live
    write(path, BASE + '[kafka]\nbootstrap = "10.0.0.9:9092"\n[detectors.delivery_late]\ngrace_hours = 24\n')
    with caplog.at_level(logging.ERROR, logger="forewarn.live"):
        assert reloader.check() == "restart_needed"
    assert engine.config.detectors.delivery_late.grace_hours == 12.0  # all or nothing
    [msg] = [r.getMessage() for r in caplog.records]
    assert "kafka.bootstrap '127.0.0.1:9092' -> '10.0.0.9:9092'" in msg and "restart needed" in msg


def test_an_edit_that_changes_nothing_is_reported_unchanged(live):
    path, reloader, engine, _ = live
    assert reloader.check() is None
    write(path, "# a comment\n" + BASE + "[detectors.delivery_late]\ngrace_hours = 12.0\n")
    assert reloader.check() == "unchanged" and reloader.generation == 1


class Learner(delivery_late.DeliveryLate):
    """A detector with learned state: takes new params in place instead of being rebuilt."""

    def __init__(self, params):
        self.params = params
        self.learned = 0

    def retune(self, params, config):
        self.params = params
        return self

    def on_event(self, cust, event, sched):
        self.learned += 1
        return []

    def on_deadline(self, cust, timer, deadline_us, sched):
        return []


def test_reconfigure_keeps_a_detector_with_learned_state_and_rebuilds_stateless_ones(monkeypatch):

    engine = Engine(load(None, env={}))
    stateless = engine.by_kind["delivery_late"]
    assert engine.reconfigure(load(None, {"detectors.delivery_late.grace_hours": 3}, env={})) == ["delivery_late"]
    assert engine.by_kind["delivery_late"] is not stateless
    assert engine.by_kind["delivery_late"].params.grace_hours == 3.0

    monkeypatch.setitem(REGISTRY, "delivery_late", Learner)
    engine = Engine(load(None, env={}))
    learner = engine.by_kind["delivery_late"]
    learner.learned = 41
    assert engine.reconfigure(load(None, {"detectors.delivery_late.grace_hours": 5}, env={})) == ["delivery_late"]
    assert engine.by_kind["delivery_late"] is learner and learner.learned == 41
    assert learner.params.grace_hours == 5.0
    routing_only = {"detectors.delivery_late.grace_hours": 5, "routing.vip_ltv": 10}
    assert engine.reconfigure(load(None, routing_only, env={})) == []
    assert engine.config.routing.vip_ltv == 10.0 and engine.by_kind["delivery_late"] is learner


def test_the_redis_hash_may_set_only_live_keys_and_values_read_as_toml():
    assert hash_overrides({"detectors.delivery_late.grace_hours": "24", "routing.kinds.payment_failed.route": "human"},
                          "hash") == {"detectors.delivery_late.grace_hours": 24, "routing.kinds.payment_failed.route": "human"}
    with pytest.raises(ConfigError, match=r"\['kafka.bootstrap'\] not allowed.*restart"):
        hash_overrides({"kafka.bootstrap": "x:1"}, "hash")
    assert [parse_value(v) for v in ("1.5", "true", '"p1"', "p1")] == [1.5, True, "p1", "p1"]


def test_diff_names_every_changed_key():
    a = load(None, env={})
    b = load(None, {"detectors.delivery_late.grace_hours": 6, "redis.prefix": "x:"}, env={})
    assert [str(d) for d in diff(a, b)] == ["detectors.delivery_late.grace_hours 12.0 -> 6.0", "redis.prefix '' -> 'x:'"]


def test_triage_changes_apply_to_the_next_message_and_the_seed_waits_for_a_restart(live, tmp_path, caplog):
    from tests.test_support_message import _learning_stream, message

    path, reloader, engine, seen = live
    feed = Feed(engine)
    feed(*_learning_stream(40))  # the model is sure of "where is my parcel" by now

    def next_message(mid: str, body: str = "hi, my parcel has still not arrived??"):
        feed.out.clear()
        feed(message("2026-10-28T09:00:00Z", mid, body, customer_id=mid))
        [cand] = [c for c in feed.out if c.kind == "support_message"]
        return route(cand, engine.config.routing, engine.config.triage)  # as the flow: the config in force

    first = next_message("q1")
    assert (first.evidence["triage"]["intent"], first.route) == ("where_is_my_order", "ai")
    assert first.evidence["triage"]["confidence"] < 1.0

    # The lead wants certainty for now: the next message goes to a person; the model keeps what it learned.
    model = engine.models["support_message"]
    write(path, BASE + "[detectors.delivery_late]\ngrace_hours = 12\n[triage]\nmin_confidence = 1.0\n")
    assert reloader.check() == "applied"
    assert seen[-1] == ("file", "applied", 2, checksum(engine.config))
    second = next_message("q2")
    assert second.route == "human"
    assert f"triage: confidence {second.evidence['triage']['confidence']:.2f} is below triage.min_confidence 1" \
        in second.evidence["routing"]
    assert engine.models["support_message"] is model and model.labels_seen == 80

    # Only refunds for the ai lane, and a repeat contact always to a person: validated whole.
    write(path, BASE + '[triage]\nai_intents = ["refund_status"]\nhuman_flags = ["angry", "bored"]\n')
    with caplog.at_level(logging.ERROR, "forewarn.live"):
        assert reloader.check() == "rejected"
    assert "triage.human_flags = ['angry', 'bored']: unknown flag(s) ['bored']" in caplog.text
    assert engine.config.triage.min_confidence == 1.0  # generation 2 stays in force, as a whole
    write(path, BASE + '[triage]\nai_intents = ["refund_status"]\nhuman_flags = ["angry", "repeat_contact"]\n')
    assert reloader.check() == "applied"
    third = next_message("q3")
    assert third.route == "human"
    assert "triage: intent where_is_my_order is not in triage.ai_intents" in third.evidence["routing"]
    assert engine.config.triage.human_flags == ["angry", "repeat_contact"]

    # The seed only starts fresh models: naming one needs a restart, and nothing else applies with it.
    seed = tmp_path / "seed.npz"
    from online_models import intent_seed
    intent_seed.save(model, seed, {})
    write(path, BASE + f'[triage]\nai_intents = ["where_is_my_order"]\nseed = "{seed}"\n')
    with caplog.at_level(logging.ERROR, "forewarn.live"):
        assert reloader.check() == "restart_needed"
    assert f"triage.seed '' -> '{seed}': read only at start, restart needed" in caplog.text
    assert engine.config.triage.ai_intents == ["refund_status"] and engine.config.triage.seed == ""


def test_the_redis_hash_may_set_triage_keys_but_not_the_seed():
    assert hash_overrides({"triage.min_confidence": "0.95", "triage.ai_intents": '["refund_status", "tracking"]'},
                          "hash") == {"triage.min_confidence": 0.95, "triage.ai_intents": ["refund_status", "tracking"]}
    with pytest.raises(ConfigError, match=r"\['triage.seed'\] not allowed.*but triage.seed"):
        hash_overrides({"triage.seed": "/tmp/seed.npz"}, "hash")
