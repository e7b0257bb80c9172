"""``forewarn doctor`` (alias ``check``): is everything ``forewarn run`` needs in place?

One line per check, ``ok``, ``warn`` (it will run, but read this) or ``FAIL`` (it will not,
and what to do); exit 1 if any check failed, else 0:

* config — the file (``--config``, else ``./forewarn.toml``) and environment overrides are valid;
* kafka — the brokers answer, and each input topic exists, with its partitions;
* redis — it answers, is version 7 or later, and persists its data (AOF or RDB snapshots):
  a Redis that loses its data on restart loses the queued triggers and dedupe markers;
* recovery — the snapshot directory can be written (or is off: a restart re-reads the topics);
* metrics — the metrics port is free to listen on.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # the config imports every detector: only when the doctor runs
    from forewarn.engine import config as cfgmod

REDIS_MIN = (7, 0)


class Check(NamedTuple):
    status: str  # "ok", "warn" or "FAIL"
    name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status:<4}  {self.name:<9} {self.detail}"


def check_kafka(config: cfgmod.Config, timeout_s: float = 5.0) -> list[Check]:
    from confluent_kafka import KafkaException

    from flows.sources import KafkaErrors, admin_client, error_cause

    k = config.kafka
    unreachable = [Check("FAIL", "kafka", f"{k.bootstrap} not reachable ({cause}): start Kafka, or set [kafka] "
                                          "bootstrap (or FOREWARN_KAFKA_BOOTSTRAP) to its address")
                   for cause in [_no_listener(k.bootstrap, timeout_s)] if cause]
    if unreachable:
        return unreachable
    errors = KafkaErrors(every_s=None)
    admin = admin_client({"bootstrap.servers": k.bootstrap, **k.extra}, errors)
    try:
        meta = admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        admin.poll(0)
        cause = error_cause(errors.last or exc.args[0].str())
        return [Check("FAIL", "kafka", f"{k.bootstrap} answers but the Kafka client failed ({cause}): check "
                                       "[kafka] extra (security protocol, SASL) and the broker's listeners")]
    out = [Check("ok", "kafka", f"{k.bootstrap} answers: {len(meta.brokers)} broker(s)")]
    for topic in k.topics:
        t = meta.topics.get(topic)
        if t is None or t.error is not None:
            out.append(Check("warn", "topic", f"{topic} does not exist: `forewarn run` creates it with the broker's "
                                              "default partition count; create it first to choose (one partition "
                                              "per worker you may run)"))
        else:
            out.append(Check("ok", "topic", f"{topic}: {len(t.partitions)} partition(s)"))
    return out


def _no_listener(bootstrap: str, timeout_s: float) -> str | None:
    """Why no bootstrap address accepts a TCP connection (the OS's reason), or None if one does.

    Asked of the OS first because its answer is immediate and exact; librdkafka's reason comes
    through a callback that a loaded machine may not have run yet when metadata times out.
    """
    cause = "no address"
    for address in filter(None, (a.strip() for a in bootstrap.split(","))):
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=timeout_s):
                return None
        except ValueError:
            cause = f"no port in {address!r}"
        except OSError as exc:
            cause = exc.strerror or str(exc) or type(exc).__name__
    return cause


def check_redis(config: cfgmod.Config) -> list[Check]:
    import redis

    from forewarn.apps.service import redact

    url = redact(config.redis.url)
    try:
        client = redis.Redis.from_url(config.redis.url, socket_connect_timeout=3, socket_timeout=3)
        info = client.info("server")
    except (redis.RedisError, OSError, ValueError) as exc:
        return [Check("FAIL", "redis", f"{url} not reachable ({exc}): start Redis, or set [redis] url "
                                       "(or FOREWARN_REDIS_URL)")]
    version = str(info.get("redis_version", "0"))
    numbers = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    out = []
    if numbers < REDIS_MIN:
        out.append(Check("FAIL", "redis", f"{url} is Redis {version}: forewarn needs 7.0 or later "
                                          "(consumer groups with XAUTOCLAIM and its reclaim semantics)"))
    else:
        out.append(Check("ok", "redis", f"{url}: Redis {version}"))
    out.append(_persistence(client))
    client.close()
    return out


def _persistence(client) -> Check:
    import redis

    aof = client.info("persistence").get("aof_enabled") == 1
    try:
        save = client.config_get("save").get("save", "")
    except redis.ResponseError:  # CONFIG is often disabled on managed Redis
        save = None
    if aof or save:
        how = " and ".join(w for w, on in (("AOF", aof), (f"RDB snapshots (save {save})", save)) if on)
        return Check("ok", "redis", f"persistence on: {how}")
    if save is None:
        return Check("warn", "redis", "AOF is off and CONFIG GET save is not allowed: make sure the provider "
                                      "snapshots this Redis, or queued triggers are lost when it restarts")
    return Check("FAIL", "redis", "persistence off (no AOF, no RDB save points): a restart of Redis loses the "
                                  "queued triggers and dedupe markers; set `appendonly yes` (or `save 60 1000`)")


def check_recovery(config: cfgmod.Config) -> Check:
    directory = config.recovery.directory
    if not directory:
        return Check("warn", "recovery", "off: a restart reads the topics from the start (the queues' dedupe keeps "
                                         "triggers from repeating); set [recovery] directory to resume instead")
    path = Path(directory)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return Check("FAIL", "recovery", f"{directory}: {existing} is not a directory; set [recovery] directory "
                                         "to a directory path")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".forewarn-doctor-"):
            pass
    except OSError as exc:
        return Check("FAIL", "recovery", f"{existing} is not writable ({exc.strerror}): give the user running "
                                         "forewarn write access, or set [recovery] directory elsewhere")
    state = "exists" if existing == path else f"will be created in {existing}"
    return Check("ok", "recovery", f"{path.resolve()} {state}, writable")


def check_metrics(config: cfgmod.Config) -> Check:
    m = config.metrics
    if not m.port:
        return Check("ok", "metrics", "off ([metrics] port = 0)")
    with socket.socket(socket.AF_INET6 if ":" in m.host else socket.AF_INET) as s:
        try:
            s.bind((m.host, m.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return Check("FAIL", "metrics", f"{m.host}:{m.port} is in use (another forewarn run?): stop it, or "
                                                "set [metrics] port (or FOREWARN_METRICS_PORT) to a free port")
            return Check("FAIL", "metrics", f"cannot listen on {m.host}:{m.port} ({exc.strerror}): "
                                            "set [metrics] host and port")
    return Check("ok", "metrics", f"{m.host}:{m.port} is free")


def run_checks(config_path: str | None) -> Iterator[Check]:
    """Every check, in order, as it completes (none after an invalid config)."""
    from forewarn.core.settings import ENV_OVERRIDES
    from forewarn.engine import config as cfgmod

    try:
        config = cfgmod.load(config_path)
    except cfgmod.ConfigError as exc:
        yield Check("FAIL", "config", f"{exc} (every key with its meaning: forewarn config show --defaults)")
        return
    where = config_path or ("forewarn.toml" if Path("forewarn.toml").exists() else "defaults (no forewarn.toml)")
    overridden = sorted(var for var in ENV_OVERRIDES if var in os.environ)
    yield Check("ok", "config", f"{where} is valid" + (f" (with {', '.join(overridden)})" if overridden else ""))
    checks: list[Callable[[cfgmod.Config], Check | list[Check]]] = [check_kafka, check_redis, check_recovery,
                                                                     check_metrics]
    for check in checks:
        result = check(config)
        yield from (result if isinstance(result, list) else [result])


def cmd_doctor(args: argparse.Namespace) -> int:
    results = []
    for check in run_checks(args.config):
        print(check, flush=True)
        results.append(check)
    failed = [c for c in results if c.status == "FAIL"]
    print(f"\n{len(failed)} check(s) failed" if failed else "\nall checks passed: forewarn run can start",
          file=sys.stderr)
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("doctor", aliases=["check"],
                       help="check the config, Kafka, Redis, the recovery directory and the metrics port before a run")
    d.add_argument("--config", help="TOML config (default forewarn.toml if present)")
    d.set_defaults(func=cmd_doctor)
