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
