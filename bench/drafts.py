"""Per-trigger cost of the outreach step (draft + compliance review), in microseconds.

    python -m bench.drafts TRIGGERS.jsonl      # triggers from a backtest

Every trigger is drafted as if its customer had opted into email, sms and phone (three drafts
each, the most a proactive trigger can ask for; a support message gets its one reply), once per language, after one warm-up pass (templates
compile and phrase lists load once per config, not per trigger). Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

import msgspec

from forewarn.core.trigger import Trigger, decode
from forewarn.engine.config import from_dict
from outreach.step import OutreachStep

LANGUAGES = ("en", "de", "fr", "es", "pt")


def _every_channel(trig: Trigger, language: str) -> Trigger:
    return msgspec.structs.replace(
        trig, customer={**trig.customer, "language": language},
        outreach={"allowed": True, "channels": ["email", "sms", "phone"], "basis": "bench"},
        evidence={**trig.evidence, "routing": list(trig.evidence.get("routing", ()))})


def measure(triggers: list[Trigger]) -> dict:
    step = OutreachStep(from_dict({}))
    inputs = [_every_channel(t, lang) for lang in LANGUAGES for t in triggers]
    for t in inputs[: len(triggers)]:  # warm-up: every template of one language compiled
        step(msgspec.structs.replace(t))
    drafted = [msgspec.structs.replace(t) for t in inputs]
    start = time.perf_counter()
    drafts = sum(len(step.drafter.drafts(t)) for t in drafted)
    draft_s = time.perf_counter() - start
    fresh = [msgspec.structs.replace(t) for t in inputs]
    start = time.perf_counter()
    for t in fresh:
        step(t)
    total_s = time.perf_counter() - start
    n = len(inputs)
    return {"triggers": n, "drafts_per_trigger": round(drafts / n, 2), "draft_us": round(draft_s / n * 1e6, 1),
            "draft_and_review_us": round(total_s / n * 1e6, 1),
            "review_us": round((total_s - draft_s) / n * 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], "rb") as f:
        triggers = [decode(line) for line in f if line.strip()]
    print(json.dumps(measure(triggers)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
