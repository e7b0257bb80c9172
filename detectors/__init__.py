"""Detectors, one module per trigger kind. ``REGISTRY`` maps each kind to its class and params."""

from __future__ import annotations

from detectors import (
    churn_risk,
    data_quality,
    delivery_at_risk,
    delivery_late,
    order_anomaly,
    payment_disputed,
    payment_failed,
    shipment_exception,
    shipment_stalled,
    support_message,
    vip_engagement_drop,
)

# kind -> (detector class, its Params struct); the order here is the order detectors run in.
REGISTRY = {
    "delivery_late": (delivery_late.DeliveryLate, delivery_late.Params),
    "shipment_stalled": (shipment_stalled.ShipmentStalled, shipment_stalled.Params),
    "shipment_exception": (shipment_exception.ShipmentException, shipment_exception.Params),
    "payment_failed": (payment_failed.PaymentFailed, payment_failed.Params),
    "payment_disputed": (payment_disputed.PaymentDisputed, payment_disputed.Params),
    "data_quality": (data_quality.DataQuality, data_quality.Params),
    "vip_engagement_drop": (vip_engagement_drop.VipEngagementDrop, vip_engagement_drop.Params),
    "order_anomaly": (order_anomaly.OrderAnomaly, order_anomaly.Params),
    "churn_risk": (churn_risk.ChurnRisk, churn_risk.Params),
    # After delivery_late: it reads the deadline delivery_late has just armed or re-armed.
    "delivery_at_risk": (delivery_at_risk.DeliveryAtRisk, delivery_at_risk.Params),
    "support_message": (support_message.SupportMessage, support_message.Params),
}
