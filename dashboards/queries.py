"""The PromQL behind built dashboards, with Grafana's variables filled in, and a small Prometheus client.

Used by the dashboard test (every query must return data from a live engine) and by
``scripts/render_dashboards.py`` (which draws the panels from the same queries).
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

from dashboards.lint import panels


def substitute(expr: str, variables: dict[str, str]) -> str:
    """Replace ``$name`` and ``${name}`` by ``variables[name]`` (longest names first, as Grafana does)."""
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace("${" + name + "}", variables[name]).replace("$" + name, variables[name])
    return expr


def targets(dash: dict[str, Any]) -> Iterator[tuple[dict, dict]]:
    """Every ``(panel, target)`` of a dashboard, in layout order."""
    for panel in panels(dash):
        for target in panel.get("targets", []):
            yield panel, target


_LABEL_VALUES = re.compile(r"^label_values\((?:(.*),\s*)?(\w+)\)$")


def variable_queries(dash: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """``(variable, series selector or None, label)`` of each ``label_values(...)`` query variable."""
    out = []
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            m = _LABEL_VALUES.match(var["query"] if isinstance(var["query"], str) else var["query"]["query"])
            if m is None:
                raise ValueError(f"variable {var['name']}: only label_values(...) queries are supported")
            out.append((var["name"], m.group(1), m.group(2)))
    return out


class Prometheus:
    """The few HTTP API calls the tests and the renderer need (``/api/v1/...``)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str, params: list[tuple[str, str]]) -> Any:
        req = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = json.load(resp)
        except urllib.error.HTTPError as exc:  # 400 with a JSON error for a query that does not parse
            body = json.load(exc)
        if body.get("status") != "success":
            raise PromQLError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """An instant query: the result vector (a scalar comes back as one unlabelled sample)."""
        params = [("query", expr)] + ([("time", f"{at:.3f}")] if at is not None else [])
        data = self._get("/api/v1/query", params)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        return self._get("/api/v1/query_range", [("query", expr), ("start", f"{start:.3f}"),
                                                 ("end", f"{end:.3f}"), ("step", f"{step:g}")])["result"]

    def label_values(self, label: str, match: str | None = None) -> list[str]:
        return self._get(f"/api/v1/label/{label}/values", [("match[]", match)] if match else [])


class PromQLError(RuntimeError):
    """Prometheus refused a query (it does not parse, or cannot be evaluated)."""
