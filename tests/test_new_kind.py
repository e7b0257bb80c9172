"""Adding a rule-based kind is its module, its registry line and its ground-truth rule
(docs/detectors.md): a throwaway kind, in a module outside the repository, fires in a
`forewarn backtest` and scores against its own ground truth, with no other file touched."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODULE = '''
"""``refund_delayed``: a returned order with no refund within ``wait_days``."""

from typing import Annotated

import msgspec

from detectors.base import Candidate, Detector, Reason, example_event
from forewarn.apps import groundtruth
from forewarn.core import events as ev
from forewarn.core.timefmt import DAY, format_us


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Thresholds under ``[detectors.refund_delayed]``.

    wait_days: how long after a return the refund may take (>0).
    """

    wait_days: Annotated[float, msgspec.Meta(gt=0)] = 7.0


class RefundDelayed(Detector):
    kind = "refund_delayed"
    Params = Params
    PRIORITY, ROUTE = "p3", "ai"
    SUBJECT = "order"
    EVENTS = frozenset({ev.OrderReturned, ev.PaymentRefunded})
    EXAMPLE = (example_event("order.returned", "2026-01-01T00:00:00Z", order_id="o1"),
               example_event("customer.activity", "2026-01-09T00:00:00Z", kind="session"))

    def on_event(self, cust, event, sched):
        if type(event) is ev.OrderReturned:
            sched.arm(event.order_id, event.ts_us + int(self.params.wait_days * DAY))
        else:
            sched.disarm(event.order_id)
        return []

    def on_deadline(self, cust, order_id, deadline_us, sched):
        return [Candidate(kind=self.kind, customer_id=cust.customer_id, order_id=order_id, subject=order_id,
                          episode=format_us(deadline_us), fired_at=deadline_us,
                          reasons=[Reason("refund_late", f"No refund for returned order {order_id}.")],
                          evidence={"wait_days": self.params.wait_days})]


@groundtruth.rule
def truth(by_type, config, planted):
    wait = int(groundtruth.threshold(config, "refund_delayed", "wait_days") * DAY)
    refunded = {(e.customer_id, e.order_id): ts for _, ts, e in by_type.get(ev.PaymentRefunded, ())}
    return [groundtruth.row("refund_delayed", e.customer_id, e.order_id, e.order_id, ts + wait, planted,
                            "returned, not refunded")
            for _, ts, e in by_type.get(ev.OrderReturned, ())
            if refunded.get((e.customer_id, e.order_id), ts + wait + 1) > ts + wait]
'''

DRIVER = '''
import json, sys
import detectors
from refund_delayed import RefundDelayed
detectors.register(RefundDelayed)  # the registry line

from forewarn.apps import groundtruth, scoring
from forewarn.apps.cli import main
events, triggers = sys.argv[1], sys.argv[2]
assert main(["backtest", "--input", events, "--output", triggers, "--workers", "1"]) == 0
truth = groundtruth.compute(open(events, "rb").read().splitlines())
print(json.dumps(scoring.report(groundtruth.load_jsonl(triggers), truth, ["refund_delayed"])["refund_delayed"]))
'''


def event(type_, ts, customer_id, **fields):
    return {"event_id": f"{customer_id}-{type_}-{ts}", "type": type_, "ts": ts, "customer_id": customer_id, **fields}


def test_a_throwaway_kind_fires_in_a_backtest_and_scores_against_its_own_truth(tmp_path):
    (tmp_path / "refund_delayed.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "driver.py").write_text(DRIVER)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in [
        event("order.returned", "2026-01-01T00:00:00Z", "c1", order_id="o1"),
        event("order.returned", "2026-01-02T00:00:00Z", "c2", order_id="o2"),
        event("payment.refunded", "2026-01-04T00:00:00Z", "c2", order_id="o2", amount=20.0, currency="EUR"),
        event("customer.activity", "2026-01-12T00:00:00Z", "c3", kind="session"),
    ]))
    triggers = tmp_path / "triggers.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(events), str(triggers)],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    fired = [json.loads(line) for line in triggers.read_text().splitlines()]
    assert [(t["kind"], t["customer_id"], t["order_id"], t["fired_at"], t["priority"]) for t in fired] == [
        ("refund_delayed", "c1", "o1", "2026-01-08T00:00:00Z", "p3")]
    assert fired[0]["reasons"] == [{"code": "refund_late", "detail": "No refund for returned order o1."}]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "truth": 1, "fired": 1, "tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "roc_auc": None}
