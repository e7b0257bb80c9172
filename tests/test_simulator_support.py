"""Inbound support in the simulated store: customers write in, agents label it later.

A store owner turns support on and expects: the rest of the store unchanged, messages in
the customers' languages about what happened to them, labels hours later (not always),
hostile and broken messages counted, and a ground-truth row per message that says what it
is about.
"""

from __future__ import annotations

import collections
import json
import re
import zoneinfo

import pytest

from forewarn.apps.simulator import SimSpec, generate, phrasing
from forewarn.apps.simulator.reference import TIMEZONES
from forewarn.core.timefmt import DAY, parse_rfc3339
from forewarn.engine.config import Config

WINDOW = {"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"}
CHANNELS = {"email", "chat", "sms", "phone", "social"}


@pytest.fixture(scope="module")
def plain():
    return generate(SimSpec(customers=400, seed=5, duplicate_rate=0.02, **WINDOW), Config())


@pytest.fixture(scope="module")
def store():
    return generate(SimSpec(customers=400, seed=5, duplicate_rate=0.02, support_rate=2.0, **WINDOW), Config())


def _support(sim) -> list[dict]:
    return [json.loads(line) for line in sim.events if line.startswith(b'{"event_id":"sv')]


@pytest.fixture(scope="module")
def events(store):
    return _support(store)


@pytest.fixture(scope="module")
def messages(store):
    return {r["subject"]: r for r in store.truth if r["kind"] == "support_message"}


def test_support_leaves_every_other_event_and_truth_row_alone(plain, store):
    others = [line for line in store.events if not line.startswith(b'{"event_id":"sv')]
    assert others == plain.events
    assert [r for r in store.truth if r["kind"] != "support_message"] == plain.truth


def test_same_seed_same_messages_other_seed_others(store, events):
    again = generate(SimSpec(customers=400, seed=5, duplicate_rate=0.02, support_rate=2.0, **WINDOW), Config())
    assert again.events == store.events and again.truth == store.truth
    other = generate(SimSpec(customers=400, seed=6, support_rate=2.0, **WINDOW), Config())
    assert {e["body"] for e in _support(other) if "body" in e}.isdisjoint(
        {e["body"] for e in events if "body" in e and len(e["body"]) > 80})


def test_stream_stays_in_event_time_order(store):
    times = [parse_rfc3339(json.loads(line)["ts"]) for line in store.events]
    assert all(a <= b + 120 * 10**6 * 2 for a, b in zip(times, times[1:]))  # redeliveries: up to 2 min late
    support_times = [parse_rfc3339(e["ts"]) for e in _support(store)]
    assert support_times == sorted(support_times)


def test_every_customer_gets_a_v11_profile_consistent_with_their_country(store, events):
    shipped = collections.defaultdict(collections.Counter)
    for line in store.events:
        d = json.loads(line)
        if d["type"] == "order.placed":
            shipped[d["customer_id"]][d["shipping_address"]["country"]] += 1
    profiles = [e for e in events if e["type"] == "customer.updated"]
    assert len({p["customer_id"] for p in profiles}) == len(profiles) == 400
    at_home = []
    for p in profiles:
        assert p["language"].split("-")[0] in phrasing.LANGUAGES
        zoneinfo.ZoneInfo(p["timezone"])  # a real IANA zone
        if shipped[p["customer_id"]]:  # where most of their orders go: home, as a rule
            home = shipped[p["customer_id"]].most_common(1)[0][0]
            at_home.append(p["timezone"] in TIMEZONES.get(home, ()))
        if "phone" in p:
            assert re.fullmatch(r"\+?[0-9 ]{8,20}", p["phone"])
        assert set(p.get("consent", {})) <= {"marketing"}
    assert sum(at_home) / len(at_home) > 0.97
    languages = collections.Counter(p["language"].split("-")[0] for p in profiles)
    assert set(languages) == set(phrasing.LANGUAGES)  # de, fr, es, pt customers besides en


def test_messages_are_written_in_the_customers_language(events, messages):
    language = {e["customer_id"]: e["language"].split("-")[0] for e in events if e["type"] == "customer.updated"}
    for row in messages.values():
        assert row["language"] == language[row["customer_id"]]
        assert row["family"].split("/")[:2] == [row["intent"], row["language"]]
    by_language = collections.Counter(r["language"] for r in messages.values())
    assert by_language["de"] > 50 and by_language["fr"] > 20 and by_language["es"] > 10 and by_language["pt"] > 0


def test_one_truth_row_per_valid_message_and_the_invalid_ones_counted(store, events, messages):
    sent = [e for e in events if e["type"] == "support.message"]
    invalid = [e for e in sent if not e["body"].strip() or e["channel"] not in CHANNELS
               or len(json.dumps(e)) > 256 * 1024]
    assert store.stats["support_invalid"] == len(invalid) > 0
    valid_ids = {e["message_id"] for e in sent if e not in invalid}
    assert valid_ids == set(messages)
    assert store.stats["support_messages"] == len(valid_ids)
    repeats = len(sent) - len(invalid) - len(valid_ids)
    assert store.stats["support_duplicates"] == repeats > 0  # redeliveries and webhook retries
    assert {len(e["body"]) > 1_000_000 for e in invalid} == {True, False}  # megabyte and empty bodies


def test_hostile_bodies_stay_valid_and_are_marked(events, messages):
    hostile = {r["subject"]: r["hostile"] for r in messages.values() if r["hostile"]}
    assert set(hostile.values()) == {"markup", "injection", "control_chars", "long_paste"}
    bodies = {e["message_id"]: e["body"] for e in events if e["type"] == "support.message"}
    for mid, how in hostile.items():
        if how == "long_paste":
            assert len(bodies[mid]) > 30_000
        if how == "markup":
            assert "<" in bodies[mid] or "javascript:" in bodies[mid]


def test_labels_come_later_some_never_some_corrected_by_qa(events, messages):
    sent = {e["message_id"]: parse_rfc3339(e["ts"]) for e in events if e["type"] == "support.message"}
    labels = collections.defaultdict(list)
    for e in events:
        if e["type"] == "support.labelled":
            labels[e["message_id"]].append(e)
    orphans = [mid for mid in labels if mid not in sent]
    assert orphans  # a label for a message never seen
    for mid, given in labels.items():
        if mid in orphans:
            continue
        first = given[0]
        delay = parse_rfc3339(first["ts"]) - sent[mid]
        assert first["by"] == "agent" and 0 < delay <= 2 * DAY
        assert all(g["by"] == "qa" and g["intent"] == messages[mid]["intent"] for g in given[1:])
        assert messages[mid]["labelled"] and messages[mid]["label"] == given[-1]["intent"]
    unlabelled = [r for r in messages.values() if not r["labelled"]]
    assert 0.05 < len(unlabelled) / len(messages) < 0.3
    assert any(len(g) == 2 for g in labels.values())  # a QA correction


def test_order_numbers_in_the_text_belong_to_the_customer_unless_planted_wrong(store, events, messages):
    orders = collections.defaultdict(set)
    for line in store.events:
        d = json.loads(line)
        if d["type"] == "order.placed":
            orders[d["customer_id"]].add(d["order_id"])
    bodies = {e["message_id"]: e for e in events if e["type"] == "support.message"}
    right = wrong = 0
    for mid, row in messages.items():
        if row["order_id"] is not None:
            assert row["order_id"] in orders[row["customer_id"]]
        if "order_id" in bodies[mid]:
            assert bodies[mid]["order_id"] == row["order_id"]
        quoted = row["quoted_order_id"]
        if quoted is None:
            continue
        number = str(int(quoted.split("_")[1]))
        text = bodies[mid]["body"] + (bodies[mid].get("subject") or "")
        if row["hostile"] is None:
            assert number in text or quoted in text or quoted.upper() in text
        if quoted == row["order_id"]:
            right += 1
        else:
            wrong += 1
    assert right > 10 * wrong > 0


def test_links_are_earlier_truth_rows_of_the_same_order(store, messages):
    rows = collections.defaultdict(list)  # a subject may have several episodes (stalled twice)
    for r in store.truth:
        if r["kind"] != "support_message":
            rows[(r["kind"], r["subject"])].append(r)
    linked = 0
    for row in messages.values():
        for link in row["links"]:
            earlier = [o for o in rows[(link["kind"], link["subject"])] if o["fired_at"] <= row["fired_at"]]
            assert earlier and all(o["customer_id"] == row["customer_id"] and o["order_id"] == row["order_id"]
                                   for o in earlier)
            linked += 1
        if row["order_id"] is None:
            assert row["links"] == []
    late_wismo = [r for r in messages.values() if r["intent"] == "where_is_my_order" and r["links"]]
    assert linked and late_wismo
    assert any(r["intent"] == "where_is_my_order" and not r["links"] for r in messages.values())  # impatient


def test_flags_answerable_and_variety(events, messages):
    rows = list(messages.values())
    flags = collections.Counter(f for r in rows for f in r["flags"])
    assert set(flags) == set(phrasing.FLAGS)
    for r in rows:
        assert r["answerable"] == (r["intent"] in phrasing.ANSWERABLE
                                   and not {"angry", "legal_threat", "chargeback_threat"} & set(r["flags"]))
        if r["intent"] == "feedback":
            assert set(r["flags"]) <= {"repeat_contact", "angry"}
    assert len({r["intent"] for r in rows}) >= 11  # damaged parcels are rare in a small store
    assert {r["channel"] for r in rows} == CHANNELS
    bodies = [e["body"] for e in events if e["type"] == "support.message" and e["body"].strip()]
    assert len(set(bodies)) / len(bodies) > 0.95  # composed, not a handful of fixed strings
    assert len({r["family"] for r in rows}) > 100


def test_the_engine_decodes_every_support_event_but_the_planted_invalid_ones(store):
    from forewarn.core import events as ev

    decoded = collections.Counter()
    refused = collections.Counter()
    for line in store.events:
        if not line.startswith(b'{"event_id":"sv'):
            continue
        e = ev.decode(line)
        if isinstance(e, ev.Invalid):
            refused[e.reason] += 1
        else:
            decoded[type(e).__name__] += 1
    assert sum(refused.values()) == store.stats["support_invalid"]
    assert set(refused) <= {"bad_value", "too_large"}
    assert decoded["SupportMessage"] == store.stats["support_messages"] + store.stats["support_duplicates"]
    assert decoded["SupportLabelled"] == store.stats["support_labels"] + store.stats["support_orphan_labels"]
    assert decoded["CustomerUpdated"] == store.stats["support_profiles"] == 400
