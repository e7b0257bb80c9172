"""Keys that reach every worker: how a source partition tells all workers how far it has read.

Bytewax has no broadcast operator, but it routes a keyed item to worker
``siphash13(key) % worker_count`` (Rust's ``DefaultHasher`` over the key, in
``src/operators.rs`` of bytewax 0.21.1, the last release). So one key per worker, found
here by computing that same hash, makes a broadcast: an item sent under each of
:func:`clock_keys` reaches each worker once, in order behind everything its sender sent
that worker before. ``tests/test_watermark.py`` checks the routing against Bytewax itself.

>>> keys = clock_keys(2)
>>> [worker_of(k, 2) for k in keys]
[0, 1]
"""

from __future__ import annotations

import itertools
import struct

_MASK = (1 << 64) - 1
# Sorts before any printable customer id, so Bytewax (which runs the keys of one activation
# in key order) applies the clock reports before the customers that wait for them.
CLOCK_PREFIX = "\x00clock:"


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _MASK


def siphash13(data: bytes, k0: int = 0, k1: int = 0) -> int:
    """SipHash-1-3 (Rust's ``DefaultHasher`` with its zero keys) of ``data``."""
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573

    def sip_round() -> None:
        nonlocal v0, v1, v2, v3
        v0 = (v0 + v1) & _MASK
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = (v2 + v3) & _MASK
        v3 = _rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & _MASK
        v3 = _rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & _MASK
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)

    n = len(data)
    whole = n - n % 8
    for i in range(0, whole, 8):
        m = struct.unpack_from("<Q", data, i)[0]
        v3 ^= m
        sip_round()
        v0 ^= m
    last = (n & 0xFF) << 56
    for i, c in enumerate(data[whole:]):
        last |= c << (8 * i)
    v3 ^= last
    sip_round()
    v0 ^= last
    v2 ^= 0xFF
    for _ in range(3):
        sip_round()
    return v0 ^ v1 ^ v2 ^ v3


def worker_of(key: str, worker_count: int) -> int:
    """The worker Bytewax routes a state key to (Rust hashes a ``str`` as its bytes then 0xFF)."""
    return siphash13(key.encode() + b"\xff") % worker_count


def clock_keys(worker_count: int) -> list[str]:
    """One key per worker, the first ``CLOCK_PREFIX + n`` that routes to it, in worker order."""
    found: dict[int, str] = {}
    for n in itertools.count():
        key = f"{CLOCK_PREFIX}{n}"
        found.setdefault(worker_of(key, worker_count), key)
        if len(found) == worker_count:
            return [found[w] for w in range(worker_count)]
