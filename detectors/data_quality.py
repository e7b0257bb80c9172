"""``data_quality``: an order whose contact or address data would make support fail.

Fires at the ``order.placed`` itself, before anything ships, when

* the e-mail is unverified: the order's own ``email_verified``, or when the order does
  not say, the latest value known for the customer (profile updates and earlier orders);
* the e-mail is not a valid address (``forewarn.core.text.valid_email``: a line break, a
  space, no domain...): nothing is sent there, and it is quoted as data in the reason;
* the shipping address lacks a ``postal_code`` (in a country that has them: not Hong Kong,
  the Emirates, ...) or a ``city`` (missing or blank): the carrier will bounce it.

An order without any e-mail is not flagged: the shop may reach the customer by phone or
text, and marketplace orders often carry none.

Flags for routing: ``compliance`` for an unverified or invalid e-mail (order details must
not go to an address nobody confirmed), ``urgent`` for address gaps (they must be fixed before the
parcel is handed to the carrier).

The e-mail itself is quoted in the reason and copied to ``evidence.email`` only when
``[privacy] include_personal`` has ``email`` (the default); without it the reason says "the
e-mail address on record" and the evidence has no ``email`` key (the lane looks it up by
``customer_id``), as every other kind leaves it out of the trigger's ``customer``.

>>> problems_of("a@b.eu", False, {"postal_code": "10115", "city": " "})
[('email_unverified', 'the e-mail address "a@b.eu" was never verified'), ('no_city', 'the shipping address has no city')]
>>> problems_of("a@b.eu\\r\\nBcc: all@b.eu", True, {"postal_code": "10115", "city": "Berlin"})
[('email_invalid', 'the e-mail address "a@b.eu Bcc: all@b.eu" is not a valid address; nothing is sent there')]
>>> problems_of(None, None, {"postal_code": None, "city": "Dubai", "country": "AE"})
[]
>>> problems_of("a@b.eu", False, {"postal_code": "10115", "city": "Berlin"}, show_email=False)
[('email_unverified', 'the e-mail address on record was never verified')]

Its ``EXAMPLE`` replayed (:func:`forewarn.engine.replay.example`): when, and the first reason.

>>> from forewarn.engine.replay import example
>>> [(t.fired_at, t.reasons[0]["code"]) for t in example("data_quality")]
[('2026-01-01T00:00:00Z', 'email_unverified')]
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from detectors.base import Candidate, Detector, example_event, Reason, Scheduler
from forewarn.core import events as ev
from forewarn.core.state import CustomerState
from forewarn.core.text import EMAIL_MAX, ID_MAX, NAME_MAX, PLACE_MAX, clean, quote, valid_email


class Params(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[detectors.data_quality]``: no thresholds; the checks above are the rule."""


# Countries whose addresses have no postal code (Google's libaddressinput address data, which
# Chrome and Android forms use: no ``zip`` field): an order there without one is complete.
NO_POSTAL_CODES = frozenset(
    "AE AG AN AO AW BF BI BJ BO BS BW BZ CD CF CG CI CK CM DJ DM ER FJ GA GD GH GM GQ GY HK HM JM KI KM KN "
    "KP LY ML MO MR MW NR NU QA RW SB SC SL SR SS ST SY TD TF TG TK TL TO TT TV UG VU YE ZW".split())


def _missing(value: str | None) -> bool:
    return value is None or not value.strip()


def problems_of(email: str | None, verified: bool | None, address: dict[str, str | None],
                show_email: bool = True) -> list[tuple[str, str]]:
    """(code, words) for each problem, given the e-mail, whether it is verified, and the address;
    ``show_email`` False names the e-mail without quoting it."""
    out = []
    which = f"the e-mail address {quote(email, EMAIL_MAX)}" if show_email else "the e-mail address on record"
    if email is not None and not valid_email(email):
        out.append(("email_invalid", f"{which} is not a valid address; nothing is sent there"))
    elif verified is False:
        out.append(("email_unverified", f"{which} was never verified"))
    if _missing(address.get("postal_code")) and (address.get("country") or "").upper() not in NO_POSTAL_CODES:
        out.append(("no_postal_code", "the shipping address has no postal code"))
    if _missing(address.get("city")):
        out.append(("no_city", "the shipping address has no city"))
    return out


class DataQuality(Detector):
    kind: ClassVar[str] = "data_quality"
    Params = Params
    PRIORITY = "p4"
    ROUTE = "ai"
    SUBJECT = "order"
    COOLDOWN_HOURS = 1.0
    EXAMPLE = (
        example_event("order.placed", "2026-01-01T00:00:00Z", order_id="o1", total=80.0, currency="EUR",
                      items=[{"sku": "sku-1", "qty": 1, "unit_price": 80.0}], email="a@example.com",
                      email_verified=False, shipping_address={"country": "DE", "city": "Berlin"}),
    )

    EVENTS: ClassVar[frozenset[type]] = frozenset({ev.OrderPlaced})

    def __init__(self, params: Params, show_email: bool = True) -> None:
        super().__init__(params)
        self.show_email = show_email

    @classmethod
    def from_config(cls, params: Params, config: Any) -> DataQuality:
        return cls(params, "email" in config.privacy.include_personal)

    def on_event(self, cust: CustomerState, event: ev.AnyEvent, sched: Scheduler) -> list[Candidate]:
        if not isinstance(event, ev.OrderPlaced):
            return []
        # The state still holds what was known before this order: the profile's view.
        email = event.email if event.email is not None else cust.email
        verified = event.email_verified if event.email_verified is not None else cust.email_verified
        addr = event.shipping_address
        problems = problems_of(email, verified, {"postal_code": addr.postal_code, "city": addr.city,
                                                 "country": addr.country}, self.show_email)
        if not problems:
            return []
        codes = {code for code, _ in problems}
        flags = []
        if codes & {"email_unverified", "email_invalid"}:
            flags.append("compliance")
        if codes & {"no_postal_code", "no_city"}:
            flags.append("urgent")
        fix = ("Confirm the contact details and complete the address before the order ships."
               if len(flags) == 2 else
               "Confirm the contact details before sending order updates there." if flags == ["compliance"] else
               "Complete the address with the customer before the order ships.")
        return [Candidate(
            kind=self.kind,
            customer_id=cust.customer_id,
            order_id=event.order_id,
            subject=event.order_id,
            episode="placed",  # an order is placed once: one check per order
            fired_at=event.ts_us,
            reasons=[Reason(code, f"Order {clean(event.order_id, ID_MAX)}: {words}. {fix}") for code, words in problems],
            evidence={
                "problems": sorted(codes),
                **({"email": clean(email, EMAIL_MAX)} if self.show_email else {}),
                "email_verified": verified,
                "email_verified_from": "order" if event.email_verified is not None else "profile",
                "shipping_address": {"line1": clean(addr.line1, PLACE_MAX), "city": clean(addr.city, PLACE_MAX),
                                     "postal_code": clean(addr.postal_code, 16), "country": clean(addr.country, 64)},
                "channel": clean(event.channel, NAME_MAX),
            },
            value_at_risk=event.total,
            currency=event.currency,
            flags=tuple(flags),
        )]
