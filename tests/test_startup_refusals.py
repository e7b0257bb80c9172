"""``forewarn run`` refuses a config it cannot work with at once, naming the key: no traceback,
no 10-second timeout, no retrying forever a password Redis has refused."""

import subprocess
import sys

import pytest

from forewarn.core.settings import ENV_OVERRIDES
from forewarn.engine.config import ConfigError, from_dict, to_toml
from tests.conftest import REPO


def _run(tmp_path, sections: dict) -> subprocess.CompletedProcess:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(to_toml(sections))
    env = {k: v for k, v in __import__("os").environ.items() if k not in ENV_OVERRIDES}
    return subprocess.run([sys.executable, "-m", "forewarn", "run", "--config", str(cfg)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("sections, says", [
    ({"redis": {"url": "http://127.0.0.1:6379/0"}},
     "redis.url = 'http://127.0.0.1:6379/0': the scheme must be one of ['redis', 'rediss', 'unix']"),
    ({"kafka": {"bootstrap": ""}}, "kafka.bootstrap = '': empty: give host:port of at least one broker"),
    ({"metrics": {"host": "999.1.1.1"}}, "metrics.host = '999.1.1.1': not an IP address (each IPv4 part is 0-255)"),
    ({"redis": {"url": "redis://:hunter2@127.0.0.1:99999/0"}}, "redis.url = 'redis://:***@127.0.0.1:99999/0': Port out of range"),
    ({"kafka": {"bootstrap": "127.0.0.1:9092,kafka-2:nine"}}, "port 'nine' is not 1-65535"),
    ({"routing": {"currency": "ZZZ", "exchange_rates": ["ZZZ"]}}, None),  # not a table: msgspec says so
])
def test_run_refuses_an_address_it_cannot_use_naming_the_key(tmp_path, sections, says):
    done = _run(tmp_path, sections)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("forewarn: bad config: ")
    if says:
        assert says in done.stderr
    assert "hunter2" not in done.stderr  # a password is never shown


@pytest.mark.parametrize("routing, says", [
    ({"currency": "ZZZ", "exchange_rates": {"ZZZ": 1.0}}, "routing.currency: 'ZZZ' is not an ISO 4217 currency in use"),
    ({"exchange_rates": {"XXX": 2.0}}, "routing.exchange_rates.XXX: 'XXX' is not an ISO 4217 currency in use"),
])
def test_currencies_in_the_routing_table_must_exist(routing, says):
    with pytest.raises(ConfigError) as err:
        from_dict({"routing": routing})
    assert says in str(err.value)


@pytest.mark.services
def test_a_wrong_redis_password_is_refused_at_start(tmp_path, services):
    url = services["redis"].replace("redis://", "redis://forewarn-nobody:wrong-password@", 1)
    done = _run(tmp_path, {"redis": {"url": url}, "kafka": {"bootstrap": services["kafka"]}, "metrics": {"port": 0}})
    assert done.returncode == 2, done.stderr[-2000:]
    assert "redis.url = 'redis://forewarn-nobody:***@" in done.stderr
    assert "Redis refused these credentials" in done.stderr and "wrong-password" not in done.stderr
    assert "Traceback" not in done.stderr
