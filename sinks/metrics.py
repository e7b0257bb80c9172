"""Every Prometheus metric the engine exports, in one place (contract section 6).

Labels are bounded sets (topic, type, reason, kind, route, priority, queue, model):
never a customer, order or trigger id.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
SCORE_BUCKETS = tuple(i / 20 for i in range(1, 21))

EVENTS = Counter("forewarn_events_total", "Valid input events, by topic and type.", ["topic", "type"])
INVALID = Counter("forewarn_invalid_events_total", "Events that failed validation (sent to the dead-letter stream), by reason.", ["reason"])
LATE = Counter("forewarn_late_events_total", "Events older than the watermark when they arrived (still applied).")
DUPLICATES = Counter("forewarn_duplicate_events_total", "Redelivered events (an event_id already seen), ignored.")
TRIGGERS = Counter("forewarn_triggers_total", "Triggers emitted, by kind, route and priority.", ["kind", "route", "priority"])
TRIGGERS_DEDUPED = Counter("forewarn_triggers_deduplicated_total", "Triggers not written because their trigger_id was already queued (replay or restart).")
VALUE_AT_RISK = Counter("forewarn_value_at_risk_total", "Order value behind emitted triggers, in major currency units, by kind.", ["kind"])
EVENT_TO_QUEUE = Histogram("forewarn_event_to_queue_latency_seconds", "From the event time of the event that caused a trigger to its write into the queue.", buckets=LATENCY_BUCKETS)
INGEST_TO_QUEUE = Histogram("forewarn_ingest_to_queue_latency_seconds", "From the engine reading the input to the trigger's write into the queue.", buckets=LATENCY_BUCKETS)
WATERMARK_LAG = Gauge("forewarn_watermark_lag_seconds", "Wall clock minus the engine's event-time watermark.")
WATERMARK = Gauge("forewarn_watermark_timestamp_seconds", "The event-time watermark, as a Unix timestamp.")
CONSUMER_LAG = Gauge("forewarn_kafka_consumer_lag_messages", "Messages behind the end of each topic, summed over this process's partitions.", ["topic"])
DETECTOR_SCORE = Histogram("forewarn_detector_score", "Scores of detector and model evaluations (fired or not), by kind.", ["kind"], buckets=SCORE_BUCKETS)
SINK_RETRIES = Counter("forewarn_sink_retries_total", "Writes retried after an outage, by sink.", ["sink"])
SINK_UP = Gauge("forewarn_sink_up", "1 while the sink's last write succeeded, 0 while it is retrying.", ["sink"])
DEADLETTERS = Counter("forewarn_deadletters_written_total", "Invalid events written to the dead-letter stream.")


def total(counter: Counter) -> float:
    """Sum of a counter over all its label sets (for command-line summaries)."""
    return sum(s.value for m in counter.collect() for s in m.samples if s.name.endswith("_total"))

# --- online models (online_models/, flows/worker_models.py): label ``model`` = the trigger kind.
# Summed or averaged over the process's workers (each has its own models); gauges, because
# the learned state survives restarts through recovery and so do these numbers.
MODEL_LEARNED = Gauge("forewarn_model_learned_examples", "Examples the online model has learned over its lifetime, restarts included.", ["model"])
MODEL_ROC_AUC = Gauge("forewarn_model_roc_auc", "Progressive (prequential) ROC AUC: each prediction scored against its delayed label before the model learned it.", ["model"])
MODEL_LABELS = Gauge("forewarn_model_labels", "Labelled predictions behind forewarn_model_roc_auc.", ["model"])
MODEL_POSITIVE_RATE = Gauge("forewarn_model_positive_rate", "Share of labelled predictions that turned out positive (churned, late).", ["model"])
MODEL_FIRE_RATE = Gauge("forewarn_model_fire_rate", "Share of the model's evaluations that fired a trigger.", ["model"])
MODEL_THRESHOLD = Gauge("forewarn_model_threshold", "The anomaly model's outlier threshold now (a running quantile of its scores).", ["model"])
MODEL_CLASSIFIER_WEIGHT = Gauge("forewarn_model_classifier_weight", "Share of the score that comes from the learned classifier rather than the heuristic prior.", ["model"])
MODEL_CHECKPOINT_BYTES = Gauge("forewarn_model_checkpoint_bytes", "Size of the last model checkpoint written with the recovery snapshots.")
