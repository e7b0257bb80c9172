"""Check built dashboard JSON against Grafana's dashboard linter rules and what Grafana needs to load it.

The rules (after github.com/grafana/dashboard-linter): a ``datasource`` template variable of
type datasource for Prometheus; ``job`` and ``instance`` query variables (multi, all = ``.+``,
refreshed on time range change, reading ``$datasource``); every panel with a unique id, a
position, a title, a description, a known unit, the templated data source (by uid) and at
least one target; every query selecting ``job=~"$job", instance=~"$instance"``, counters
(``*_total``) only inside ``rate``/``irate``/``increase``, rates over ``$__rate_interval``,
histogram buckets only inside ``histogram_quantile`` (or a heatmap target).
"""

from __future__ import annotations

import re
from typing import Any

MIN_SCHEMA_VERSION = 36  # Grafana 9.3+: datasources referenced by uid
TEMPLATED_UIDS = ("$datasource", "${datasource}")
# The units these dashboards use, all in Grafana's unit registry (and the linter's list).
UNITS = frozenset({"none", "short", "percent", "percentunit", "s", "ms", "cps", "cpm", "ops", "Bps", "bytes",
                   "currencyEUR", "currencyUSD", "currencyGBP", "dateTimeAsIso", "bool"})
UNIT_PANELS = frozenset({"stat", "singlestat", "graph", "table", "timeseries", "gauge", "heatmap", "bargauge"})

_COUNTER = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*_total)\b(\{[^}]*\})?")
_RANGE_FN = re.compile(r"\b(rate|irate)\(\s*[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})?\[([^\]]*)\]")
_BUCKET = re.compile(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*_bucket\b")
_METRIC = re.compile(r"(?<![\w\"$])(forewarn_[a-zA-Z0-9_]+|up)\b(?!\s*\()")
_SCOPE = 'job=~"$job", instance=~"$instance"'


def lint(dash: dict[str, Any]) -> list[str]:
    """Every problem found in one dashboard's JSON, as ``dashboard / panel: what`` lines."""
    name = dash.get("title") or dash.get("uid") or "<untitled>"
    out = [f"{name}: {p}" for p in _dashboard(dash)]
    ids = set()
    for panel in panels(dash):
        where = f"{name} / {panel.get('title') or panel.get('id')}"
        pid = panel.get("id")
        if not isinstance(pid, int) or pid in ids:
            out.append(f"{where}: panel id {pid!r} missing or not unique")
        ids.add(pid)
        out.extend(f"{where}: {p}" for p in _panel(panel))
        for t in panel.get("targets", []):
            out.extend(f"{where} [{t.get('refId')}]: {p}" for p in target_problems(t, panel.get("type", "")))
    return out


def panels(dash: dict[str, Any]) -> list[dict]:
    """All panels, including those nested in collapsed rows."""
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))
    return [p for p in out if p.get("type") != "row"]


def _dashboard(dash: dict) -> list[str]:
    out = []
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < MIN_SCHEMA_VERSION:
        out.append(f"schemaVersion {dash.get('schemaVersion')!r}: must be an int >= {MIN_SCHEMA_VERSION}")
    for key in ("uid", "title"):
        if not dash.get(key):
            out.append(f"no {key}")
    if dash.get("rows"):
        out.append("uses legacy rows; Grafana 11 wants panels with gridPos")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if ds is None or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        out.append("no template variable 'datasource' of type datasource for prometheus")
    elif ds.get("label") != "Data source":
        out.append("the datasource variable should be labelled 'Data source'")
    for var in ("job", "instance"):
        v = variables.get(var)
        if v is None:
            out.append(f"no template variable '{var}'")
            continue
        if v.get("type") != "query" or not _templated(v.get("datasource")):
            out.append(f"variable '{var}' must be a query on $datasource")
        if not v.get("multi") or v.get("allValue") != ".+":
            out.append(f"variable '{var}' must be multi-select with allValue '.+'")
    for v in variables.values():
        if v.get("type") == "query" and v.get("refresh") != 2:
            out.append(f"variable '{v.get('name')}' must refresh on time range change (2)")
    return out


def _panel(panel: dict) -> list[str]:
    out = []
    if not panel.get("title"):
        out.append("no title")
    if not panel.get("description"):
        out.append("no description")
    if not isinstance(panel.get("gridPos"), dict):
        out.append("no gridPos")
    if not _templated(panel.get("datasource")):
        out.append(f"datasource {panel.get('datasource')!r} is not the templated one by uid")
    if panel.get("type") in UNIT_PANELS:
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if unit not in UNITS:
            out.append(f"unit {unit!r} missing or unknown")
    if not panel.get("targets"):
        out.append("no targets")
    refs = [t.get("refId") for t in panel.get("targets", [])]
    if len(set(refs)) != len(refs) or not all(refs):
        out.append(f"refIds {refs} must be unique and set")
    return out


def _templated(datasource: Any) -> bool:
    """A reference by uid to the ``$datasource`` variable (a bare name is the pre-uid style)."""
    return isinstance(datasource, dict) and datasource.get("uid") in TEMPLATED_UIDS


def target_problems(target: dict, panel_type: str = "") -> list[str]:
    """What breaks the query rules in one target."""
    expr = target.get("expr", "")
    out = []
    if not _templated(target.get("datasource")):
        out.append("target datasource is not the templated one by uid")
    if not expr:
        return out + ["empty expr"]
    for m in _COUNTER.finditer(expr):
        before, after = expr[:m.start()], expr[m.end():]
        if not (re.search(r"\b(rate|irate|increase)\(\s*$", before) and after.lstrip().startswith("[")):
            out.append(f"counter {m.group(1)} used outside rate/irate/increase")
    for m in _RANGE_FN.finditer(expr):
        if m.group(3) != "$__rate_interval":
            out.append(f"{m.group(1)} over [{m.group(3)}]: use [$__rate_interval]")
    if _BUCKET.search(expr) and "histogram_quantile(" not in expr and target.get("format") != "heatmap":
        out.append("histogram buckets outside histogram_quantile (or a heatmap target)")
    for m in _METRIC.finditer(expr):
        if not expr[m.end():].startswith("{" + _SCOPE):
            out.append(f"{m.group(1)} does not select {_SCOPE}")
    return out
