"""Every registered kind keeps the detector contract (River's check_estimator idea, over REGISTRY):
its thresholds are documented, it has a default lane, its example fires, a replay is
deterministic, a live retune keeps what it learned, and its state survives a snapshot."""

import pickle

import msgspec
import pytest

from detectors import REGISTRY
from forewarn.core.trigger import encode
from forewarn.engine.config import DEFAULT_KIND_ROUTES, load
from forewarn.engine.context import Context
from forewarn.engine.engine import NEVER, Engine, Shard
from forewarn.engine.replay import events, example
from forewarn.engine.routing import route

KINDS = list(REGISTRY)


def config_of(kind: str, **more):
    cls = REGISTRY[kind]
    return load(None, {**{f"detectors.{kind}.{k}": v for k, v in cls.EXAMPLE_SETTINGS.items()}, **more}, env={})


def run(kind: str, engine: Engine, between=None) -> list[bytes]:
    """Replay the kind's example through ``engine``; ``between(engine, shard)`` is called halfway
    and returns the engine and shard to go on with."""
    evs = list(events(REGISTRY[kind].EXAMPLE))
    shard, high, out = Shard(), NEVER, []
    for i, event in enumerate(evs):
        if between is not None and i == len(evs) // 2:
            engine, shard = between(engine, shard)
        high = max(high, event.ts_us)
        out += engine.on_event(shard, event, Context(high))
    out += engine.finish(shard, Context(high))
    return [encode(route(c, engine.config.routing, engine.config.triage)) for c in out]


@pytest.mark.parametrize("kind", KINDS)
def test_every_threshold_is_documented_in_its_params(kind):
    params = REGISTRY[kind].Params
    doc = params.__doc__ or ""
    assert f"[detectors.{kind}]" in doc
    assert [f for f in msgspec.structs.fields(params) if f.name not in doc] == []


@pytest.mark.parametrize("kind", KINDS)
def test_it_has_a_default_lane_and_priority(kind):
    row = DEFAULT_KIND_ROUTES[kind]
    assert (row.priority, row.route) == (REGISTRY[kind].PRIORITY, REGISTRY[kind].ROUTE)


@pytest.mark.parametrize("kind", KINDS)
def test_its_example_fires_and_replays_to_the_same_bytes(kind):
    first = example(kind)
    assert first and {t.kind for t in first} == {kind}
    assert [encode(t) for t in example(kind)] == [encode(t) for t in first]


@pytest.mark.parametrize("kind", KINDS)
def test_a_live_retune_keeps_what_it_learned(kind):
    config = config_of(kind)
    plain = run(kind, Engine(config))
    engine = Engine(config)
    models = dict(engine.models.models)

    def retune(engine, shard):
        engine.reconfigure(config_of(kind, **{"routing.vip_ltv": config.routing.vip_ltv}))
        return engine, shard

    assert run(kind, engine, retune) == plain
    assert engine.models.models == models  # the very same model objects, not fresh ones


@pytest.mark.parametrize("kind", KINDS)
def test_its_state_survives_a_snapshot_and_a_restart(kind):
    config = config_of(kind)
    plain = run(kind, Engine(config))

    def restart(engine, shard):
        saved, models = pickle.dumps(shard.state()), engine.models.dumps()
        fresh = Engine(config)
        fresh.models.load(models)
        return fresh, Shard(*pickle.loads(saved))

    assert run(kind, Engine(config), restart) == plain
