"""Detectors, one module per trigger kind. ``REGISTRY`` maps each kind to its class and params."""

from __future__ import annotations

from detectors import delivery_late

# kind -> (detector class, its Params struct); the order here is the order detectors run in.
REGISTRY = {
    "delivery_late": (delivery_late.DeliveryLate, delivery_late.Params),
}
