"""The settings below the engine: connections, queues, metrics, recovery, live reload, and how
the one TOML file is read (with environment overrides for the connection settings).

The helpdesk side (``forewarn queue``, :class:`forewarn.queue.TriggerQueue`) reads its
sections with :func:`load_queue_settings` and never loads the engine, its detectors or
their models; the engine's :class:`forewarn.engine.config.Config` holds the same section
types, so one file serves both.

Connection settings can be overridden from the environment (``FOREWARN_KAFKA_BOOTSTRAP``,
``FOREWARN_REDIS_URL``, ``FOREWARN_REDIS_PREFIX``, ``FOREWARN_METRICS_PORT``) so the
same file serves a laptop, CI and a container.

>>> s = load_queue_settings(None, {"queue.group": "desk"}, env={"FOREWARN_REDIS_PREFIX": "{shop1}:"})
>>> s.queue.group, s.redis.prefix
('desk', '{shop1}:')
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from forewarn.core.trigger import Priority, Route


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names key, value and what is allowed."""


class Kafka(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[kafka]``: where ``forewarn run`` reads the events (and ``record``, ``simulate --to kafka``).

    bootstrap: the brokers, ``host:port[,host:port...]`` (env ``FOREWARN_KAFKA_BOOTSTRAP``).
    group_id: the consumer group name (positions live in the recovery snapshots, not in Kafka).
    topics: the input topics, read from their start on a first run.
    batch_size: events a worker reads per round, shared by its partitions (at least 100 each);
        it bounds an epoch, so a start with a backlog commits early (1..100000).
    extra: librdkafka settings passed as they are (``security.protocol``, ``sasl.*``, ``ssl.*``).
    """

    bootstrap: str = "127.0.0.1:9092"
    group_id: str = "forewarn"
    topics: Annotated[list[str], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["orders", "payments", "shipments", "customers", "support"])
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 8000
    extra: dict[str, str] = {}  # passed to librdkafka as is (security settings and the like)


class Redis(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[redis]``: where the trigger queues and dead letters go.

    url: ``redis://[:password@]host:port/db`` (env ``FOREWARN_REDIS_URL``).
    prefix: put before every key, e.g. ``{shop1}:`` to keep all keys in one Redis Cluster slot
        (env ``FOREWARN_REDIS_PREFIX``).
    dedupe_ttl_days: how long a queued ``trigger_id`` is remembered, so a replay or restart
        does not queue it again (0..3650).
    retry_max_seconds: the longest wait between write retries while Redis is down (0..3600).
    deadletter_max_entries: the dead-letter stream keeps this many entries, the newest
        (trimmed exactly as it is written, ``XADD ... MAXLEN``).
    deadletter_retain_days: and none older than this (``XTRIM ... MINID``; 0 = no age limit).
    deadletter_raw_max_bytes: an entry keeps at most this much of the invalid event's bytes
        (its head; ``raw_bytes`` says how long it was): enough to see what broke, not a whole
        customer record. 10,000 entries of 4 KB: at most ~45 MB, whatever is sent.
    """

    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = ""  # e.g. "{shop1}:" to hash-tag all keys into one Redis Cluster slot
    dedupe_ttl_days: Annotated[float, msgspec.Meta(gt=0, le=3650)] = 30.0
    retry_max_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0
    deadletter_max_entries: Annotated[int, msgspec.Meta(ge=1, le=100_000_000)] = 10_000
    deadletter_retain_days: Annotated[float, msgspec.Meta(ge=0, le=3650)] = 7.0
    deadletter_raw_max_bytes: Annotated[int, msgspec.Meta(ge=256, le=1_048_576)] = 4096


class Queue(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[queue]``: how helpdesks work the trigger queues (``forewarn queue``, ``TriggerQueue``).

    group: the Redis consumer group a helpdesk reads with; each group gets every trigger once.
    visibility_timeout_seconds: an entry delivered but not acknowledged for this long is
        reclaimed by the next consumer that pulls (its holder is presumed dead).
    max_deliveries: deliveries after which an entry still not acknowledged moves to the
        stream ``{prefix}forewarn:queue:failed``.
    retry_backoff_seconds: after a failed attempt, the wait before the entry is offered
        again; it doubles with each delivery, capped at the visibility timeout.
    retain_acked_hours: entries every group has acknowledged are kept this long (for
        ``peek`` and audit), then trimmed. Unacknowledged entries are never trimmed.
    upkeep_interval_seconds: how often ``forewarn run`` refreshes the queue metrics and trims.
    """

    group: Annotated[str, msgspec.Meta(min_length=1)] = "helpdesk"
    visibility_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 300.0
    max_deliveries: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    retry_backoff_seconds: Annotated[float, msgspec.Meta(ge=0, le=86400)] = 10.0
    retain_acked_hours: Annotated[float, msgspec.Meta(ge=0, le=8760)] = 24.0
    upkeep_interval_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 15.0


class Metrics(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[metrics]``: the Prometheus endpoint of ``forewarn run`` (port 0 = none).

    host: the address the endpoint listens on (``0.0.0.0`` for every interface).
    port: its port, 0 for no endpoint (env ``FOREWARN_METRICS_PORT``).
    queue_sla_seconds: per priority, how long a trigger may wait unacknowledged; exported as
        ``forewarn_queue_sla_seconds`` for the dashboards' SLA lines and the queue-age alert.
    """

    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 9108
    queue_sla_seconds: dict[Priority, Annotated[float, msgspec.Meta(gt=0)]] = msgspec.field(
        default_factory=lambda: {"p1": 900.0, "p2": 3600.0, "p3": 14400.0, "p4": 86400.0})


class Recovery(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[recovery]``: Bytewax state snapshots for ``run`` (empty directory = no recovery).

    directory: where the snapshots (SQLite files) and model checkpoints live; empty = none, and
        a restart reads the topics from the start.
    partitions: SQLite files the snapshots are spread over, set when the directory is first
        made (1..1024).
    snapshot_interval_seconds: how often state is snapshotted: a restart resumes from the last one.
    backup_interval_seconds: how long a snapshot no longer needed is kept before it is deleted:
        the interval at which the directory is backed up elsewhere (0 = deleted at once).
    """

    directory: str = ""
    partitions: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 1
    snapshot_interval_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    backup_interval_seconds: Annotated[float, msgspec.Meta(ge=0, le=86400)] = 0.0


class Live(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[live]``: how ``forewarn run`` takes threshold changes without a restart (docs/tuning.md).

    poll_seconds: how often the config file and the Redis hash are checked for a change
        (0 = only on SIGHUP).
    redis_hash: the Redis hash, under ``redis.prefix``, whose fields override ``detectors.*``
        and ``routing.*`` keys (field ``detectors.delivery_late.grace_hours``, value ``24``);
        empty = not read.
    """

    poll_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 2.0
    redis_hash: str = "forewarn:config"


class QueueSettings(msgspec.Struct, frozen=True):
    """The sections a helpdesk client reads; the rest of the file is the engine's business."""

    redis: Redis = Redis()
    queue: Queue = Queue()


ENV_OVERRIDES = {
    "FOREWARN_KAFKA_BOOTSTRAP": ("kafka", "bootstrap"),
    "FOREWARN_REDIS_URL": ("redis", "url"),
    "FOREWARN_REDIS_PREFIX": ("redis", "prefix"),
    "FOREWARN_METRICS_PORT": ("metrics", "port"),
}

# Fields whose msgspec error ("Invalid enum value") should also list what is allowed.
ENUM_HINTS: dict[str, tuple[str, ...]] = {
    "priority": Priority.__args__, "priority_at_least": Priority.__args__, "route": Route.__args__}


REDIS_SCHEMES = ("redis", "rediss", "unix")
# A host name (RFC 1123 labels) whose last label is not all digits (RFC 3696 section 2): so
# "999.1.1.1" is an IPv4 address, and an invalid one, not a name.
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def host_problem(host: str) -> str | None:
    """Why ``host`` is neither an IP address nor a host name, or None if it is one.

    >>> host_problem("127.0.0.1"), host_problem("::1"), host_problem("kafka-1.internal")
    (None, None, None)
    >>> host_problem("999.1.1.1")
    'not an IP address (each IPv4 part is 0-255) nor a host name'
    """
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    if _HOSTNAME.match(host) and not host.rsplit(".", 1)[-1].isdigit():
        return None
    return "not an IP address (each IPv4 part is 0-255) nor a host name"


def check_connections(redis: Redis, kafka: Kafka | None = None, metrics: Metrics | None = None) -> None:
    """Addresses the services are reached at: refused here, naming the key, not by a traceback
    (or a 10 s timeout) when the engine or a helpdesk client first connects."""
    url = redis.url
    parts = urlsplit(url)
    shown = redact_url(url)
    if parts.scheme not in REDIS_SCHEMES:
        raise ConfigError(f"redis.url = {shown!r}: the scheme must be one of {list(REDIS_SCHEMES)} "
                          "(redis://[[user]:password@]host[:port][/db], rediss:// for TLS, unix:///path.sock)")
    if parts.scheme != "unix":
        try:
            port, host = parts.port, parts.hostname
        except ValueError as exc:
            raise ConfigError(f"redis.url = {shown!r}: {exc} (a port is 1-65535)") from None
        if not host or host_problem(host):
            raise ConfigError(f"redis.url = {shown!r}: the host {host or ''!r} is "
                              f"{host_problem(host) if host else 'missing'}")
        if port == 0:
            raise ConfigError(f"redis.url = {shown!r}: port 0; a port is 1-65535")
        db = parts.path.lstrip("/")
        if db and not db.isdigit():
            raise ConfigError(f"redis.url = {shown!r}: the database {db!r} must be a number (/0, /1, ...)")
    elif not parts.path:
        raise ConfigError(f"redis.url = {shown!r}: a unix socket URL needs the socket's path (unix:///run/redis.sock)")
    if kafka is not None:
        for server in kafka.bootstrap.split(","):
            server = server.strip().rpartition("://")[2]  # librdkafka takes PLAINTEXT://host:port too
            host, sep, port = server.rpartition(":") if not server.endswith("]") else (server, "", "")
            if not sep:  # no port: librdkafka's default, 9092
                host, port = server, "9092"
            problem = ("empty: give host:port of at least one broker" if not kafka.bootstrap.strip() else
                       "an empty entry" if not server else
                       f"port {port!r} is not 1-65535" if not (port.isdigit() and 0 < int(port) < 65536) else
                       f"host {host!r} is {host_problem(host)}" if host_problem(host) else None)
            if problem:
                raise ConfigError(f"kafka.bootstrap = {kafka.bootstrap!r}: {problem} "
                                  "(a comma-separated list of host:port)")
    if metrics is not None:
        problem = host_problem(metrics.host)
        if problem:
            raise ConfigError(f"metrics.host = {metrics.host!r}: {problem}; the address to serve metrics on "
                              "(127.0.0.1 for this machine only, 0.0.0.0 for every interface)")


def redact_url(url: str) -> str:
    """``url`` with its password masked, to show in an error or a log.

    >>> redact_url("redis://app:s3cret@redis.internal:6379/0")
    'redis://app:***@redis.internal:6379/0'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def value_at(data: Any, path: str) -> Any:
    """The value at a msgspec error path (``a.b[0].c``) in the data that failed; LookupError if none.

    >>> value_at({"a": {"b": [1, {"c": 2}]}}, "a.b[1].c")
    2
    """
    value = data
    for part in path.replace("[", ".").replace("]", "").split("."):
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise LookupError(path) from None
    return value


def explain(message: str, data: dict[str, Any], hints: dict[str, tuple[str, ...]] = ENUM_HINTS) -> str:
    """Turn msgspec's ``... - at `$.a.b` `` into ``a.b = <value>: ...``."""
    if " - at `$." not in message:
        return f"config: {message}"
    what, path = message.rsplit(" - at `$.", 1)
    path = path.rstrip("`")
    try:
        value = value_at(data, path)
    except LookupError:
        return f"{path}: {what}"
    allowed = hints.get(path.rstrip("]0123456789").rstrip("[").rsplit(".", 1)[-1])
    if allowed and what.startswith("Invalid enum value"):
        what = f"{what}; allowed: {list(allowed)}"
    return f"{path} = {value!r}: {what}"


def with_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with dotted keys (``detectors.delivery_late.grace_hours``) set."""
    out = msgspec.convert(data, dict)  # deep enough copy of plain TOML data
    for dotted, value in overrides.items():
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{dotted}: {part} is not a table")
        node[leaf] = value
    return out


def read(path: str | Path | None, overrides: dict[str, Any] | None = None,
         env: dict[str, str] | None = None) -> dict[str, Any]:
    """The TOML file as data (a missing default ``forewarn.toml`` means all defaults), env and overrides applied."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {p} not found; pass --config FILE or create it") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    elif Path("forewarn.toml").exists():
        data = tomllib.loads(Path("forewarn.toml").read_text())
    env = os.environ if env is None else env
    env_values = {}
    for var, (section, key) in ENV_OVERRIDES.items():
        if var in env:
            env_values[f"{section}.{key}"] = env[var]
    return with_overrides(data, {**env_values, **(overrides or {})})


def load_queue_settings(path: str | Path | None, overrides: dict[str, Any] | None = None,
                        env: dict[str, str] | None = None) -> QueueSettings:
    """``[redis]`` and ``[queue]`` of the config file, validated; refused with the key if bad."""
    data = read(path, overrides, env)
    wanted = {k: data[k] for k in ("redis", "queue") if k in data}
    try:
        settings = msgspec.convert(wanted, QueueSettings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(explain(str(exc), wanted)) from None
    check_connections(settings.redis)
    return settings
