"""Where the time goes, per stage, so the next optimisation is chosen by numbers.

A ``forewarn backtest`` of the simulated store runs under cProfile. Every function's own time
is charged to the stage its module belongs to (decode, source, engine, state, each detector,
each model, routing, sink); a function of no stage (a builtin, ``heapq``, ``datetime``,
``timefmt``, the Prometheus client...) is charged to the stages of its callers, in proportion
to the time each caller spent in it. What is left is Bytewax and the interpreter.
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.common import store_spec

ROOT = str(Path(__file__).resolve().parent.parent)


def stage_of(func: tuple[str, int, str]) -> str | None:
    """The stage a (file, line, name) belongs to; None for helpers charged to their callers."""
    path, _line, name = func
    rel = path[len(ROOT) + 1:] if path.startswith(ROOT) else path
    if rel.startswith("detectors/") and not rel.endswith(("base.py", "__init__.py")):
        return "detector:" + Path(rel).stem
    if rel.startswith("online_models/"):
        return "model:" + Path(rel).stem
    if rel.startswith("outreach/"):
        return "outreach:" + Path(rel).stem
    if rel == "forewarn/core/events.py":
        return "decode"
    if rel == "forewarn/core/state.py":
        return "state"
    if rel in ("forewarn/engine/engine.py", "flows/customer_step.py"):
        return "engine (event-time order, deadlines)"
    if rel == "forewarn/engine/routing.py" or (rel == "forewarn/core/trigger.py" and name == "trigger_id"):
        return "routing"
    if rel.startswith("sinks/") or rel == "flows/outputs.py" or rel == "forewarn/core/trigger.py":
        return "sink"
    if rel.startswith("flows/"):
        return "source"
    if "/bytewax/" in path:
        return "bytewax"
    return None


def by_stage(stats: pstats.Stats) -> dict[str, float]:
    """Own time per stage, helpers' time split among their callers' stages."""
    raw = stats.stats  # func -> (cc, nc, tt, ct, callers{func: (cc, nc, tt, ct)})
    shares: dict = {}

    def share(func, depth: int = 0) -> dict[str, float]:
        """How the time spent in ``func`` divides among stages (fractions summing to 1)."""
        if func in shares:
            return shares[func]
        stage = stage_of(func)
        if stage is not None or depth > 30 or func not in raw or not raw[func][4]:
            out = {stage or "interpreter/other": 1.0}
        else:
            shares[func] = {"interpreter/other": 1.0}  # a recursion guard while computing
            callers = raw[func][4]
            total = sum(c[3] for c in callers.values()) or 1.0
            out: dict[str, float] = defaultdict(float)
            for caller, c in callers.items():
                for s, f in share(caller, depth + 1).items():
                    out[s] += f * c[3] / total
        shares[func] = out
        return out

    seconds: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, tt, _ct, _callers) in raw.items():
        for s, f in share(func).items():
            seconds[s] += tt * f
    return dict(seconds)


def backtest(customers: int, seed: int) -> dict:
    from forewarn.apps.simulator import generate, write_jsonl

    sim = generate(store_spec(customers, seed))
    work = Path(tempfile.mkdtemp(prefix="forewarn-profile-"))
    events = work / "events.jsonl"
    write_jsonl(sim, events, None)
    return backtest_file(str(events), {"engine.allowed_lateness_seconds": 0})


def backtest_file(input_path: str, overrides: dict | None = None, plain: bool = True) -> dict:
    """The per-stage profile of ``forewarn backtest --workers 1`` on ``input_path`` (config
    defaults, every detector and model on, unless ``overrides`` says otherwise). ``plain``
    False: no unprofiled run first (µs per event are then of the profiled run's CPU time)."""
    from flows import modes
    from forewarn.engine.config import load

    events = Path(input_path)
    out = Path(tempfile.mkdtemp(prefix="forewarn-profile-")) / "triggers.jsonl"
    config = load(None, overrides or {})
    cpu = None
    if plain:
        t0 = time.process_time()
        modes.backtest(config, str(events), str(out))
        cpu = time.process_time() - t0
    profiler = cProfile.Profile()
    t0 = time.process_time()
    profiler.enable()
    modes.backtest(config, str(events), str(out))
    profiler.disable()
    profiled = time.process_time() - t0
    stats = pstats.Stats(profiler)
    seconds = by_stage(stats)
    total = sum(seconds.values())
    n = sum(1 for line in open(events, "rb") if line.strip())
    rows = sorted(seconds.items(), key=lambda kv: -kv[1])
    top = sorted(((f"{Path(f[0]).name}:{f[2]}", v[2]) for f, v in stats.stats.items()), key=lambda kv: -kv[1])[:25]
    base = cpu if cpu is not None else profiled
    return {
        "input": str(events), "events": n, "cpu_seconds_unprofiled": cpu and round(cpu, 2),
        "cpu_seconds_profiled": round(profiled, 2), "events_per_cpu_s": round(n / base),
        # Each stage's share of the profiled time, and that share of the (unprofiled) CPU time per event.
        "stages": {s: {"share": round(v / total, 3), "us_per_event": round(v / total * base / n * 1e6, 2)}
                   for s, v in rows},
        "top_functions_own_s": {name: round(t, 3) for name, t in top},
    }


def main() -> None:
    import argparse
    import json

    p = argparse.ArgumentParser(description="per-stage profile of forewarn backtest --workers 1 on a file")
    p.add_argument("--input", required=True, help="events JSONL")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override (repeat)")
    p.add_argument("--no-plain", action="store_true", help="skip the unprofiled run (CPU per event then profiled)")
    args = p.parse_args()
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    print(json.dumps(backtest_file(args.input, overrides, plain=not args.no_plain), indent=2))


if __name__ == "__main__":
    main()
