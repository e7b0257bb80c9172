"""Per-trigger cost of the outreach step (draft + compliance review), in microseconds.

    python -m bench.drafts TRIGGERS.jsonl [--repeat N]     # triggers from a backtest

Every trigger is drafted as if its customer had opted into email, sms and phone (three drafts
each, the most a proactive trigger can ask for; a support message gets its one reply), once
per language. A first pass compiles every template used (``first_pass_us`` includes that);
then the drafting alone, and drafting with the review, are timed ``N`` times (default 3), each
after the step has forgotten the texts, dates and amounts it has seen (so every trigger is new
to it, as nearly all are in a backtest), and the fastest pass is reported, in wall and in CPU
time (the CPU figure moves much less on a shared machine). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

import msgspec

from forewarn.core.trigger import Trigger, decode
from forewarn.engine.config import from_dict
from outreach import drafts as drafts_module
from outreach.step import OutreachStep

LANGUAGES = ("en", "de", "fr", "es", "pt")


def _every_channel(trig: Trigger, language: str) -> Trigger:
    return msgspec.structs.replace(
        trig, customer={**trig.customer, "language": language},
        outreach={"allowed": True, "channels": ["email", "sms", "phone"], "basis": "bench"},
        evidence={**trig.evidence, "routing": list(trig.evidence.get("routing", ()))})


def _timed(work) -> tuple[float, float, object]:
    """(wall s, CPU s, result) of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def measure(triggers: list[Trigger], repeat: int = 3) -> dict:
    step = OutreachStep(from_dict({}))
    inputs = [_every_channel(t, lang) for lang in LANGUAGES for t in triggers]
    wall, cpu, _ = _timed(lambda: [step(msgspec.structs.replace(t)) for t in inputs])  # every template compiled
    first = {"first_pass_us": round(wall / len(inputs) * 1e6, 1), "cpu_first_pass_us": round(cpu / len(inputs) * 1e6, 1)}
    best: dict[str, tuple[float, float]] = {}
    drafts = 0
    for _ in range(repeat):
        # What the step remembers of texts, dates and amounts is forgotten before each pass:
        # the figures are for triggers it has not seen (in a backtest, nearly all are new).
        step.checker.forget()
        drafts_module.forget()
        copies = [msgspec.structs.replace(t) for t in inputs]
        wall, cpu, drafts = _timed(lambda: sum(len(step.drafter.drafts(t)) for t in copies))
        best["draft"] = min(best.get("draft", (wall, cpu)), (wall, cpu))
        copies = [msgspec.structs.replace(t) for t in inputs]
        step.checker.forget()
        drafts_module.forget()
        wall, cpu, _ = _timed(lambda: [step(t) for t in copies])
        best["total"] = min(best.get("total", (wall, cpu)), (wall, cpu))
    n = len(inputs)
    us = lambda s: round(s / n * 1e6, 1)  # noqa: E731
    (dw, dc), (tw, tc) = best["draft"], best["total"]
    return {"triggers": n, "drafts_per_trigger": round(drafts / n, 2),
            "draft_us": us(dw), "review_us": us(tw - dw), "draft_and_review_us": us(tw),
            "cpu_draft_us": us(dc), "cpu_review_us": us(tc - dc), "cpu_draft_and_review_us": us(tc), **first}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drafts", description=__doc__.split("\n\n")[0])
    parser.add_argument("triggers", help="triggers JSONL (forewarn backtest --output)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the fastest is reported")
    args = parser.parse_args(argv)
    with open(args.triggers, "rb") as f:
        triggers = [decode(line) for line in f if line.strip()]
    print(json.dumps(measure(triggers, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
