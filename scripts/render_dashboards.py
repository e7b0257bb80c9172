"""Draw each dashboard as a PNG from a live Prometheus, without a Grafana server.

Every panel's queries (from the same grafanalib sources ``forewarn dashboards build`` writes) are
run through Prometheus' HTTP API with Grafana's variables filled in, and drawn with matplotlib at
the panel's grid position: time series as lines (stacked where the panel stacks, thresholds
and SLAs dashed red), stats as their last value, tables as tables, the heatmap as cells. It is
a faithful picture of the data and layout, not of Grafana's styling.

    pip install matplotlib   # or: pip install -e ".[docs]"
    python scripts/render_dashboards.py --minutes 10 --out docs/img

Needs a running engine scraped by Prometheus (see docs/observability.md, "Pictures").
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from dashboards.build import render, sources  # noqa: E402
from dashboards.lint import panels  # noqa: E402
from dashboards.queries import Prometheus, PromQLError, substitute  # noqa: E402

BG, PANEL, TEXT, GRID, MUTED = "#111217", "#181b1f", "#d8d9da", "#2c3235", "#8e8e8e"
PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#fade2a",
           "#ff9830", "#96d98d", "#ca95e5", "#ffb357"]
UNIT_H_INCH = 0.36  # one grid row (30 px in Grafana) at this scale
WIDTH_INCH = 22.0


def fmt(value: float, unit: str) -> str:
    """A value in a Grafana unit, shortly."""
    if value is None or not math.isfinite(value):
        return "NaN"
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        for size, suffix in ((86400, "d"), (3600, "h"), (60, "min"), (1, "s")):
            if abs(value) >= size:
                return f"{value / size:.3g} {suffix}"
        return f"{value * 1000:.3g} ms" if value else "0 s"
    if unit == "Bps":
        for size, suffix in ((1 << 20, "MiB/s"), (1 << 10, "KiB/s")):
            if abs(value) >= size:
                return f"{value / size:.3g} {suffix}"
        return f"{value:.3g} B/s"
    suffix = {"cps": " c/s", "cpm": " c/min"}.get(unit, "")
    for size, letter in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{letter}{suffix}"
    return f"{value:.3g}{suffix}"


def legend(template: str, labels: dict[str, str]) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template or "")
    return text.strip() or ", ".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"


def unit_of(panel: dict) -> str:
    return panel.get("fieldConfig", {}).get("defaults", {}).get("unit") or "short"


def dashed_pattern(panel: dict) -> re.Pattern | None:
    for o in panel.get("fieldConfig", {}).get("overrides", []):
        if any(p["id"] == "custom.lineStyle" for p in o.get("properties", [])):
            return re.compile(o["matcher"]["options"])
    return None


def right_axis(panel: dict) -> tuple[re.Pattern, str] | None:
    for o in panel.get("fieldConfig", {}).get("overrides", []):
        props = {p["id"]: p["value"] for p in o.get("properties", [])}
        if props.get("custom.axisPlacement") == "right":
            return re.compile(o["matcher"]["options"]), props.get("unit", "short")
    return None


class Renderer:
    def __init__(self, prom: Prometheus, variables: dict[str, str], start: float, end: float, step: float) -> None:
        self.prom, self.vars, self.start, self.end, self.step = prom, variables, start, end, step
        short = end - start <= 20 * 60  # minutes apart: the ticks need seconds to differ
        self.time_format = mdates.DateFormatter("%H:%M:%S" if short else "%H:%M", tz=timezone.utc)

    def series(self, panel: dict) -> list[tuple[str, list, list]]:
        """``(legend, times, values)`` per series of every target of a time series panel."""
        out = []
        for t in panel["targets"]:
            try:
                result = self.prom.query_range(substitute(t["expr"], self.vars), self.start, self.end, self.step)
            except PromQLError as exc:
                print(f"  {panel['title']}: {exc}", file=sys.stderr)
                continue
            for r in sorted(result, key=lambda r: legend(t.get("legendFormat", ""), r["metric"])):
                ts = [datetime.fromtimestamp(float(x), timezone.utc) for x, _ in r["values"]]
                out.append((legend(t.get("legendFormat", ""), r["metric"]), ts, [float(v) for _, v in r["values"]]))
        return out

    def instant(self, panel: dict) -> list[tuple[dict, str, float]]:
        out = []
        for t in panel["targets"]:
            for r in self.prom.query(substitute(t["expr"], self.vars), self.end):
                out.append((r["metric"], t.get("legendFormat", ""), float(r["value"][1])))
        return out

    def draw(self, ax, panel: dict) -> None:
        kind = panel["type"]
        ax.set_facecolor(PANEL)
        ax.set_title(panel["title"], color=TEXT, fontsize=10, loc="left", pad=6, fontweight="bold")
        for spine in ax.spines.values():
            spine.set_color(GRID)
        ax.tick_params(colors=MUTED, labelsize=7)
        getattr(self, f"draw_{kind}")(ax, panel)

    def no_data(self, ax) -> None:
        ax.text(0.5, 0.5, "No data", color=MUTED, ha="center", va="center", transform=ax.transAxes, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])

    def draw_timeseries(self, ax, panel: dict) -> None:
        data = [s for s in self.series(panel) if any(math.isfinite(v) for v in s[2])]
        if not data:
            return self.no_data(ax)
        unit, dashed, right = unit_of(panel), dashed_pattern(panel), right_axis(panel)
        stacked = panel["fieldConfig"]["defaults"]["custom"]["stacking"].get("mode") == "normal"
        ax2 = ax.twinx() if right and any(right[0].search(name) for name, _, _ in data) else None
        base: dict = {}
        for i, (name, ts, vs) in enumerate(data):
            color = PALETTE[i % len(PALETTE)]
            if dashed and dashed.search(name):
                ax.plot(ts, vs, color="#f2495c", linestyle="--", linewidth=1.6, label=name)
                continue
            target = ax2 if ax2 is not None and right[0].search(name) else ax
            if stacked:
                vs = [0.0 if not math.isfinite(v) else v for v in vs]
                low = [base.get(t, 0.0) for t in ts]
                high = [lo + v for lo, v in zip(low, vs)]
                target.fill_between(ts, low, high, color=color, alpha=0.45, linewidth=0)
                target.plot(ts, high, color=color, linewidth=1, label=name)
                base.update(zip(ts, high))
            else:
                target.plot(ts, vs, color=color, linewidth=1.3, label=name)
        if panel["fieldConfig"]["defaults"]["custom"]["scaleDistribution"]["type"] == "log":
            ax.set_yscale("log")
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: fmt(v, unit)))
        ax.xaxis.set_major_formatter(self.time_format)
        ax.grid(color=GRID, linewidth=0.5)
        handles, labels = ax.get_legend_handles_labels()
        if ax2 is not None:
            ax2.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: fmt(v, right[1])))
            ax2.tick_params(colors=MUTED, labelsize=7)
            h2, l2 = ax2.get_legend_handles_labels()
            handles, labels = handles + h2, labels + l2
        if len(labels) > 12:  # a legend as a table would take the panel: keep the twelve biggest
            handles, labels = handles[:12], labels[:12]
        ax.legend(handles, labels, fontsize=6.5, loc="upper left", bbox_to_anchor=(1.0 if ax2 is None else 1.07, 1.0),
                  frameon=False, labelcolor=TEXT)

    def draw_stat(self, ax, panel: dict) -> None:
        ax.set_xticks([])
        ax.set_yticks([])
        values = self.instant(panel)
        if not values:
            return self.no_data(ax)
        unit = unit_of(panel)
        steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
        lines = []
        for labels, template, value in values[:6]:
            color = "#73bf69"
            for s in steps:
                if s["value"] is not None and value >= s["value"]:
                    color = {"orange": "#ff9830", "red": "#f2495c", "green": "#73bf69"}.get(s["color"], s["color"])
            name = legend(template, labels) if template else ""
            lines.append((f"{name} {fmt(value, unit)}".strip(), color))
        size = 26 if len(lines) == 1 else (15 if len(lines) <= 4 else 11)
        for i, (text, color) in enumerate(lines):
            y = 0.45 if len(lines) == 1 else 0.8 - i * 0.6 / max(1, len(lines) - 1)
            ax.text(0.5, y, text, color=color, ha="center", va="center", transform=ax.transAxes,
                    fontsize=size, fontweight="bold")

    def draw_table(self, ax, panel: dict) -> None:
        ax.set_xticks([])
        ax.set_yticks([])
        rows = self.instant(panel)
        if not rows:
            return self.no_data(ax)
        unit = unit_of(panel)
        columns = sorted({k for labels, _, _ in rows for k in labels if k != "__name__"})
        rows.sort(key=lambda r: -r[2])
        cells = [[labels.get(c, "") for c in columns] + [fmt(v, unit)] for labels, _, v in rows[:10]]
        table = ax.table(cellText=cells, colLabels=columns + ["Value"], loc="upper center", cellLoc="left")
        table.auto_set_font_size(False)
        table.set_fontsize(7.5)
        for (row, _col), cell in table.get_celld().items():
            cell.set_edgecolor(GRID)
            cell.set_facecolor("#22252b" if row == 0 else PANEL)
            cell.get_text().set_color(TEXT)
        table.scale(1, 1.15)

    def draw_heatmap(self, ax, panel: dict) -> None:
        data = self.series(panel)  # one series per upper bound (le), cumulative as Prometheus stores them
        buckets = sorted((float("inf") if name == "+Inf" else float(name), ts, vs) for name, ts, vs in data
                         if name.replace(".", "", 1).isdigit() or name == "+Inf")
        if not buckets or not any(math.isfinite(v) and v > 0 for _, _, vs in buckets for v in vs):
            return self.no_data(ax)
        times = buckets[0][1]
        bounds = [b for b, _, _ in buckets]
        counts = []
        for i, (_b, _t, vs) in enumerate(buckets):  # cumulative -> per bucket, as Grafana's heatmap does
            below = buckets[i - 1][2] if i else [0.0] * len(vs)
            counts.append([max(0.0, (v if math.isfinite(v) else 0) - (lo if math.isfinite(lo) else 0))
                           for v, lo in zip(vs, below)])
        finite = [b for b in bounds if math.isfinite(b)]
        edges = [0.0] + finite + ([finite[-1] + (finite[-1] - finite[-2] if len(finite) > 1 else 1)]
                                  if len(bounds) > len(finite) else [])
        x = mdates.date2num(times)
        xe = list(x) + [x[-1] + (x[-1] - x[-2] if len(x) > 1 else 1 / 1440)]
        ax.pcolormesh(xe, edges, counts[:len(edges) - 1], cmap="Oranges", shading="flat")
        ax.xaxis.set_major_formatter(self.time_format)
        ax.set_ylim(0, edges[-1])


def draw_dashboard(renderer: Renderer, dash: dict, out: Path, source: str) -> Path:
    ps = panels(dash)
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in ps)
    head = 1.0
    fig = plt.figure(figsize=(WIDTH_INCH, rows * UNIT_H_INCH + head), facecolor=BG)
    total_h = rows * UNIT_H_INCH + head
    fig.text(0.01, 1 - 0.35 / total_h, dash["title"], color=TEXT, fontsize=15, fontweight="bold", va="center")
    fig.text(0.01, 1 - 0.75 / total_h, source, color=MUTED, fontsize=8, va="center")
    for p in ps:
        g = p["gridPos"]
        # Inner margins leave room for titles, ticks and the legend column on the right.
        legend_room = 0.26 if p["type"] == "timeseries" else 0.0
        left = g["x"] / 24 + 0.035
        width = g["w"] / 24 * (1 - legend_room) - 0.045
        top = 1 - (head + g["y"] * UNIT_H_INCH) / total_h
        height = g["h"] * UNIT_H_INCH / total_h
        ax = fig.add_axes((left, top - height + 0.45 / total_h, width, height - 0.8 / total_h))
        renderer.draw(ax, p)
    path = out / f"{dash['uid'].removeprefix('forewarn-')}.png"
    fig.savefig(path, dpi=80, facecolor=BG)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prometheus", default="http://127.0.0.1:9090")
    ap.add_argument("--minutes", type=float, default=10, help="time range drawn")
    ap.add_argument("--end", help="end of the range, RFC 3339 (default: now)")
    ap.add_argument("--out", default=str(REPO / "docs/img"))
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                    help="a dashboard variable (default job=forewarn, instance=.+, kind=.+)")
    ap.add_argument("--rate-interval", default="30s", help="what $__rate_interval stands for")
    args = ap.parse_args(argv)

    end = datetime.fromisoformat(args.end.replace("Z", "+00:00")).timestamp() if args.end else time.time()
    start = end - args.minutes * 60
    variables = {"datasource": "prometheus", "job": "forewarn", "instance": ".+", "kind": ".+",
                 "__rate_interval": args.rate_interval, "__range": f"{int(args.minutes * 60)}s"}
    variables.update(dict(v.split("=", 1) for v in args.var))
    step = max(2.0, args.minutes * 60 / 240)
    renderer = Renderer(Prometheus(args.prometheus), variables, start, end, step)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromtimestamp(end, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    for path in sources():
        dash = render(path)
        note = (f"Drawn with matplotlib from the live Prometheus ({args.prometheus}), last {args.minutes:g} min "
                f"to {stamp}, by scripts/render_dashboards.py from {path.relative_to(REPO)}: the same queries "
                f"Grafana runs ($__rate_interval = {args.rate_interval}).")
        print(f"wrote {draw_dashboard(renderer, dash, out, note)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
