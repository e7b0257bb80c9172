"""Retention of the trigger queues: bound their memory without ever dropping unacknowledged work.

``XADD ... MAXLEN`` would trim by count whether or not a helpdesk has handled the entries, so
the engine writes without a cap and this trims instead, with ``XTRIM MINID``, below the first
entry any consumer group still needs: for each group, its oldest pending entry, or (with none
pending) the entry after the last one delivered to it. Acknowledged entries are kept for
``retain_acked_seconds`` first, for ``peek`` and audit. A lane nobody reads yet (no group) is
not trimmed at all: everything in it is waiting. One Lua script per lane computes the bound and
trims in one step, so no entry can be delivered or claimed between the two.

The same pass forgets consumers that hold nothing and have been idle for
``forget_consumers_after_seconds`` (workers named per process leave one behind per restart).
"""

from __future__ import annotations

import redis

from sinks.redis_queue import lane_key, lane_names

# KEYS[1] = lane stream; ARGV[1] = keep acknowledged entries this many ms;
# ARGV[2] = forget consumers with nothing pending after this many ms idle.
# Returns {entries trimmed, consumers forgotten}.
_TRIM = """#!lua
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return {0, 0} end
local t = redis.call('TIME')
local bound_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
local bound_seq = 0
local function keep_from(ms, seq)
  if ms < bound_ms or (ms == bound_ms and seq < bound_seq) then bound_ms, bound_seq = ms, seq end
end
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local forgotten = 0
for _, flat in ipairs(groups) do
  local g = {}
  for i = 1, #flat, 2 do g[flat[i]] = flat[i + 1] end
  local summary = redis.call('XPENDING', KEYS[1], g['name'])
  if summary[1] > 0 then
    keep_from(parse(summary[2]))
  else
    local ms, seq = parse(g['last-delivered-id'])
    keep_from(ms, seq + 1)
  end
  for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], g['name'])) do
    local info = {}
    for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
    if info['pending'] == 0 and info['idle'] > tonumber(ARGV[2]) then
      redis.call('XGROUP', 'DELCONSUMER', KEYS[1], g['name'], info['name'])
      forgotten = forgotten + 1
    end
  end
end
local trimmed = redis.call('XTRIM', KEYS[1], 'MINID', string.format('%.0f-%.0f', bound_ms, bound_seq))
return {trimmed, forgotten}
"""


def trim(client: redis.Redis, prefix: str, retain_acked_seconds: float,
         forget_consumers_after_seconds: float = 86400.0) -> dict[str, tuple[int, int]]:
    """Trim every lane; returns lane -> (entries trimmed, consumers forgotten)."""
    script = client.register_script(_TRIM)
    pipe = client.pipeline(transaction=False)
    lanes = lane_names()
    for lane in lanes:
        script(keys=[lane_key(prefix, lane)],
               args=[int(retain_acked_seconds * 1000), int(forget_consumers_after_seconds * 1000)], client=pipe)
    return {lane: (int(t), int(f)) for lane, (t, f) in zip(lanes, pipe.execute())}
