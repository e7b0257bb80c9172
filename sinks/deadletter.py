"""The dead-letter stream ``{prefix}forewarn:deadletter``: invalid events with ``raw``, ``error``, ``source``.

Written once per source position (a marker per ``source``), so replaying a Kafka range
after a restart does not repeat its dead letters.
"""

from __future__ import annotations

from sinks.redis_queue import TRANSIENT, connect
from sinks.retry import with_backoff

_ADD = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', 'raw', ARGV[2], 'error', ARGV[3], 'source', ARGV[4], 'reason', ARGV[5])
end
return false
"""


def deadletter_key(prefix: str) -> str:
    return f"{prefix}forewarn:deadletter"


class DeadLetterWriter:
    def __init__(self, url: str, prefix: str = "", dedupe_ttl_days: float = 30.0, retry_max_seconds: float = 30.0) -> None:
        self.client = connect(url)
        self.prefix = prefix
        self.ttl = int(dedupe_ttl_days * 86400)
        self.retry_max = retry_max_seconds
        self._script = self.client.register_script(_ADD)

    def write(self, letters: list[tuple[bytes, str, str, str]]) -> None:
        """``letters``: (raw, error, source, reason) tuples."""

        def attempt() -> None:
            pipe = self.client.pipeline(transaction=False)
            for raw, error, source, reason in letters:
                self._script(keys=[f"{self.prefix}forewarn:deadletter:seen:{source}", deadletter_key(self.prefix)],
                             args=[self.ttl, raw, error, source, reason], client=pipe)
            pipe.execute()

        with_backoff("redis_deadletter", attempt, TRANSIENT, self.retry_max)
