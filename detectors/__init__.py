"""Detectors, one module per trigger kind. ``REGISTRY`` maps each kind to its class and params."""

from __future__ import annotations

from detectors import churn_risk, delivery_at_risk, delivery_late, order_anomaly

# kind -> (detector class, its Params struct); the order here is the order detectors run in.
REGISTRY = {
    "delivery_late": (delivery_late.DeliveryLate, delivery_late.Params),
    "order_anomaly": (order_anomaly.OrderAnomaly, order_anomaly.Params),
    "churn_risk": (churn_risk.ChurnRisk, churn_risk.Params),
    # After delivery_late: it reads the deadline delivery_late has just armed or re-armed.
    "delivery_at_risk": (delivery_at_risk.DeliveryAtRisk, delivery_at_risk.Params),
}
