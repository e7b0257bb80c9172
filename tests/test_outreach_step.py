"""After routing: draft, review, and a draft the review blocks keeps its trigger off the ai lane."""

from __future__ import annotations

import json

import msgspec
import pytest

from flows.outputs import measure
from forewarn.apps.cli import main
from forewarn.core.trigger import Trigger
from forewarn.engine.config import from_dict
from forewarn.queue.client import TriggerQueue
from outreach.step import OutreachStep, moved_by_compliance
from sinks import metrics
from tests.factory import consent, event, order, profile, replay, shipped, tick

LANGUAGES = ("en", "de", "fr", "es", "pt")


def step(**outreach) -> OutreachStep:
    return OutreachStep(from_dict({"outreach": {"store_name": "Nordlicht", **outreach}}))


def late_parcel(**customer) -> Trigger:
    return Trigger(
        trigger_id="t1", kind="delivery_late", customer_id="c1", order_id="ord-1001", fired_at="2026-11-20T10:00:00Z",
        priority="p3", route="ai", score=None, reasons=[],
        customer={"ltv": 120.0, "orders": 3, "tier": "standard", "segment": "repeat", "name": "Anna Müller",
                  "language": "de", "country": "DE", **customer},
        outreach={"allowed": True, "channels": ["email", "sms"], "basis": "test"},
        evidence={"shipment_id": "s1", "carrier": "DHL", "estimated_delivery_at": "2026-11-18T09:00:00Z",
                  "value_at_risk": 120.0, "currency": "EUR", "routing": ["kind delivery_late: p3, ai lane"]})


def test_a_clean_draft_passes_and_the_trigger_stays_on_its_lane():
    trig = step()(late_parcel())
    assert [d["channel"] for d in trig.drafts] == ["email", "sms"]
    assert trig.compliance == {"ok": True, "findings": []}
    assert trig.route == "ai"
    assert not moved_by_compliance(trig.evidence)


def test_a_missing_fact_is_a_placeholder_block_and_sends_the_trigger_to_a_person():
    trig = late_parcel()
    del trig.evidence["estimated_delivery_at"]
    trig = step()(trig)
    assert trig.compliance["ok"] is False
    blocks = [f for f in trig.compliance["findings"] if f["severity"] == "block"]
    assert {f["code"] for f in blocks} == {"placeholder"}
    assert {f["channel"] for f in blocks} == {"email", "sms"}
    email = trig.drafts[0]
    for f in blocks:
        if f["channel"] == "email" and f["span"] is not None:
            start, end = f["span"]
            assert "{{eta}}" in email["body"][start - 2:end + 2]
    assert trig.route == "human" and trig.priority == "p3"
    assert trig.evidence["routing"][-1].startswith("compliance: draft blocked by placeholder (email), placeholder (sms)")
    assert trig.evidence["routing"][-1].endswith("so ai -> human lane")
    assert moved_by_compliance(trig.evidence)


def test_no_channel_allowed_gives_no_draft_and_nothing_to_block():
    trig = msgspec.structs.replace(late_parcel(), route="human",
                                   outreach={"allowed": False, "channels": [], "basis": "no consent on record"})
    trig = step()(trig)
    assert trig.drafts == [] and trig.compliance == {"ok": True, "findings": []}


def test_the_simulated_month_drafts_cleanly_in_every_language(simulated_month):
    s = step()
    seen = set()
    for base in simulated_month:
        for lang in LANGUAGES:
            trig = msgspec.structs.replace(
                base, customer={**base.customer, "language": lang},
                outreach={"allowed": True, "channels": ["email", "sms", "phone"], "basis": "test"},
                evidence={**base.evidence, "routing": list(base.evidence.get("routing", ()))})
            trig = s(trig)
            blocks = [f for f in trig.compliance["findings"] if f["severity"] == "block"]
            assert blocks == [], (trig.kind, lang, blocks, [d["body"] for d in trig.drafts])
            seen.update((trig.kind, d["channel"], lang) for d in trig.drafts)
    # A support_message is answered on the one channel it came in on; every other kind on all three.
    proactive = {t.kind for t in simulated_month} - {"support_message"}
    assert len({k for k in seen if k[0] in proactive}) == len(proactive) * 3 * len(LANGUAGES)


def test_the_flow_drafts_every_trigger_and_a_backtest_stays_byte_identical(tmp_path):
    story = [
        profile("2026-11-01T08:00:00Z", name="Léa Martin", language="fr", timezone="Europe/Paris"),
        consent("2026-11-01T08:00:00Z", email=True, sms=True),
        order("2026-11-01T10:00:00Z", total=1234.5, currency="EUR"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z", carrier="Colissimo"),
        tick("2026-11-06T00:00:00Z"),
    ]
    src = tmp_path / "events.jsonl"
    src.write_text("".join(json.dumps(e) + "\n" for e in story))
    runs = []
    for n in range(2):
        out = tmp_path / f"t{n}.jsonl"
        assert main(["backtest", "--input", str(src), "--output", str(out)]) == 0
        runs.append([{k: v for k, v in json.loads(line).items() if k != "emitted_at"}
                     for line in out.read_text().splitlines()])
    assert runs[0] == runs[1]
    [late] = [t for t in runs[0] if t["kind"] == "delivery_late"]
    assert list(late)[-3:] == ["evidence", "drafts", "compliance"]
    assert [d["channel"] for d in late["drafts"]] == late["outreach"]["channels"]
    [again] = [t for t in replay(story, lateness_s=300) if t.kind == "delivery_late"]
    assert late["drafts"] == again.drafts and late["compliance"] == again.compliance


def test_the_metrics_count_drafts_findings_and_blocked_triggers():
    def value(counter, *labels) -> float:
        return counter.labels(*labels)._value.get()

    before = (value(metrics.DRAFTS, "delivery_late", "sms"), value(metrics.COMPLIANCE_FINDINGS, "placeholder", "block"),
              value(metrics.DRAFTS_BLOCKED, "delivery_late"))
    trig = late_parcel()
    del trig.evidence["estimated_delivery_at"]
    measure([(step()(trig), None, 0.0)])
    after = (value(metrics.DRAFTS, "delivery_late", "sms"), value(metrics.COMPLIANCE_FINDINGS, "placeholder", "block"),
             value(metrics.DRAFTS_BLOCKED, "delivery_late"))
    assert after[0] == before[0] + 1
    assert after[1] >= before[1] + 2
    assert after[2] == before[2] + 1


def test_a_helpdesk_reviews_an_edited_draft_before_sending(tmp_path):
    trig = msgspec.to_builtins(step()(late_parcel()))
    q = TriggerQueue.from_config(from_dict({}))
    email = trig["drafts"][0]
    assert q.review(trig, "email", email["body"]) == {"ok": True, "findings": []}
    edited = email["body"].replace("Mateo", "Mateo").replace("DHL", "{{carrier}}")
    result = q.review(trig, "email", edited)
    assert result["ok"] is False
    assert [f["code"] for f in result["findings"] if f["severity"] == "block"][0] == "placeholder"
    with pytest.raises(ValueError, match="has no phone draft"):
        q.review(trig, "phone", "Hello")

    # The same from a shell, with the entry as `forewarn queue pull --json` prints it.
    entry = tmp_path / "entry.json"
    entry.write_text(json.dumps({"handle": "ai:p3/1-0", "trigger": trig}))
    assert main(["queue", "review", "--trigger", str(entry), "--channel", "email", "--body", email["body"]]) == 0
    assert main(["queue", "review", "--trigger", str(entry), "--channel", "email", "--body", edited]) == 1
    assert main(["queue", "review", "--trigger", str(entry), "--channel", "phone", "--body", "x"]) == 2


def test_the_queue_package_does_not_load_river_or_bytewax_for_a_review():
    import subprocess
    import sys
    code = ("import sys, forewarn.queue.cli, outreach.review, outreach.drafts, outreach.step; "
            "print(any(m.split('.')[0] in ('river', 'bytewax') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_vip_and_a_first_time_buyer_are_addressed_differently(lang):
    s = step()
    vip = s(late_parcel(language=lang, segment="vip")).drafts[0]["body"]
    new = s(late_parcel(language=lang, segment="new")).drafts[0]["body"]
    assert vip.split("\n")[0] != new.split("\n")[0] or vip.split("\n")[-1] != new.split("\n")[-1]
    assert vip != new


def test_event_facts_reach_the_draft(tmp_path):
    story = [
        profile("2026-11-01T08:00:00Z", name="Jonas Weber"),
        consent("2026-11-01T08:00:00Z", email=True),
        order("2026-11-01T10:00:00Z", total=59.9, currency="EUR"),
        shipped("2026-11-02T10:00:00Z", eta="2026-11-04T10:00:00Z", carrier="Hermes"),
        event("customer.activity", "2026-11-06T00:00:00Z", customer_id="other", kind="session"),
    ]
    [late] = [t for t in replay(story, lateness_s=0) if t.kind == "delivery_late"]
    [email] = late.drafts
    assert email["language"] == "en"
    assert "Hi Jonas," in email["body"] and "with Hermes" in email["body"] and "November 4" in email["body"]


def test_quiet_hours_move_sms_and_phone_but_not_email_and_the_draft_is_reviewed_as_sent_then():
    s = step()
    # 05:30 UTC is 06:30 in Berlin (winter): the sms waits for 08:00 local, 07:00 UTC.
    trig = msgspec.structs.replace(late_parcel(timezone="Europe/Berlin"), fired_at="2026-11-20T05:30:00Z")
    email, sms = s(trig).drafts
    assert email["send_after"] == "2026-11-20T05:30:00Z"
    assert sms["send_after"] == "2026-11-20T07:00:00Z"
    assert trig.compliance["ok"] is True  # reviewed at 08:00 local, not at 06:30
    # 22:15 in Paris (country only): the next morning at 08:00 local.
    late = msgspec.structs.replace(late_parcel(language="fr", country="FR"), fired_at="2026-11-20T21:15:00Z")
    assert s(late).drafts[1]["send_after"] == "2026-11-21T07:00:00Z"
    # Spain without a time zone: Madrid and the Canary Islands (an hour behind) must both be awake.
    spain = msgspec.structs.replace(late_parcel(language="es", country="ES"), fired_at="2026-11-20T21:15:00Z")
    assert s(spain).drafts[1]["send_after"] == "2026-11-21T08:00:00Z"
    # Inside the window: at once.
    noon = late_parcel(timezone="Europe/London")
    assert s(noon).drafts[1]["send_after"] == noon.fired_at
    # Nothing known about where the customer lives: nothing to move it by, nothing to check.
    unknown = msgspec.structs.replace(late_parcel(country=None), fired_at="2026-11-20T02:00:00Z")
    assert s(unknown).drafts[1]["send_after"] == "2026-11-20T02:00:00Z"
    # A custom window in [compliance] moves it too: one source for quiet hours.
    narrow = OutreachStep(from_dict({"compliance": {"quiet_hours_start": "20:00", "quiet_hours_end": "10:00"}}))
    assert narrow(msgspec.structs.replace(late_parcel(timezone="Europe/Berlin"), fired_at="2026-11-20T08:30:00Z")) \
        .drafts[1]["send_after"] == "2026-11-20T09:00:00Z"


def support_message(intent: str | None, channel: str, language: str, flags: list[str] = (), **facts) -> Trigger:
    return Trigger(
        trigger_id="t3", kind="support_message", customer_id="c1", order_id="ord-7", fired_at="2026-11-20T23:30:00Z",
        priority="p3", route="ai", score=0.9, reasons=[],
        customer={"segment": "loyal", "name": "Léa Martin", "language": language, "country": "FR"},
        outreach={"allowed": False, "channels": [], "basis": "no consent on record"},
        evidence={"triage": {"message_id": "m1", "intent": intent, "confidence": 0.9, "flags": list(flags),
                             "order_id": "ord-7", "linked": []}, "channel": channel,
                  "order_facts": facts, "routing": ["kind support_message: p3, ai lane"]})


@pytest.mark.parametrize("lang", LANGUAGES)
def test_replies_to_every_topic_on_every_channel_pass_the_review(lang):
    s = step()
    for intent in ("where_is_my_order", "refund_request", "cancel_order", "payment_issue", "change_address",
                   "product_question", None):
        for channel in ("email", "chat", "sms", "phone", "social"):
            for flags, facts in (((), {"carrier": "DHL", "estimated_delivery_at": "2026-11-22T10:00:00Z"}),
                                 (("angry", "repeat_contact"), {})):
                trig = s(support_message(intent, channel, lang, flags, **facts))
                [reply] = trig.drafts
                assert reply["channel"] == channel and reply["language"] == lang
                assert reply["send_after"] == trig.fired_at  # a reply, at once: no quiet hours, no opt-in
                blocks = [f for f in trig.compliance["findings"] if f["severity"] == "block"]
                assert blocks == [], (intent, channel, lang, blocks, reply["body"])
                assert trig.route == "ai"


def test_a_live_engine_builds_its_step_before_the_first_trigger_and_again_for_a_new_config(monkeypatch):
    import outreach.step as step_module

    built = []

    class Counted(OutreachStep):
        def __init__(self, config) -> None:
            built.append(config)
            super().__init__(config)

    monkeypatch.setattr(step_module, "OutreachStep", Counted)
    config = from_dict({"outreach": {"store_name": "Nordlicht"}})
    for_config = step_module.ForConfig(config)
    assert built == [config]  # at start, not at the first trigger (about a second live)
    assert for_config(late_parcel(), config).compliance == {"ok": True, "findings": []}
    assert built == [config]
    reloaded = from_dict({"outreach": {"store_name": "Nordlicht Shop"}})
    for_config(late_parcel(), reloaded)
    assert built == [config, reloaded]
    assert step_module.ForConfig()(late_parcel(), config).drafts  # without a config: built at the first trigger
    assert built == [config, reloaded, config]
