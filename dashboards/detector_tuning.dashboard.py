"""Detector tuning: where scores fall against the thresholds, how often each kind fires, model quality."""

from dashboards.common import (dashboard, heatmap, kind_template, layout, quantile, rate, sel, table, target,
                               targets, templates, timeseries)

KIND = 'kind=~"$kind"'
SCORE = "forewarn_detector_score"

panels = layout([
    [
        (heatmap("Score distribution", "How the scores of every evaluation (fired or not) of the selected kinds "
                 "are spread over 0..1, per rate window: brighter cells hold more evaluations.", "none",
                 [target(f"sum by (le) (increase({sel(SCORE + '_bucket', KIND)}[$__rate_interval]))", "{{le}}",
                         fmt="heatmap")]), 12),
        (timeseries("Score percentiles and threshold", "Median, 90th and 99th percentile score per kind; the "
                    "dashed red line is the threshold in force (forewarn_detector_score_threshold): what lies "
                    "above it fires.", "none",
                    targets(("p50 {{kind}}", quantile(0.5, SCORE, "kind", KIND)),
                            ("p90 {{kind}}", quantile(0.9, SCORE, "kind", KIND)),
                            ("p99 {{kind}}", quantile(0.99, SCORE, "kind", KIND)),
                            ("threshold {{kind}}", f"max by (kind) ({sel(SCORE + '_threshold', KIND)})")),
                    dashed="^threshold .*", min_value=0, max_value=1), 12),
    ],
    [
        (timeseries("Fire rate per kind", "Triggers emitted per minute by kind.", "cpm",
                    targets(("{{kind}}", f"sum by (kind) ({rate('forewarn_triggers_total', KIND)}) * 60"))), 12),
        (timeseries("Fired share of evaluations", "For scored kinds: triggers emitted per scored evaluation. "
                    "A jump after a threshold change shows what the change did.", "percentunit",
                    targets(("{{kind}}", f"sum by (kind) ({rate('forewarn_triggers_total', KIND)}) / "
                                         f"sum by (kind) ({rate(SCORE + '_count', KIND)})"))), 12),
    ],
    [
        (timeseries("Model quality", "Progressive (predict, then learn) ROC AUC of each online model over its "
                    "resolved predictions; 0.5 is a coin flip.", "none",
                    targets(("{{model}}", f"max by (model) ({sel('forewarn_model_roc_auc')})")),
                    min_value=0, max_value=1), 12),
        (timeseries("Suppressed outreach (no consent)", "Triggers per minute whose outreach was not allowed "
                    "(no channel with consent on record): they go to a human who must not contact the "
                    "customer proactively.", "cpm",
                    targets(("{{kind}}", f"sum by (kind) ({rate('forewarn_outreach_suppressed_total', KIND)}) * 60")),
                    stacked=True), 12),
    ],
    [
        (table("Thresholds in force", "The score threshold of each scored kind, as the engine last applied it.",
               "none", [target(f"max by (kind) ({sel(SCORE + '_threshold', KIND)})", instant=True, fmt="table")],
               sort_by="kind"), 8),
        (table("Triggers by kind, route and priority", "Triggers emitted in the selected time range.", "short",
               [target(f"sum by (kind, route, priority) (increase({sel('forewarn_triggers_total', KIND)}[$__range]))",
                       instant=True, fmt="table")]), 16),
    ],
])

dashboard = dashboard(
    "forewarn-detector-tuning", "forewarn / Detector tuning",
    "Score distributions against the thresholds in force, fire rates per kind, online model quality "
    "and outreach suppressed for lack of consent: what to look at before and after changing a threshold.",
    panels, templates(kind_template("forewarn_triggers_total")))
