"""What the three dashboards share: the template variables, query helpers and panel builders.

Every panel reads the data source chosen in the ``$datasource`` variable (by uid), every query
selects ``job=~"$job", instance=~"$instance"``, rates use ``$__rate_interval``, and every panel
has a title, a description and a unit: the rules of Grafana's dashboard linter, which
``dashboards.lint`` checks before a dashboard is written.
"""

from __future__ import annotations

import grafanalib.core as G

# Grafana 11 (docker-compose.yml) writes schemaVersion 39; it migrates older ones on load.
SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCOPE = 'job=~"$job", instance=~"$instance"'
RATE = "$__rate_interval"


def sel(metric: str, matchers: str = "") -> str:
    """``metric{job=~"$job", instance=~"$instance", <matchers>}``."""
    return f"{metric}{{{SCOPE}{', ' + matchers if matchers else ''}}}"


def rate(metric: str, matchers: str = "") -> str:
    return f"rate({sel(metric, matchers)}[{RATE}])"


def quantile(q: float, histogram: str, by: str = "", matchers: str = "") -> str:
    """The ``q`` quantile of a histogram over ``$__rate_interval``, grouped by ``le`` and ``by``."""
    group = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({group}) ({rate(histogram + '_bucket', matchers)}))"


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False, fmt: str = "time_series") -> G.Target:
    return G.Target(expr=expr, legendFormat=legend, refId=ref, datasource=DATASOURCE,
                    instant=instant, format=fmt)


def targets(*pairs: tuple[str, str]) -> list[G.Target]:
    """``(legend, expr)`` pairs as targets A, B, C…"""
    return [target(expr, legend, chr(ord("A") + i)) for i, (legend, expr) in enumerate(pairs)]


def templates(*extra: G.Template) -> G.Templating:
    """``$datasource`` (Prometheus, by uid), then ``$job`` and ``$instance``, then ``extra``."""
    def query_var(name: str, query: str) -> G.Template:
        return G.Template(name=name, label=name.title(), type="query", dataSource=DATASOURCE, query=query,
                          multi=True, includeAll=True, allValue=".+", default="$__all",
                          refresh=G.REFRESH_ON_TIME_RANGE_CHANGE, sort=G.SORT_ALPHA_ASC)

    datasource = G.Template(name="datasource", label="Data source", type="datasource", query="prometheus",
                            default="prometheus")
    return G.Templating([
        datasource,
        query_var("job", "label_values(forewarn_events_total, job)"),
        query_var("instance", 'label_values(forewarn_events_total{job=~"$job"}, instance)'),
        *extra,
    ])


def kind_template(metric: str) -> G.Template:
    """``$kind``: the trigger kinds seen in ``metric``."""
    return G.Template(name="kind", label="Kind", type="query", dataSource=DATASOURCE,
                      query=f"label_values({sel(metric)}, kind)", multi=True, includeAll=True,
                      allValue=".+", default="$__all", refresh=G.REFRESH_ON_TIME_RANGE_CHANGE,
                      sort=G.SORT_ALPHA_ASC)


def _dashed(pattern: str, color: str = "red") -> dict:
    """A field override drawing the series whose name matches ``pattern`` as a dashed line."""
    return {
        "matcher": {"id": "byRegexp", "options": pattern},
        "properties": [
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            {"id": "custom.lineWidth", "value": 2},
            {"id": "color", "value": {"mode": "fixed", "fixedColor": color}},
        ],
    }


def timeseries(title: str, description: str, unit: str, tgts: list[G.Target], *, stacked: bool = False,
               dashed: str | None = None, min_value: int | None = None, max_value: int | None = None,
               right_axis: tuple[str, str] | None = None, log: bool = False) -> G.TimeSeries:
    """A time series panel.

    Series whose legend matches the regex ``dashed`` (thresholds, SLAs) are dashed red lines;
    ``right_axis = (regex, unit)`` puts the matching series on a right axis in that unit;
    ``log`` makes the y axis logarithmic (base 10).
    """
    overrides = [_dashed(dashed)] if dashed else []
    if right_axis:
        overrides.append({"matcher": {"id": "byRegexp", "options": right_axis[0]}, "properties": [
            {"id": "unit", "value": right_axis[1]}, {"id": "custom.axisPlacement", "value": "right"}]})
    return G.TimeSeries(
        title=title, description=description, unit=unit, targets=tgts, dataSource=DATASOURCE,
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none"},
        fillOpacity=40 if stacked else 10, lineWidth=1, showPoints="never", spanNulls=True,
        legendDisplayMode="table", legendPlacement="right", legendCalcs=["lastNotNull", "max"],
        tooltipMode="multi", overrides=overrides,
        valueMin=min_value, valueMax=max_value,
        scaleDistributionType="log" if log else "linear", scaleDistributionLog=10 if log else 2,
    )


def stat(title: str, description: str, unit: str, tgts: list[G.Target], *, thresholds: list[tuple[str, float]] = (),
         reduce: str = "lastNotNull", decimals: int | None = None) -> G.Stat:
    """A single-value panel; ``thresholds`` are ``(color, from value)`` steps after the base green."""
    steps = [{"color": "green", "value": None}] + [{"color": c, "value": v} for c, v in thresholds]
    return G.Stat(title=title, description=description, format=unit, targets=tgts, dataSource=DATASOURCE,
                  reduceCalc=reduce, graphMode="area", decimals=decimals, noValue="0",
                  thresholdType="absolute", extraJson={"fieldConfig": {"defaults": {"thresholds": {
                      "mode": "absolute", "steps": steps}}}})


def table(title: str, description: str, unit: str, tgts: list[G.Target], sort_by: str = "Value") -> G.Table:
    """An instant-query table, sorted by ``sort_by`` descending, without the time column."""
    return G.Table(title=title, description=description, unit=unit, targets=tgts, dataSource=DATASOURCE,
                   sortBy=[G.TableSortByField(displayName=sort_by, desc=True)],
                   transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}])


def heatmap(title: str, description: str, unit: str, tgts: list[G.Target]) -> G.Heatmap:
    """A heatmap of pre-bucketed histogram data (``format: heatmap`` targets)."""
    return G.Heatmap(title=title, description=description, targets=tgts, dataSource=DATASOURCE,
                     dataFormat="tsbuckets", yBucketBound="upper", hideZeroBuckets=False,
                     yAxis=G.YAxis(format=unit, decimals=2),
                     extraJson={"fieldConfig": {"defaults": {"unit": unit}},
                                "options": {"calculate": False, "yAxis": {"unit": unit, "decimals": 2},
                                            "cellValues": {"unit": "short"},
                                            "color": {"mode": "scheme", "scheme": "Oranges", "scale": "exponential", "exponent": 0.5}}})


def layout(rows: list[list[tuple[G.Panel, int]]], height: int = 8, first_height: int | None = None) -> list[G.Panel]:
    """Place panels left to right, row by row: each row is ``[(panel, width of 24), …]``."""
    out = []
    y = 0
    for i, row in enumerate(rows):
        h = first_height if (i == 0 and first_height) else height
        x = 0
        for panel, w in row:
            panel.gridPos = G.GridPos(h=h, w=w, x=x, y=y)
            out.append(panel)
            x += w
        y += h
    return out


def dashboard(uid: str, title: str, description: str, panels: list[G.Panel], templating: G.Templating) -> G.Dashboard:
    return G.Dashboard(
        uid=uid, title=title, description=description, tags=["forewarn"], panels=panels,
        templating=templating, schemaVersion=SCHEMA_VERSION, refresh="30s",
        time=G.Time("now-6h", "now"), timezone="browser", editable=False,
        graphTooltip=G.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
    ).auto_panel_ids()
