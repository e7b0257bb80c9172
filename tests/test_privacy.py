"""`[privacy] include_personal` holds for every trigger kind: with `[]`, no trigger carries a
customer's name, e-mail or phone anywhere (customer, reasons, evidence, drafts); by default
they are there for the lanes and drafts that use them."""

from __future__ import annotations

import json

import pytest

from detectors import REGISTRY
from forewarn.core.timefmt import format_us, parse_rfc3339
from forewarn.core.trigger import encode
from forewarn.engine.config import load
from forewarn.engine.replay import replay

NAME, EMAIL, PHONE = "Zoë Quinn-Privat", "zoe.quinn.privat@example.org", "+4915112345678"


def _story(kind: str) -> list[dict]:
    """The kind's own EXAMPLE, each of its customers first giving a name, an e-mail and a phone."""
    example = list(REGISTRY[kind].EXAMPLE)
    first = min(parse_rfc3339(e["ts"]) for e in example)
    profiles = [{"event_id": f"profile-{cid}", "type": "customer.updated", "ts": format_us(first - 60_000_000),
                 "customer_id": cid, "name": NAME, "email": EMAIL, "phone": PHONE}
                for cid in sorted({e["customer_id"] for e in example})]
    return profiles + example


def _personal_values(events: list[dict]) -> set[str]:
    """Every name, e-mail and phone in the input (the EXAMPLEs' own, like data_quality's, too)."""
    return {e[f] for e in events for f in ("name", "email", "phone") if isinstance(e.get(f), str)}


def _triggers(kind: str, personal: list[str] | None) -> list[str]:
    cls = REGISTRY[kind]
    overrides = {f"detectors.{kind}.{name}": value for name, value in cls.EXAMPLE_SETTINGS.items()}
    if personal is not None:
        overrides["privacy.include_personal"] = personal
    fired = [t for t in replay(_story(kind), load(None, overrides, env={})) if t.kind == kind]
    return [encode(t).decode() for t in fired]


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_with_no_personal_fields_no_trigger_of_any_kind_names_the_customer(kind):
    values = _personal_values(_story(kind))
    triggers = _triggers(kind, [])
    assert triggers, f"{kind}'s example no longer fires with a profile before it"
    for text in triggers:
        decoded = json.dumps(json.loads(text), ensure_ascii=False)  # as a reader sees it, escapes undone
        assert [v for v in values if v in decoded] == [], (kind, decoded)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_by_default_every_trigger_carries_the_name_e_mail_and_phone_for_the_drafts(kind):
    for text in _triggers(kind, None):
        customer = json.loads(text)["customer"]
        assert (customer["name"], customer["email"], customer["phone"]) == (NAME, EMAIL, PHONE)


def test_data_quality_without_e_mail_says_the_address_on_record_and_leaves_it_out_of_the_evidence():
    [default] = [json.loads(t) for t in _triggers("data_quality", None)]
    [private] = [json.loads(t) for t in _triggers("data_quality", ["name", "phone"])]
    assert default["evidence"]["email"] == "a@example.com"
    assert default["reasons"][0]["detail"].startswith('Order o1: the e-mail address "a@example.com" was never verified.')
    assert "email" not in private["evidence"]
    assert private["reasons"][0]["detail"].startswith("Order o1: the e-mail address on record was never verified.")
    assert private["reasons"][0]["code"] == default["reasons"][0]["code"] == "email_unverified"
    assert (private["customer"]["name"], private["customer"]["phone"]) == (NAME, PHONE)
    assert "email" not in private["customer"]
