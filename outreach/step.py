"""The flow's outreach step, after routing: draft, review, and keep a blocked draft from the ai lane.

    route ──► draft (one per allowed channel, or the reply) ──► review ──► block on the ai lane? ──► human

Contract section 3: a trigger with a ``block`` finding is never left to the ai lane; it goes to
``human`` for approval and ``evidence.routing`` gets a line saying which finding moved it. A
trigger with no draft (no channel allowed) has nothing to block: ``compliance`` is
``{"ok": true, "findings": []}``, and the consent rule of routing has already sent it to a human.
The priority is left as routing set it.

>>> moved_by_compliance({"routing": ["kind delivery_late: p3, ai lane", "compliance: ..."]})
True
"""

from __future__ import annotations

from typing import Any

from forewarn.core.trigger import Trigger
from outreach.compliance import Checker
from outreach.drafts import Drafter
from outreach.review import recipient, review

ROUTING_LINE = "compliance: "


class OutreachStep:
    """Drafts and reviews one trigger at a time; built from a config's ``[outreach]`` and ``[compliance]``."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.checker = Checker(config.compliance)
        self.drafter = Drafter(config.outreach)

    def __call__(self, trig: Trigger) -> Trigger:
        as_dict = {"kind": trig.kind, "customer": trig.customer, "outreach": trig.outreach}
        to = recipient(as_dict)
        trig.drafts = self.drafter.drafts(trig, lambda at: self.checker.quiet_until(at, to))
        trig.compliance = review(self.checker, as_dict, trig.drafts)
        if not trig.compliance["ok"] and trig.route == "ai":
            trig.route = "human"
            blocked = sorted({f"{f['code']} ({f['channel']})" for f in trig.compliance["findings"]
                              if f["severity"] == "block"})
            trig.evidence["routing"] = [*trig.evidence.get("routing", ()),
                                        f"{ROUTING_LINE}draft blocked by {', '.join(blocked)}, so ai -> human lane"]
        return trig


class ForConfig:
    """The step for the config in force: rebuilt when a live reload swaps the config object."""

    def __init__(self, config: Any = None) -> None:
        # Built now when the caller knows the config: building takes about a second (phrase
        # lists, templates), which a live engine would otherwise spend at its first trigger.
        self._step: OutreachStep | None = OutreachStep(config) if config is not None else None

    def __call__(self, trig: Trigger, config: Any) -> Trigger:
        step = self._step
        if step is None or step.config is not config:
            step = self._step = OutreachStep(config)
        return step(trig)


def moved_by_compliance(evidence: dict[str, Any]) -> bool:
    """Whether the outreach step moved this trigger to the human lane (for the metric)."""
    return any(isinstance(line, str) and line.startswith(ROUTING_LINE) for line in evidence.get("routing", ()))

