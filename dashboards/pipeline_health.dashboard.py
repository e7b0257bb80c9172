"""Pipeline health: throughput, latency, lag, dead letters, recovery snapshots and errors."""

from dashboards.common import dashboard, layout, quantile, rate, sel, stat, target, targets, templates, timeseries

E2Q = "forewarn_event_to_queue_latency_seconds"
I2Q = "forewarn_ingest_to_queue_latency_seconds"

panels = layout([
    [
        (stat("Events per second", "Valid input events read per second, all topics.", "cps",
              [target(f"sum({rate('forewarn_events_total')})")]), 6),
        (stat("Ingest-to-queue p99", "99th percentile from reading the input to writing the trigger, all kinds.",
              "s", [target(quantile(0.99, I2Q))], thresholds=[("orange", 1), ("red", 5)]), 6),
        (stat("Kafka consumer lag", "Messages not yet read, summed over all partitions.", "short",
              [target(f"sum({sel('forewarn_kafka_consumer_lag_messages')})")],
              thresholds=[("orange", 10000), ("red", 100000)]), 6),
        (stat("Seconds since last snapshot", "Wall-clock time since the engine last handed state to Bytewax "
              "recovery; grows without bound when recovery is off or stuck.", "s",
              [target(f"time() - max({sel('forewarn_recovery_last_snapshot_timestamp_seconds')})")],
              thresholds=[("orange", 60), ("red", 300)]), 6),
    ],
    [
        (timeseries("Events in by topic", "Valid input events read per second, by topic.", "cps",
                    targets(("{{topic}}", f"sum by (topic) ({rate('forewarn_events_total')})")), stacked=True), 12),
        (timeseries("Events in by type", "Valid input events read per second, by event type.", "cps",
                    targets(("{{type}}", f"sum by (type) ({rate('forewarn_events_total')})")), stacked=True), 12),
    ],
    [
        (timeseries("Event-to-queue latency", "From the event time at which a trigger's condition became true to "
                    "its write into the queue, p50 and p99 by kind. Deadline kinds include the watermark's "
                    "allowed lateness by design.", "s",
                    targets(("p50 {{kind}}", quantile(0.5, E2Q, "kind")),
                            ("p99 {{kind}}", quantile(0.99, E2Q, "kind")))), 12),
        (timeseries("Ingest-to-queue latency", "From the engine reading the input to the trigger's write into "
                    "the queue: the engine's own processing time, p50, p90 and p99.", "s",
                    targets(("p50", quantile(0.5, I2Q)), ("p90", quantile(0.9, I2Q)),
                            ("p99", quantile(0.99, I2Q)))), 12),
    ],
    [
        (timeseries("Kafka consumer lag", "Messages between the engine's read position and the end of each "
                    "topic, summed over its partitions.", "short",
                    targets(("{{topic}}", f"sum by (topic) ({sel('forewarn_kafka_consumer_lag_messages')})"))), 12),
        (timeseries("Watermark lag", "Wall clock minus the event-time watermark. It stays near the allowed "
                    "lateness while input flows; replaying old data shows its age.", "s",
                    targets(("{{instance}}", f"max by (instance) ({sel('forewarn_watermark_lag_seconds')})"))), 12),
    ],
    [
        (timeseries("Dead letters and rejected input", "Per second: invalid events by reason, dead letters "
                    "written, late events (applied) and duplicates (ignored).", "cps",
                    targets(("invalid {{reason}}", f"sum by (reason) ({rate('forewarn_invalid_events_total')})"),
                            ("dead letters written", f"sum({rate('forewarn_deadletters_written_total')})"),
                            ("late", f"sum({rate('forewarn_late_events_total')})"),
                            ("duplicate", f"sum({rate('forewarn_duplicate_events_total')})"))), 6),
        (timeseries("Events out of order", "Share of the valid input applied after a newer event of the same "
                    "customer (out of order within a partition, or a quiet partition read late): applied as they "
                    "come, so for those customers a live run can differ from a backtest of the same events. Above "
                    "1 % for long, a producer is not keying by customer or stamps events long before sending "
                    "(alert ForewarnOutOfOrderEvents).", "percentunit",
                    targets(("out of order", f"sum({rate('forewarn_out_of_order_events_total')}) / "
                                             f"sum({rate('forewarn_events_total')})")), min_value=0), 6),
        (timeseries("Recovery snapshots", "Customer-state snapshots per second handed to Bytewax recovery "
                    "(left axis) and their volume in bytes per second (right axis).", "cps",
                    targets(("snapshots", f"sum({rate('forewarn_recovery_snapshots_total')})"),
                            ("bytes", f"sum({rate('forewarn_recovery_snapshot_bytes_total')})")),
                    right_axis=("^bytes$", "Bps")), 6),
        (timeseries("Errors and retries", "Per second: sink writes retried after an outage (by sink), Kafka "
                    "consumer errors (by topic), and duplicate triggers the queue refused.", "cps",
                    targets(("retry {{sink}}", f"sum by (sink) ({rate('forewarn_sink_retries_total')})"),
                            ("kafka {{topic}}", f"sum by (topic) ({rate('forewarn_kafka_errors_total')})"),
                            ("deduplicated", f"sum({rate('forewarn_triggers_deduplicated_total')})"))), 6),
    ],
])

dashboard = dashboard(
    "forewarn-pipeline-health", "forewarn / Pipeline health",
    "Is the engine keeping up: input throughput, latency percentiles from histograms, Kafka consumer "
    "and watermark lag, dead letters, recovery snapshots and errors.",
    panels, templates())
