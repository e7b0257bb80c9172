"""Every Prometheus metric the engine exports, in one place (contract section 6).

Naming follows Prometheus: the ``forewarn_`` prefix, the unit in the name (``_seconds``,
``_messages``, ``_bytes``), ``_total`` on counters, histograms for latencies and scores.
Labels are bounded sets — topic and partition, event type, reason code, kind, route,
priority, queue, sink, ISO 4217 currency — never a customer, order, shipment or trigger id,
so the number of series does not grow with the store.

Value at risk is a counter, not a gauge: the engine knows an order's value when it emits the
trigger, not when a helpdesk closes it, so "value behind open triggers" is not something it
can hold honestly. ``increase(forewarn_value_at_risk_total[1h])`` is the order value flagged
in the last hour; a counter also survives restarts and sums across worker processes.

docs/observability.md lists every metric with what it means and which panel shows it.
"""

from __future__ import annotations

import functools
import math
import time

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# The ``*_created`` companions of every counter and histogram double the series and no panel
# or alert reads them.
disable_created_metrics()

# Event-to-queue spans a sub-second emit and a deadline trigger that waits for the watermark
# (allowed lateness, minutes); beyond an hour only "very late" matters.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600)
SCORE_BUCKETS = tuple(i / 20 for i in range(1, 21))

# --- the process (process_* come from prometheus_client's ProcessCollector) ---------------
BUILD_INFO = Gauge("forewarn_build_info", "Always 1; the labels say which forewarn, Python and Bytewax run.", ["version", "python", "bytewax"])

# --- input ---------------------------------------------------------------------------------
EVENTS = Counter("forewarn_events_total", "Valid input events, by topic and type.", ["topic", "type"])
INVALID = Counter("forewarn_invalid_events_total", "Events that failed validation (sent to the dead-letter stream), by reason.", ["reason"])
# At 0 from the start, so one refused event is an increase the event-time alert sees.
for _reason in ("future_timestamp", "stale_timestamp"):
    INVALID.labels(_reason)
LATE = Counter("forewarn_late_events_total", "Events older than the watermark when they arrived (still applied).")
OUT_OF_ORDER = Counter("forewarn_out_of_order_events_total",
                       "Events applied on arrival after a newer event of the same customer (run, apply_on_arrival).")
DUPLICATES = Counter("forewarn_duplicate_events_total", "Redelivered events (an event_id already seen), ignored.")
DEADLETTERS = Counter("forewarn_deadletters_written_total", "Invalid events written to the dead-letter stream.")
KAFKA_ERRORS = Counter("forewarn_kafka_errors_total", "Errors the Kafka consumer reported while reading, by topic.", ["topic"])

# --- triggers ------------------------------------------------------------------------------
TRIGGERS = Counter("forewarn_triggers_total", "Triggers emitted, by kind, route and priority.", ["kind", "route", "priority"])
TRIGGER_REASONS = Counter("forewarn_trigger_reasons_total", "Reason codes on emitted triggers (a trigger may carry several), by kind and code.", ["kind", "code"])
OUTREACH_SUPPRESSED = Counter("forewarn_outreach_suppressed_total", "Triggers emitted with outreach not allowed (no channel with consent on record), by kind.", ["kind"])
TRIGGERS_DEDUPED = Counter("forewarn_triggers_deduplicated_total", "Triggers not written because their trigger_id was already queued (replay or restart).")
VALUE_AT_RISK = Counter("forewarn_value_at_risk_total", "Order value behind emitted triggers, in major units of the order's currency, by kind and currency.", ["kind", "currency"])
EVENT_TO_QUEUE = Histogram("forewarn_event_to_queue_latency_seconds", "From the event time at which a trigger's condition became true (fired_at) to its write into the queue, by kind.", ["kind"], buckets=LATENCY_BUCKETS)
INGEST_TO_QUEUE = Histogram("forewarn_ingest_to_queue_latency_seconds", "From the engine reading the input that led to a trigger to the trigger's write into the queue, by kind.", ["kind"], buckets=LATENCY_BUCKETS)

# --- outreach drafts and their compliance review (contract v1.1) ---------------------------------
DRAFTS = Counter("forewarn_drafts_total", "Outreach drafts written on emitted triggers, by kind and channel.", ["kind", "channel"])
COMPLIANCE_FINDINGS = Counter("forewarn_compliance_findings_total", "Compliance findings on the drafts of emitted triggers, by finding code and severity (block, warn).", ["code", "severity"])
DRAFTS_BLOCKED = Counter("forewarn_drafts_blocked_to_human_total", "Triggers moved from the ai lane to the human lane because a draft had a block finding, by kind.", ["kind"])

# --- event time ----------------------------------------------------------------------------
WATERMARK_LAG = Gauge("forewarn_watermark_lag_seconds", "Wall clock minus the engine's event-time watermark.")
WATERMARK = Gauge("forewarn_watermark_timestamp_seconds", "The event-time watermark, as a Unix timestamp.")
_watermark_s = [math.nan]  # NaN until the first watermark


def set_watermark(seconds: float) -> None:
    """The watermark now; the lag is computed at each scrape, so it keeps growing while the
    dataflow is held (an outage of a sink blocks the worker that would otherwise set it)."""
    _watermark_s[0] = seconds
    WATERMARK.set(seconds)


WATERMARK_LAG.set_function(lambda: time.time() - _watermark_s[0])
CONSUMER_LAG = Gauge("forewarn_kafka_consumer_lag_messages", "Messages between the engine's read position and the end of the partition.", ["topic", "partition"])

# --- detectors -----------------------------------------------------------------------------
DETECTOR_SCORE = Histogram("forewarn_detector_score", "Scores of detector and model evaluations (fired or not), by kind.", ["kind"], buckets=SCORE_BUCKETS)
DETECTOR_SCORE_THRESHOLD = Gauge("forewarn_detector_score_threshold", "The score at or above which the detector fires, as in force at its last evaluation, by kind.", ["kind"])

# --- recovery ------------------------------------------------------------------------------
SNAPSHOTS = Counter("forewarn_recovery_snapshots_total", "Customer-state snapshots handed to Bytewax recovery (one per changed key per epoch).")
SNAPSHOT_BYTES = Counter("forewarn_recovery_snapshot_bytes_total", "Bytes of customer state handed to Bytewax recovery.")
LAST_SNAPSHOT = Gauge("forewarn_recovery_last_snapshot_timestamp_seconds", "Wall-clock time of the last state snapshot, as a Unix timestamp.")

# --- queues (SLAs from [metrics] queue_sla_seconds) ---------------------------------------------
QUEUE_SLA = Gauge("forewarn_queue_sla_seconds", "How long a trigger of this priority may wait unacknowledged.", ["priority"])

# --- sinks ---------------------------------------------------------------------------------
SINK_RETRIES = Counter("forewarn_sink_retries_total", "Writes retried after an outage, by sink.", ["sink"])
SINK_UP = Gauge("forewarn_sink_up", "1 while the sink's last write succeeded, 0 while it is retrying.", ["sink"])


def total(counter: Counter) -> float:
    """Sum of a counter over all its label sets (for command-line summaries)."""
    return sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total"))


def declare_kinds(kinds: list[str]) -> None:
    """Export 0 for per-kind counters that may stay untouched, so "none yet" is data, not a gap."""
    for kind in kinds:
        OUTREACH_SUPPRESSED.labels(kind)
        TRIGGERS_SUPPRESSED.labels(kind)
        DRAFTS_BLOCKED.labels(kind)
        for channel in ("email", "sms", "phone"):
            DRAFTS.labels(kind, channel)


def declare_findings(codes: list[str]) -> None:
    """Export 0 for every finding code and severity (a bounded 12 x 2), so a clean day reads 0, not a gap."""
    for code in codes:
        for severity in ("block", "warn"):
            COMPLIANCE_FINDINGS.labels(code, severity)


def set_queue_slas(slas: dict[str, float]) -> None:
    for priority, seconds in slas.items():
        QUEUE_SLA.labels(priority).set(seconds)


@functools.cache
def child(metric, *labels: str):
    """``metric.labels(*labels)``, looked up once: ``labels()`` checks and locks on every call,
    a cost per event on the hot path (the children are never removed)."""
    return metric.labels(*labels)


def observe_scores(scores: list[tuple[str, float, float | None]]) -> None:
    """Record scored evaluations ``(kind, score, threshold in force or None)``."""
    thresholds = {}
    for kind, score, threshold in scores:
        child(DETECTOR_SCORE, kind).observe(score)
        if threshold is not None:
            thresholds[kind] = threshold  # the last one in force
    for kind, threshold in thresholds.items():
        child(DETECTOR_SCORE_THRESHOLD, kind).set(threshold)


# --- live configuration (tuning: forewarn/engine/liveconfig.py, docs/tuning.md) ---
CONFIG_RELOADS = Counter("forewarn_config_reloads_total", "Config changes seen by `forewarn run`, by source (start, file, redis, signal) and result (applied, rejected, restart_needed, unchanged).", ["source", "result"])
CONFIG_GENERATION = Gauge("forewarn_config_generation", "Config generation in force in this process: 1 at start, +1 per applied change.")
CONFIG_CHECKSUM = Gauge("forewarn_config_checksum", "CRC-32 of the live sections (detectors, routing) in force: equal in every process running the same thresholds.")


def config_checked(source: str, result: str, generation: int, checksum: int) -> None:
    """Record one config check of the live reloader."""
    CONFIG_RELOADS.labels(source, result).inc()
    CONFIG_GENERATION.set(generation)
    CONFIG_CHECKSUM.set(checksum)


# --- Helpdesk queues (issue 4). Gauges are refreshed by the queue upkeep that `forewarn run`
# starts; counters are counted by the process working the queues (TriggerQueue, its workers).
# `queue` is a lane name (human:p1 ... ai:p4), `group` a helpdesk's consumer group: both bounded.
QUEUE_LENGTH = Gauge("forewarn_queue_length_entries", "Entries held in each queue stream (acknowledged ones included until retention trims them).", ["queue"])
QUEUE_DEPTH = Gauge("forewarn_queue_depth_entries", "Entries a consumer group has not acknowledged yet (waiting + pending); group is empty while no group reads the queue.", ["queue", "group"])
QUEUE_PENDING = Gauge("forewarn_queue_pending_entries", "Entries delivered to a consumer of the group and not acknowledged yet.", ["queue", "group"])
QUEUE_LAG = Gauge("forewarn_queue_consumer_lag_entries", "Entries not yet delivered to any consumer of the group.", ["queue", "group"])
QUEUE_OLDEST_AGE = Gauge("forewarn_queue_oldest_pending_age_seconds", "Age of the oldest entry the group has not acknowledged (0 when none).", ["queue", "group"])
QUEUE_FAILED = Gauge("forewarn_queue_failed_entries", "Entries in the helpdesk dead-letter stream forewarn:queue:failed.")
QUEUE_TRIMMED = Counter("forewarn_queue_trimmed_entries_total", "Acknowledged entries removed by retention.", ["queue"])
QUEUE_ACKS = Counter("forewarn_queue_acks_total", "Entries acknowledged by this process.", ["queue", "group"])
QUEUE_RECLAIMS = Counter("forewarn_queue_reclaims_total", "Entries reclaimed from a consumer that held them past the visibility timeout.", ["queue", "group"])
QUEUE_RETRIES = Counter("forewarn_queue_retries_total", "Failed attempts scheduled for another delivery after a backoff.", ["queue", "group"])
QUEUE_DEADLETTERED = Counter("forewarn_queue_deadlettered_total", "Entries moved to forewarn:queue:failed (failed too often, or failed for good).", ["queue", "group"])
QUEUE_REPLAYED = Counter("forewarn_queue_replayed_total", "Dead-lettered entries put back into their queue.", ["queue"])


# --- detectors and routing (the cooldown in forewarn/engine/cooldown.py) ---
TRIGGERS_SUPPRESSED = Counter(
    "forewarn_triggers_suppressed_total",
    "Triggers held back by the per-customer, per-kind cooldown ([routing.cooldown_hours]), by kind.",
    ["kind"])


# --- online models (online_models/, flows/worker_models.py): label ``model`` = the trigger kind.
# Summed or averaged over the process's workers (each has its own models); gauges, because
# the learned state survives restarts through recovery and so do these numbers.
MODEL_LEARNED = Gauge("forewarn_model_learned_examples", "Examples the online model has learned over its lifetime, restarts included.", ["model"])
MODEL_ROC_AUC = Gauge("forewarn_model_roc_auc", "Progressive (prequential) ROC AUC: each prediction scored against its delayed label before the model learned it.", ["model"])
MODEL_LABELS = Gauge("forewarn_model_labels", "Labelled predictions behind forewarn_model_roc_auc.", ["model"])
MODEL_POSITIVE_RATE = Gauge("forewarn_model_positive_rate", "Share of labelled predictions that turned out positive (churned, late).", ["model"])
MODEL_FIRE_RATE = Gauge("forewarn_model_fire_rate", "Share of the model's evaluations that fired a trigger.", ["model"])
MODEL_CLASSIFIER_WEIGHT = Gauge("forewarn_model_classifier_weight", "Share of the score that comes from the learned classifier rather than the heuristic prior.", ["model"])
MODEL_ACCURACY = Gauge("forewarn_model_accuracy", "Progressive (prequential) accuracy of a classifier: each prediction scored against its delayed label before the model learned it (the intent model).", ["model"])
MODEL_OUTCOMES = Gauge("forewarn_model_outcomes", "What happened to a model's inputs over its lifetime, by outcome (the intent model: label_learned, label_unknown_message, pending_expired, pending_dropped, message_duplicate).", ["model", "outcome"])
TRIAGE_MESSAGES = Counter("forewarn_triage_messages_total", "Inbound support messages triaged (one support_message trigger each), by route.", ["route"])
TRIAGE_LINKED = Counter("forewarn_triage_linked_messages_total", "Inbound messages linked to an earlier trigger of another kind (forewarn saw it coming): over forewarn_triage_messages_total, the proactive coverage.")
TRIAGE_FLAGS = Counter("forewarn_triage_flags_total", "Triage flags raised on inbound messages, by flag.", ["flag"])
MODEL_CHECKPOINT_BYTES = Gauge("forewarn_model_checkpoint_bytes", "Size of the last model checkpoint written with the recovery snapshots.")
