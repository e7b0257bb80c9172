"""``forewarn backtest --workers N`` against one worker and the decode-only floor, in one run.

Each measurement is a fresh process (``python -m forewarn backtest ...``, or the floor: read
the file and decode every line, nothing else), run ``repeat`` times interleaved, median
taken; wall seconds and CPU seconds (the process and its children) both reported, because on
a shared machine the wall clock says how loaded it was as much as how fast forewarn is.

    python -m bench.workers --input events.jsonl [--workers 2] [--repeat 3]
    python -m bench.workers --input events.jsonl --workers 1 --against /tmp/main-checkout

``--against DIR``: also ``--workers 1`` from another checkout (``git archive main | tar -x -C
DIR``), interleaved with the rest: before and after an optimisation measured in one run.

``startup`` is a ``--workers 1`` backtest of the input's first 10 lines: the fixed cost of a
process (imports, config, templates, phrase lists). ``per_event`` takes it out of each run's
CPU seconds, so a short input and a long one give comparable per-event rates.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import REPO, machine

FLOOR = ("import sys\nfrom forewarn.core import events as ev\n"
         "n = sum(1 for line in open(sys.argv[1], 'rb') if line.strip() and ev.decode(line.rstrip(b'\\r\\n')))\n")


def _timed(cmd: list[str], repo: Path = REPO) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command and its children), run from ``repo``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=repo, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(repo)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(input_path: str, workers: int, repeat: int, lateness: float | None, against: str | None = None) -> dict:
    events = sum(1 for line in open(input_path, "rb") if line.strip())
    out = Path(tempfile.mkdtemp(prefix="forewarn-workers-"))
    config = []
    if lateness is not None:
        (out / "c.toml").write_text(f"[engine]\nallowed_lateness_seconds = {lateness}\n")
        config = ["--config", str(out / "c.toml")]
    head = out / "head.jsonl"
    with open(input_path, "rb") as src, open(head, "wb") as dst:
        dst.writelines(line for _, line in zip(range(10), src))
    cases = {
        "floor_decode": (REPO, [sys.executable, "-c", FLOOR, input_path]),
        "startup": (REPO, [sys.executable, "-m", "forewarn", "backtest", "--input", str(head),
                           "--output", str(out / "head.out.jsonl"), "--workers", "1", *config]),
        "workers_1": (REPO, [sys.executable, "-m", "forewarn", "backtest", "--input", input_path,
                             "--output", str(out / "t1.jsonl"), "--workers", "1", *config]),
    }
    if workers != 1:
        cases[f"workers_{workers}"] = (REPO, [sys.executable, "-m", "forewarn", "backtest", "--input", input_path,
                                              "--output", str(out / f"t{workers}.jsonl"), "--workers", str(workers),
                                              *config])
    if against:
        cases["against_workers_1"] = (Path(against), [sys.executable, "-m", "forewarn", "backtest", "--input",
                                                      input_path, "--output", str(out / "a1.jsonl"), "--workers", "1",
                                                      *config])
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    for _ in range(repeat):
        for name, (repo, cmd) in cases.items():
            samples[name].append(_timed(cmd, repo))
    report: dict = {"machine": machine(), "input": input_path, "events": events, "repeat": repeat,
                    "lateness_seconds": lateness if lateness is not None else "default", "against": against}
    for name, runs in samples.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        report[name] = {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "events_per_s": round(events / wall),
                        "events_per_cpu_s": round(events / cpu), "walls": [round(w, 2) for w, _ in runs]}
    one, many, floor = report["workers_1"], report[f"workers_{workers}"], report["floor_decode"]
    report["speedup_wall"] = round(one["wall_s"] / many["wall_s"], 2)
    runs = [k for k in cases if k not in ("floor_decode", "startup")]
    report["vs_floor_wall"] = {k: round(report[k]["events_per_s"] / floor["events_per_s"], 3) for k in runs}
    # On a shared machine the CPU ratio is the one that means something.
    report["vs_floor_cpu"] = {k: round(report[k]["events_per_cpu_s"] / floor["events_per_cpu_s"], 4) for k in runs}
    start = report["startup"]["cpu_s"]
    report["per_event"] = {k: {"cpu_s": round(report[k]["cpu_s"] - start, 2),
                               "events_per_cpu_s": round(events / max(report[k]["cpu_s"] - start, 1e-9))}
                           for k in runs}
    if against:
        report["cpu_vs_against"] = round(report["against_workers_1"]["cpu_s"] / one["cpu_s"], 3)
    return report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--input", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--lateness", type=float, help="engine.allowed_lateness_seconds (default: the config default)")
    p.add_argument("--against", metavar="DIR", help="also time --workers 1 from this checkout (before/after)")
    args = p.parse_args()
    print(json.dumps(run(args.input, args.workers, args.repeat, args.lateness, args.against), indent=2))


if __name__ == "__main__":
    main()
