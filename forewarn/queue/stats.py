"""What is in the trigger queues right now, per lane and consumer group: read-only, two round trips.

For each group, *waiting* entries were never delivered to it (``XINFO GROUPS`` lag), *pending*
ones were delivered and not acknowledged (``XPENDING``); their sum is the group's depth. The
oldest of them gives the age a support lead watches: how long the oldest unhandled trigger
has waited since the engine queued it (entry ids are the Redis server's clock in ms).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from sinks.redis_queue import failed_key, lane_key, lane_names

NO_GROUP = ""  # the group of a lane nobody reads yet: every entry in it is waiting


@dataclass(frozen=True)
class GroupStats:
    """One consumer group on one lane. ``waiting`` is None if Redis cannot tell (entries were XDEL'd)."""

    group: str
    consumers: int
    pending: int
    waiting: int | None
    oldest_age_seconds: float | None  # None when the group has acknowledged everything

    @property
    def depth(self) -> int | None:
        return None if self.waiting is None else self.waiting + self.pending


@dataclass(frozen=True)
class LaneStats:
    lane: str
    length: int  # entries in the stream, acknowledged ones included until retention trims them
    groups: list[GroupStats]


def _ms(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.partition("-")[0])


def _age(now_ms: int, ids: list) -> float | None:
    ids = [i for i in ids if i]
    return max(0.0, (now_ms - min(_ms(i) for i in ids)) / 1000) if ids else None


def queue_stats(client: redis.Redis, prefix: str, route: str | None = None,
                group: str | None = None) -> list[LaneStats]:
    """Every lane (of ``route``, if given), most urgent first, with its groups (only ``group``, if given)."""
    lanes = lane_names(route)
    pipe = client.pipeline(transaction=False)
    pipe.time()
    for lane in lanes:
        key = lane_key(prefix, lane)
        pipe.xlen(key)
        pipe.xinfo_groups(key)
        pipe.xrange(key, count=1)
    first = pipe.execute(raise_on_error=False)
    _raise_unless_missing(first)
    secs, micros = first[0]
    now_ms = secs * 1000 + micros // 1000

    per_lane = []
    pipe = client.pipeline(transaction=False)
    for n, lane in enumerate(lanes):
        length, groups, head = first[1 + 3 * n: 4 + 3 * n]
        groups = [] if isinstance(groups, Exception) else groups  # no such key: nothing queued yet
        groups = [g for g in groups if group is None or _str(g["name"]) == group]
        per_lane.append((lane, length, groups, head))
        for g in groups:
            key = lane_key(prefix, lane)
            pipe.xpending(key, g["name"])
            pipe.xrange(key, min=f"({_str(g['last-delivered-id'])}", count=1)
    second = iter(pipe.execute())

    out = []
    for lane, length, groups, head in per_lane:
        if not groups:
            no_group = [] if group is not None else [
                GroupStats(NO_GROUP, 0, 0, length, _age(now_ms, [head[0][0]] if head else []))]
            out.append(LaneStats(lane, length, no_group))
            continue
        stats = []
        for g in groups:
            pending, undelivered = next(second), next(second)
            oldest = [pending["min"]] + ([undelivered[0][0]] if undelivered else [])
            stats.append(GroupStats(_str(g["name"]), g["consumers"], pending["pending"], g.get("lag"),
                                    _age(now_ms, oldest)))
        out.append(LaneStats(lane, length, stats))
    return out


def failed_length(client: redis.Redis, prefix: str) -> int:
    return client.xlen(failed_key(prefix))


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _raise_unless_missing(replies: list) -> None:
    """A pipeline's errors other than XINFO's "no such key" (a lane nothing was written to yet)."""
    for reply in replies:
        if isinstance(reply, Exception) and "no such key" not in str(reply):
            raise reply
