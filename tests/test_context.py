"""The flow hands the engine one Context per batch and reads back what the engine emitted beside
each candidate (where it came from, for latency and the ordered merge), what it counted and what
the models evaluated; the candidate itself is only what the detector decided."""

import msgspec

from detectors.base import Candidate
from forewarn.engine.config import load
from forewarn.engine.context import Context, Emitted
from forewarn.engine.engine import Engine, Shard
from forewarn.engine.replay import events
from tests.factory import at, disputed, order, paid, shipped

NO_LATENESS = load(None, {"engine.allowed_lateness_seconds": 0}, env={})


def test_a_candidate_holds_what_the_detector_decided_and_no_latency_or_order_fields():
    assert {"source_ts", "ingest", "order"}.isdisjoint(Candidate.__struct_fields__)


def test_each_emitted_candidate_carries_the_time_of_what_caused_it_and_when_its_input_was_read():
    engine, shard = Engine(NO_LATENESS), Shard()
    ctx = Context()
    story = [order("2026-11-10T10:00:00Z"), paid("2026-11-10T10:01:00Z"),
             disputed("2026-11-10T10:02:00Z"),
             shipped("2026-11-10T11:00:00Z", eta="2026-11-11T00:00:00Z")]  # late 12 h after the estimate
    for n, event in enumerate(events(story)):
        ctx.watermark, ctx.ingest = event.ts_us, 100.0 + n
        engine.on_event(shard, event, ctx)
    ctx.watermark, ctx.ingest = at("2026-11-12T00:00:00Z"), 200.0
    engine.finish(shard, ctx)
    kinds = [(e.candidate.kind, e.source_ts, e.ingest, e.order) for e in ctx.emitted]
    # The dispute: caused by its event, applied when the next input moved the watermark past it.
    assert ("payment_disputed", at("2026-11-10T10:02:00Z"), 102.0, ()) in kinds
    # The late parcel: caused by its deadline (estimate + 12 h grace), fired by the final watermark.
    assert ("delivery_late", at("2026-11-11T12:00:00Z"), 200.0, ()) in kinds
    assert ctx.candidates() == [e.candidate for e in ctx.emitted]


def test_an_ordered_shard_starts_each_order_with_the_input_position_being_processed():
    engine, shard = Engine(NO_LATENESS), Shard(ordered=True)
    ctx = Context()
    [placed, dispute] = events([order("2026-11-10T10:00:00Z"), disputed("2026-11-10T10:02:00Z")])
    for position, event in ((7, placed), (9, dispute)):  # the watermark stays at the order's time
        ctx.watermark, ctx.position = placed.ts_us, position
        engine.on_event(shard, event, ctx, seq=position)
    ctx.watermark, ctx.position = dispute.ts_us, 10  # the end of the input
    engine.finish(shard, ctx)
    [emitted] = ctx.emitted
    assert emitted.candidate.kind == "payment_disputed"
    # Applied at the end (input position 10), by its event's key (time, 0, its own position), first of it.
    assert emitted.order == (10, (dispute.ts_us, 0, 9), 0)


def test_what_the_engine_counts_goes_on_the_context_not_on_the_engine():
    engine, shard = Engine(NO_LATENESS), Shard()
    first, second = Context(), Context()
    [placed, dispute] = events([order("2026-11-10T10:00:00Z"), disputed("2026-11-10T10:02:00Z")])
    first.watermark = dispute.ts_us
    engine.on_event(shard, dispute, first)
    engine.on_event(shard, dispute, first)  # a redelivery
    engine.on_event(shard, placed, second)  # older than the watermark: late
    assert (first.counts.duplicates, first.counts.late) == (1, 0)
    assert (second.counts.duplicates, second.counts.late) == (0, 1)
    assert not hasattr(engine, "stats")


def test_an_emitted_candidate_is_a_plain_record_the_sinks_unpack():
    cand = msgspec.convert({"kind": "k", "customer_id": "c", "order_id": None, "subject": "c", "episode": "1",
                            "fired_at": 1, "reasons": [], "evidence": {}}, Candidate)
    candidate, source_ts, ingest, order_ = Emitted(cand, 5, 1.5)
    assert (candidate is cand, source_ts, ingest, order_) == (True, 5, 1.5, ())
