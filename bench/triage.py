"""Triage numbers: per-message cost, and how the intent model does on phrasing it never learned.

    python -m bench.triage cost --events events.jsonl     # CPU µs per message and per label
    python -m bench.triage holdout [--messages 6000]      # prequential, and held-out phrasings/language

``cost`` replays the ``support.message`` / ``support.labelled`` events of a simulated store
(``forewarn simulate``) through the ``support_message`` detector alone, in event time, and
reports CPU time (``time.process_time``: it moves little with the machine's load) per
message (features, predict, flags, order, links) and per label (learn).

``holdout`` composes messages with the simulator's phrasing (``forewarn.apps.simulator.phrasing``)
and runs the model prequentially: predict, then learn the label. Then it scores, without
learning them, messages of phrasing families it never learned (every family ``k`` with
``k % 3 == 2``) and of a language it never learned (``pt``), and reports accuracy and the
accuracy of predictions at confidence >= c, and the reliability of the confidence (per bin:
messages, share right). Nothing here is a test: no number is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from detectors.support_message import Params, SupportMessage
from forewarn.core import events as ev
from forewarn.core.state import CustomerState


class _Sched:
    def arm(self, key, deadline_us):
        pass

    def disarm(self, key):
        pass

    def score(self, kind, value, threshold=None):
        pass


def cost(path: str, limit: int) -> dict:
    detector = SupportMessage(Params())
    customers: dict[str, CustomerState] = {}
    items = []
    with open(path, "rb") as fh:
        for line in fh:
            if b'"support.' not in line:
                continue
            e = ev.decode(line.rstrip(b"\n"))
            if not isinstance(e, ev.Invalid):
                items.append(e)
            if len(items) >= limit:
                break
    items.sort(key=lambda e: e.ts_us)
    spent = {ev.SupportMessage: 0.0, ev.SupportLabelled: 0.0}
    count = {ev.SupportMessage: 0, ev.SupportLabelled: 0}
    sched = _Sched()
    for e in items:
        cust = customers.setdefault(e.customer_id, CustomerState(e.customer_id))
        t0 = time.process_time()
        detector.on_event(cust, e, sched)
        spent[type(e)] += time.process_time() - t0
        count[type(e)] += 1
    model = detector.models.get()
    return {"messages": count[ev.SupportMessage], "labels": count[ev.SupportLabelled],
            "cpu_us_per_message": round(1e6 * spent[ev.SupportMessage] / max(1, count[ev.SupportMessage]), 1),
            "cpu_us_per_label": round(1e6 * spent[ev.SupportLabelled] / max(1, count[ev.SupportLabelled]), 1),
            "prequential_accuracy": round(model.quality().get("accuracy", 0.0), 4)}


def holdout(n: int, seed: int) -> dict:
    from forewarn.apps.simulator import phrasing as ph
    from online_models.intent import IntentModel

    r = random.Random(seed)
    model = IntentModel()
    seen_rows, held_family, held_language = [], [], []
    for i in range(n):
        lang = r.choice(ph.LANGUAGES)
        intent = r.choice(ph.INTENTS)
        flags = [f for f in ("angry", "legal_threat", "chargeback_threat", "churn_threat", "urgent") if r.random() < 0.05]
        ctx = {"ref": f"order #{r.randint(1000, 99999)}"} if r.random() < 0.5 else {}
        m = ph.compose(r, lang, intent, flags, ctx, r.choice(("email", "chat", "sms", "phone", "social")), "Alex Doe")
        k = int(m.family.rsplit("/", 1)[1])
        p = model.predict("c", f"m{i}", m.subject, m.body, i)
        row = (p.intent == intent, p.confidence, model.learned)
        if lang == "pt":
            held_language.append(row)
        elif k % 3 == 2:
            held_family.append(row)
        else:
            seen_rows.append(row)
            model.learn("c", f"m{i}", intent, i)
            continue
        model.pending.pop(("c", f"m{i}"), None)  # never learned

    def summary(rows, after=0):
        rows = [x for x in rows if x[2] >= after]
        out = {"n": len(rows), "accuracy": round(sum(x[0] for x in rows) / max(1, len(rows)), 4)}
        for c in (0.8, 0.9, 0.95):
            sel = [x for x in rows if x[1] >= c]
            out[f"share_conf_ge_{c}"] = round(len(sel) / max(1, len(rows)), 3)
            out[f"accuracy_conf_ge_{c}"] = round(sum(x[0] for x in sel) / len(sel), 4) if sel else None
        # Reliability: per confidence bin [lo, hi), how many and how many right.
        edges = (0.0, 0.5, 0.8, 0.9, 0.95, 1.01)
        out["reliability"] = {
            f"[{lo},{min(hi, 1.0)}{']' if hi > 1 else ')'}": [len(b), round(sum(x[0] for x in b) / len(b), 3) if b else None]
            for lo, hi in zip(edges, edges[1:]) for b in [[x for x in rows if lo <= x[1] < hi]]}
        return out

    return {"learned_phrasings": summary(seen_rows), "learned_phrasings_after_2000": summary(seen_rows, 2000),
            "held_out_phrasings_after_2000": summary(held_family, 2000),
            "held_out_language_pt_after_2000": summary(held_language, 2000)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.triage", description=__doc__.split("\n")[0])
    p.add_argument("part", choices=("cost", "holdout"))
    p.add_argument("--events", help="a simulated store's events JSONL (cost)")
    p.add_argument("--limit", type=int, default=20_000, help="support events read (cost)")
    p.add_argument("--messages", type=int, default=6000, help="messages composed (holdout)")
    p.add_argument("--seed", type=int, default=5)
    args = p.parse_args(argv)
    result = cost(args.events, args.limit) if args.part == "cost" else holdout(args.messages, args.seed)
    print(json.dumps({args.part: result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
