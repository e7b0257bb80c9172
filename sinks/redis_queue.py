"""The trigger queues in Redis (contract section 4), written idempotently on ``trigger_id``.

Each trigger goes to the stream ``{prefix}forewarn:queue:{route}:{priority}`` with the field
``trigger``. A marker key ``{prefix}forewarn:seen:{trigger_id}`` (holding the entry id) is set
in the same Lua call as the ``XADD``, so a restart or a replay that re-emits a trigger adds
nothing, for as long as the marker lives: the dedupe horizon ``redis.dedupe_ttl_days``. A replay
of input older than that horizon would queue its triggers again.

Needs Redis >= 7.0: the script's ``#!lua`` line makes Redis refuse it *before* it runs when
memory is full, so the marker and the entry are written together or not at all.

A Redis that restarts empty (no persistence, a failover to an empty replica, a FLUSHALL) has
lost those markers too, and a replay would queue again every trigger helpdesks already
handled. So ``forewarn run`` keeps a token in Redis (``{prefix}forewarn:marker``) and a copy
in its recovery directory (:func:`claim_marker`), and the enqueue script refuses to write
while the token in Redis is not the one the engine started with: a wiped Redis stops the
engine with :class:`RedisLostData` instead of re-emitting blindly (docs/helpdesk.md).
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import redis

from forewarn.core.settings import redact_url
from forewarn.core.trigger import PRIORITIES, ROUTES, Trigger, encode
from sinks.retry import Fatal, with_backoff

# KEYS[1] = seen key, KEYS[2] = stream, KEYS[3] = the engine's marker; ARGV[1] = ttl
# seconds, ARGV[2] = trigger JSON, ARGV[3] = the marker's expected token ("" = not checked).
# XADD before SET: if the XADD is refused (a key of the wrong type), no seen key is left
# behind that would make the retry skip a trigger that was never queued.
_ENQUEUE = """#!lua
if ARGV[3] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[3] then
  return -1
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return false
end
local id = redis.call('XADD', KEYS[2], '*', 'trigger', ARGV[2])
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
return id
"""

# Full memory is an outage like a lost connection: it clears when helpdesks ack and the
# retention trims, so the writer holds its position instead of failing the dataflow.
TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, redis.exceptions.OutOfMemoryError)
# Credentials or permissions refused: redis-py makes AuthenticationError a ConnectionError, but
# a changed password or a removed user never comes back by waiting (see :func:`refusing`).
REFUSED = (redis.AuthenticationError, redis.exceptions.AuthorizationError, redis.exceptions.NoPermissionError)

log = logging.getLogger("forewarn.sinks")


def queue_key(prefix: str, route: str, priority: str) -> str:
    return f"{prefix}forewarn:queue:{route}:{priority}"


def lane_names(route: str | None = None) -> list[str]:
    """Lanes ``route:priority``, most urgent first: human before ai within a priority."""
    return [f"{r}:{p}" for p in PRIORITIES for r in ROUTES if route in (None, r)]


def lane_key(prefix: str, lane: str) -> str:
    """``human:p1`` -> ``{prefix}forewarn:queue:human:p1``."""
    return f"{prefix}forewarn:queue:{lane}"


def all_queue_keys(prefix: str) -> list[str]:
    """Every queue, most urgent first: human before ai within a priority."""
    return [lane_key(prefix, lane) for lane in lane_names()]


def failed_key(prefix: str) -> str:
    """Triggers a helpdesk failed on too often (not the engine's input dead letters, ``forewarn:deadletter``)."""
    return f"{prefix}forewarn:queue:failed"


def seen_key(prefix: str, trigger_id: str) -> str:
    return f"{prefix}forewarn:seen:{trigger_id}"


def marker_key(prefix: str) -> str:
    return f"{prefix}forewarn:marker"


class RedisLostData(Fatal):
    """Redis no longer holds the marker this engine set: it was wiped, and with it the record of
    which triggers were already queued. The message says what happened and what to do."""

    exit_code = 3


class RedisRefused(Fatal):
    """Redis refused the engine's credentials or a command it needs while it ran: the password
    was changed, the ACL user removed, disabled or stripped of a permission."""

    exit_code = 4


def refusing(url: str, call):
    """``call`` with a refusal turned into :class:`RedisRefused` (which no retry catches)."""

    def attempt():
        try:
            return call()
        except REFUSED as exc:
            raise RedisRefused(
                f"Redis at {redact_url(url)} refused the engine while it ran ({type(exc).__name__}: {exc}): its "
                f"password was changed, or its user removed, disabled or denied a command. Nothing is lost: it "
                f"stopped before committing what it had not written. Fix redis.url or the Redis user, then start "
                f"again; it resumes from the last snapshot.") from None
    return attempt


MARKER_FILE = "redis-marker"


def claim_marker(client: redis.Redis, prefix: str, recovery_dir: str | Path | None,
                 accept_empty: bool = False) -> str:
    """The token the engine checks on every write; raises :class:`RedisLostData` for a wiped Redis.

    The recovery directory remembers the token of the Redis this engine wrote to. Redis
    without a token while the directory has one means Redis lost its data; ``accept_empty``
    (``forewarn run --accept-empty-redis``) is the operator saying so is fine: a fresh token is
    set and triggers replayed after the last snapshot are queued again. Without a recovery
    directory there is nothing to compare with: a missing token is taken as a first start.
    """
    key = marker_key(prefix)
    local_path = Path(recovery_dir) / MARKER_FILE if recovery_dir else None
    local = local_path.read_text().strip() if local_path is not None and local_path.exists() else None
    current = client.get(key)
    current = current.decode() if current is not None else None
    if current is None:
        if local is not None and not accept_empty:
            raise RedisLostData(
                f"Redis lost its data: the marker {key} this engine set is gone (its token is in "
                f"{local_path}), so it cannot tell which triggers helpdesks already have, and it "
                f"queued nothing again. Restore Redis from its backup and start again, or start with "
                f"--accept-empty-redis to queue again the triggers replayed since the last snapshot "
                f"(docs/helpdesk.md, 'Redis persistence').")
        token = uuid.uuid4().hex
        client.set(key, token, nx=True)
        current = client.get(key).decode()  # another engine of this deployment may have set it first
        log.warning("Redis had no marker: %s; set %s", "accepted as empty" if local is not None
                    else "a first start on this Redis", key)
    if local_path is not None and local != current:
        local_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = local_path.with_suffix(".tmp")
        tmp.write_text(current + "\n")
        os.replace(tmp, local_path)
    return current


def connect(url: str, timeout: float = 10.0) -> redis.Redis:
    """A client for ``url``: commands time out after ``timeout`` s, connecting after 5 s, and an
    idle connection is checked before use (a Redis restarted meanwhile is reconnected to)."""
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=5, health_check_interval=30)


class QueueWriter:
    """Writes triggers into their lanes, each ``trigger_id`` at most once within the dedupe horizon.

    Parameters: ``url`` of Redis; ``prefix`` of every key; ``dedupe_ttl_days``, how long a
    written ``trigger_id`` is remembered; ``retry_max_seconds``, the longest pause between
    retries while Redis is unreachable; ``marker``, the token from :func:`claim_marker` that
    Redis must still hold for a write to go ahead (None: not checked).
    """

    def __init__(self, url: str, prefix: str = "", dedupe_ttl_days: float = 30.0, retry_max_seconds: float = 30.0,
                 marker: str | None = None) -> None:
        self.client = connect(url)
        self.url = url
        self.marker = marker or ""
        self.prefix = prefix
        self.ttl = int(dedupe_ttl_days * 86400)
        self.retry_max = retry_max_seconds
        self._script = self.client.register_script(_ENQUEUE)

    def write(self, triggers: list[Trigger]) -> list[bool]:
        """Enqueue a batch; True where a trigger was new. Blocks (retrying) through outages."""
        payloads = [(t, encode(t)) for t in triggers]

        def attempt() -> list[bool]:
            pipe = self.client.pipeline(transaction=False)
            for t, body in payloads:
                self._script(keys=[seen_key(self.prefix, t.trigger_id), queue_key(self.prefix, t.route, t.priority),
                                   marker_key(self.prefix)],
                             args=[self.ttl, body, self.marker], client=pipe)
            return pipe.execute()

        results = with_backoff("redis_queue", refusing(self.url, attempt), TRANSIENT, self.retry_max)
        if -1 in results:
            # The script refused the whole batch (the marker is checked first): nothing new was
            # queued, and the dataflow stops before it commits the epoch these triggers are in.
            raise RedisLostData(
                f"Redis lost its data while the engine ran: the marker {marker_key(self.prefix)} is gone, "
                f"so the engine stopped instead of queueing again triggers helpdesks may already have. "
                f"Restore Redis from its backup and start again, or start with --accept-empty-redis "
                f"(docs/helpdesk.md, 'Redis persistence').")
        return [r is not None and r is not False for r in results]
