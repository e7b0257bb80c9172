"""The compliance review of a trigger's drafts, and of an agent's edit of one before it goes out.

Each draft is reviewed as the message it would be: its channel, body and subject, its purpose
(``reply`` for a ``support_message``, otherwise ``service``), sent at its ``send_after``, to the
recipient the trigger describes (country and time zone from ``customer``, consent from
``outreach``). The checker is :class:`outreach.compliance.Checker`, the one ``forewarn lint``
uses, so a draft and a linted macro are judged by the same rules.

A fact a template printed without the trigger having it (``{{order_id}}``, see
:mod:`outreach.drafts`) is a ``placeholder`` finding even where the checker's own patterns would
miss it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outreach.compliance import Checker, Finding, Message, Recipient
from outreach.drafts import PROACTIVE_CHANNELS, missing_facts, purpose_of


def recipient(trigger: dict[str, Any]) -> Recipient:
    """Who a trigger's drafts go to, as the checker needs it.

    Consent per channel: True for each channel outreach allows; an explicit opt-out is not in
    the trigger (no draft is made for it), so other channels are unknown (None). Marketing
    consent is ``outreach.marketing`` (None when never recorded).
    """
    cust = trigger.get("customer") or {}
    reach = trigger.get("outreach") or {}
    allowed = set(reach.get("channels") or ())
    consent: dict[str, bool | None] = {ch: True if ch in allowed else None for ch in PROACTIVE_CHANNELS}
    consent["marketing"] = reach.get("marketing")
    return Recipient(country=cust.get("country"), timezone=cust.get("timezone"), consent=consent)


def message(trigger: dict[str, Any], draft: dict[str, Any], body: str | None = None,
            subject: str | None = None) -> Message:
    """The message a draft would send (with ``body``/``subject`` as edited, if given)."""
    return Message(
        channel=draft["channel"],
        body=draft["body"] if body is None else body,
        subject=draft.get("subject") if subject is None else subject,
        purpose=purpose_of(trigger.get("kind", "")),
        send_at=datetime.fromisoformat(draft["send_after"]) if draft.get("send_after") else None,
        recipient=recipient(trigger),
        language=draft.get("language"),
    )


def findings(checker: Checker, msg: Message) -> list[dict[str, Any]]:
    """The checker's findings on one message, as trigger JSON, plus any unfilled template fact."""
    found = checker.review(msg)
    out = [as_json(f) for f in found]
    flagged = [f.span for f in found if f.code == "placeholder" and f.span is not None]
    for name, span in missing_facts(msg.body):
        if not any(s < span[1] and span[0] < e for s, e in flagged):
            out.append({"code": "placeholder", "severity": "block", "channel": msg.channel,
                        "detail": f"the trigger has no {name} for this template", "span": list(span)})
    return out


def as_json(f: Finding) -> dict[str, Any]:
    return {"code": f.code, "severity": f.severity, "channel": f.channel, "detail": f.detail,
            "span": list(f.span) if f.span is not None else None}


def review(checker: Checker, trigger: dict[str, Any], drafts: list[dict[str, Any]]) -> dict[str, Any]:
    """``compliance`` for a trigger: every draft's findings, in draft order; ok when none blocks."""
    out = [f for d in drafts for f in findings(checker, message(trigger, d))]
    return {"ok": not any(f["severity"] == "block" for f in out), "findings": out}


def review_edit(checker: Checker, trigger: dict[str, Any], channel: str, body: str,
                subject: str | None = None) -> dict[str, Any]:
    """Review an agent's edit of the trigger's ``channel`` draft as it would be sent.

    Same recipient, purpose and ``send_after`` as the draft; ``subject`` None keeps the draft's.
    Raises ValueError when the trigger has no draft on that channel.
    """
    drafts = {d.get("channel"): d for d in trigger.get("drafts") or ()}
    if channel not in drafts:
        raise ValueError(f"trigger {trigger.get('trigger_id', '?')} has no {channel} draft; "
                         f"it has: {', '.join(drafts) or 'none'}")
    out = findings(checker, message(trigger, drafts[channel], body=body, subject=subject))
    return {"ok": not any(f["severity"] == "block" for f in out), "findings": out}
