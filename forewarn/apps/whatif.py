"""What-if backtests: replay one input once per threshold value and compare what would have fired.

``forewarn backtest --input F --output O --set KEY=V1,V2,... [--set KEY2=...] [--truth T] [--json]``

* Each ``--set`` names a config key (any key of the config file, dotted) and the values to
  try. Several ``--set`` give their **cartesian product**: every combination is one run.
  Values are TOML values (``30``, ``1.5``, ``true``, ``"human"``) or bare words; a value
  may not contain a comma. Every combination is validated before the first run.
* Each run is an ordinary backtest of the whole input with the config file plus that
  combination: the same dataflow, the same determinism. With one run the triggers go to
  ``O`` itself; with several, to one file per run named after it
  (``triggers.jsonl`` -> ``triggers.delivery_late.grace_hours=6.jsonl``; the leading
  ``detectors.`` is dropped, several keys are joined with ``,``).
* The report gives, per run and kind, the triggers fired and how they were routed (``ai``,
  ``human``). Scored kinds add ``tp``/``fp``/``fn``, precision, recall and the median lead
  time (see :mod:`forewarn.apps.outcomes`), matched with :func:`forewarn.apps.groundtruth.score`.
  What a kind is scored against:

  - a kind whose thresholds are swept and that has an outcome definition
    (``payment_failed``): its outcome truth, computed from the input, independent of any
    threshold (a truth file's rows for it would only say what the rule at one value fires);
  - otherwise, with ``--truth``, the truth file's rows for it.

  For swept kinds with a rule in :mod:`forewarn.apps.groundtruth`, ``rule`` also checks each run
  against the truth recomputed at that run's own values (``groundtruth.compute``): ``ok``
  when the triggers are exactly what the documented rule says, else the differences.
"""

from __future__ import annotations

import itertools
import statistics
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from detectors import LEAD_KINDS
from forewarn.apps import groundtruth, outcomes
from forewarn.core.timefmt import HOUR, parse_rfc3339
from forewarn.core.trigger import ROUTES
from forewarn.engine.config import Config, ConfigError
from forewarn.engine.liveconfig import parse_value

COLUMNS_ROUTES = sorted(ROUTES)  # the table's lane columns, in name order (ai, human)


def parse_sets(specs: Iterable[str]) -> dict[str, list[Any]]:
    """``["a.b=1,2", "c=x"]`` -> ``{"a.b": [1, 2], "c": ["x"]}``; ConfigError says what is wrong."""
    out: dict[str, list[Any]] = {}
    for spec in specs:
        key, eq, values = spec.partition("=")
        key = key.strip()
        if not eq or not key or not values.strip():
            raise ConfigError(f"--set {spec!r}: expected KEY=VALUE[,VALUE...], "
                              "e.g. --set detectors.delivery_late.grace_hours=6,12,24")
        if key in out:
            raise ConfigError(f"--set {key} given twice; list all its values in one --set, comma-separated")
        parsed = [parse_value(v.strip()) for v in values.split(",")]
        if any(v == "" for v in parsed):
            raise ConfigError(f"--set {spec!r}: an empty value")
        out[key] = parsed
    return out


def grid(sets: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the values, the first key varying slowest."""
    keys = list(sets)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(sets[k] for k in keys))]


def run_label(overrides: Mapping[str, Any]) -> str:
    return ",".join(f"{k.removeprefix('detectors.')}={v}" for k, v in overrides.items())


def output_path(base: str, overrides: Mapping[str, Any], several: bool) -> str:
    if not several:
        return base
    p = Path(base)
    label = run_label(overrides).replace("/", "_").replace(" ", "_")
    return str(p.with_name(f"{p.stem}.{label}{p.suffix}"))


def swept_kinds(keys: Iterable[str]) -> set[str]:
    return {k.split(".")[1] for k in keys if k.startswith("detectors.") and k.count(".") >= 2}


def rule_kinds(keys: Iterable[str]) -> set[str]:
    """Swept kinds whose swept thresholds are all ones the ground-truth oracle knows."""
    params: dict[str, set[str]] = defaultdict(set)
    for k in keys:
        if k.startswith("detectors.") and k.count(".") == 2:
            _, kind, name = k.split(".")
            params[kind].add(name)
    return {kind for kind, names in params.items() if names <= set(groundtruth.THRESHOLDS.get(kind, ()))}


class Yardstick:
    """What each kind is scored against, built once for the input (the same for every run).

    truth_rows: the truth file's rows (None without one).
    swept: the kinds whose thresholds the sweep changes.
    ruled: the swept kinds to check against their rule recomputed per run (:func:`rule_kinds`).
    """

    def __init__(self, lines: list[bytes], truth_rows: list[dict[str, Any]] | None, swept: set[str],
                 ruled: set[str]) -> None:
        self.lines = lines
        self.ruled = sorted(ruled)
        self.timeline = groundtruth.timeline(lines)
        self.surfacing = outcomes.Surfacing(self.timeline)
        self.swept = swept
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.against: dict[str, str] = {}
        self.undecided: set[tuple[str, str, str]] = set()
        for row in truth_rows or ():
            self.rows[row["kind"]].append(row)
            self.against[row["kind"]] = "truth file"
        for kind in swept & set(outcomes.OUTCOMES):
            rows, undecided = outcomes.OUTCOMES[kind](self.timeline)
            self.rows[kind] = rows
            self.undecided |= undecided
            self.against[kind] = f"outcome ({outcomes.OUTCOMES[kind].__name__.replace('_', ' ')})"
        if truth_rows is not None:  # with a truth file, a kind absent from it is scored too (0 rows)
            for kind in groundtruth.KINDS:
                self.against.setdefault(kind, "truth file")

    def score(self, triggers: list[dict[str, Any]], kinds: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Per scored kind: tp, fp, fn, precision, recall (groundtruth.score), median lead."""
        kinds = [k for k in kinds if k in self.against]
        keep = [t for t in triggers if _key(t) not in self.undecided]
        truth = [r for k in kinds for r in self.rows.get(k, ()) if _row_key(r) not in self.undecided]
        out = groundtruth.score(keep, truth, kinds)
        leads = self._leads(keep, truth)
        for kind in kinds:
            out[kind]["against"] = self.against[kind]
            ks = leads.get(kind, [])
            out[kind]["median_lead_seconds"] = statistics.median(ks) / 1e6 if ks else None
            out[kind]["lead_n"] = len(ks)
        return out

    def _leads(self, triggers: list[dict[str, Any]], truth: list[dict[str, Any]]) -> dict[str, list[int]]:
        """Lead times (us) of matched pairs, matched as groundtruth.score does: same kind,
        customer and subject, each truth row once, in order."""
        open_rows: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
        for r in sorted(truth, key=lambda r: r["fired_at"]):
            open_rows[_row_key(r)].append(r)
        out: dict[str, list[int]] = defaultdict(list)
        for t in triggers:
            waiting = open_rows.get(_key(t))
            if not waiting:
                continue
            row = waiting.pop(0)
            if t["kind"] not in LEAD_KINDS:
                continue
            fired = parse_rfc3339(t["fired_at"])
            start = min(fired, parse_rfc3339(row["fired_at"]))
            surfaced = self.surfacing.first(t["customer_id"], row.get("order_id") or t.get("order_id"), start)
            if surfaced is not None:
                out[t["kind"]].append(surfaced - fired)
        return out

    def rule_check(self, triggers: list[dict[str, Any]], config: Config) -> dict[str, dict[str, int]]:
        """Swept rule kinds: triggers vs the truth recomputed at this run's thresholds."""
        kinds = self.ruled
        if not kinds:
            return {}
        rows = [r for r in groundtruth.compute(self.lines, config) if r["kind"] in kinds]
        scored = groundtruth.score(triggers, rows, kinds)
        return {k: {"fp": v["fp"], "fn": v["fn"]} for k, v in scored.items()}


def _key(t: Mapping[str, Any]) -> tuple:
    return (t["kind"], t.get("customer_id"), groundtruth.trigger_subject(t))


def _row_key(r: Mapping[str, Any]) -> tuple:
    return (r["kind"], r["customer_id"], r["subject"])


def summarize(triggers: list[dict[str, Any]], kinds: list[str]) -> dict[str, dict[str, Any]]:
    """Per kind: how many fired and their routes."""
    fired = Counter(t["kind"] for t in triggers)
    routes = Counter((t["kind"], t["route"]) for t in triggers)
    return {kind: {"fired": fired[kind], "routes": {r: routes[(kind, r)] for r in COLUMNS_ROUTES}} for kind in kinds}


def sweep(configs: list[tuple[dict[str, Any], Config]], input_path: str, output: str,
          replay: Callable[[list[tuple[Config, str, str, str | None]], Callable[[int, int, float], None]], None],
          truth_path: str | None, progress: Callable[[str], None], scores: str | None = None) -> dict[str, Any]:
    """Run every combination and build the report (see the module docstring).

    configs: (overrides, validated config) per run, in order.
    replay: runs the backtests ``[(config, input, output, scores)]`` (side by side where it can),
        and calls ``done(index, events read, seconds)`` as each one's output is complete.
    scores: where the model evaluations go (None: nowhere); like ``output``, one file per run
        when there are several, since model scores differ by run.
    progress: takes a line per run as it starts and as it ends (with events/s).
    The report lists the kinds that fired in any run, and the swept ones.
    """
    keys = list(configs[0][0]) if configs else []
    jobs = []
    for i, (overrides, config) in enumerate(configs, 1):
        out_path = output_path(output, overrides, len(configs) > 1)
        scores_path = output_path(scores, overrides, len(configs) > 1) if scores else None
        progress(f"run {i}/{len(configs)} {run_label(overrides) or 'as configured'}: replaying {input_path}")
        jobs.append((config, input_path, out_path, scores_path))
    finished: dict[int, tuple[int, float, list[dict[str, Any]]]] = {}

    def done(index: int, events: int, took: float) -> None:
        out_path = jobs[index][2]
        triggers = groundtruth.load_jsonl(out_path)
        finished[index] = (events, took, triggers)
        label = run_label(configs[index][0]) or "as configured"
        progress(f"run {index + 1}/{len(configs)} {label}: {events:,} events in {took:.1f} s "
                 f"({events / max(took, 1e-9):,.0f} events/s), {len(triggers):,} triggers -> {out_path}")

    replay(jobs, done)
    runs = [(overrides, config, jobs[i][2], *finished[i]) for i, (overrides, config) in enumerate(configs)]
    swept = swept_kinds(keys)
    shown = sorted(swept | {t["kind"] for *_, triggers in runs for t in triggers})
    ruled = rule_kinds(keys)
    yardstick = None
    if truth_path or ruled or swept & set(outcomes.OUTCOMES):  # else no need to read the input again
        with open(input_path, "rb") as fh:
            lines = [line.rstrip(b"\r\n") for line in fh if line.strip()]
        truth_rows = groundtruth.load_jsonl(truth_path) if truth_path else None
        yardstick = Yardstick(lines, truth_rows, swept, ruled)
    report = []
    for overrides, config, out_path, events, took, triggers in runs:
        kinds = summarize(triggers, shown)
        if yardstick is not None:
            for kind, scored in yardstick.score(triggers, shown).items():
                kinds[kind].update(scored)
            for kind, diff in yardstick.rule_check(triggers, config).items():
                kinds[kind]["rule"] = diff
        report.append({"set": overrides, "output": out_path, "events": events, "seconds": round(took, 3),
                       "triggers": len(triggers), "kinds": kinds})
    return {"input": input_path, "truth": truth_path, "keys": keys, "runs": report}


WIDTH = 80  # the table fits a terminal of this many columns (a pipe or a file gets the same)
# Dropped in this order, only when a table would not fit otherwise (the JSON has every field).
OPTIONAL = ("n", "human", "ai")
NUMERIC = frozenset({"fired", "ai", "human", "tp", "fp", "fn", "prec", "recall", "lead h", "n"})


def table(report: dict[str, Any], width: int = WIDTH) -> str:
    """The report for a terminal: per run, a heading with its values, then a line per kind;
    notes at the end say what a kind is scored against. Fits ``width`` columns: with kind
    names as long as the registry's and counts up to 9,999 every column shows; with larger
    counts the :data:`OPTIONAL` columns go first (a note says so); headings and notes wrap.

    >>> report = {"keys": ["detectors.delivery_late.grace_hours"], "runs": [
    ...     {"set": {"detectors.delivery_late.grace_hours": 6}, "triggers": 3, "kinds": {"delivery_late": {
    ...         "fired": 3, "routes": {"ai": 2, "human": 1}}}}]}
    >>> print(table(report))
    run 1/1: delivery_late.grace_hours=6 (3 triggers)
    kind           fired  ai  human
    delivery_late      3   2      1
    """
    scored = any("precision" in e for r in report["runs"] for e in r["kinds"].values())
    ruled = any("rule" in e for r in report["runs"] for e in r["kinds"].values())
    cols = ["kind", "fired", "ai", "human"]
    if scored:
        cols += ["tp", "fp", "fn", "prec", "recall", "lead h", "n"]
    if ruled:
        cols += ["rule"]
    blocks = []
    against: dict[str, set[str]] = defaultdict(set)
    for run in report["runs"]:
        rows = []
        for kind, e in run["kinds"].items():
            row = {"kind": kind, "fired": str(e["fired"]), "ai": str(e["routes"].get("ai", 0)),
                   "human": str(e["routes"].get("human", 0))}
            if scored:
                if "precision" in e:
                    lead = e["median_lead_seconds"]
                    row.update(tp=str(e["tp"]), fp=str(e["fp"]), fn=str(e["fn"]), prec=f"{e['precision']:.3f}",
                               recall=f"{e['recall']:.3f}", n=str(e["lead_n"]),
                               **{"lead h": "-" if lead is None else f"{lead * 1e6 / HOUR:+.1f}"})
                    against[e["against"]].add(kind)
                else:
                    row.update({c: "-" for c in ("tp", "fp", "fn", "prec", "recall", "lead h", "n")})
                    against["not scored"].add(kind)
            if ruled:
                rc = e.get("rule")
                row["rule"] = "" if rc is None else "ok" if rc == {"fp": 0, "fn": 0} else f"+{rc['fp']} -{rc['fn']}"
            rows.append(row)
        blocks.append((run, rows))
    all_rows = [row for _, rows in blocks for row in rows]
    shown, sep, dropped = _fit(cols, all_rows, width)
    widths = _widths(shown, all_rows)
    lines = []
    for i, (run, rows) in enumerate(blocks, 1):
        label = ", ".join(f"{k.removeprefix('detectors.')}={run['set'][k]}" for k in report["keys"]) or "as configured"
        heading = f"run {i}/{len(blocks)}: {label} ({run['triggers']:,} triggers)"
        lines += ([""] if i > 1 else []) + textwrap.wrap(heading, width, subsequent_indent="  ")
        for row in [dict(zip(shown, shown))] + rows:
            lines.append(_line(shown, widths, row, sep))
    notes = []
    if scored:
        notes.append("prec, recall: of the fired triggers, of the truth rows; lead h: median hours a trigger "
                     "came before the customer noticed, over n matched triggers.")
        notes.append("Scored against: " + "; ".join(f"{what} ({', '.join(sorted(kinds))})"
                                                    for what, kinds in sorted(against.items())) + ".")
    if ruled:
        notes.append("rule: the triggers vs the documented rule at the run's values: ok, or +extra -missing.")
    if dropped:
        notes.append(f"Left out to fit {width} columns: {', '.join(dropped)} (--json has every field).")
    if notes:
        lines.append("")
        for note in notes:
            lines += textwrap.wrap(note, width, subsequent_indent="  ")
    return "\n".join(lines)


def _fit(cols: list[str], rows: list[dict[str, str]], width: int) -> tuple[list[str], int, list[str]]:
    """The columns to show and the space between them: two spaces if that fits, else one, else
    without the :data:`OPTIONAL` columns, one by one (returned as the third item)."""
    shown, dropped = list(cols), []
    while True:
        widths = _widths(shown, rows)
        for sep in (2, 1):
            if sum(widths.values()) + sep * (len(shown) - 1) <= width:
                return shown, sep, dropped
        gone = next((c for c in OPTIONAL if c in shown), None)
        if gone is None:
            return shown, 1, dropped
        shown.remove(gone)
        dropped.append(gone)


def _widths(cols: list[str], rows: list[dict[str, str]]) -> dict[str, int]:
    return {c: max([len(c), *(len(r.get(c, "")) for r in rows)]) for c in cols}


def _line(cols: list[str], widths: Mapping[str, int], row: Mapping[str, str], sep: int) -> str:
    """One row, numbers right-aligned."""
    cells = [row.get(c, "").rjust(widths[c]) if c in NUMERIC else row.get(c, "").ljust(widths[c]) for c in cols]
    return (" " * sep).join(cells).rstrip()
