"""The trigger queues in Redis (contract section 4), written idempotently on ``trigger_id``.

Each trigger goes to the stream ``{prefix}forewarn:queue:{route}:{priority}`` with the field
``trigger``. A marker key ``{prefix}forewarn:seen:{trigger_id}`` (holding the entry id) is set
in the same Lua call as the ``XADD``, so a restart or a replay that re-emits a trigger adds
nothing, for as long as the marker lives: the dedupe horizon ``redis.dedupe_ttl_days``. A replay
of input older than that horizon would queue its triggers again.

Needs Redis >= 7.0: the script's ``#!lua`` line makes Redis refuse it *before* it runs when
memory is full, so the marker and the entry are written together or not at all.
"""

from __future__ import annotations

import redis

from forewarn.core.trigger import PRIORITIES, ROUTES, Trigger, encode
from sinks.retry import with_backoff

# KEYS[1] = marker, KEYS[2] = stream; ARGV[1] = ttl seconds, ARGV[2] = trigger JSON.
# XADD before SET: if the XADD is refused (a key of the wrong type), no marker is left
# behind that would make the retry skip a trigger that was never queued.
_ENQUEUE = """#!lua
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


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)


class QueueWriter:
    """Writes triggers into their lanes, each ``trigger_id`` at most once within the dedupe horizon.

    Parameters: ``url`` of Redis; ``prefix`` of every key; ``dedupe_ttl_days``, how long a
    written ``trigger_id`` is remembered; ``retry_max_seconds``, the longest pause between
    retries while Redis is unreachable.
    """

    def __init__(self, url: str, prefix: str = "", dedupe_ttl_days: float = 30.0, retry_max_seconds: float = 30.0) -> None:
        self.client = connect(url)
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
                self._script(keys=[seen_key(self.prefix, t.trigger_id), queue_key(self.prefix, t.route, t.priority)],
                             args=[self.ttl, body], client=pipe)
            return [r is not None and r is not False for r in pipe.execute()]

        return with_backoff("redis_queue", attempt, TRANSIENT, self.retry_max)
