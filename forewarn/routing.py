"""Routing: from a detector's candidate to a trigger with priority, lane and outreach.

The policy a support lead signs off, in order (thresholds in ``[routing]``):

1. Start from the kind's row in ``routing.kinds`` (base priority and lane).
2. Raise priority one step for an order at or above ``high_value_order``, and one step for
   a VIP customer (tier ``vip`` or lifetime value at or above ``vip_ltv``); never above p1.
3. Send to the human lane: customers at or above ``human_ltv``, VIPs, and any candidate
   flagged sensitive (fraud, dispute, repeated failures, hard declines, compliance).
4. Outreach is allowed only on channels with a recorded opt-in (latest record per channel
   wins). Without any, the trigger goes to a human, marked not allowed, with the reason.
"""

from __future__ import annotations

from detectors.base import Candidate
from forewarn.config import Routing
from forewarn.timefmt import format_us
from forewarn.trigger import Trigger, trigger_id

PRIORITIES = ("p1", "p2", "p3", "p4")
SENSITIVE_FLAGS = frozenset({"fraud", "dispute", "repeated_failure", "hard_decline", "compliance"})
CHANNELS = ("email", "sms", "phone")


def outreach(consent: dict[str, dict]) -> dict:
    allowed = [ch for ch in CHANNELS if consent.get(ch, {}).get("allowed")]
    if allowed:
        basis = "; ".join(
            f"{ch} opt-in recorded {format_us(consent[ch]['recorded_at'])}" for ch in allowed)
        return {"allowed": True, "channels": allowed, "basis": basis}
    refused = [ch for ch in CHANNELS if ch in consent]
    if refused:
        basis = "; ".join(
            f"{ch} opt-out recorded {format_us(consent[ch]['recorded_at'])}" for ch in refused)
        return {"allowed": False, "channels": [], "basis": f"no channel with consent ({basis})"}
    return {"allowed": False, "channels": [], "basis": "no consent on record"}


def route(cand: Candidate, policy: Routing) -> Trigger:
    row = policy.kinds[cand.kind]
    level = PRIORITIES.index(row.priority)
    lane = row.route
    why: list[str] = [f"{cand.kind}: base {row.priority}/{row.route}"]
    customer = cand.customer
    is_vip = customer.get("segment") == "vip"
    if cand.value_at_risk >= policy.high_value_order:
        level -= 1
        why.append(f"order value {cand.value_at_risk:g} >= {policy.high_value_order:g}: priority up")
    if is_vip:
        level -= 1
        why.append("VIP customer: priority up")
    if lane == "ai":
        if is_vip or customer.get("ltv", 0) >= policy.human_ltv:
            lane = "human"
            why.append(f"lifetime value {customer.get('ltv', 0):g} (human from {policy.human_ltv:g}): human lane")
        elif sensitive := SENSITIVE_FLAGS.intersection(cand.flags):
            lane = "human"
            why.append(f"sensitive ({', '.join(sorted(sensitive))}): human lane")
    reach = outreach(cand.consent)
    if lane == "ai" and not reach["allowed"]:
        lane = "human"
        why.append("no outreach consent: human lane")
    evidence = dict(cand.evidence)
    evidence["value_at_risk"] = round(cand.value_at_risk, 2)
    if cand.currency:
        evidence["currency"] = cand.currency
    evidence["routing"] = why
    return Trigger(
        trigger_id=trigger_id(cand.kind, cand.subject, cand.episode),
        kind=cand.kind,
        customer_id=cand.customer_id,
        order_id=cand.order_id,
        fired_at=format_us(cand.fired_at),
        priority=PRIORITIES[max(level, 0)],
        route=lane,
        score=cand.score,
        reasons=[{"code": r.code, "detail": r.detail} for r in cand.reasons],
        customer=customer,
        outreach=reach,
        evidence=evidence,
    )
