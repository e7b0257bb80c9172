"""A bad config is refused at start, naming the key, the value and what is allowed."""

import pytest

from forewarn.engine.config import ConfigError, from_dict, load


def test_defaults_load_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load(None, env={})
    assert cfg.detectors.delivery_late.grace_hours == 12.0
    assert cfg.kafka.topics == ["orders", "payments", "shipments", "customers", "support"]


@pytest.mark.parametrize("data, message", [
    ({"detectors": {"delivery_late": {"grace_hours": -1}}}, "detectors.delivery_late.grace_hours = -1: Expected `float` >= 0.0"),
    ({"detectors": {"delivery_late": {"grace_hourz": 3}}}, "detectors.delivery_late.grace_hourz: unknown key; did you mean 'grace_hours'?"),
    ({"engine": {"allowed_lateness_seconds": "soon"}}, "engine.allowed_lateness_seconds = 'soon': Expected `float`, got `str`"),
    ({"routing": {"kinds": {"delivery_late": {"priority": "p9", "route": "ai"}}}}, "Invalid enum value 'p9'"),
    ({"routing": {"kinds": {"teleport": {"priority": "p1", "route": "ai"}}}}, "unknown kind(s) ['teleport']"),
    ({"metrics": {"port": 70000}}, "metrics.port = 70000: Expected `int` <= 65535"),
])
def test_bad_values_are_refused_with_key_value_and_rule(data, message):
    with pytest.raises(ConfigError) as err:
        from_dict(data)
    assert message in str(err.value)


def test_routing_table_keeps_defaults_for_kinds_not_named():
    cfg = from_dict({"routing": {"kinds": {"delivery_late": {"priority": "p2", "route": "human"}}}})
    assert cfg.routing.kinds["delivery_late"].priority == "p2"
    assert cfg.routing.kinds["payment_disputed"].route == "human"


def test_environment_overrides_connection_settings(tmp_path):
    path = tmp_path / "f.toml"
    path.write_text('[redis]\nurl = "redis://file:6379/0"\n')
    cfg = load(path, env={"FOREWARN_REDIS_URL": "redis://env:6379/1", "FOREWARN_METRICS_PORT": "9200"})
    assert cfg.redis.url == "redis://env:6379/1"
    assert cfg.metrics.port == 9200


def test_missing_or_broken_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="not found; pass --config"):
        load(tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[engine\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad, env={})
