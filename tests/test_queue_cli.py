"""``forewarn queue``: what a script sees (JSON, exit codes) and what a person reads (tables, next steps)."""

from __future__ import annotations

import io
import json

import pytest

from forewarn.apps.cli import main
from sinks.redis_queue import lane_key
from tests.queue_helpers import delete_prefix, enqueue, trigger

pytestmark = pytest.mark.services


@pytest.fixture
def prefix(namespace, redis_client, services, monkeypatch):
    p = f"{namespace}:"
    monkeypatch.setenv("FOREWARN_REDIS_URL", services["redis"])
    monkeypatch.setenv("FOREWARN_REDIS_PREFIX", p)
    yield p
    delete_prefix(redis_client, p)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["queue", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str):
    code, out, _err = run(capsys, *argv, "--json")
    return code, json.loads(out)


def test_a_script_works_the_queue_with_json_and_exit_codes(services, prefix, capsys):
    assert run(capsys, "pull")[0] == 1  # empty
    assert run(capsys, "peek")[0] == 1
    enqueue(services["redis"], prefix, [trigger(1, "ai", "p3"), trigger(2, "human", "p1"), trigger(3, "ai", "p3")])

    code, peeked = run_json(capsys, "peek")
    assert code == 0 and [p["trigger"]["trigger_id"] for p in peeked] == ["trg00002", "trg00001", "trg00003"]

    code, pulled = run_json(capsys, "pull", "--count", "2")
    assert code == 0
    assert [(j["queue"], j["trigger"]["trigger_id"], j["deliveries"]) for j in pulled] == \
        [("human:p1", "trg00002", 1), ("ai:p3", "trg00001", 1)]

    code, stats = run_json(capsys, "stats")
    lanes = {s["queue"]: s for s in stats["queues"]}
    [group] = lanes["ai:p3"]["groups"]
    assert code == 0 and (group["group"], group["waiting"], group["pending"], group["depth"]) == ("helpdesk", 1, 1, 2)
    assert stats["failed"] == 0

    code, pending = run_json(capsys, "peek", "--pending")
    assert code == 0 and sorted(p["handle"] for p in pending) == sorted(j["handle"] for j in pulled)
    assert all(p["consumer"].startswith("cli@") and p["deliveries"] == 1 for p in pending)

    handles = [j["handle"] for j in pulled]
    code, acked = run_json(capsys, "ack", *handles)
    assert code == 0 and acked == {"acked": 2, "not_pending": []}
    code, acked = run_json(capsys, "ack", *handles)
    assert code == 1 and acked == {"acked": 0, "not_pending": handles}  # nothing left to do


def test_reclaim_then_dead_letter_then_replay_from_the_command_line(services, prefix, capsys, tmp_path):
    enqueue(services["redis"], prefix, [trigger(1, "human", "p2")])
    assert run_json(capsys, "pull", "--consumer", "a")[0] == 0
    code, taken = run_json(capsys, "reclaim", "--consumer", "b", "--min-idle", "0")
    assert code == 0 and [(j["trigger"]["trigger_id"], j["deliveries"]) for j in taken] == [("trg00001", 2)]
    assert run(capsys, "reclaim", "--min-idle", "3600")[0] == 1  # nothing idle that long

    cfg = tmp_path / "forewarn.toml"
    cfg.write_text("[queue]\nmax_deliveries = 2\n")
    code, out, err = run(capsys, "reclaim", "--min-idle", "0", "--config", str(cfg))
    assert code == 0 and "moved to" in err and "forewarn:queue:failed" in err

    code, letters = run_json(capsys, "peek", "--failed")
    assert code == 0 and [(d["queue"], d["deliveries"], d["trigger"]["trigger_id"]) for d in letters] == \
        [("human:p2", 3, "trg00001")]
    code, out, _ = run(capsys, "stats")
    assert "1 dead letter(s)" in out and "replay-deadletter --all" in out

    assert run(capsys, "replay-deadletter")[0] == 2  # which ones?
    assert run(capsys, "replay-deadletter", "human:p2")[0] == 2  # a lane is not a dead-letter id
    code, replayed = run_json(capsys, "replay-deadletter", letters[0]["id"])
    assert code == 0 and [(r["queue"], r["trigger_id"]) for r in replayed] == [("human:p2", "trg00001")]
    assert run(capsys, "replay-deadletter", "--all")[0] == 1  # none left
    code, again = run_json(capsys, "pull")
    assert [(j["id"], j["deliveries"]) for j in again] == [(replayed[0]["id"], 1)]


def test_tables_for_people_and_ack_reads_handles_from_stdin(services, prefix, capsys, monkeypatch):
    enqueue(services["redis"], prefix, [trigger(1, "human", "p1", kind="payment_disputed")])
    code, out, err = run(capsys, "pull")
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["HANDLE", "DELIVERIES", "KIND", "CUSTOMER", "ORDER", "FIRED_AT"]
    handle = row.split()[0]
    assert row.split()[1:] == ["1", "payment_disputed", "c1", "o1", "2026-11-04T22:00:00Z"]
    assert f"forewarn queue ack {handle}" in err

    code, out, _ = run(capsys, "stats", "--route", "human")
    assert [line.split()[0] for line in out.splitlines()[1:5]] == ["human:p1", "human:p2", "human:p3", "human:p4"]
    monkeypatch.setattr("sys.stdin", io.StringIO(handle + "\n"))
    assert run(capsys, "ack", "-")[:2] == (0, "acknowledged 1 of 1\n")


def test_errors_say_what_to_do_with_distinct_exit_codes(services, prefix, capsys, monkeypatch, redis_client):
    code, _out, err = run(capsys, "ack", "human:p1")
    assert code == 2 and "expected lane/id such as human:p1/1718000000000-0" in err
    code, _out, err = run(capsys, "stats", "--config", "/nonexistent/forewarn.toml")
    assert code == 2 and "pass --config FILE or create it" in err

    redis_client.set(lane_key(prefix, "human:p1"), "not a stream")
    code, _out, err = run(capsys, "pull")
    assert code == 4 and "refused" in err and "WRONGTYPE" in err

    monkeypatch.setenv("FOREWARN_REDIS_URL", "redis://:secret@127.0.0.1:1/0")
    code, _out, err = run(capsys, "stats")
    assert code == 3 and "cannot reach Redis at redis://127.0.0.1:1/0" in err and "FOREWARN_REDIS_URL" in err
    assert "secret" not in err


def test_an_agent_reviews_an_edited_draft_of_a_queued_trigger_before_sending(services, prefix, capsys):
    from forewarn.engine.config import from_dict
    from outreach.step import OutreachStep

    t = trigger(7, "ai", "p3")
    t.customer.update({"name": "Anna Müller", "language": "de", "country": "DE"})
    t.evidence.update({"carrier": "DHL", "estimated_delivery_at": "2026-11-03T12:00:00Z", "routing": []})
    t = OutreachStep(from_dict({}))(t)
    enqueue(services["redis"], prefix, [t])
    code, [entry] = run_json(capsys, "peek")
    assert code == 0 and entry["trigger"]["drafts"][0]["channel"] == "email"
    body = entry["trigger"]["drafts"][0]["body"]
    code, result = run_json(capsys, "review", entry["handle"], "--channel", "email", "--body", body)
    assert code == 0 and result == {"ok": True, "findings": []}
    edited = body.replace("DHL", "[CARRIER]")
    code, result = run_json(capsys, "review", entry["handle"], "--channel", "email", "--body", edited)
    assert code == 1 and result["ok"] is False
    [finding] = [f for f in result["findings"] if f["code"] == "placeholder"]
    start, end = finding["span"]
    assert edited[start:end] == "[CARRIER]"
    code, _out, err = run(capsys, "review", "ai:p3/1-0", "--channel", "email", "--body", body)
    assert code == 2 and "no such trigger" in err
