"""The trigger queues in Redis (contract section 4), written idempotently on ``trigger_id``.

Each trigger goes to the stream ``{prefix}forewarn:queue:{route}:{priority}`` with the field
``trigger``. A marker key ``{prefix}forewarn:seen:{trigger_id}`` is set in the same Lua call
(``SET NX`` then ``XADD``), so a restart or a replay that re-emits a trigger adds nothing,
for as long as the marker lives (``redis.dedupe_ttl_days``).
"""

from __future__ import annotations

import redis

from forewarn.trigger import Trigger, encode
from sinks.retry import with_backoff

# KEYS[1] = marker, KEYS[2] = stream; ARGV[1] = ttl seconds, ARGV[2] = trigger JSON.
_ENQUEUE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', 'trigger', ARGV[2])
end
return false
"""

TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


def queue_key(prefix: str, route: str, priority: str) -> str:
    return f"{prefix}forewarn:queue:{route}:{priority}"


def all_queue_keys(prefix: str) -> list[str]:
    """Every queue, most urgent first: human before ai within a priority."""
    return [queue_key(prefix, r, p) for p in ("p1", "p2", "p3", "p4") for r in ("human", "ai")]


def seen_key(prefix: str, trigger_id: str) -> str:
    return f"{prefix}forewarn:seen:{trigger_id}"


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)


class QueueWriter:
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
