"""The one seam between the engine and a flow: the :class:`Context` of a batch.

As Flink hands a ``ProcessFunction`` a ``Context`` with each element (the current watermark,
the timer service scoped to the key, side outputs), a flow hands the engine a
:class:`Context` with each batch of one shard's inputs, and sets its time as it walks them:

* ``watermark``: event time up to which everything has been delivered, less the lateness;
  the engine applies events and fires deadlines it has passed (:mod:`forewarn.engine.engine`);
* ``frontier``: for an eager shard (``forewarn run``), the time every partition still reading
  has delivered: an event at or before it may be applied before the watermark reaches it;
* ``ingest``: wall time the input being processed was read, for the latency metrics;
* ``position``: an ordered shard's input position being processed (``forewarn backtest
  --workers N``), the first part of each emitted candidate's ``order``.

The timer service is the :class:`detectors.base.Scheduler` the engine scopes to the customer
and the calling detector. What the engine hands back besides the candidates it returns goes
into the context's side outputs, which the flow reads after the batch:

* ``emitted``: each candidate with where it came from (:class:`Emitted`), for the trigger sink;
* ``counts``: what the engine counted (:class:`Counts`), for the metrics;
* ``scores``: the online models' evaluations of the batch
  (:class:`online_models.base.Observation`), for ``forewarn backtest --scores``.

Nothing here does I/O or reads a clock, so the engine stays replaceable and a replay is
deterministic: a context is plain data the caller fills and reads.

>>> ctx = Context(watermark=5, ingest=1.5)
>>> ctx.counts.late += 1
>>> (ctx.watermark, ctx.frontier == NEVER, ctx.counts.late, ctx.emitted, ctx.scores)
(5, True, 1, [], [])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from forewarn.engine.watermark import NEVER

if TYPE_CHECKING:
    from detectors.base import Candidate
    from online_models.base import Observation


class Emitted(NamedTuple):
    """A candidate as the engine emitted it: what a detector decided, and where it came from."""

    candidate: Candidate
    source_ts: int  # event time of the event or deadline that caused it (event-to-queue latency)
    ingest: float  # wall time the input that led to it was read (ingest-to-queue latency)
    order: tuple = ()  # an ordered shard's: where it falls in the one-shard output (see the engine)


class Counts:
    """What the engine counted while it processed one context's inputs; plain ints, no metrics client."""

    __slots__ = ("duplicates", "late", "out_of_order", "scores", "suppressed")

    def __init__(self) -> None:
        self.duplicates = 0
        self.late = 0
        self.out_of_order = 0  # eager shards: applied after a newer event of the same customer
        # (kind, score, threshold) of each scored evaluation, for the score histogram
        self.scores: list[tuple[str, float, float | None]] = []
        self.suppressed: dict[str, int] = {}  # kind -> triggers held back by the cooldown


class Context:
    """One batch's time, as the flow sets it, and the engine's side outputs (see the module docstring)."""

    __slots__ = ("watermark", "frontier", "ingest", "position", "emitted", "counts", "scores")

    def __init__(self, watermark: int = NEVER, frontier: int = NEVER, ingest: float = 0.0) -> None:
        self.watermark = watermark
        self.frontier = frontier
        self.ingest = ingest
        self.position = 0
        self.emitted: list[Emitted] = []
        self.counts = Counts()
        self.scores: list[Observation] = []

    def candidates(self) -> list[Candidate]:
        """The candidates emitted so far, in order."""
        return [e.candidate for e in self.emitted]
