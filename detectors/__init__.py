"""Detectors, one module per trigger kind, and ``REGISTRY``: kind -> its :class:`Detector` class.

Everything the rest of the code knows about a kind comes from its class (see
:class:`detectors.base.Detector`): the config's ``[detectors.<kind>]`` table and its default
``[routing.kinds]`` row and cooldown, which kinds are model based (``MODEL_KINDS``) and
which have lead times (``LEAD_KINDS``). Adding a kind is its module and its line below
(docs/detectors.md).

>>> REGISTRY["delivery_late"].PRIORITY, REGISTRY["delivery_late"].ROUTE
('p3', 'ai')
>>> MODEL_KINDS
('order_anomaly', 'churn_risk', 'delivery_at_risk')
"""

from __future__ import annotations

import msgspec

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
from detectors.base import Detector, Subject
from forewarn.core.trigger import PRIORITIES, ROUTES

# The order here is the order detectors run in, for each event.
REGISTRY: dict[str, type[Detector]] = {}


def register(cls: type[Detector]) -> type[Detector]:
    """Add a kind to ``REGISTRY``; refuse it, naming what is missing, if it does not declare itself.

    Call it before the config module is imported (``forewarn.engine.config`` builds the
    ``[detectors]`` tables from the registry).
    """
    kind = getattr(cls, "kind", None)
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise TypeError(f"{cls!r} is not a detectors.base.Detector")
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"{cls.__name__}: declare kind (the trigger kind it fires)")
    wrong = []
    if not (isinstance(getattr(cls, "Params", None), type) and issubclass(cls.Params, msgspec.Struct)):
        wrong.append("Params (a msgspec.Struct of its thresholds)")
    if getattr(cls, "PRIORITY", None) not in PRIORITIES:
        wrong.append(f"PRIORITY (its default priority, one of {list(PRIORITIES)})")
    if getattr(cls, "ROUTE", None) not in ROUTES:
        wrong.append(f"ROUTE (its default lane, one of {list(ROUTES)})")
    if getattr(cls, "SUBJECT", None) not in Subject.__args__:
        wrong.append(f"SUBJECT (what its triggers are about, one of {list(Subject.__args__)})")
    if not 0 <= cls.COOLDOWN_HOURS <= 8760:
        wrong.append("COOLDOWN_HOURS (0 to 8760)")
    if wrong:
        raise TypeError(f"detector {kind!r} ({cls.__name__}) must declare " + "; ".join(wrong))
    if kind in REGISTRY and REGISTRY[kind] is not cls:
        raise ValueError(f"kind {kind!r} is registered twice: {REGISTRY[kind].__name__} and {cls.__name__}")
    REGISTRY[kind] = cls
    return cls


for _cls in (
    delivery_late.DeliveryLate,
    shipment_stalled.ShipmentStalled,
    shipment_exception.ShipmentException,
    payment_failed.PaymentFailed,
    payment_disputed.PaymentDisputed,
    data_quality.DataQuality,
    vip_engagement_drop.VipEngagementDrop,
    order_anomaly.OrderAnomaly,
    churn_risk.ChurnRisk,
    # After delivery_late: it reads the deadline delivery_late has just armed or re-armed.
    delivery_at_risk.DeliveryAtRisk,
    support_message.SupportMessage,
):
    register(_cls)

# Kinds whose score is a learned probability (judged by ROC AUC against the ground truth).
MODEL_KINDS: tuple[str, ...] = tuple(k for k, c in REGISTRY.items() if c.MODEL_BASED)
# Kinds a customer notices by themselves, so a trigger is early or late against them.
LEAD_KINDS: frozenset[str] = frozenset(k for k, c in REGISTRY.items() if c.LEAD_TIMES)
