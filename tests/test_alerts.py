"""The alert rules are valid (promtool check rules) and fire when, and only when, they should
(promtool test rules on series that must and must not fire each one)."""

import shutil
import subprocess

from tests.conftest import REPO

RULES = REPO / "deploy/prometheus/alerts.yml"
RULE_TESTS = REPO / "deploy/prometheus/alerts_test.yml"
PROMTOOL = shutil.which("promtool")


def _promtool(*args: str) -> subprocess.CompletedProcess:
    assert PROMTOOL, "promtool not found; install Debian's prometheus package (scripts/services.sh start does)"
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True)


def test_promtool_accepts_the_rules():
    done = _promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 9 rules found" in done.stdout


def test_each_alert_fires_on_its_condition_and_not_beside_it():
    done = _promtool("test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_rule_has_a_test_and_a_runbook_line():
    import yaml

    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    tested = {t["alertname"] for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for t in case["alert_rule_test"] if t.get("exp_alerts")}
    assert {r["alert"] for r in rules} == tested
    for r in rules:
        assert r["labels"]["severity"] in {"page", "warning"} and r["annotations"]["description"], r["alert"]


def test_prometheus_loads_the_rules_with_its_config():
    done = _promtool("check", "config", str(REPO / "deploy/prometheus/prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
