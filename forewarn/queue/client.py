"""``TriggerQueue``: what a helpdesk worker calls to pull triggers, acknowledge them or fail them.

Plain Redis Streams underneath (contract section 4), so a helpdesk in any language can do the
same; each method's docstring names the commands, and docs/helpdesk.md spells them out.

Delivery is at least once: an entry stays pending until acknowledged; one left pending longer
than the visibility timeout (its consumer died, or hung) is handed to the next consumer that
pulls, with its delivery count raised; after ``max_deliveries`` it moves to the dead-letter
stream ``{prefix}forewarn:queue:failed``, from where ``replay_failed`` puts it back.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec
import redis

from forewarn.core.settings import QueueSettings
from outreach.compliance import Checker, Compliance
from outreach.review import review_edit
from forewarn.core.timefmt import format_us, now_us
from sinks import metrics
from sinks.redis_queue import connect, failed_key, lane_key, lane_names

# How often ``pull`` looks for entries left pending past the visibility timeout. A retry is
# offered at most this much later than its backoff asks; the look costs one XAUTOCLAIM per lane.
RECLAIM_EVERY_SECONDS = 1.0

# Acknowledge and dead-letter in one step, and only if this call is the one that acknowledged
# it: a slow consumer and the one that reclaimed from it cannot both dead-letter the entry.
# KEYS[1] = lane stream, KEYS[2] = failed stream; ARGV[1] = group, ARGV[2] = entry id, ARGV[3..] = fields.
_DEAD_LETTER = """#!lua
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
end
return false
"""

# Put a dead letter back in its lane, once: only the call that deleted it from the failed stream re-adds it.
# KEYS[1] = failed stream, KEYS[2] = lane stream; ARGV[1] = dead letter id, ARGV[2] = trigger JSON.
_REPLAY = """#!lua
if redis.call('XDEL', KEYS[1], ARGV[1]) == 1 then
  return redis.call('XADD', KEYS[2], '*', 'trigger', ARGV[2])
end
return false
"""


@dataclass(frozen=True)
class Job:
    """One trigger handed to this consumer. ``deliveries`` counts this delivery (1 the first time)."""

    lane: str
    id: str
    raw: bytes
    deliveries: int
    trigger: dict[str, Any] = field(repr=False)

    @property
    def trigger_id(self) -> str:
        return self.trigger["trigger_id"]

    @property
    def handle(self) -> str:
        """``lane/entry-id``, what ``forewarn queue ack`` takes."""
        return f"{self.lane}/{self.id}"

    @property
    def drafts(self) -> list[dict[str, Any]]:
        """The trigger's outreach drafts (contract v1.1): what to approve, edit and send."""
        return self.trigger.get("drafts") or []


@dataclass(frozen=True)
class Peeked:
    """An entry seen without taking it: waiting (never delivered to the group) or pending (with its holder)."""

    lane: str
    id: str
    trigger: dict[str, Any] | None
    consumer: str | None = None
    idle_seconds: float | None = None
    deliveries: int = 0

    @property
    def handle(self) -> str:
        return f"{self.lane}/{self.id}"


@dataclass(frozen=True)
class DeadLetter:
    """An entry in ``forewarn:queue:failed``: the trigger, where it came from, and why it failed."""

    id: str
    lane: str
    entry: str
    group: str
    consumer: str
    deliveries: int
    error: str
    failed_at: str
    raw: bytes
    trigger: dict[str, Any] | None = field(repr=False)


def _is_entry_id(text: str) -> bool:
    ms, dash, seq = text.partition("-")
    return bool(dash) and ms.isdigit() and seq.isdigit()


def parse_handle(handle: str) -> tuple[str, str]:
    """``human:p1/1718000000000-0`` -> (``human:p1``, ``1718000000000-0``); ValueError if malformed."""
    lane, sep, entry = handle.partition("/")
    if not sep or lane not in lane_names() or not _is_entry_id(entry):
        raise ValueError(f"{handle!r} is not a queue entry handle; expected lane/id such as human:p1/1718000000000-0")
    return lane, entry


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class TriggerQueue:
    """A consumer of the trigger queues.

    Parameters
    ----------
    url: Redis URL.
    prefix: key prefix the engine writes with (``redis.prefix``).
    group: consumer group; created on each lane at the first pull, reading from the lane's first entry.
    consumer: this consumer's name, unique among live consumers (default ``host-pid``).
    route: ``human`` or ``ai`` to work only that route's lanes; None for all eight.
    visibility_timeout: seconds an entry may stay pending before another consumer reclaims it.
    max_deliveries: deliveries after which an unacknowledged entry is dead-lettered.
    retry_backoff: seconds before a failed entry is offered again, doubling per delivery,
        capped at ``visibility_timeout``.
    client: an existing ``redis.Redis`` (bytes responses) instead of ``url``.

    Example
    -------
    >>> q = TriggerQueue("redis://127.0.0.1:6379/0", group="helpdesk")  # doctest: +SKIP
    >>> for job in q.pull(count=10, block_ms=5000):                       # doctest: +SKIP
    ...     open_ticket(job.trigger)
    ...     q.ack(job)
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "", group: str = "helpdesk",
                 consumer: str | None = None, route: str | None = None, visibility_timeout: float = 300.0,
                 max_deliveries: int = 5, retry_backoff: float = 10.0, client: redis.Redis | None = None,
                 compliance: Compliance | None = None) -> None:
        if route not in (None, "human", "ai"):
            raise ValueError(f"route {route!r}: use 'human', 'ai' or None for both")
        if visibility_timeout <= 0 or max_deliveries < 1 or retry_backoff < 0:
            raise ValueError("visibility_timeout must be > 0, max_deliveries >= 1 and retry_backoff >= 0")
        # Blocking reads wait at most RECLAIM_EVERY_SECONDS, well inside this socket timeout.
        self.client = client or connect(url, timeout=15)
        self.prefix = prefix
        self.group = group
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.lanes = lane_names(route)
        self.visibility_timeout = visibility_timeout
        self.max_deliveries = max_deliveries
        self.retry_backoff = retry_backoff
        self._next_reclaim = 0.0
        self._groups_ready = False
        self._dead_letter_script = self.client.register_script(_DEAD_LETTER)
        self._replay_script = self.client.register_script(_REPLAY)
        self.compliance = compliance if compliance is not None else Compliance()
        self._checker: Checker | None = None

    @classmethod
    def from_config(cls, config: QueueSettings, **overrides: Any) -> TriggerQueue:
        """A queue with the ``[redis]`` and ``[queue]`` settings of a forewarn config (these, or the
        engine's whole ``Config``, which holds the same sections); keyword arguments win."""
        q = config.queue
        kwargs: dict[str, Any] = dict(prefix=config.redis.prefix, group=q.group,
                                      visibility_timeout=q.visibility_timeout_seconds,
                                      max_deliveries=q.max_deliveries, retry_backoff=q.retry_backoff_seconds)
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        return cls(config.redis.url, **kwargs)

    def key(self, lane: str) -> str:
        return lane_key(self.prefix, lane)

    def check(self) -> None:
        """Fail early, with what to do, if Redis is unreachable or older than 7.0 (``INFO server``)."""
        try:
            version = _s(self.client.info("server")["redis_version"])
        except redis.exceptions.NoPermissionError:
            return  # an ACL user without INFO: the first stream command will tell
        if tuple(int(x) for x in version.split(".")[:2]) < (7, 0):
            raise redis.ResponseError(f"Redis {version} is too old: forewarn's queues need Redis 7.0 or later")

    # --- before sending -------------------------------------------------------------------

    def review(self, trigger: dict[str, Any], channel: str, body: str, subject: str | None = None) -> dict[str, Any]:
        """The compliance review of an edited draft before it is sent: ``{"ok", "findings"}``.

        ``trigger`` is ``job.trigger``; ``channel`` names which of its drafts was edited;
        ``subject`` None keeps the draft's. The same checker and settings (``compliance``, the
        ``[compliance]`` section: pass ``compliance=config.compliance`` or see
        :func:`forewarn.queue.cli.load_compliance`)
        as the engine's review and ``forewarn lint``, with the draft's recipient, purpose and
        ``send_after``: send only when ``ok``. No Redis call. ValueError if there is no such draft.
        """
        if self._checker is None:
            self._checker = Checker(self.compliance)
        return review_edit(self._checker, trigger, channel, body, subject)

    def get(self, handle: str) -> dict[str, Any] | None:
        """The trigger in the entry ``lane/id`` (``XRANGE lane id id``); None if trimmed or not a trigger."""
        lane, entry = parse_handle(handle)
        found = self.client.xrange(self.key(lane), entry, entry, count=1)
        if not found:
            return None
        return _decode_trigger(found[0][1].get(b"trigger"), found[0][1])[0]

    # --- consuming -----------------------------------------------------------------------

    def pull(self, count: int = 1, block_ms: int = 0) -> list[Job]:
        """Up to ``count`` entries for this consumer, most urgent lane first; [] if none within ``block_ms``.

        Lane by lane (p1 before p2; human before ai): entries held past the visibility timeout
        by another consumer (``XAUTOCLAIM``, looked for at most once a second), then new ones
        (``XREADGROUP ... STREAMS lane >``). If every lane is empty it waits on all of them at once
        (``XREADGROUP ... BLOCK``). The first pull creates the group on every lane it works.
        """
        deadline = time.monotonic() + block_ms / 1000
        while True:
            jobs = self._pull_once(count)
            if jobs:
                return jobs
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            woke = self._read_blocking(count, min(remaining, RECLAIM_EVERY_SECONDS))
            if woke:
                # The read returns the first lane written to; a more urgent one may have been
                # written in the same instant (Redis < 7.2 answers with one stream only).
                jobs = sorted(woke + self._pull_once(count), key=self._rank)
                return jobs[:count] + self._release(jobs[count:])

    def ack(self, *jobs: Job | str) -> int:
        """Acknowledge entries (``XACK lane group id [id ...]``): done, never delivered again.

        Takes jobs or ``lane/id`` handles; one XACK per lane, in one round trip. Returns how many
        were pending (an entry already acknowledged counts 0).
        """
        by_lane: dict[str, list[str]] = {}
        for job in jobs:
            lane, entry = (job.lane, job.id) if isinstance(job, Job) else parse_handle(job)
            by_lane.setdefault(lane, []).append(entry)
        pipe = self.client.pipeline(transaction=False)
        for lane, ids in by_lane.items():
            pipe.xack(self.key(lane), self.group, *ids)
        done = 0
        for lane, n in zip(by_lane, pipe.execute()):
            if n:
                metrics.QUEUE_ACKS.labels(lane, self.group).inc(n)
            done += n
        return done

    def fail(self, job: Job, error: str, retry: bool = True) -> str:
        """Record a failed attempt: ``"retry"`` (offered again after a backoff) or ``"dead-lettered"``.

        A retry keeps the entry pending and sets its idle time (``XCLAIM ... IDLE ms JUSTID``)
        so it comes due for reclaim after ``retry_backoff * 2**(deliveries-1)`` seconds.
        ``retry=False`` (a permanent error), or a last allowed delivery, dead-letters it now.
        """
        if not retry or job.deliveries >= self.max_deliveries:
            self.dead_letter(job, error)
            return "dead-lettered"
        delay = min(self.retry_backoff * 2 ** (job.deliveries - 1), self.visibility_timeout)
        idle_ms = int((self.visibility_timeout - delay) * 1000)
        self.client.xclaim(self.key(job.lane), self.group, self.consumer, 0, [job.id], idle=idle_ms, justid=True)
        metrics.QUEUE_RETRIES.labels(job.lane, self.group).inc()
        return "retry"

    def dead_letter(self, job: Job, error: str) -> bool:
        """Move an entry to ``forewarn:queue:failed`` and acknowledge it, atomically; False if it was already acknowledged."""
        fields = ["trigger", job.raw, "queue", job.lane, "entry", job.id, "group", self.group,
                  "consumer", self.consumer, "deliveries", job.deliveries, "error", error,
                  "failed_at", format_us(now_us())]
        moved = self._dead_letter_script(keys=[self.key(job.lane), failed_key(self.prefix)],
                                         args=[self.group, job.id, *fields])
        if moved:
            metrics.QUEUE_DEADLETTERED.labels(job.lane, self.group).inc()
        return bool(moved)

    def reclaim(self, count: int = 100, min_idle: float | None = None) -> list[Job]:
        """Claim up to ``count`` entries pending longer than ``min_idle`` (default: the visibility timeout).

        ``XAUTOCLAIM lane group consumer min-idle-ms 0-0 COUNT n`` per lane, most urgent first,
        then ``XPENDING`` for their delivery counts; entries delivered more than
        ``max_deliveries`` times are dead-lettered instead of returned.
        """
        idle = self.visibility_timeout if min_idle is None else min_idle
        self._ensure_groups()
        out: list[Job] = []
        for lane in self.lanes:
            if len(out) >= count:
                break
            out += self._reclaim_lane(lane, count - len(out), idle)
        return out

    def peek(self, count: int = 10, pending: bool = False) -> list[Peeked]:
        """Look without taking, most urgent lane first: the next ``count`` entries waiting for the
        group (``XINFO GROUPS`` for its last delivered id, then ``XRANGE lane (id + COUNT n``), or
        with ``pending`` those delivered and not acknowledged (``XPENDING lane group - + n``)."""
        out: list[Peeked] = []
        for lane in self.lanes:
            if len(out) >= count:
                break
            out += (self._peek_pending if pending else self._peek_waiting)(lane, count - len(out))
        return out

    def _peek_waiting(self, lane: str, count: int) -> list[Peeked]:
        key = self.key(lane)
        try:
            groups = self.client.xinfo_groups(key)
        except redis.ResponseError:  # no such key: nothing was ever queued here
            return []
        last = next((_s(g["last-delivered-id"]) for g in groups if _s(g["name"]) == self.group), "0-0")
        return [Peeked(lane, _s(i), _decode_trigger(f.get(b"trigger"), f)[0])
                for i, f in self.client.xrange(key, min=f"({last}", count=count)]

    def _peek_pending(self, lane: str, count: int) -> list[Peeked]:
        key = self.key(lane)
        try:
            rows = self.client.xpending_range(key, self.group, min="-", max="+", count=count)
        except redis.ResponseError:  # no such key or group: nothing delivered yet
            return []
        pipe = self.client.pipeline(transaction=False)
        for row in rows:
            pipe.xrange(key, min=row["message_id"], max=row["message_id"])
        out = []
        for row, found in zip(rows, pipe.execute()):
            fields = found[0][1] if found else {}
            out.append(Peeked(lane, _s(row["message_id"]), _decode_trigger(fields.get(b"trigger"), fields)[0],
                              _s(row["consumer"]), row["time_since_delivered"] / 1000, row["times_delivered"]))
        return out

    # --- dead letters ----------------------------------------------------------------------

    def failed(self, count: int = 100) -> list[DeadLetter]:
        """The oldest ``count`` dead letters (``XRANGE forewarn:queue:failed - + COUNT n``)."""
        return [_dead_letter(_s(i), f) for i, f in self.client.xrange(failed_key(self.prefix), count=count)]

    def replay_failed(self, ids: list[str] | None = None) -> list[tuple[DeadLetter, str]]:
        """Put dead letters back at the end of their lane, each once: all of them, or those with ``ids``.

        Returns (dead letter, new entry id) for each put back; an entry that was never a
        trigger, or names no lane, stays where it is. Every group reading that lane gets
        the trigger again, so handlers should be idempotent on ``trigger_id`` (they must be
        anyway: delivery is at least once).
        """
        if ids is None:
            letters = [_dead_letter(_s(i), f) for i, f in self.client.xrange(failed_key(self.prefix))]
        else:
            bad = [i for i in ids if not _is_entry_id(i)]
            if bad:
                raise ValueError(f"not dead-letter ids: {bad}; they look like 1718000000000-0 "
                                 f"(see `forewarn queue peek --failed`)")
            letters = []
            for i in ids:
                found = self.client.xrange(failed_key(self.prefix), i, i)
                letters += [_dead_letter(_s(e), f) for e, f in found]
        out = []
        for letter in letters:
            if letter.lane not in lane_names() or letter.trigger is None:
                continue  # not ours to put back: no lane, or never was a trigger
            new_id = self._replay_script(keys=[failed_key(self.prefix), self.key(letter.lane)],
                                         args=[letter.id, letter.raw])
            if new_id:
                metrics.QUEUE_REPLAYED.labels(letter.lane).inc()
                out.append((letter, _s(new_id)))
        return out

    # --- internals -------------------------------------------------------------------------

    def _pull_once(self, count: int) -> list[Job]:
        self._ensure_groups()
        reclaim = time.monotonic() >= self._next_reclaim
        if reclaim:
            self._next_reclaim = time.monotonic() + RECLAIM_EVERY_SECONDS
        out: list[Job] = []
        for lane in self.lanes:
            if reclaim:
                out += self._reclaim_lane(lane, count - len(out), self.visibility_timeout)
            if len(out) < count:
                out += self._read(lane, count - len(out))
            if len(out) >= count:
                break
        return out

    def _with_group(self, lane: str, call):
        """Run ``call``; if the group (or the stream) does not exist yet, create it and run again."""
        try:
            return call()
        except redis.ResponseError as exc:
            if not str(exc).startswith("NOGROUP"):
                raise
        self.ensure_group(lane)
        return call()

    def ensure_group(self, lane: str) -> None:
        """``XGROUP CREATE lane group 0 MKSTREAM``; an existing group (BUSYGROUP) is fine."""
        try:
            self.client.xgroup_create(self.key(lane), self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise

    def _ensure_groups(self) -> None:
        """The group on every lane this queue works, at its first pull, in one round trip."""
        if self._groups_ready:
            return
        pipe = self.client.pipeline(transaction=False)
        for lane in self.lanes:
            pipe.xgroup_create(self.key(lane), self.group, id="0", mkstream=True)
        for reply in pipe.execute(raise_on_error=False):
            if isinstance(reply, Exception) and not str(reply).startswith("BUSYGROUP"):
                raise reply
        self._groups_ready = True

    def _read(self, lane: str, count: int) -> list[Job]:
        reply = self._with_group(lane, lambda: self.client.xreadgroup(
            self.group, self.consumer, {self.key(lane): ">"}, count=count))
        return self._jobs(lane, [(i, f, 1) for _k, entries in reply or [] for i, f in entries])

    def _read_blocking(self, count: int, seconds: float) -> list[Job]:
        streams = {self.key(lane): ">" for lane in self.lanes}
        try:
            reply = self.client.xreadgroup(self.group, self.consumer, streams, count=count,
                                           block=max(1, int(seconds * 1000)))
        except redis.ResponseError as exc:
            if not str(exc).startswith("NOGROUP"):
                raise
            for lane in self.lanes:
                self.ensure_group(lane)
            return []
        by_key = {_s(k): entries for k, entries in reply or []}
        out: list[Job] = []
        for lane in self.lanes:
            out += self._jobs(lane, [(i, f, 1) for i, f in by_key.get(self.key(lane), [])])
        return out

    def _rank(self, job: Job) -> tuple[int, int, int]:
        ms, _, seq = job.id.partition("-")
        return self.lanes.index(job.lane), int(ms), int(seq)

    def _release(self, extra: list[Job]) -> list[Job]:
        """Entries delivered beyond ``count`` after a blocking read: hand them back, as never delivered.

        ``XCLAIM ... IDLE <visibility timeout> RETRYCOUNT 0 JUSTID`` makes each due for reclaim at
        once by any consumer, which then counts it as its first delivery.
        """
        for job in extra:
            self.client.xclaim(self.key(job.lane), self.group, self.consumer, 0, [job.id],
                               idle=int(self.visibility_timeout * 1000), retrycount=0, justid=True)
        if extra:
            self._next_reclaim = 0.0
        return []

    def _reclaim_lane(self, lane: str, count: int, min_idle: float) -> list[Job]:
        key = self.key(lane)
        claimed: list = []
        cursor = "0-0"
        while len(claimed) < count:
            reply = self._with_group(lane, lambda: self.client.xautoclaim(
                key, self.group, self.consumer, int(min_idle * 1000), cursor, count=count - len(claimed)))
            cursor = _s(reply[0])
            claimed += reply[1]
            if cursor == "0-0":
                break
        if not claimed:
            return []
        counts = self.client.pipeline(transaction=False)
        for entry_id, _fields in claimed:
            counts.xpending_range(key, self.group, min=entry_id, max=entry_id, count=1)
        deliveries = {_s(p["message_id"]): p["times_delivered"] for rows in counts.execute() for p in rows}
        metrics.QUEUE_RECLAIMS.labels(lane, self.group).inc(len(claimed))
        jobs = self._jobs(lane, [(i, f, deliveries.get(_s(i), 1)) for i, f in claimed])
        keep = []
        for job in jobs:
            if job.deliveries > self.max_deliveries:
                self.dead_letter(job, f"delivered {job.deliveries} times without an ack "
                                      f"(consumers died or exceeded the {self.visibility_timeout:g}s visibility timeout)")
            else:
                keep.append(job)
        return keep

    def _jobs(self, lane: str, entries: list[tuple[bytes, dict, int]]) -> list[Job]:
        """Entries as jobs; one that is not a trigger cannot be handled by retrying, so it is dead-lettered."""
        out = []
        for entry_id, fields, deliveries in entries:
            raw = fields.get(b"trigger")
            trigger, problem = _decode_trigger(raw, fields)
            if trigger is None:
                self.dead_letter(Job(lane, _s(entry_id), raw or b"", deliveries, {}), problem)
                continue
            out.append(Job(lane, _s(entry_id), raw, deliveries, trigger))
        return out


def _decode_trigger(raw: bytes | None, fields: dict) -> tuple[dict | None, str]:
    """(trigger, "") or (None, why the entry is not a trigger: retrying it would not help)."""
    if raw is None:
        return None, f"not a trigger: the entry has no 'trigger' field (fields: {sorted(_s(k) for k in fields)})"
    try:
        trigger = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        return None, f"not a trigger: field 'trigger' is not JSON ({exc})"
    if not isinstance(trigger, dict) or not isinstance(trigger.get("trigger_id"), str):
        return None, "not a trigger: field 'trigger' has no string trigger_id"
    return trigger, ""


def _dead_letter(entry_id: str, fields: dict[bytes, bytes]) -> DeadLetter:
    def get(name: str) -> str:
        return _s(fields.get(name.encode(), b""))

    raw = fields.get(b"trigger", b"")
    try:
        trigger = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        trigger = None
    return DeadLetter(entry_id, get("queue"), get("entry"), get("group"), get("consumer"),
                      int(get("deliveries") or 0), get("error"), get("failed_at"), raw, trigger)
