"""The dead-letter stream ``{prefix}forewarn:deadletter``: invalid events with ``raw``, ``error``,
``source``, ``reason`` and ``raw_bytes``.

Written once per source position (a marker per ``source``), so replaying a Kafka range
after a restart does not repeat its dead letters. Bounded: each entry keeps at most
``raw_max_bytes`` of the event (its head; ``raw_bytes`` is the size it had), and the stream
at most ``max_entries`` entries, none older than ``retain_days`` (``[redis] deadletter_*``):
invalid events carry names and addresses as often as valid ones, and a flood of them must not
fill Redis.
"""

from __future__ import annotations

from sinks.redis_queue import TRANSIENT, connect, refusing
from sinks.retry import with_backoff

# Trimmed exactly (not MAXLEN ~): dead letters are few, and an operator reads the bound as stated.
_ADD = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  local id = redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], '*', 'raw', ARGV[2], 'error', ARGV[3],
                        'source', ARGV[4], 'reason', ARGV[5], 'raw_bytes', ARGV[7])
  local retain_ms = tonumber(ARGV[8])
  if retain_ms > 0 then
    local now = redis.call('TIME')
    local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - retain_ms
    redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d', oldest))
  end
  return id
end
return false
"""


def deadletter_key(prefix: str) -> str:
    return f"{prefix}forewarn:deadletter"


class DeadLetterWriter:
    def __init__(self, url: str, prefix: str = "", dedupe_ttl_days: float = 30.0, retry_max_seconds: float = 30.0,
                 max_entries: int = 10_000, retain_days: float = 7.0, raw_max_bytes: int = 4096) -> None:
        self.client = connect(url)
        self.url = url
        self.prefix = prefix
        self.ttl = int(dedupe_ttl_days * 86400)
        self.retry_max = retry_max_seconds
        self.max_entries = max_entries
        self.retain_ms = int(retain_days * 86_400_000)
        self.raw_max = raw_max_bytes
        self._script = self.client.register_script(_ADD)

    def write(self, letters: list[tuple[bytes, str, str, str]]) -> None:
        """``letters``: (raw, error, source, reason) tuples."""

        def attempt() -> None:
            pipe = self.client.pipeline(transaction=False)
            for raw, error, source, reason in letters:
                self._script(keys=[f"{self.prefix}forewarn:deadletter:seen:{source}", deadletter_key(self.prefix)],
                             args=[self.ttl, raw[:self.raw_max], error[:1024], source, reason, self.max_entries,
                                   len(raw), self.retain_ms], client=pipe)
            pipe.execute()

        with_backoff("redis_deadletter", refusing(self.url, attempt), TRANSIENT, self.retry_max)
