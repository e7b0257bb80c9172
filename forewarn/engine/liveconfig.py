"""Live thresholds: ``forewarn run`` takes detector, routing and triage changes without a restart.

Changes come from two places, combined in this order (the later wins):

1. the config file ``forewarn run`` was started with (plus the same environment overrides),
   re-read when its contents change — checked every ``live.poll_seconds`` — or at once on
   SIGHUP;
2. the Redis hash ``{redis.prefix}{live.redis_hash}`` (default ``forewarn:config``): each
   field is a dotted key under ``detectors.``, ``routing.`` or ``triage.`` (but
   ``triage.seed``), its value a TOML value (``24``, ``"human"``, ``true``,
   ``["refund_status", "tracking"]``) or a bare word (``human``). It is read at start too, so a
   threshold set there survives a restart.

Every change is validated whole, exactly as at start, and is all or nothing:

* a bad value is refused with the key, the value and what is allowed; the config in force stays;
* a difference outside ``detectors``, ``routing`` and ``triage`` (Kafka, Redis, metrics, engine
  time, recovery, ``live``), or in ``triage.seed`` (it only starts fresh models), is refused with
  "restart needed": those are read once, at start;
* otherwise the engine swaps in the new detectors, routing and triage (:meth:`Engine.reconfigure`):
  customers' state, armed deadlines and learned models are kept; a deadline armed before the
  change keeps the time it was armed with; ``[triage]`` (``ai_intents``, ``min_confidence``,
  ``human_flags``) decides the lane of the next message routed.

Each check that sees something new is logged and reported to ``observe`` (metrics).
"""

from __future__ import annotations

import json
import logging
import threading
import tomllib
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import msgspec

from forewarn.engine import config as cfgmod
from forewarn.engine.config import Config, ConfigError

log = logging.getLogger("forewarn.live")

LIVE_SECTIONS = ("detectors", "routing", "triage")
# Keys of a live section read only at start: the seed starts the fresh models, and a running
# model has long moved on from it.
AT_START_ONLY = frozenset({"triage.seed"})


def _said(sections: tuple[str, ...], at_start: frozenset[str]) -> str:
    """The live keys in words, for the messages refusing a change.

    >>> _said(LIVE_SECTIONS, AT_START_ONLY)
    'detectors.*, routing.* and triage.* but triage.seed'
    """
    *rest, last = [f"{s}.*" for s in sections]
    words = f"{', '.join(rest)} and {last}" if rest else last
    return f"{words} but {', '.join(sorted(at_start))}" if at_start else words


LIVE_KEYS = _said(LIVE_SECTIONS, AT_START_ONLY)


class Reconfigurable(Protocol):
    """What the reloader drives: :class:`forewarn.engine.Engine`."""

    @property
    def config(self) -> Config: ...

    def reconfigure(self, config: Config) -> list[str]: ...


class Diff(NamedTuple):
    key: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.key} {self.old!r} -> {self.new!r}"


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> leaf value of nested mappings (lists are leaves)."""
    if not isinstance(data, Mapping):
        return {prefix.rstrip("."): data}
    out: dict[str, Any] = {}
    for k, v in data.items():
        out.update(flatten(v, f"{prefix}{k}."))
    return out


def diff(old: Config, new: Config) -> list[Diff]:
    """Every dotted key whose value differs, sorted by key."""
    a, b = flatten(msgspec.to_builtins(old)), flatten(msgspec.to_builtins(new))
    return [Diff(k, a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def is_live(key: str) -> bool:
    return key.split(".", 1)[0] in LIVE_SECTIONS and key not in AT_START_ONLY


def checksum(config: Config) -> int:
    """CRC-32 of the live keys: the same thresholds give the same number in every process."""
    live = {k: v for k, v in flatten({s: msgspec.to_builtins(getattr(config, s)) for s in LIVE_SECTIONS}).items()
            if is_live(k)}
    return zlib.crc32(json.dumps(live, sort_keys=True).encode())


def parse_value(text: str) -> Any:
    """A TOML value (``24``, ``1.5``, ``true``, ``"human"``), else the text itself (``human``)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def hash_overrides(fields: Mapping[str, str], where: str) -> dict[str, Any]:
    """The Redis hash's fields as config overrides; only live keys may be set there."""
    bad = sorted(k for k in fields if not is_live(k) or "." not in k)
    if bad:
        raise ConfigError(
            f"{where}: field(s) {bad} not allowed; only {LIVE_KEYS} can be changed live (connection "
            "settings and what is read only at start belong in the config file and need a restart); "
            "remove them with HDEL")
    return {k: parse_value(v) for k, v in fields.items()}


class Reloader:
    """Watches the config file and the Redis hash; applies valid live changes to the engine.

    path: the config file ``forewarn run`` was started with (None: ``forewarn.toml`` if it
        exists, as at start).
    observe: called as ``observe(source, result, generation, checksum)`` after every check
        that saw something new (source ``start``, ``file``, ``redis`` or ``signal``).
    env: the environment whose connection overrides apply (``os.environ`` by default).
    """

    def __init__(self, path: str | Path | None, observe: Callable[[str, str, int, int], None] = lambda *a: None,
                 env: Mapping[str, str] | None = None) -> None:
        if path is None and Path("forewarn.toml").exists():
            path = "forewarn.toml"
        self.path = Path(path) if path is not None else None
        self.observe = observe
        self.env = env
        self.engine: Reconfigurable | None = None
        self.generation = 1
        self._file: bytes | None = None
        self._hash: dict[str, str] | None = None  # None: not read yet (Redis unreachable)
        self._redis = None
        self._redis_down = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- reading

    def _read_file(self) -> bytes | None:
        if self.path is None:
            return None
        try:
            return self.path.read_bytes()
        except OSError:
            return None  # load() says what is wrong with it

    def _hash_key(self, config: Config) -> str:
        return config.redis.prefix + config.live.redis_hash

    def _read_hash(self, config: Config) -> dict[str, str] | None:
        """The hash's fields, or None when Redis cannot be read (then nothing changes)."""
        if not config.live.redis_hash:
            return {}
        import redis

        from sinks.redis_queue import connect

        try:
            if self._redis is None:
                self._redis = connect(config.redis.url, timeout=5)
            raw = self._redis.hgetall(self._hash_key(config))
        except redis.RedisError as exc:
            if not self._redis_down:
                log.warning("cannot read the config hash %s (%s); thresholds set there are applied when "
                            "Redis answers again", self._hash_key(config), exc)
                self._redis_down = True
            return None
        if self._redis_down:
            log.info("config hash %s readable again", self._hash_key(config))
            self._redis_down = False
        return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in raw.items()}

    def _load(self, fields: Mapping[str, str] | None, where: str) -> Config:
        """File, environment, then the hash's fields (``where`` names the hash in errors)."""
        overrides = hash_overrides(fields, where) if fields else None
        try:
            return cfgmod.load(self.path, overrides, self.env)
        except ConfigError as exc:
            key = str(exc).split(" ", 1)[0].rstrip(":")
            if fields and any(k == key or k.startswith(key + ".") for k in fields):
                raise ConfigError(f"{exc} (set in {where}; fix it with HSET or remove it with HDEL)") from None
            raise

    # -- start

    def load_initial(self) -> Config:
        """The config to start with: file, environment, then the Redis hash. Raises ConfigError."""
        self._file = self._read_file()
        config = cfgmod.load(self.path, None, self.env)
        self._hash = self._read_hash(config)
        if self._hash is None:
            log.warning("starting with the config file's thresholds only")
        elif self._hash:
            config = self._load(self._hash, f"Redis hash {self._hash_key(config)}")
            log.info("config hash %s overrides: %s", self._hash_key(config),
                     ", ".join(f"{k} = {v}" for k, v in sorted(self._hash.items())))
        return config

    def attach(self, engine: Reconfigurable) -> None:
        """Apply changes to ``engine`` from now on (each :meth:`check`)."""
        self.engine = engine
        self.observe("start", "applied", self.generation, checksum(engine.config))

    def start(self, engine: Reconfigurable) -> None:
        """Attach ``engine`` and watch for changes in a daemon thread."""
        self.attach(engine)
        self._thread = threading.Thread(target=self._loop, name="forewarn-live-config", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Check now, and re-evaluate even if nothing seems to have changed (SIGHUP)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            forced = self._wake.wait(self.engine.config.live.poll_seconds or None)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.check(forced)
            except Exception:  # a failed check must not stop the watching, nor the flow
                log.exception("config check failed; the config in force stays")

    # -- one check

    def check(self, forced: bool = False) -> str | None:
        """Look at the file and the hash; apply, refuse or ignore. Returns the result, or None
        when nothing changed since the last check (and it was not forced)."""
        engine = self.engine
        current = engine.config
        file = self._read_file()
        fields = self._read_hash(current)
        if fields is None:
            fields = self._hash  # Redis unreachable: what it last said still holds
        if not forced and file == self._file and fields == self._hash:
            return None
        source = "signal" if forced else "file" if file != self._file else "redis"
        self._file, self._hash = file, fields
        result = self._evaluate(current, fields)
        self.observe(source, result, self.generation, checksum(engine.config))
        return result

    def _evaluate(self, current: Config, fields: Mapping[str, str] | None) -> str:
        """``applied``, ``rejected``, ``restart_needed`` or ``unchanged``; logs why."""
        gen = self.generation
        try:
            new = self._load(fields, f"Redis hash {self._hash_key(current)}")
        except ConfigError as exc:
            log.error("config change refused, generation %d stays in force: %s", gen, exc)
            return "rejected"
        changes = diff(current, new)
        fixed = [d for d in changes if not is_live(d.key)]
        if fixed:
            detail = "; ".join(map(str, fixed))
            log.error("config change refused, generation %d stays in force: %s: read only at start, "
                      "restart needed (only %s change live)", gen, detail, LIVE_KEYS)
            return "restart_needed"
        if not changes:
            log.info("config checked: no change, generation %d stays in force", gen)
            return "unchanged"
        try:
            kinds = self.engine.reconfigure(new)
        except (ValueError, TypeError) as exc:
            log.error("config change refused by a detector, generation %d stays in force: %s", gen, exc)
            return "rejected"
        self.generation += 1
        detail = "; ".join(map(str, changes))
        log.info("config generation %d in force: %s%s", self.generation, detail,
                 f" (detectors {', '.join(kinds)} updated; deadlines armed before keep their time)" if kinds else "")
        return "applied"
