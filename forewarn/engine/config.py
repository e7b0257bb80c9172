"""The one TOML configuration file: parsed, validated whole at start, refused with the key.

The connection, queue, metrics, recovery and live-reload sections, and how the file is
read (with environment overrides), are :mod:`forewarn.core.settings`; here are the
engine's own: event time, routing and the detectors' thresholds, whose tables, default
routes and cooldowns come from the detector registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from detectors import REGISTRY
from detectors.base import FLAGS, TRIAGE_FLAGS
from forewarn.core.money import DEFAULT_RATES, ISO_4217
from forewarn.core.settings import (ENUM_HINTS, ConfigError, Kafka, Live, Metrics, Queue, Recovery, Redis,
                                    check_connections, explain, read, with_overrides)
from forewarn.core.trigger import Priority, Route
from outreach import drafts
from outreach.compliance import Compliance


class EventTime(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[engine]``: event time.

    allowed_lateness_seconds: how far behind the largest event time seen the watermark
        trails, so slightly out-of-order events still count before deadlines fire (a
        backtest also puts them back in event-time order; ``run``, see ``apply_on_arrival``).
    idle_timeout_seconds: after this long without input on a partition, the watermark
        advances with the wall clock so deadlines fire on time in a quiet hour.
    max_future_seconds: an event time more than this ahead of the event's arrival (its Kafka
        message timestamp; else the wall clock when read; in a backtest the recorded Kafka
        timestamp of ``forewarn record``'s sidecar) is dead-lettered as ``future_timestamp``
        and never moves the watermark (0 = no check). A backtest line with no recorded
        arrival is judged against its file alone, never the wall clock (the same file gives
        the same triggers whenever it is replayed): it is refused when it is more than
        ``max_past_days`` ahead of the latest event time before it.
        300 s: five minutes is the clock skew Kerberos tolerates between hosts, generous for
        machines kept by NTP (milliseconds apart), while a wrong year, a local time sent as
        UTC (whole hours) or a test event from 2099 is refused before it fires every deadline.
    max_past_days: an event time more than this before the largest event time its stream
        (Kafka partition, file) has delivered is dead-lettered as ``stale_timestamp`` (0 = no
        check). 30 days: longer than Kafka's default 7-day retention, so a replay or a
        partition that fell behind is applied (late, counted), while a mistyped year lands
        outside it instead of firing a years-old deadline.
    apply_on_arrival: ``forewarn run`` applies an event when it arrives, so a trigger it raises
        reaches its queue at once, unless its customer has a deadline armed before the
        event's time that the watermark has not passed (then it waits for that deadline,
        never jumping it). True: out-of-order events of one customer within the lateness are
        applied in arrival order (counted in ``forewarn_out_of_order_events_total``); false:
        every event waits for the watermark and is put back in event-time order, as a backtest
        always does, at the cost of ``allowed_lateness_seconds`` (+ ``idle_timeout_seconds``)
        of latency. Deadlines fire on the watermark either way.
    """

    allowed_lateness_seconds: Annotated[float, msgspec.Meta(ge=0, le=86400)] = 300.0
    idle_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 5.0
    max_future_seconds: Annotated[float, msgspec.Meta(ge=0, le=365 * 86400)] = 300.0
    max_past_days: Annotated[float, msgspec.Meta(ge=0, le=36500)] = 30.0
    apply_on_arrival: bool = True


class KindRoute(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    priority: Priority
    route: Route


Segment = Literal["vip", "loyal", "repeat", "new", "prospect"]
Amount = Annotated[float, msgspec.Meta(ge=0)]


class When(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    """A rule's condition: every test given must hold; a list holds if any of its items does.

    kinds: trigger kinds; flags: detector flags (detectors.base.FLAGS, the triage flags of
    a support_message among them); intents: a support_message's intent (compared as
    :func:`intent_key`: case, spaces and dashes aside); segments: customer segments; ltv_at_least: lifetime value; order_value_at_least: the order's value
    (amounts in ``[routing] currency``). No test at all matches every trigger.
    """

    kinds: list[str] = []
    flags: list[str] = []
    intents: list[str] = []
    segments: list[Segment] = []
    ltv_at_least: Amount | None = None
    order_value_at_least: Amount | None = None


class Rule(msgspec.Struct, forbid_unknown_fields=True, frozen=True, omit_defaults=True):
    """One row of the routing table: when it matches, its effects apply.

    raise: priority steps up (p3 -> p2 is one); priority_at_least: a floor (``p2`` makes
    p3 and p4 p2); route: the lane, overriding what earlier rows said.
    """

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    when: When = When()
    raise_: Annotated[int, msgspec.Meta(ge=0, le=3)] = msgspec.field(default=0, name="raise")
    priority_at_least: Priority | None = None
    route: Route | None = None


class Routing(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[routing]``: the support lead's table. See forewarn/engine/routing.py for how it applies.

    vip_ltv: lifetime value at or above which a customer is in the ``vip`` segment (as is
        every ``tier`` vip customer).
    currency: the currency of every amount here and of lifetime values.
    exchange_rates: units of each currency per one unit of ``currency``; an amount in a
        currency not listed counts one to one. With ``currency`` EUR a table naming some
        currencies keeps the default rates of the others; with another currency give all.
    kinds: per kind, the base priority and lane (a table naming some kinds keeps the
        defaults of the others).
    rules: the rows applied, top to bottom, to every trigger (a table replaces the
        default rows as a whole).
    cooldown_hours: per kind, how long after a trigger for a customer another one of the
        same kind for that customer is held back (0 = never; unnamed kinds keep defaults).
    """

    vip_ltv: Amount = 2000.0
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] = "EUR"
    exchange_rates: dict[str, float] = msgspec.field(default_factory=lambda: dict(DEFAULT_RATES))
    kinds: dict[str, KindRoute] = msgspec.field(default_factory=lambda: dict(DEFAULT_KIND_ROUTES))
    rules: list[Rule] = msgspec.field(default_factory=lambda: list(DEFAULT_RULES))
    cooldown_hours: dict[str, float] = msgspec.field(default_factory=lambda: dict(DEFAULT_COOLDOWN_HOURS))


# Each kind's default row and cooldown are what its detector declares (detectors/base.py).
DEFAULT_KIND_ROUTES = {kind: KindRoute(cls.PRIORITY, cls.ROUTE) for kind, cls in REGISTRY.items()}

DEFAULT_RULES = [
    Rule("order worth 500 or more", When(order_value_at_least=500.0), raise_=1),
    Rule("VIP customer", When(segments=["vip"]), raise_=1, route="human"),
    Rule("valuable customer (lifetime value 1000 or more)", When(ltv_at_least=1000.0), route="human"),
    Rule("fraud, chargeback, repeated payment failure or compliance risk",
         When(flags=["fraud", "dispute", "repeated_failure", "compliance"]), route="human"),
    Rule("lost or damaged parcel worth 500 or more",
         When(kinds=["shipment_exception"], flags=["lost", "damaged"], order_value_at_least=500.0),
         route="human"),
    Rule("customer must act within days", When(flags=["urgent"]), priority_at_least="p2"),
    Rule("message threatens legal action or a chargeback",
         When(kinds=["support_message"], flags=["legal_threat", "chargeback_threat"]), priority_at_least="p1"),
    Rule("angry message, a threat to leave, or the customer writing again",
         When(kinds=["support_message"], flags=["angry", "churn_threat", "repeat_contact"]), priority_at_least="p2"),
]

# Each kind's COOLDOWN_HOURS, chosen so that no situation of the simulated stores' ground truth
# is held back (the closest same-kind pairs per customer there: payment_failed and data_quality
# about 2.4 h, shipment_exception 12 h, shipment_stalled 14 h; late parcels often share a
# deadline), while a burst — card testing, a bot's orders, a carrier outage — reaches an agent once.
DEFAULT_COOLDOWN_HOURS = {kind: cls.COOLDOWN_HOURS for kind, cls in REGISTRY.items()}


# The store's intent set is open: these are the common names stores give to the simple
# questions an assistant can answer from the store's own facts and policies (tracking, the
# refund's state, the return policy, a product's details, shipping, opening hours, payment
# options, an invoice, a login link). A store names its own in [triage] ai_intents.
DEFAULT_AI_INTENTS = [
    "where_is_my_order", "order_status", "order_tracking", "tracking", "track_order", "delivery_status",
    "shipping_status", "wismo", "delivery_time", "delivery_date", "shipping_info", "shipping_information",
    "shipping_policy", "shipping_cost", "shipping_costs", "shipping_options", "international_shipping",
    "return_policy", "returns_policy", "return_request", "return_status", "how_to_return", "exchange_policy",
    "refund_status", "refund_policy", "product_question", "product_info", "product_information",
    "product_availability", "stock_availability", "availability", "size_guide", "sizing", "product_care",
    "opening_hours", "store_hours", "business_hours", "store_location", "store_locations", "contact_info",
    "payment_methods", "payment_options", "invoice_request", "invoice", "receipt", "receipt_request",
    "order_confirmation", "account_access", "password_reset", "reset_password", "login_help",
    "gift_card_balance", "discount_code", "promo_code", "loyalty_points", "faq", "general_question",
]


class Triage(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[triage]``: which inbound messages (kind ``support_message``) the ai lane may answer.

    A message goes to the ai lane only when its intent is one of ``ai_intents`` (compared as
    :func:`intent_key`), the intent's calibrated confidence is at least ``min_confidence``
    (so at least that share of such answers has the right intent: docs/triage.md), none of
    its flags is in ``human_flags``, and the routing table sends it nowhere else (VIP,
    value). A message before any label has been learned has no intent: a person takes it.

    ai_intents: the store's intents an assistant may answer (the intent set is the store's).
    min_confidence: the calibrated confidence a message's intent needs for the ai lane: of the
        answers let through, at least this share has the right intent (0..1).
    human_flags: triage flags that always need a person (among angry, legal_threat,
        chargeback_threat, churn_threat, repeat_contact, urgent).
    """

    ai_intents: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]] = msgspec.field(
        default_factory=lambda: list(DEFAULT_AI_INTENTS))
    min_confidence: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.9
    human_flags: list[str] = msgspec.field(
        default_factory=lambda: ["angry", "legal_threat", "chargeback_threat", "churn_threat"])


def intent_key(intent: str) -> str:
    """An intent name as compared: lower case, spaces and dashes as ``_`` (``Where-is my order``)."""
    return "_".join(intent.strip().lower().replace("-", " ").split())


Detectors = msgspec.defstruct(
    "Detectors",
    [(kind, params, msgspec.field(default_factory=params)) for kind, params in ((k, c.Params) for k, c in REGISTRY.items())],
    forbid_unknown_fields=True,
    frozen=True,
)


PersonalField = Literal["name", "email", "phone"]


class Privacy(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[privacy]``: personal data in the triggers helpdesks and ai agents read (docs/helpdesk.md).

    include_personal: the customer's personal fields each trigger's ``customer`` carries, of
        ``name``, ``email`` and ``phone``. Default: all three (the drafts greet by name and
        address the e-mail and phone drafts); ``["name"]`` or ``[]`` for a lane that looks
        contact details up by ``customer_id`` itself. An invalid e-mail or phone is never included.
    """

    include_personal: list[PersonalField] = msgspec.field(default_factory=lambda: ["name", "email", "phone"])


class Config(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    engine: EventTime = EventTime()
    kafka: Kafka = Kafka()
    redis: Redis = Redis()
    queue: Queue = Queue()
    metrics: Metrics = Metrics()
    recovery: Recovery = Recovery()
    live: Live = Live()
    routing: Routing = Routing()
    detectors: Detectors = msgspec.field(default_factory=Detectors)
    outreach: drafts.Outreach = drafts.Outreach()
    compliance: Compliance = Compliance()
    triage: Triage = Triage()
    privacy: Privacy = Privacy()


def from_dict(data: dict[str, Any]) -> Config:
    """Validate a config mapping; raise ConfigError naming the key, the value and what is allowed."""
    routing = data.get("routing", {})
    # A table that names some kinds keeps the defaults of the rest.
    for key, defaults in (("kinds", DEFAULT_KIND_ROUTES), ("cooldown_hours", DEFAULT_COOLDOWN_HOURS)):
        named = routing.get(key) if isinstance(routing, dict) else None
        if isinstance(named, dict):
            data = with_overrides(data, {f"routing.{key}": {**msgspec.to_builtins(defaults), **named}})
    if isinstance(routing, dict) and routing.get("currency", "EUR") == "EUR" and isinstance(
            routing.get("exchange_rates"), dict):  # the defaults are per EUR
        data = with_overrides(data, {"routing.exchange_rates": {**DEFAULT_RATES, **routing["exchange_rates"]}})
    try:
        cfg = msgspec.convert(data, Config, strict=False)
    except msgspec.ValidationError as exc:
        from forewarn.engine.schema import explain_unknown  # it walks Config: imported once Config exists

        raise ConfigError(explain_unknown(str(exc)) or explain(str(exc), data, ROUTING_HINTS)) from None
    if cfg.routing.currency != "EUR" and "exchange_rates" not in routing:
        raise ConfigError(f"routing.currency = {cfg.routing.currency!r}: the default exchange_rates are "
                          f"per EUR; give routing.exchange_rates per {cfg.routing.currency} as well")
    _check_routing(cfg.routing)
    unknown = [f for f in cfg.triage.human_flags if f not in TRIAGE_FLAGS]
    if unknown:
        raise ConfigError(f"triage.human_flags = {cfg.triage.human_flags!r}: unknown flag(s) {unknown}; "
                          f"allowed: {sorted(TRIAGE_FLAGS)}")
    check_connections(cfg.redis, cfg.kafka, cfg.metrics)
    _check_currencies(cfg.routing)
    try:
        drafts.validate(cfg.outreach)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return cfg


def _check_routing(r: Routing) -> None:
    """What the types alone cannot say: names must be ones the engine knows."""
    kinds = set(REGISTRY)
    for key in ("kinds", "cooldown_hours"):
        unknown = set(getattr(r, key)) - kinds
        if unknown:
            raise ConfigError(f"routing.{key}: unknown kind(s) {sorted(unknown)}; allowed: {sorted(kinds)}")
    for kind, hours in r.cooldown_hours.items():
        if not 0 <= hours <= 8760:
            raise ConfigError(f"routing.cooldown_hours.{kind} = {hours!r}: must be 0 (no cooldown) to 8760 (a year)")
    for code, rate in r.exchange_rates.items():
        if not rate > 0:
            raise ConfigError(f"routing.exchange_rates.{code} = {rate!r}: must be > 0 "
                              f"(units of {code} per one {r.currency})")
    for i, rule in enumerate(r.rules):
        where = f"routing.rules[{i}] ({rule.name!r})"
        for key, allowed in (("kinds", kinds), ("flags", set(FLAGS))):
            unknown = [v for v in getattr(rule.when, key) if v not in allowed]
            if unknown:
                raise ConfigError(f"{where}.when.{key} = {getattr(rule.when, key)!r}: unknown "
                                  f"{key[:-1]}(s) {unknown}; allowed: {sorted(allowed)}")
        if not (rule.raise_ or rule.priority_at_least or rule.route):
            raise ConfigError(f"{where}: has no effect; give it raise, priority_at_least or route")
    if r.exchange_rates.get(r.currency, 1.0) != 1.0:
        raise ConfigError(f"routing.exchange_rates.{r.currency} = {r.exchange_rates[r.currency]!r}: "
                          f"the routing currency {r.currency} is worth exactly 1.0 of itself")


def _check_currencies(r: Routing) -> None:
    """The routing currency and the exchange table name ISO 4217 currencies in use (events in
    any other currency are dead letters, forewarn.core.money.ISO_4217)."""
    for key, code in [("routing.currency", r.currency)] + [(f"routing.exchange_rates.{c}", c) for c in r.exchange_rates]:
        if code not in ISO_4217:
            raise ConfigError(f"{key}: {code!r} is not an ISO 4217 currency in use; allowed: EUR, USD, GBP, ... "
                              f"({len(ISO_4217)} codes, Babel's CLDR data)")


# Enum fields of the routing table whose errors also list what is allowed.
ROUTING_HINTS = {**ENUM_HINTS, "segments": Segment.__args__}


def load(path: str | Path | None, overrides: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the TOML file (a missing default ``forewarn.toml`` means all defaults), apply env and overrides."""
    return from_dict(read(path, overrides, env))


def to_toml(sections: dict[str, dict[str, Any]]) -> str:
    """Write ``{section: {key: value}}`` as TOML (scalars and lists): the configs tests and the bench start engines with."""
    from forewarn.engine.schema import toml_value

    return "".join(f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in body.items())
                   for name, body in sections.items())
