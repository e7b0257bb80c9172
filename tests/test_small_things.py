"""What users hit in their first minutes: output into `| head`, the queue's Redis named, the demo's
lanes written as the queues name them, and help text on every option."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from forewarn.apps import cli
from tests.conftest import REPO
from tests.queue_helpers import delete_prefix, enqueue, trigger


def _closed_pipe(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run forewarn with its stdout a pipe whose reader has gone, as `| head` leaves it."""
    p = subprocess.Popen([sys.executable, "-m", "forewarn", *args], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    p.stdout.close()
    err = p.stderr.read().decode()
    return subprocess.CompletedProcess(p.args, p.wait(), "", err)


def test_score_into_a_closed_pipe_ends_quietly(tmp_path):
    truth, triggers = tmp_path / "truth.jsonl", tmp_path / "triggers.jsonl"
    truth.write_text("")
    triggers.write_text("")
    done = _closed_pipe("score", "--truth", str(truth), "--triggers", str(triggers))
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


@pytest.mark.services
def test_queue_pull_into_a_closed_pipe_acknowledges_nothing_and_loses_nothing(services, namespace, redis_client):
    prefix = f"{namespace}:"
    env = {"FOREWARN_REDIS_URL": services["redis"], "FOREWARN_REDIS_PREFIX": prefix}
    try:
        enqueue(services["redis"], prefix, [trigger(i, "human", "p1") for i in (1, 2, 3)])
        done = _closed_pipe("queue", "pull", "--json", "--ack", "--count", "3", env=env)
        assert done.returncode == 5, done.stderr
        assert "Traceback" not in done.stderr
        assert f"forewarn queue: Redis {services['redis']}, prefix '{prefix}'" in done.stderr
        assert "none of the 3 entries pulled is acknowledged" in done.stderr
        # They are still there for the helpdesk: pending, handed out again after the visibility timeout.
        reclaimed = subprocess.run([sys.executable, "-m", "forewarn", "queue", "reclaim", "--min-idle", "0", "--json"],
                                   cwd=REPO, capture_output=True, text=True, env={**os.environ, **env})
        assert reclaimed.returncode == 0, reclaimed.stderr
        assert sorted(j["trigger"]["trigger_id"] for j in json.loads(reclaimed.stdout)) == \
            sorted(trigger(i, "human", "p1").trigger_id for i in (1, 2, 3))
    finally:
        delete_prefix(redis_client, prefix)


def test_the_demo_writes_lanes_as_the_queues_name_them(capsys):
    assert cli.main(["demo", "--customers", "60", "--days", "10", "--limit", "5"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line[:4].isdigit()]
    assert rows
    for row in rows:
        lane = row.split()[2]
        assert lane.split(":")[0] in ("human", "ai") and lane.split(":")[1] in ("p1", "p2", "p3", "p4"), row


def _walk(parser: argparse.ArgumentParser, path: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield path, action


def test_every_option_of_every_command_has_help_text():
    missing = [f"{path} {'/'.join(a.option_strings) or a.dest}" for path, a in _walk(cli.parser(), "forewarn")
               if not (a.help and a.help.strip())]
    assert missing == []


def test_a_backtest_of_bad_lines_says_how_many_and_which_and_nothing_valid_fails(tmp_path, capsys):
    good = json.dumps({"event_id": "e1", "type": "customer.activity", "ts": "2026-11-20T10:00:00Z",
                       "customer_id": "c1", "kind": "session"})
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(f"{good}\nnot json\n{{\"type\": \"order.placed\"}}\n")
    out = tmp_path / "t.jsonl"
    assert cli.main(["backtest", "--input", str(mixed), "--output", str(out), "--workers", "1"]) == 0
    said = capsys.readouterr().err.splitlines()[-1]
    assert said.startswith("backtest: 2 invalid line(s) (") and said.endswith(
        "), left out; --deadletter FILE writes each with its line and error")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n{}\n")
    assert cli.main(["backtest", "--input", str(bad), "--output", str(out), "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert f"backtest: no valid event in {bad}: nothing to replay" in err


def test_a_second_stack_s_prometheus_scrapes_its_own_engine(tmp_path):
    import shutil

    import yaml

    env = {**os.environ, "FOREWARN_CACHE": str(tmp_path), "FOREWARN_PROM_PORT": "19090",
           "FOREWARN_METRICS_PORT": "19108"}
    done = subprocess.run(["bash", "scripts/services.sh", "prometheus-config"], cwd=REPO, capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "run" / "prometheus" / "prometheus.yml"
    assert done.stdout.strip() == str(written)
    config = yaml.safe_load(written.read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {"forewarn": ["127.0.0.1:19108"], "prometheus": ["127.0.0.1:19090"]}
    assert config["rule_files"] == [str(REPO / "deploy" / "prometheus" / "alerts.yml")]
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "config", str(written)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_simulate_without_an_end_pins_it_and_says_how_to_get_the_same_events_again(tmp_path):
    def simulate(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "forewarn", "simulate", "--customers", "20", "--days", "3",
                               "--seed", "5", "--truth", "", *extra], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})

    first = simulate("--output", "first.jsonl")
    assert first.returncode == 0, first.stderr
    said = first.stderr.strip().splitlines()[-1]
    assert said.startswith("simulate: the window ends now, ") and " gives these events again" in said
    end = said.split("--end ")[1].split()[0]
    assert end.endswith(":00Z") and said.startswith(f"simulate: the window ends now, {end}; --seed 5 --end {end}")
    again = simulate("--output", "again.jsonl", "--end", end)
    assert again.returncode == 0, again.stderr
    assert "the window ends now" not in again.stderr  # pinned by the user: nothing to say
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "first.jsonl").read_bytes()


@pytest.mark.services
@pytest.mark.parametrize("command", [["stats"], ["peek"], ["peek", "--pending"], ["peek", "--failed"],
                                     ["pull", "--count", "2"], ["reclaim", "--min-idle", "0"]])
def test_queue_commands_name_their_redis_on_stderr_and_keep_stdout_pure_json(services, namespace, redis_client,
                                                                           command):
    prefix = f"{namespace}:"
    env = {**os.environ, "FOREWARN_REDIS_URL": services["redis"], "FOREWARN_REDIS_PREFIX": prefix}
    try:
        enqueue(services["redis"], prefix, [trigger(i, "human", "p2") for i in (1, 2, 3)])
        done = subprocess.run([sys.executable, "-m", "forewarn", "queue", *command, "--json"], cwd=REPO,
                              capture_output=True, text=True, env=env)
        assert done.returncode in (0, 1), done.stderr  # 1: nothing to do (no dead letter, nothing pending)
        assert done.stderr.splitlines()[0] == f"forewarn queue: Redis {services['redis']}, prefix '{prefix}'"
        json.loads(done.stdout)  # the whole of stdout is one JSON document
    finally:
        delete_prefix(redis_client, prefix)
