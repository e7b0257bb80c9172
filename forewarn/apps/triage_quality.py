"""``forewarn score``'s triage table: how well inbound messages were understood, routed and linked.

Over the ground truth's ``support_message`` rows (the simulator's: ``intent``, ``flags``,
``answerable`` — an ai lane could answer it —, ``links`` [{kind, subject}]) and the
``support_message`` triggers of a run, matched on (customer, message id):

* ``intent_accuracy``: share of messages whose trigger names the true intent (no intent = wrong);
* ``ai_precision``: of the messages routed ``ai``, the share with the right intent that an ai
  lane may answer (``answerable``);
* ``ai_coverage``: of the answerable messages, the share routed ``ai``;
* ``link_recall``: of the earlier situations a message is about (the truth's ``links``), the
  share with a trigger (any of its episodes) in the message's ``evidence.triage.linked``;
* ``flag_precision`` / ``flag_recall``: the triage flags, all flags together.

Each is reported over all messages and over those the model scored after it had learned
``after_labels`` labels (``evidence.triage.model_labels_seen``): a fresh model knows nothing,
so the second row is what a store sees once it has been running.

>>> truth = [{"kind": "support_message", "customer_id": "c", "subject": "m1", "intent": "where_is_my_order",
...           "flags": [], "answerable": True, "links": [{"kind": "delivery_late", "subject": "s1"}]}]
>>> late = {"kind": "delivery_late", "customer_id": "c", "trigger_id": "t1", "evidence": {"shipment_id": "s1"}}
>>> msg = {"kind": "support_message", "customer_id": "c", "route": "ai", "evidence": {"triage": {
...     "message_id": "m1", "intent": "where_is_my_order", "flags": [], "linked": ["t1"], "model_labels_seen": 5}}}
>>> r = report([late, msg], truth, after_labels=2)["after 2 labels"]
>>> r["messages"], r["intent_accuracy"], r["ai_precision"], r["ai_coverage"], r["link_recall"]
(1, 1.0, 1.0, 1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from forewarn.apps.groundtruth import trigger_subject

KIND = "support_message"
COLUMNS = ("messages", "intent_accuracy", "ai_precision", "ai_coverage", "link_recall",
           "flag_precision", "flag_recall")


def report(triggers: Iterable[Mapping[str, Any]], truth: Iterable[Mapping[str, Any]],
           after_labels: int = 2000) -> dict[str, dict[str, Any]]:
    """Rows ``all messages`` and ``after N labels``; empty when the truth has no messages."""
    triggers = list(triggers)
    rows = [r for r in truth if r.get("kind") == KIND]
    if not rows:
        return {}
    by_message = {(t.get("customer_id"), trigger_subject(t)): t for t in triggers if t.get("kind") == KIND}
    # A situation (kind, subject) can raise several triggers, one per episode (a parcel that
    # stalls twice): linking any of them links the situation.
    trigger_ids: dict[tuple, set] = {}
    for t in triggers:
        if t.get("kind") != KIND:
            trigger_ids.setdefault((t.get("customer_id"), t.get("kind"), trigger_subject(t)), set()).add(t.get("trigger_id"))
    pairs = [(r, by_message.get((r["customer_id"], r["subject"]))) for r in rows]
    late = [(r, t) for r, t in pairs if t is not None and _triage(t).get("model_labels_seen", 0) >= after_labels]
    return {"all messages": _measure(pairs, trigger_ids),
            f"after {after_labels} labels": _measure(late, trigger_ids)}


def _triage(trigger: Mapping[str, Any]) -> Mapping[str, Any]:
    return (trigger.get("evidence") or {}).get("triage") or {}


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _measure(pairs: list[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
             trigger_ids: Mapping[tuple, set]) -> dict[str, Any]:
    right = ai = ai_right = answerable = answerable_ai = 0
    links = links_found = 0
    flags_true = flags_fired = flags_hit = 0
    for row, trig in pairs:
        triage = _triage(trig) if trig is not None else {}
        is_right = trig is not None and triage.get("intent") == row["intent"]
        right += is_right
        routed_ai = trig is not None and trig.get("route") == "ai"
        if routed_ai:
            ai += 1
            ai_right += is_right and bool(row.get("answerable"))
        if row.get("answerable"):
            answerable += 1
            answerable_ai += routed_ai
        linked = set(triage.get("linked") or ())
        for link in row.get("links") or ():
            links += 1
            links_found += bool(trigger_ids.get((row["customer_id"], link["kind"], link["subject"]), set()) & linked)
        want, got = set(row.get("flags") or ()), set(triage.get("flags") or ())
        flags_true += len(want)
        flags_fired += len(got)
        flags_hit += len(want & got)
    return {"messages": len(pairs), "intent_accuracy": _ratio(right, len(pairs)),
            "ai_precision": _ratio(ai_right, ai), "ai_coverage": _ratio(answerable_ai, answerable),
            "link_recall": _ratio(links_found, links), "flag_precision": _ratio(flags_hit, flags_fired),
            "flag_recall": _ratio(flags_hit, flags_true)}


def table(rows: Mapping[str, Mapping[str, Any]]) -> str:
    """The triage report as a fixed-width table, one row per window."""
    def cell(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    grid = [["triage", *COLUMNS]] + [[name, *(cell(r[c]) for c in COLUMNS)] for name, r in rows.items()]
    widths = [max(len(line[i]) for line in grid) for i in range(len(grid[0]))]
    return "\n".join("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths)))
                     for line in grid)
