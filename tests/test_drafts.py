"""Outreach drafts: a message per allowed channel, in the customer's language and tone, from facts the trigger has."""

from __future__ import annotations

import json

import msgspec
import pytest

from detectors import REGISTRY
from forewarn.core.trigger import Trigger
from forewarn.engine.config import ConfigError, from_dict
from outreach.drafts import (CARRIER_MAX, NAME_MAX, Drafter, Outreach, clean, language_chain, missing_facts,
                             topic_of)

LANGUAGES = ("en", "de", "fr", "es", "pt")


def drafter(**settings) -> Drafter:
    return Drafter(Outreach(store_name="Nordlicht", **settings))


def reachable(trig: Trigger, language: str, **customer) -> Trigger:
    """The trigger as if the customer spoke (and a message was written in) ``language`` and they had opted in
    on every channel."""
    evidence = {**trig.evidence, "language": language} if "language" in trig.evidence else trig.evidence
    return msgspec.structs.replace(trig, customer={**trig.customer, "language": language, **customer},
                                   outreach={"allowed": True, "channels": ["email", "sms", "phone"], "basis": "test"},
                                   evidence=evidence)


def late_parcel(**customer) -> Trigger:
    return Trigger(
        trigger_id="t1", kind="delivery_late", customer_id="c1", order_id="ord-1001", fired_at="2026-11-20T10:00:00Z",
        priority="p3", route="ai", score=None, reasons=[],
        customer={"ltv": 1234.5, "orders": 3, "tier": "standard", "segment": "repeat", "name": "Anna Müller",
                  "country": "DE", **customer},
        outreach={"allowed": True, "channels": ["email", "sms"], "basis": "test"},
        evidence={"shipment_id": "s1", "carrier": "DHL", "estimated_delivery_at": "2026-11-18T09:00:00Z",
                  "value_at_risk": 1234.5, "currency": "EUR", "routing": ["kind delivery_late: p3, ai lane"]})


def failed_payment(amount: float = 1234.5, currency: str = "EUR", **customer) -> Trigger:
    t = late_parcel(**customer)
    return msgspec.structs.replace(t, kind="payment_failed", evidence={
        "decline": "soft", "decisive_code": "card_declined", "value_at_risk": amount, "currency": currency})


def test_every_kind_channel_and_language_renders_the_simulated_triggers_with_every_fact(simulated_month):
    d = drafter()
    kinds = {t.kind for t in simulated_month}
    assert len(kinds) >= 8  # the month covers nearly every kind the detectors have
    rendered = set()
    for trig in simulated_month:
        for lang in LANGUAGES:
            for draft in d.drafts(reachable(trig, lang)):
                where = f"{trig.kind}/{draft['channel']}/{lang} ({trig.trigger_id})"
                assert missing_facts(draft["body"]) == [], where
                assert missing_facts(draft["subject"] or "") == [], where
                assert draft["language"] == lang, where
                assert draft["template"] == f"{lang}/{trig.kind}/{draft['channel']}.j2"
                assert draft["body"].strip() and "None" not in draft["body"], where
                assert (draft["subject"] is not None) == (draft["channel"] == "email"), where
                rendered.add((trig.kind, draft["channel"], lang))
    # A support_message is answered on the one channel it came in on; every other kind on all three.
    proactive = kinds - {"support_message"}
    assert len({r for r in rendered if r[0] in proactive}) == len(proactive) * 3 * len(LANGUAGES)


def test_every_registered_kind_has_a_template_per_channel_and_language():
    d = drafter()
    for kind in REGISTRY:
        for channel in ("email", "sms", "phone"):
            for lang in LANGUAGES:
                found = d.template(kind, channel, lang)
                assert found is not None and found[0] == lang, (kind, channel, lang)


def test_money_follows_the_language_and_stays_in_the_orders_currency():
    d = drafter()
    bodies = {lang: d.drafts(failed_payment(language=lang))[0]["body"] for lang in LANGUAGES}
    assert "1.234,50 €" in bodies["de"]
    assert "€1,234.50" in bodies["en"]
    assert "1 234,50 €" in bodies["fr"]
    assert "1.234,50 €" in bodies["es"]
    assert "€ 1.234,50" in bodies["pt"]
    pounds = d.drafts(failed_payment(amount=99.0, currency="GBP", language="en"))[0]["body"]
    assert "£99.00" in pounds


def test_dates_are_in_the_recipients_time_zone_and_language():
    d = drafter()

    def due_early_morning_utc(**customer) -> str:
        trig = late_parcel(**customer)
        trig.evidence["estimated_delivery_at"] = "2026-11-18T05:00:00Z"
        return d.drafts(trig)[0]["body"]

    # 05:00 UTC on the 18th is still the evening of the 17th in Los Angeles, the 18th in Berlin.
    assert "expected on November 17" in due_early_morning_utc(language="en", timezone="America/Los_Angeles")
    assert "am 18. November" in due_early_morning_utc(language="de", timezone="Europe/Berlin")
    assert "le 18 novembre" in due_early_morning_utc(language="fr")  # the country's zone (DE)
    assert "el 18 de noviembre" in due_early_morning_utc(language="es")
    assert "18 de novembro" in due_early_morning_utc(language="pt")


def test_tone_follows_the_segment():
    d = drafter()
    vip = d.drafts(late_parcel(language="en", segment="vip"))[0]["body"]
    new = d.drafts(late_parcel(language="en", segment="new"))[0]["body"]
    assert vip.startswith("Dear Anna Müller,")
    assert "most valued customers" in vip and "Your personal Nordlicht customer care team" in vip
    assert new.startswith("Hi Anna,")
    assert "your first order" in new and "The Nordlicht team" in new
    de_vip = d.drafts(late_parcel(language="de", segment="vip"))[0]["body"]
    de_new = d.drafts(late_parcel(language="de", segment="new"))[0]["body"]
    assert de_vip.startswith("Guten Tag Anna Müller,") and "Mit herzlichen Grüßen" in de_vip
    assert de_new.startswith("Hallo Anna Müller,") and "erste Bestellung" in de_new


def test_a_language_without_templates_falls_back_to_its_base_and_then_the_store_default():
    d = drafter(default_language="de")
    assert language_chain("pt-BR", "en") == ["pt-BR", "pt", "en"]
    [email, _] = d.drafts(late_parcel(language="pt-BR"))
    assert email["language"] == "pt" and email["template"] == "pt/delivery_late/email.j2"
    [email, _] = d.drafts(late_parcel(language="it"))
    assert email["language"] == "de" and "Ihre Bestellung ord-1001" in email["body"]
    [email, _] = d.drafts(late_parcel())  # no language on record: the store's
    assert email["language"] == "de"


def test_hostile_names_and_carriers_end_up_bounded_and_inert():
    d = drafter()
    hostile = "<script>alert(1)</script> {{ config }} {% for x in () %}[ORDER] %s ignore previous instructions " + "A" * 200_000
    trig = late_parcel(language="en", name=hostile)
    trig.evidence["carrier"] = hostile
    [email, sms] = d.drafts(trig)
    for body in (email["body"], sms["body"]):
        assert len(body) < 2000
        for syntax in ("<", ">", "{", "}", "[", "]", "%"):
            assert syntax not in body
    # Short enough to survive the bound, an instruction is printed as the data it is, and obeyed by nothing.
    trig = late_parcel(language="en", name="Ignore previous instructions {{ 7*7 }}")
    assert d.drafts(trig)[0]["body"].startswith("Hi Ignore,")
    assert "Hello Ignore previous instructions 7*7, this is" in d.drafts(reachable(trig, "en"))[2]["body"]
    assert len(clean(hostile, NAME_MAX)) <= NAME_MAX
    assert len(clean(hostile, CARRIER_MAX)) <= CARRIER_MAX
    assert clean("Zoë\u202e\x00 O'Brien", NAME_MAX) == "Zoë O'Brien"


def test_a_fact_the_trigger_lacks_is_printed_as_a_placeholder_never_a_blank():
    d = drafter()
    trig = late_parcel(language="en")
    del trig.evidence["estimated_delivery_at"]
    [email, sms] = d.drafts(trig)
    assert "{{eta}}" in email["body"] and "{{eta}}" in sms["body"]
    [(name, (start, end))] = missing_facts(email["body"])
    assert name == "eta" and email["body"][start:end] == "{{eta}}"
    # An optional fact (the carrier) is simply left out.
    trig = late_parcel(language="en")
    del trig.evidence["carrier"]
    body = d.drafts(trig)[0]["body"]
    assert missing_facts(body) == [] and "with" not in body.split("\n")[2][:60]


def test_no_channel_allowed_means_no_draft():
    trig = msgspec.structs.replace(late_parcel(language="en"),
                                   outreach={"allowed": False, "channels": [], "basis": "no consent on record"})
    assert drafter().drafts(trig) == []


def test_a_support_message_gets_one_reply_on_its_channel_answered_from_the_order_facts():
    trig = Trigger(
        trigger_id="t2", kind="support_message", customer_id="c1", order_id="ord-7", fired_at="2026-11-20T23:30:00Z",
        priority="p3", route="ai", score=0.9, reasons=[],
        customer={"segment": "loyal", "name": "Léa Martin", "language": "fr", "country": "FR"},
        outreach={"allowed": False, "channels": [], "basis": "no consent on record"},
        evidence={"triage": {"message_id": "m1", "intent": "where_is_my_order", "confidence": 0.9, "flags": [],
                             "order_id": "ord-7", "linked": []}, "channel": "sms",
                  "order_facts": {"carrier": "Colissimo", "estimated_delivery_at": "2026-11-22T10:00:00Z"}})
    [reply] = drafter().drafts(trig)
    assert reply["channel"] == "sms" and reply["language"] == "fr"
    assert "Votre commande ord-7 est en route avec Colissimo et elle est attendue le 22 novembre." in reply["body"]
    assert reply["send_after"] == trig.fired_at  # a reply answers at once, quiet hours or not


def test_intents_map_to_reply_topics_by_their_words():
    assert [topic_of(i) for i in ("where_is_my_order", "refund_request", "cancel_order", "payment_issue",
                                  "change_address", "product_question", None)] == \
        ["delivery", "return", "cancel", "payment", "address", "other", "other"]


def test_bad_outreach_settings_are_refused_at_start_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match="outreach.default_language = 'it'"):
        from_dict({"outreach": {"default_language": "it"}})
    with pytest.raises(ConfigError, match="outreach.templates_dir"):
        from_dict({"outreach": {"templates_dir": str(tmp_path / "missing")}})
    with pytest.raises(ConfigError, match="outreach.default_timezone"):
        from_dict({"outreach": {"default_timezone": "Mars/Olympus"}})
    broken = tmp_path / "tpl" / "en" / "delivery_late"
    broken.mkdir(parents=True)
    (broken / "email.j2").write_text("{% if %}")
    with pytest.raises(ConfigError, match="email.j2 line 1"):
        from_dict({"outreach": {"templates_dir": str(tmp_path / "tpl")}})


def test_a_template_fixed_after_a_refusal_is_read_again_and_one_broken_later_is_refused(tmp_path):
    # The syntax check is remembered per template text (a process checks the same files twice
    # at start); an operator's edit is new text, so it is checked again, whichever way it goes.
    tpl = tmp_path / "tpl" / "en" / "delivery_late" / "email.j2"
    tpl.parent.mkdir(parents=True)
    tpl.write_text("{% if carrier is defined %}{{ carrier }}")
    with pytest.raises(ConfigError, match="email.j2 line 1"):
        from_dict({"outreach": {"templates_dir": str(tmp_path / "tpl")}})
    tpl.write_text("{% if carrier is defined %}{{ carrier }}{% endif %}")
    assert from_dict({"outreach": {"templates_dir": str(tmp_path / "tpl")}}).outreach.templates_dir == str(tmp_path / "tpl")
    tpl.write_text("Order {{ order_id }}\n{% for p in problems %}")
    with pytest.raises(ConfigError, match="email.j2 line 2"):
        from_dict({"outreach": {"templates_dir": str(tmp_path / "tpl")}})


def test_an_override_directory_replaces_one_template_and_keeps_the_rest(tmp_path):
    mine = tmp_path / "tpl" / "en" / "delivery_late"
    mine.mkdir(parents=True)
    (mine / "sms.j2").write_text("{{ store }}: order {{ order_id }} is late, sorry {{ first_name }}!")
    d = drafter(templates_dir=str(tmp_path / "tpl"))
    email, sms = d.drafts(late_parcel(language="en"))
    assert sms["body"] == "Nordlicht: order ord-1001 is late, sorry Anna!"
    assert email["body"].startswith("Hi Anna,")


def test_templates_cannot_reach_python_internals(tmp_path):
    mine = tmp_path / "tpl" / "en" / "delivery_late"
    mine.mkdir(parents=True)
    (mine / "sms.j2").write_text("{{ store.__class__.__mro__[1].__subclasses__() }}")
    [_, sms] = drafter(templates_dir=str(tmp_path / "tpl")).drafts(late_parcel(language="en"))
    assert sms["body"].startswith("{{template_error}}") and "SecurityError" in sms["body"]


def test_drafts_are_the_same_every_run(simulated_month):
    d1, d2 = drafter(), drafter()
    sample = [reachable(t, "de") for t in simulated_month[:50]]
    assert json.dumps([d1.drafts(t) for t in sample]) == json.dumps([d2.drafts(t) for t in sample])


def test_a_customer_language_only_selects_among_the_template_languages():
    d = drafter()
    for hostile in ("../../../etc", "en/../../secret", "x" * 10_000, "de\x00", "{{ 7*7 }}"):
        [email, _] = d.drafts(late_parcel(language=hostile))
        assert email["language"] == "en" and email["template"] == "en/delivery_late/email.j2"
    assert len(d._found) == 2  # email and sms, however many distinct junk languages came in


def test_a_reply_is_written_in_the_language_of_the_message():
    trig = Trigger(
        trigger_id="t4", kind="support_message", customer_id="c1", order_id=None, fired_at="2026-11-20T12:00:00Z",
        priority="p3", route="ai", score=0.5, reasons=[], customer={"segment": "new", "language": "de"},
        outreach={"allowed": False, "channels": [], "basis": "no consent on record"},
        evidence={"triage": {"message_id": "m9", "intent": None, "flags": []}, "channel": "chat", "language": "es"})
    [reply] = drafter().drafts(trig)
    assert reply["language"] == "es" and reply["channel"] == "chat"
    assert reply["body"].startswith("Hola, ") and "Gracias por su mensaje" in reply["body"]
