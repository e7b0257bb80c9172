"""Detectors, one module per trigger kind. ``REGISTRY`` maps each kind to its class and params."""

from __future__ import annotations

from detectors import (
    data_quality,
    delivery_late,
    payment_disputed,
    payment_failed,
    shipment_exception,
    shipment_stalled,
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
}
