"""The dashboards build to valid Grafana JSON that keeps the linter's rules, and the lint catches what it must."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import yaml

from dashboards.build import DashboardError, build, render, sources
from dashboards.lint import lint, panels, target_problems
from tests.conftest import REPO

TITLES = {"forewarn / Support lead", "forewarn / Detector tuning", "forewarn / Pipeline health"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("dashboards")
    return {p.stem: json.loads(p.read_text()) for p in build(out)}


def test_build_writes_one_json_per_source_that_grafana_can_load(built):
    assert set(built) == {p.name.removesuffix(".dashboard.py") for p in sources()}
    assert {d["title"] for d in built.values()} == TITLES
    for name, dash in built.items():
        assert dash["schemaVersion"] >= 36 and dash["uid"].startswith("forewarn-"), name
        ids = [p["id"] for p in panels(dash)]
        assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids), name
        for panel in panels(dash):
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["title"] and panel["description"], panel
            assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
            pos = panel["gridPos"]
            assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, panel["title"]
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"]), panel["title"]
        variable = {v["name"]: v for v in dash["templating"]["list"]}["datasource"]
        assert (variable["type"], variable["query"], variable["current"]["value"]) == ("datasource", "prometheus", "prometheus")
        assert lint(dash) == [], name


def test_panels_do_not_overlap(built):
    for name, dash in built.items():
        cells = set()
        for panel in panels(dash):
            pos = panel["gridPos"]
            mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
            assert not cells & mine, f"{name}: {panel['title']} overlaps another panel"
            cells |= mine


def test_the_cli_builds_into_the_directory_grafana_is_provisioned_from(tmp_path):
    out = tmp_path / "build"
    done = subprocess.run([sys.executable, "-m", "forewarn.apps.cli", "dashboards", "build", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.glob("*.json")) == ["detector_tuning.json", "pipeline_health.json", "support_lead.json"]

    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert "dashboards:/var/lib/grafana/dashboards:ro" in compose["services"]["grafana"]["volumes"]
    builder = compose["services"]["dashboards"]
    assert builder["command"][-3:] == ["build", "--out", "/dashboards"]
    assert "dashboards:/dashboards" in builder["volumes"]
    provider = yaml.safe_load((REPO / "deploy/grafana/provisioning/dashboards/forewarn.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert [(d["uid"], d["type"]) for d in source["datasources"]] == [("prometheus", "prometheus")]
    scrape = yaml.safe_load((REPO / "deploy/prometheus/prometheus.compose.yml").read_text())
    assert [c["job_name"] for c in scrape["scrape_configs"]][0] == "forewarn"  # the $job the dashboards select


@pytest.mark.parametrize("expr, problem", [
    ('sum(forewarn_triggers_total{job=~"$job", instance=~"$instance"})', "outside rate"),
    ('sum(rate(forewarn_triggers_total{job=~"$job", instance=~"$instance"}[5m]))', "use [$__rate_interval]"),
    ('sum(forewarn_event_to_queue_latency_seconds_bucket{job=~"$job", instance=~"$instance"})', "outside histogram_quantile"),
    ('sum(forewarn_watermark_lag_seconds)', "does not select"),
    ('', "empty expr"),
])
def test_the_lint_refuses_queries_that_break_a_rule(expr, problem):
    target = {"expr": expr, "refId": "A", "datasource": {"type": "prometheus", "uid": "${datasource}"}}
    assert any(problem in p for p in target_problems(target)), target_problems(target)


@pytest.mark.parametrize("breakage, problem", [
    (lambda d: d["panels"][0].update(description=""), "no description"),
    (lambda d: d["panels"][0]["fieldConfig"]["defaults"].update(unit="furlongs"), "unit 'furlongs'"),
    (lambda d: d["panels"][1].update(id=d["panels"][0]["id"]), "not unique"),
    (lambda d: d["panels"][0].update(datasource="Prometheus"), "not the templated one"),
    (lambda d: d.update(schemaVersion=16), "schemaVersion"),
    (lambda d: d["templating"].update(list=d["templating"]["list"][1:]), "no template variable 'datasource'"),
])
def test_the_lint_refuses_a_broken_dashboard(breakage, problem):
    dash = copy.deepcopy(render(sources()[0]))
    breakage(dash)
    assert any(problem in p for p in lint(dash)), lint(dash)


def test_a_dashboard_that_breaks_the_rules_is_not_written(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "broken.dashboard.py").write_text(
        "from dashboards.common import dashboard, layout, sel, target, templates, timeseries\n"
        "panel = timeseries('Events', 'Events per second.', 'cps',\n"
        "                   [target(f\"sum(rate({sel('forewarn_events_total')}[5m]))\")])\n"
        "dashboard = dashboard('forewarn-broken', 'Broken', 'A test.', layout([[(panel, 24)]]), templates())\n")
    with pytest.raises(DashboardError, match=r"use \[\$__rate_interval\]"):
        build(tmp_path / "out", src)
    assert not (tmp_path / "out").exists()
