"""`forewarn doctor` before a first run: one line per check, what to do when one fails, and an
exit code a deploy script can stop on."""

from __future__ import annotations

import socket

import pytest

from forewarn.apps import cli, doctor
from forewarn.core.settings import ENV_OVERRIDES
from forewarn.engine.config import to_toml
from tests.faults import free_port


@pytest.fixture(autouse=True)
def no_env_overrides(monkeypatch):
    # The config files below say where everything is; scripts/test.sh's FOREWARN_* would win.
    for var in ENV_OVERRIDES:
        monkeypatch.delenv(var, raising=False)


def _doctor(capsys, *args: str) -> tuple[int, list[str]]:
    code = cli.main(["doctor", *args])
    return code, capsys.readouterr().out.splitlines()


def test_every_failing_check_says_what_to_do_and_the_exit_code_is_1(tmp_path, capsys):
    kafka, redis_port = free_port(), free_port()
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("")
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port = busy.getsockname()[1]
    cfg = tmp_path / "forewarn.toml"
    cfg.write_text(to_toml({"kafka": {"bootstrap": f"127.0.0.1:{kafka}"},
                            "redis": {"url": f"redis://127.0.0.1:{redis_port}/0"},
                            "recovery": {"directory": str(a_file / "recovery")},
                            "metrics": {"port": busy_port}}))
    with busy:
        code, lines = _doctor(capsys, "--config", str(cfg))
    assert code == 1
    assert lines[0] == f"ok    config    {cfg} is valid"
    assert lines[1] == (f"FAIL  kafka     127.0.0.1:{kafka} not reachable (Connection refused): start Kafka, "
                        "or set [kafka] bootstrap (or FOREWARN_KAFKA_BOOTSTRAP) to its address")
    assert lines[2].startswith(f"FAIL  redis     redis://127.0.0.1:{redis_port}/0 not reachable (")
    assert lines[2].endswith("): start Redis, or set [redis] url (or FOREWARN_REDIS_URL)")
    assert lines[3] == (f"FAIL  recovery  {a_file / 'recovery'}: {a_file} is not a directory; "
                        "set [recovery] directory to a directory path")
    assert lines[4] == (f"FAIL  metrics   127.0.0.1:{busy_port} is in use (another forewarn run?): "
                        "stop it, or set [metrics] port (or FOREWARN_METRICS_PORT) to a free port")
    assert len(lines) == 5


def test_check_is_the_same_command_and_an_invalid_config_stops_there(tmp_path, capsys):
    cfg = tmp_path / "forewarn.toml"
    cfg.write_text("[engine]\nallowed_lateness_secs = 60\n")
    assert cli.main(["check", "--config", str(cfg)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "FAIL  config    engine.allowed_lateness_secs: unknown key; did you mean 'allowed_lateness_seconds'? "
        "(every key with its meaning: forewarn config show --defaults)"]


class _Redis:
    """Just what the persistence check asks a Redis: INFO persistence and CONFIG GET save."""

    def __init__(self, aof: int, save: str | None) -> None:
        self.aof, self.save = aof, save

    def info(self, section: str) -> dict:
        return {"aof_enabled": self.aof}

    def config_get(self, key: str) -> dict:
        import redis

        if self.save is None:
            raise redis.ResponseError("unknown command 'CONFIG'")
        return {"save": self.save}


@pytest.mark.parametrize("aof, save, line", [
    (1, "", "ok    redis     persistence on: AOF"),
    (0, "3600 1", "ok    redis     persistence on: RDB snapshots (save 3600 1)"),
    (0, "", "FAIL  redis     persistence off (no AOF, no RDB save points): a restart of Redis loses the queued "
            "triggers and dedupe markers; set `appendonly yes` (or `save 60 1000`)"),
    (0, None, "warn  redis     AOF is off and CONFIG GET save is not allowed: make sure the provider snapshots "
              "this Redis, or queued triggers are lost when it restarts"),
])
def test_redis_without_persistence_fails(aof, save, line):
    assert str(doctor._persistence(_Redis(aof, save))) == line


@pytest.mark.services
def test_a_ready_setup_passes_every_check(services, namespace, tmp_path, capsys):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": services["kafka"]})
    for fut in admin.create_topics([NewTopic(f"{namespace}-orders", num_partitions=3)]).values():
        fut.result(timeout=30)
    port = free_port()
    cfg = tmp_path / "forewarn.toml"
    cfg.write_text(to_toml({"kafka": {"bootstrap": services["kafka"],
                                      "topics": [f"{namespace}-orders", f"{namespace}-payments"]},
                            "redis": {"url": services["redis"]},
                            "recovery": {"directory": str(tmp_path / "state" / "recovery")},
                            "metrics": {"port": port}}))
    code, lines = _doctor(capsys, "--config", str(cfg))
    assert code == 0, lines
    assert lines[1] == f"ok    kafka     {services['kafka']} answers: 1 broker(s)"
    assert lines[2] == f"ok    topic     {namespace}-orders: 3 partition(s)"
    assert lines[3].startswith(f"warn  topic     {namespace}-payments does not exist: `forewarn run` creates it")
    assert lines[4].startswith(f"ok    redis     {services['redis']}: Redis 7.")
    assert lines[5].startswith("ok    redis     persistence on: ")
    assert lines[6] == f"ok    recovery  {tmp_path / 'state' / 'recovery'} will be created in {tmp_path}, writable"
    assert lines[7] == f"ok    metrics   127.0.0.1:{port} is free"
