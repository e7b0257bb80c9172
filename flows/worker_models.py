"""One worker's online models inside the dataflow: scores out, quality metrics, checkpoints.

A process has one :class:`forewarn.engine.engine.Engine`, shared by its worker threads; each
worker has its own models (:class:`online_models.base.ModelPerWorker`: River models are not
thread-safe, and a model per worker scales with workers). :class:`WorkerModels`
follows the customer step through its epochs:

* before a batch — if the worker resumed from recovery, load the models its customers'
  snapshots point at (once); the models may change from here on;
* after a batch — drain the models' evaluations into the output when a scores sink is
  wired (``forewarn backtest --scores``);
* at the epoch's first snapshot — publish ``forewarn_model_*`` and, with a recovery
  directory, write a checkpoint (:mod:`flows.model_checkpoints`) whose reference every
  customer snapshot of this epoch carries.

:class:`FlowModels` is the flow-wide side: it makes each worker's object and sums or
averages the workers' quality into the gauges.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import defaultdict

from flows.model_checkpoints import Checkpoints, Ref
from online_models.base import ModelSet, Observation
from sinks import metrics

log = logging.getLogger("forewarn.models")

# quality key -> gauge; counts are summed over workers, rates averaged weighted by labels
_SUMMED = {"learned_examples": metrics.MODEL_LEARNED, "labels": metrics.MODEL_LABELS}
_AVERAGED = {"roc_auc": metrics.MODEL_ROC_AUC, "accuracy": metrics.MODEL_ACCURACY,
             "positive_rate": metrics.MODEL_POSITIVE_RATE,
             "fire_rate": metrics.MODEL_FIRE_RATE, "model_weight": metrics.MODEL_CLASSIFIER_WEIGHT}


class FlowModels:
    """The models of every worker of one dataflow in this process.

    checkpoint_dir: where checkpoints go (``<recovery directory>/models``), or None.
    keep: checkpoint versions kept per worker.
    scores: whether evaluations are emitted downstream (a scores sink is wired).
    """

    def __init__(self, checkpoint_dir: str | None, keep: int, scores: bool) -> None:
        self.checkpoint_dir = checkpoint_dir
        self.keep = keep
        self.scores = scores
        self.workers: list[WorkerModels] = []
        self._lock = threading.Lock()

    def worker(self, models: ModelSet) -> WorkerModels:
        checkpoints = Checkpoints(self.checkpoint_dir, self.keep) if self.checkpoint_dir else None
        w = WorkerModels(self, models, checkpoints)
        with self._lock:
            self.workers.append(w)
        return w

    def publish(self) -> None:
        """Set the ``forewarn_model_*`` gauges from every worker's models."""
        by_kind: dict[str, list[dict[str, float]]] = defaultdict(list)
        outcomes: dict[tuple[str, str], int] = defaultdict(int)
        for w in list(self.workers):
            for kind, q in w.models.quality().items():
                by_kind[kind].append(q)
            for key, n in w.models.outcomes().items():
                outcomes[key] += n
        for (kind, outcome), n in outcomes.items():
            metrics.MODEL_OUTCOMES.labels(kind, outcome).set(n)
        for kind, qs in by_kind.items():
            for key, gauge in _SUMMED.items():
                if any(key in q for q in qs):
                    gauge.labels(kind).set(sum(q.get(key, 0.0) for q in qs))
            for key, gauge in _AVERAGED.items():
                have = [q for q in qs if key in q]
                if have:
                    weights = [q.get("labels") or q.get("learned_examples") or 1.0 for q in have]
                    gauge.labels(kind).set(math.fsum(q[key] * w for q, w in zip(have, weights)) / sum(weights))


class WorkerModels:
    """One worker's models as the customer step sees them (see the module docstring)."""

    def __init__(self, flow: FlowModels, models: ModelSet, checkpoints: Checkpoints | None) -> None:
        self.flow = flow
        self.models = models
        self.checkpoints = checkpoints
        self.ref: Ref | None = None  # the checkpoint of the models as they are at the last epoch end
        self.changed = False
        # Of the resumed customers' snapshots: model id -> (customers, newest version).
        self._resumed: dict[str, tuple[int, int]] = {}

    @property
    def emits_scores(self) -> bool:
        return self.flow.scores

    def resumed(self, ref: Ref | None) -> None:
        """A customer's snapshot was restored; ``ref`` is the checkpoint it was taken with."""
        if ref is not None:
            model_id, version = ref
            count, newest = self._resumed.get(model_id, (0, 0))
            self._resumed[model_id] = (count + 1, max(newest, version))

    def _load(self) -> None:
        choice = Checkpoints.choose(self._resumed)
        self._resumed = {}
        data = self.checkpoints.read(choice) if self.checkpoints is not None and choice else None
        if data is None:
            log.warning("model checkpoint %s not found (recovery directory changed or files removed): "
                        "this worker's models start fresh", choice)
            return
        kinds = self.models.load(data)
        log.info("models %s resumed from checkpoint %s-%d", ", ".join(kinds) or "(none)", *choice)

    def before_batch(self) -> None:
        if self._resumed:
            self._load()
        self.changed = True

    def drain(self) -> list[Observation]:
        """The evaluations since the last call (the score histogram has them from the scheduler)."""
        return self.models.drain()

    def at_snapshot(self) -> Ref | None:
        """Called for every customer snapshot; the first of an epoch publishes and checkpoints."""
        if self.changed:
            self.changed = False
            self.flow.publish()
            if self.checkpoints is not None:
                data = self.models.dumps()
                self.ref = self.checkpoints.write(data)
                metrics.MODEL_CHECKPOINT_BYTES.set(len(data))
        return self.ref
