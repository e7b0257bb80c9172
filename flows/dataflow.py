"""The one dataflow every mode runs; only its source and sinks differ (see ``flows.modes``).

    source (decode + validate + watermark) ──invalid──► dead-letter sink
        │
    key by customer (live) or one shard (finite, ordered replay)
        │
    customer step: state, deadlines, detectors ──► candidates
        │
    routing: priority, lane, outreach by consent ──► trigger v1 ──► trigger sink
"""

from __future__ import annotations

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.outputs import Sink

from flows.customer_step import ShardLogic
from flows.items import INVALID
from forewarn.config import Config
from forewarn.engine import Engine
from forewarn.routing import route
from forewarn.watermark import TimerIndex
from sinks import metrics


def build(config: Config, source: Source, triggers: Sink, deadletters: Sink | None,
          timers: TimerIndex | None = None, name: str = "forewarn", engine: Engine | None = None) -> Dataflow:
    """Wire the dataflow. ``timers`` is given in live mode, where each customer is its own key;
    ``engine`` when the caller changes its thresholds while the flow runs."""
    engine = Engine(config) if engine is None else engine
    metrics.declare_kinds([d.kind for d in engine.detectors])

    flow = Dataflow(name)
    inputs = op.input("inputs", flow, source)
    split = op.branch("validate", inputs, lambda item: item[0] != INVALID)
    if deadletters is not None:
        letters = op.map("deadletter_fields", split.falses, lambda item: item[2])
        op.output("deadletters", letters, deadletters)
    keyed = op.key_on("key_by_customer", split.trues, lambda item: item[1])
    candidates = op.stateful_batch("customer_step", keyed, lambda resume: ShardLogic(engine, resume, timers))
    # The routing table is read per candidate, so a live change applies to the next trigger.
    routed = op.map("route", candidates, lambda kv: (route(kv[1], engine.config.routing), kv[1].source_ts, kv[1].ingest))
    op.output("triggers", routed, triggers)
    return flow

