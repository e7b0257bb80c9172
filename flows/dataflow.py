"""The one dataflow every mode runs; only its source and sinks differ (see ``flows.modes``).

    source (decode + validate + watermark) ──invalid──► dead-letter sink
        │
    key by customer (live) or one shard (finite, ordered replay)
        │
    customer step: state, deadlines, detectors and their online models ──► one Context per batch
        │                          (forewarn.engine.context: emitted candidates; scores ──► scores sink)
    routing: priority, lane, outreach by consent ──► trigger
        │
    outreach: drafts per allowed channel, compliance review; a block keeps it off the ai lane ──► trigger sink
"""

from __future__ import annotations

import math
import threading

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.outputs import Sink

from flows.customer_step import ShardLogic
from flows.items import INVALID
from flows.worker_models import FlowModels, WorkerModels
from forewarn.engine.config import Config
from forewarn.engine.context import Context
from forewarn.engine.engine import Engine
from forewarn.engine.routing import route
from forewarn.engine.watermark import WorkerClocks
from outreach.compliance import CODES
from outreach.step import ForConfig
from sinks import metrics


def build(config: Config, source: Source, triggers: Sink, deadletters: Sink | None,
          workers: WorkerClocks | None = None, waker: Source | None = None, name: str = "forewarn",
          engine: Engine | None = None, scores: Sink | None = None, checkpoint_dir: str | None = None,
          persist: bool = True, ordered: bool = False) -> Dataflow:
    """Wire the dataflow.

    workers, waker: live mode, where each customer is its own key: each worker's clock and
        timers, and the source that wakes customers whose deadline has passed.
    engine: given when the caller changes its thresholds while the flow runs.
    scores: where every online-model evaluation goes (a backtest's ``--scores`` file), if anywhere.
    checkpoint_dir: where the models are checkpointed with the recovery snapshots, if anywhere.
    persist: False when no recovery will keep the customer step's snapshots.
    ordered: one partition of a multi-process backtest: the trigger sink gets
        ``(trigger, source_ts, ingest, order)``, ``order`` its place in the one-shard output.
    """
    engine = Engine(config) if engine is None else engine
    metrics.declare_kinds([d.kind for d in engine.detectors])
    metrics.declare_findings(list(CODES))
    flow_models = FlowModels(checkpoint_dir, _checkpoints_kept(config), scores is not None)
    # Each worker (a thread) follows its own models; keyed by thread id, see online_models.base.ModelPerWorker.
    worker_models: dict[int, WorkerModels] = {}

    def customer_logic(resume: bytes | None) -> ShardLogic:
        models = worker_models.get(threading.get_ident())
        if models is None:
            models = worker_models[threading.get_ident()] = flow_models.worker(engine.models)
        return ShardLogic(engine, resume, workers, models, persist, ordered)

    flow = Dataflow(name)
    inputs = op.input("inputs", flow, source)
    if waker is not None:
        inputs = op.merge("with_wakes", inputs, op.input("wakes", flow, waker))
    split = op.branch("validate", inputs, lambda item: item[0] != INVALID)
    if deadletters is not None:
        letters = op.map("deadletter_fields", split.falses, lambda item: item[2])
        op.output("deadletters", letters, deadletters)
    keyed = op.key_on("key_by_customer", split.trues, lambda item: item[1])
    # One item per batch that emitted or scored anything: its Context, whose side outputs go
    # each to its own sink (no candidate stream to split again).
    batches = op.stateful_batch("customer_step", keyed, customer_logic)
    if scores is not None:
        op.output("scores", op.flat_map("score_rows", batches, lambda kv: kv[1].scores), scores)
    # Live (worker clocks given), the step is built before the first event, not at the first trigger.
    outreach = ForConfig(engine.config if workers is not None else None)

    def emit(kv: tuple[str, Context]) -> list[tuple]:
        out = []
        for cand, source_ts, ingest, order in kv[1].emitted:
            # The config is read per candidate, so a live change applies to the next trigger.
            config = engine.config
            trig = outreach(route(cand, config.routing, config.triage), config)
            out.append((trig, source_ts, ingest, order) if ordered else (trig, source_ts, ingest))
        return out

    routed = op.flat_map("route", batches, emit)
    op.output("triggers", routed, triggers)
    return flow


def _checkpoints_kept(config: Config) -> int:
    """Model checkpoint versions to keep per worker: every epoch a resume may go back to.

    Bytewax keeps snapshots back to ``backup_interval_seconds``; a few epochs more cover the
    commits that trail the epoch being written.
    """
    rec = config.recovery
    return math.ceil(rec.backup_interval_seconds / rec.snapshot_interval_seconds) + 5
