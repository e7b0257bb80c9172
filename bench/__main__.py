"""``python -m bench``: forewarn's numbers on this machine, end to end on the real Kafka and Redis.

    python -m bench                     # everything (~10 minutes)
    python -m bench throughput floor    # some of it
    python -m bench --customers 4000    # a smaller store

Prints a report and writes it as JSON to ``bench/results/<UTC time>.json``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import KAFKA, REDIS, cleanup, machine, namespace, store_spec

PARTS = ("backtest", "floor", "throughput", "latency", "memory", "profile")


def _store(customers: int, seed: int, workdir: Path):
    from forewarn.apps.simulator import generate, write_jsonl

    sim = generate(store_spec(customers, seed))
    path = workdir / "events.jsonl"
    write_jsonl(sim, path, None)
    return sim, path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("parts", nargs="*", help=f"which measurements (default all: {', '.join(PARTS)})")
    p.add_argument("--customers", type=int, default=10_000, help="simulated store size for throughput (default %(default)s)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rate", type=float, default=5000.0, help="input rate for the latency run, events/s")
    p.add_argument("--latency-seconds", type=float, default=60.0)
    p.add_argument("--memory-customers", type=int, default=1_000_000)
    args = p.parse_args(argv)
    parts = args.parts or list(PARTS)

    report: dict = {"machine": machine(), "kafka": KAFKA, "redis": REDIS,
                    "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)}
    print(json.dumps(report["machine"]))
    workdir = Path(tempfile.mkdtemp(prefix="forewarn-bench-"))

    def show(name: str, result: dict) -> None:
        report[name] = result
        print(f"{name}: {json.dumps(result)}", flush=True)

    if {"backtest", "floor", "throughput"} & set(parts):
        sim, path = _store(args.customers, args.seed, workdir)
        report["store"] = {"customers": args.customers, "days": 30, "events": len(sim.events)}
        print(f"store: {json.dumps(report['store'])}", flush=True)
        from bench import throughput

        bt = throughput.backtest(path)
        if "backtest" in parts:
            show("backtest", bt)
        if {"floor", "throughput"} & set(parts):
            from forewarn.apps.producer import produce

            topics_ns = namespace("store")
            produce(sim.events, KAFKA, topic_prefix=f"{topics_ns}-")
            try:
                if "floor" in parts:
                    show("floor_decode", throughput.floor(topics_ns, len(sim.events)))
                    show("floor_fetch_only", throughput.floor(topics_ns, len(sim.events), decode=False))
                if "throughput" in parts:
                    for processes in (1, 2):
                        show(f"live_{processes}_process", throughput.live(topics_ns, len(sim.events), bt["triggers"],
                                                                          processes))
                    if "floor_decode" in report:
                        live1, fl = report["live_1_process"], report["floor_decode"]
                        report["live_vs_floor"] = {
                            "per_wall_s": round(live1["events_per_s"] / fl["events_per_s"], 3),
                            "per_cpu_s": round(live1["events_per_cpu_s"] / fl["events_per_cpu_s"], 3)}
                        print(f"live_vs_floor: {report['live_vs_floor']}")
            finally:
                cleanup(topics_ns)
    if "latency" in parts:
        from bench import latency

        show("latency", latency.run(args.rate, args.latency_seconds, args.seed))
    if "memory" in parts:
        from bench import memory

        show("memory", memory.run(args.memory_customers, args.seed))
    if "profile" in parts:
        from bench import profile

        show("profile_backtest", profile.backtest(min(args.customers, 4000), args.seed))

    out = Path(__file__).parent / "results" / (datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + ".json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out} ({time.process_time():.0f} s CPU in this process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
