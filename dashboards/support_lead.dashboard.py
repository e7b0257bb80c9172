"""Support lead: what is coming in, where it waits, what is at stake, and how fast it is picked up."""

from dashboards.common import (dashboard, layout, rate, sel, stat, table, target, targets,
                               templates, timeseries)

TRIGGERS = "forewarn_triggers_total"
INTENT_ACCURACY = sel("forewarn_model_accuracy", 'model="support_message"')
HUMAN = 'route="human"'
DEPTH = "forewarn_queue_depth_entries"
AGE = "forewarn_queue_oldest_pending_age_seconds"
# The SLA gauge is per priority; a queue label ends in its priority (human:p1), which joins them.
AGE_BY_PRIORITY = ('label_replace(max by (queue, group) ({age}), "priority", "$1", "queue", ".*(p[1-4])$")'
                   .format(age=sel(AGE)))
# Little's law: mean time in the queue = entries waiting / arrival rate, over 15 minutes.
# Arrivals are the engine's triggers per lane (route:priority), joined to the queue label.
TIME_TO_ACK = ('max by (queue, group) (avg_over_time({depth}[15m])) / on (queue) group_left '
               'label_join(sum by (route, priority) (increase({trig}[15m])) / 900, "queue", ":", "route", "priority")'
               .format(depth=sel(DEPTH), trig=sel(TRIGGERS)))

panels = layout([
    [
        (stat("Triggers per minute", "Triggers emitted per minute, all kinds and lanes, over the last rate window.",
              "cpm", [target(f"sum({rate(TRIGGERS)}) * 60")]), 6),
        (stat("Human lane share", "Share of the triggers in the selected time range that went to the human lane "
              "(the rest went to the AI lane).", "percentunit",
              # No human trigger yet is 0%; no trigger at all stays "no data".
              [target(f"(sum(increase({sel(TRIGGERS, HUMAN)}[$__range])) or vector(0)) / "
                      f"sum(increase({sel(TRIGGERS)}[$__range]))")], decimals=1), 6),
        (stat("Value at risk (time range)", "Order value behind the triggers emitted in the selected time range, "
              "in major units, per currency.", "short",
              [target(f"sum by (currency) (increase({sel('forewarn_value_at_risk_total')}[$__range]))",
                      "{{currency}}")], decimals=0), 6),
        (stat("Oldest unacknowledged trigger", "Age of the oldest trigger not yet acknowledged by a helpdesk, over "
              "all lanes. Orange past 15 minutes (the p1 SLA), red past an hour.", "s",
              [target(f"max({sel(AGE)})")],
              thresholds=[("orange", 900), ("red", 3600)]), 6),
    ],
    [
        (timeseries("Triggers per minute by kind", "Triggers emitted per minute, stacked by kind.", "cpm",
                    targets(("{{kind}}", f"sum by (kind) ({rate(TRIGGERS)}) * 60")), stacked=True), 12),
        (timeseries("Human vs AI lane", "Share of triggers per lane: human (agents) or ai (automated outreach).",
                    "percentunit",
                    targets(("{{route}}", f"sum by (route) ({rate(TRIGGERS)}) / ignoring (route) group_left "
                                          f"sum({rate(TRIGGERS)})")), stacked=True, min_value=0, max_value=1), 12),
    ],
    [
        (timeseries("Queue depth per lane", "Triggers in each Redis queue (route:priority) that a helpdesk "
                    "consumer group has not acknowledged yet, delivered or not.", "short",
                    targets(("{{queue}} {{group}}", f"max by (queue, group) ({sel(DEPTH)})"))), 12),
        (timeseries("Oldest pending age per lane, with SLA", "Age of the oldest unacknowledged trigger in each "
                    "queue; dashed red lines are the SLA per priority ([metrics] queue_sla_seconds). Log scale: SLAs "
                    "run from minutes (p1) to a day (p4).", "s",
                    targets(("{{queue}} {{group}}", AGE_BY_PRIORITY),
                            ("SLA {{priority}}", f"max by (priority) ({sel('forewarn_queue_sla_seconds')})")),
                    dashed="^SLA .*", log=True), 12),
    ],
    [
        (timeseries("Value at risk per hour by kind", "Order value (major units) behind triggers emitted, "
                    "per hour, by kind and currency.", "short",
                    targets(("{{kind}} {{currency}}",
                             f"sum by (kind, currency) ({rate('forewarn_value_at_risk_total')}) * 3600")),
                    stacked=True), 8),
        (table("Top reasons", "The ten most frequent reason codes on triggers in the selected time range, "
               "by kind (a bounded set of codes defined by the detectors).", "short",
               [target(f"topk(10, sum by (kind, code) (increase({sel('forewarn_trigger_reasons_total')}[$__range])))",
                       instant=True, fmt="table")]), 8),
        (timeseries("Time to acknowledge", "Mean time from a trigger entering its lane to a helpdesk "
                    "acknowledging it, by Little's law over 15 minutes: unacknowledged entries / arrivals per "
                    "second. Grows without bound when nobody works the lane.", "s",
                    targets(("{{queue}} {{group}}", TIME_TO_ACK))), 8),
    ],
    [
        (timeseries("Compliance findings on drafts per hour", "Findings of the compliance review on the outreach "
                    "drafts of emitted triggers, per hour, by code and severity (block stops a draft from going out "
                    "as is; warn asks a person to look). See docs/compliance.md for the codes.", "short",
                    targets(("{{code}} ({{severity}})", f"sum by (code, severity) "
                                                        f"({rate('forewarn_compliance_findings_total')}) * 3600")),
                    stacked=True), 8),
        (timeseries("Triggers moved to a person by a blocked draft", "Triggers that routing sent to the AI lane "
                    "but whose draft had a block finding, so they went to the human lane for approval, per hour "
                    "by kind.", "short",
                    targets(("{{kind}}", f"sum by (kind) ({rate('forewarn_drafts_blocked_to_human_total')}) * 3600")),
                    stacked=True), 8),
        (timeseries("Drafts written per hour by channel", "Outreach drafts on emitted triggers per hour, by "
                    "channel (one per channel the customer opted into; a reply on the channel a support message "
                    "came in).", "short",
                    targets(("{{channel}}", f"sum by (channel) ({rate('forewarn_drafts_total')}) * 3600")),
                    stacked=True), 8),
    ],
    [
        (stat("Proactive coverage (time range)", "Share of inbound customer messages in the selected time range "
              "that forewarn had already raised a trigger about (evidence.triage.linked: the same order, or a "
              "situation still open): how often it saw the contact coming.", "percentunit",
              [target(f"sum(increase({sel('forewarn_triage_linked_messages_total')}[$__range])) / "
                      f"sum(increase({sel('forewarn_triage_messages_total')}[$__range]))")], decimals=1), 6),
        (stat("Intent accuracy", "Prequential accuracy of the intent model: each message's predicted intent "
              "scored against the label an agent gave it later, before the model learned from it. Orange "
              "below 95%, red below 90%.", "percentunit",
              [target(f"avg({INTENT_ACCURACY})")],
              thresholds=[("red", 0), ("orange", 0.9), ("green", 0.95)], decimals=1), 6),
        (timeseries("Inbound messages per minute by lane", "Customer messages triaged per minute, by the lane "
                    "they went to: ai ([triage] ai_intents, min_confidence, no human flag) or human.", "cpm",
                    targets(("{{route}}", f"sum by (route) ({rate('forewarn_triage_messages_total')}) * 60")),
                    stacked=True), 6),
        (timeseries("Triage flags per hour", "Flags raised on inbound messages per hour (angry, legal or "
                    "chargeback threats, churn threats, repeat contacts, urgent).", "short",
                    targets(("{{flag}}", f"sum by (flag) ({rate('forewarn_triage_flags_total')}) * 3600"))), 6),
    ],
], first_height=5)

dashboard = dashboard(
    "forewarn-support-lead", "forewarn / Support lead",
    "Triggers coming in, how they are routed, how long they wait in each lane against its SLA, "
    "the order value at stake, why triggers fire, and how inbound messages are triaged.",
    panels, templates())
