"""Routing: from a detector's candidate to a trigger with priority, lane and outreach.

The policy a support lead signs off is a table in the config (``[routing]``, defaults in
``forewarn/engine/config.py``), applied in this order:

1. **Severity.** The kind's row in ``routing.kinds`` gives the base priority and lane.
2. **Rules.** Every row of ``routing.rules`` whose ``when`` matches applies, top to bottom:
   ``raise`` moves priority up that many steps, ``priority_at_least`` sets a floor,
   ``route`` sets the lane. The defaults raise priority for orders worth 500 or more and
   for VIPs (customer value), lift "the customer must act within days" to p2 (urgency),
   and send VIPs, customers worth 1000 or more, fraud, chargebacks, repeated payment
   failures, compliance risks and lost or damaged valuable parcels to a person.
   Priority never goes above p1.
3. **Triage** (``[triage]``, for a ``support_message``): the ai lane only when the intent is one
   of ``ai_intents``, its confidence at least ``min_confidence`` and none of its flags in
   ``human_flags``; otherwise a person, whatever the table said (contract 3a).
4. **Consent** (not configurable). Outreach is allowed only on channels with a recorded
   opt-in — per channel the latest ``customer.updated`` in event time wins. Without any,
   the trigger still goes out, to the human lane, marked not allowed, with the reason.
   A ``support_message`` is answered on the channel it came in, which needs no opt-in.

``evidence.routing`` lists every step that decided the outcome, so the audit trail says
why a trigger landed where it did.
"""

from __future__ import annotations

from functools import lru_cache

from detectors.base import Candidate
from forewarn.engine.config import Routing, Rule, Triage, intent_key
from forewarn.core.money import to_base
from forewarn.core.timefmt import format_us
from forewarn.core.trigger import PRIORITIES, Trigger

CHANNELS = ("email", "sms", "phone")


def outreach(consent: dict[str, dict]) -> dict:
    """Which channels may be used, and the consent records that say so (or why none).

    ``marketing`` (v1.1): the latest marketing consent record (True, False) or None if there is
    none; without True only service messages may go out, and the compliance review of a draft
    (or of an agent's edit of it) holds promotional wording to it.
    A record marked ``unusable`` (an opt-in, but the address on record is invalid: see
    ``CustomerState.unreachable``) does not allow its channel.
    """
    marketing = consent.get("marketing", {}).get("allowed")
    allowed = [ch for ch in CHANNELS if consent.get(ch, {}).get("allowed")]
    if allowed:
        basis = "; ".join(
            f"{ch} opt-in recorded {format_us(consent[ch]['recorded_at'])}" for ch in allowed)
        return {"allowed": True, "channels": allowed, "basis": basis, "marketing": marketing}
    refused = [ch for ch in CHANNELS if ch in consent]
    if refused:
        basis = "; ".join(
            f"{ch} opt-in recorded {format_us(consent[ch]['recorded_at'])} but {consent[ch]['unusable']}"
            if consent[ch].get("unusable") else
            f"{ch} opt-out recorded {format_us(consent[ch]['recorded_at'])}" for ch in refused)
        return {"allowed": False, "channels": [], "basis": f"no channel with consent ({basis})", "marketing": marketing}
    return {"allowed": False, "channels": [], "basis": "no consent on record", "marketing": marketing}


def _intent(cand: Candidate) -> str | None:
    triage = cand.evidence.get("triage")
    return triage.get("intent") if isinstance(triage, dict) else None


@lru_cache(maxsize=64)
def _keys(intents: tuple[str, ...]) -> frozenset[str]:
    return frozenset(intent_key(i) for i in intents)


def matches(rule: Rule, cand: Candidate, order_value: float) -> bool:
    """Whether every test in the rule's ``when`` holds for this candidate."""
    w = rule.when
    customer = cand.customer
    return ((not w.kinds or cand.kind in w.kinds)
            and (not w.flags or any(f in cand.flags for f in w.flags))
            and (not w.intents or (intent := _intent(cand)) is not None
                 and intent_key(intent) in _keys(tuple(w.intents)))
            and (not w.segments or customer.get("segment") in w.segments)
            and (w.ltv_at_least is None or customer.get("ltv", 0.0) >= w.ltv_at_least)
            and (w.order_value_at_least is None or order_value >= w.order_value_at_least))


def triage_verdict(cand: Candidate, triage: Triage) -> tuple[bool, str]:
    """(may the ai lane answer this message, why), by ``[triage]`` alone (contract 3a)."""
    t = cand.evidence.get("triage") or {}
    intent, confidence = t.get("intent"), t.get("confidence") or 0.0
    if intent is None:
        why = "no label learned" if not t.get("model_labels_seen") else "no words to judge it by"
        return False, f"triage: no intent yet ({why}), so a person reads it"
    if intent_key(intent) not in _keys(tuple(triage.ai_intents)):
        return False, f"triage: intent {intent} is not in triage.ai_intents"
    if confidence < triage.min_confidence:
        return False, f"triage: confidence {confidence:.2f} is below triage.min_confidence {triage.min_confidence:g}"
    needs_person = [f for f in t.get("flags", ()) if f in triage.human_flags]
    if needs_person:
        return False, f"triage: flag(s) {', '.join(needs_person)} in triage.human_flags"
    return True, f"triage: intent {intent} at confidence {confidence:.2f} may be answered by ai"


def reply_outreach(cand: Candidate) -> dict:
    """A message is answered on its own channel: a reply needs no opt-in."""
    channel = cand.evidence.get("channel")
    return {"allowed": True, "channels": [channel],
            "basis": f"a reply to the customer's own {channel} message needs no opt-in"}


def route(cand: Candidate, policy: Routing, triage: Triage | None = None) -> Trigger:
    row = policy.kinds[cand.kind]
    level = PRIORITIES.index(row.priority)
    lane = row.route
    value = to_base(cand.value_at_risk, cand.currency, policy.exchange_rates)
    why: list[str] = [f"kind {cand.kind}: {row.priority}, {row.route} lane"]
    if cand.currency and cand.currency != policy.currency and cand.value_at_risk:
        why.append(f"order value {cand.value_at_risk:.2f} {cand.currency} = {value:.2f} {policy.currency}")
    for rule in policy.rules:
        if not matches(rule, cand, value):
            continue
        before = (level, lane)
        level = max(level - rule.raise_, 0)
        if rule.priority_at_least is not None:
            level = min(level, PRIORITIES.index(rule.priority_at_least))
        if rule.route is not None:
            lane = rule.route
        why.append(f"rule {rule.name!r}: {_change(before, (level, lane))}")
    message = cand.kind == "support_message"
    if message:
        ai_ok, because = triage_verdict(cand, triage or Triage())
        why.append(because)
        if lane == "ai" and not ai_ok:
            lane = "human"
            why.append("so ai -> human lane")
    reach = reply_outreach(cand) if message else outreach(cand.consent)
    if lane == "ai" and not reach["allowed"]:
        lane = "human"
        why.append(f"consent: {reach['basis']}, so ai -> human lane")
    evidence = dict(cand.evidence)
    evidence["value_at_risk"] = round(cand.value_at_risk, 2)
    if cand.value_at_risk:
        # A value with no currency of its own (a predicted lifetime value) is in the routing currency.
        evidence["currency"] = cand.currency or policy.currency
    evidence["routing"] = why
    return Trigger(
        trigger_id=cand.trigger_id,
        kind=cand.kind,
        customer_id=cand.customer_id,
        order_id=cand.order_id,
        fired_at=format_us(cand.fired_at),
        priority=PRIORITIES[level],
        route=lane,
        score=cand.score,
        reasons=[{"code": r.code, "detail": r.detail} for r in cand.reasons],
        customer=cand.customer,
        outreach=reach,
        evidence=evidence,
    )


def _change(before: tuple[int, str], after: tuple[int, str]) -> str:
    parts = []
    if before[0] != after[0]:
        parts.append(f"{PRIORITIES[before[0]]} -> {PRIORITIES[after[0]]}")
    if before[1] != after[1]:
        parts.append(f"{before[1]} -> {after[1]} lane")
    return ", ".join(parts) or "no change"
