"""Delayed labels: a prediction waits in the customer's state until the stream tells its outcome.

A model predicts first and learns later: at prediction time the features and the
probability given are packed into a :class:`Pending` (a few dozen bytes) and kept in
``CustomerState.ext``; when the label arrives — the next order, a delivery, an event-time
deadline — the model learns from the stored features and its progressive quality is
updated with the stored probability. Features are stored as float32: the learning is as
deterministic as with float64 (same input, same bytes) at half the memory.

>>> p = Pending.make((1.0, 0.5, -2.25), p=0.8, due_us=10)
>>> p.values()
(1.0, 0.5, -2.25)
>>> keep_last([p, p, p], 2) == [p, p]
True
"""

from __future__ import annotations

import array
from collections.abc import Sequence

import msgspec


# gc=False: holds only values and lists of values, never a cycle (see forewarn/core/state.py).
class Pending(msgspec.Struct, array_like=True, gc=False):
    """One prediction waiting for its label.

    x: the feature values, packed float32, in the order of the model's feature names.
    p: the probability the model gave when it predicted.
    due_us: event time the prediction is about: when its label is due at the latest (a
        window's end, a delivery deadline).
    """

    x: bytes
    p: float
    due_us: int

    @classmethod
    def make(cls, values: Sequence[float], p: float, due_us: int) -> Pending:
        return cls(array.array("f", values).tobytes(), p, due_us)

    def values(self) -> tuple[float, ...]:
        return tuple(array.array("f", self.x))


def keep_last(pending: list[Pending], limit: int) -> list[Pending]:
    """Bound a waiting list: the oldest predictions are dropped unlearned, so state stays small."""
    return pending[-limit:] if len(pending) > limit else pending
