"""Outreach drafts: for each trigger, the message an agent (or the ai lane) would send.

One draft per channel in ``outreach.channels`` (``email`` with a subject, ``sms``, a ``phone``
script); a ``support_message`` gets one reply, on the channel the message came in (a reply
needs no opt-in). Each draft is rendered from a template file ops can edit, one per kind,
channel and language (docs/drafts.md)::

    outreach/templates/<language>/<kind>/<channel>.j2     built in
    <[outreach] templates_dir>/<language>/<kind>/<channel>.j2   an override, looked up first

The language is the customer's (BCP 47, ``pt-BR``), then its base language (``pt``), then the
store's ``[outreach] default_language``: the first of these with a template for the kind and
channel writes the draft. Money is formatted with Babel for that language in the amount's own
currency, dates in the recipient's time zone (their ``timezone``, else their country's when it
has one zone, else ``[outreach] default_timezone``).

Templates are rendered by Jinja2's :class:`~jinja2.sandbox.SandboxedEnvironment` from facts the
trigger has, never from text built out of data: a carrier or customer name is a value, cleaned
by :func:`clean` (bounded, no braces, brackets or angle brackets, no control characters), so no
value can become template syntax or markup. A fact the trigger lacks is undefined; a template
guards the optional ones with ``is defined``, and one it uses unguarded renders as a visible
``{{name}}`` (:class:`Missing`, a ``StrictUndefined`` that prints instead of raising), which the
review reports as a ``placeholder`` block — never a blank.

``send_after``: an ``sms`` or ``phone`` draft that is not a reply waits for the end of the
recipient's quiet hours when the trigger fired inside them (the compliance checker's
``quiet_until``, so the window is the ``[compliance]`` one); every other draft may go at
``fired_at``.

>>> clean("  <b>{{ 7*7 }}</b>   DHL  ", 20)
'b 7*7 /b DHL'
>>> language_chain("pt-BR", "en")
['pt-BR', 'pt', 'en']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
import msgspec
from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton
from babel.numbers import format_currency
from jinja2.sandbox import SandboxedEnvironment

from forewarn.core.timefmt import format_us, from_us, parse_rfc3339, to_us
from forewarn.core.trigger import Trigger
from outreach.compliance import country_zones, zone

BUILTIN = Path(__file__).parent / "templates"
PROACTIVE_CHANNELS = ("email", "sms", "phone")
REPLY_CHANNELS = ("email", "chat", "sms", "phone", "social")
TIMED_CHANNELS = ("sms", "phone")  # the channels quiet hours apply to
NO_SUBJECT = ("sms", "chat", "phone", "social")
SEGMENTS = ("vip", "loyal", "repeat", "new", "prospect")

# Bounds on untrusted text from events, in characters: enough for any real name, carrier or
# intent label, small enough that a 200 KB "name" cannot fill an sms or a helpdesk screen.
NAME_MAX = 60
CARRIER_MAX = 40
LABEL_MAX = 40
ID_MAX = 64

# Characters no name, carrier or order id needs, and that template or placeholder syntax
# (``{{ }}``, ``{% %}``, ``[ORDER]``, ``%s``) or markup (``<b>``) is made of.
_SYNTAX = frozenset("{}[]<>%\\`|")


class _InertTable(dict):
    """``str.translate`` table for :func:`clean`: control/format characters (category C*) and
    ``_SYNTAX`` to a space, everything else kept; filled as characters are met (bounded)."""

    def __missing__(self, code: int) -> str:
        c = chr(code)
        out = " " if c in _SYNTAX or unicodedata.category(c)[0] == "C" else c
        if len(self) < 20_000:
            self[code] = out
        return out


_INERT = _InertTable()
_SPACE = re.compile(r"\s+")
_MISSING = re.compile(r"\{\{(\w+)\}\}")
_BLANK_LINES = re.compile(r"\n{3,}")
_SYNTAX_CHECK = SandboxedEnvironment()  # parses templates at start: a syntax error is a config error


class Outreach(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[outreach]``: who the drafts are from and where their templates live.

    store_name: the shop's name as customers know it (1..80 characters).
    default_language: the language of customers with none on record, and the last step of
        every language's fallback; needs templates (en, de, fr, es, pt are built in).
    default_timezone: IANA zone for dates when the recipient's is unknown.
    templates_dir: a directory of templates laid out like ``outreach/templates``, looked up
        before the built-in ones (empty = built-in only).
    signature: the sign-off under every e-mail, sms and chat reply (empty = the template's,
        "The <store_name> team" in the draft's language).
    """

    store_name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)] = "Our Shop"
    default_language: str = "en"
    default_timezone: str = "UTC"
    templates_dir: str = ""
    signature: Annotated[str, msgspec.Meta(max_length=200)] = ""


def validate(settings: Outreach) -> None:
    """Raise ValueError naming the ``[outreach]`` key whose value cannot be used."""
    if settings.templates_dir and not Path(settings.templates_dir).is_dir():
        raise ValueError(f"outreach.templates_dir = {settings.templates_dir!r}: not a directory")
    try:
        ZoneInfo(settings.default_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"outreach.default_timezone = {settings.default_timezone!r}: not an IANA time zone "
                         "(e.g. 'Europe/Berlin')") from None
    have = sorted(_languages(settings))
    if settings.default_language not in have:
        raise ValueError(f"outreach.default_language = {settings.default_language!r}: no templates in that "
                         f"language; have {have}")
    for path in sorted(p for root in _roots(settings) for p in root.rglob("*.j2")):
        try:
            error = _syntax_error(path.read_text(encoding="utf-8"), path.name, str(path))
        except UnicodeDecodeError:
            raise ValueError(f"outreach.templates_dir: template {path} is not UTF-8") from None
        if error is not None:
            key = "templates_dir" if settings.templates_dir and Path(settings.templates_dir) in path.parents else "(built-in)"
            raise ValueError(f"outreach.{key}: template {path} line {error[0]}: {error[1]}")
    for name, value in (("store_name", settings.store_name), ("signature", settings.signature)):
        if value != (clean(value, 200) or ""):
            raise ValueError(f"outreach.{name} = {value!r}: plain text only (no braces, brackets, markup "
                             "or control characters)")


# Remembered per template text: a process validates the same files twice (the config load, then
# the Drafter it builds), and parsing the 185 built-in templates takes ~0.2 CPU s each time.
# Keyed by the text itself, so an edited file is parsed again.
@lru_cache(maxsize=1024)
def _syntax_error(source: str, name: str, path: str) -> tuple[int, str | None] | None:
    """(line, message) of the template's syntax error, None when it parses.

    >>> _syntax_error("{% if x %}", "t.j2", "t.j2")[0]
    1
    """
    try:
        _SYNTAX_CHECK.parse(source, name, path)
    except jinja2.TemplateSyntaxError as exc:
        return exc.lineno, exc.message
    return None


def _roots(settings: Outreach) -> list[Path]:
    return [Path(settings.templates_dir), BUILTIN] if settings.templates_dir else [BUILTIN]


def _languages(settings: Outreach) -> set[str]:
    return {p.name for root in _roots(settings) for p in root.iterdir() if p.is_dir()}


def clean(text: str | None, limit: int) -> str | None:
    """Untrusted free text as a value a template may print: bounded and inert.

    NFKC-normalised (full-width braces become braces, and go), control and syntax characters
    out, whitespace collapsed, at most ``limit`` characters (cut at a word, with "…").
    """
    if text is None:
        return None
    # Cut before the work: a 200 KB value costs no more than a short one.
    text = unicodedata.normalize("NFKC", text[: limit * 4]).translate(_INERT)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        cut = text[: limit - 1]
        text = (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"
    return text or None


def language_chain(tag: str | None, default: str) -> list[str]:
    """The languages to look for templates in, most specific first."""
    out: list[str] = []
    if tag:
        tag = tag.replace("_", "-")
        out.append(tag)
        base = tag.split("-", 1)[0].lower()
        if base != tag:
            out.append(base)
    if default not in out:
        out.append(default)
    return out


# Remembered per (time zone, country): ZoneInfo keeps only the last 8 zones it built, so a
# country of many zones (the US has 29) re-read its zone files from disk for every trigger.
@lru_cache(maxsize=1024)
def zones_of(tz: str | None, country: str | None) -> tuple[ZoneInfo, ...]:
    """The recipient's time zone, else every zone of their country, else none: for dates.

    The zones are read as the compliance review reads them for quiet hours
    (:func:`outreach.compliance.zone`, :func:`~outreach.compliance.country_zones`), so a draft's
    dates and its ``send_after`` agree on where the recipient is ("UK" is Great Britain).

    >>> [z.key for z in zones_of(None, "UK")], [z.key for z in zones_of("Nowhere/City", "FR")]
    (['Europe/London'], ['Europe/Paris'])
    """
    if tz and zone(tz) is not None:
        return (zone(tz),)
    return tuple(zone(z) for z in country_zones(country)) if country else ()


class Missing(jinja2.StrictUndefined):
    """An undefined fact printed as ``{{name}}``: visible to the review, never a blank.

    Compared with a value it is equal to none (``{% if dispute_reason == "duplicate" %}`` is
    false for a dispute that gave no reason: the field is optional, contract section 1).
    Everything else (``if`` on it alone, loops, attributes) still raises, as ``StrictUndefined`` does.

    >>> env = SandboxedEnvironment(undefined=Missing)
    >>> env.from_string('{% if why in ("a", "b") %}A{% elif why == "c" %}C{% else %}none{% endif %} {{ why }}').render()
    'none {{why}}'
    """

    __slots__ = ()

    def __str__(self) -> str:
        return "{{%s}}" % (self._undefined_name or "value")

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = jinja2.Undefined.__hash__


class Drafter:
    """Builds the drafts of a trigger from the templates; one per config, shared by workers."""

    def __init__(self, settings: Outreach) -> None:
        validate(settings)
        self.settings = settings
        self.store = settings.store_name
        self.signature = settings.signature or None
        self.default_zone = ZoneInfo(settings.default_timezone)
        # One environment per template language there is a directory for, built at start: a
        # customer's language only ever selects among these (it never becomes a path).
        self._envs = {lang: SandboxedEnvironment(
            loader=jinja2.FileSystemLoader([str(root / lang) for root in _roots(settings) if (root / lang).is_dir()]),
            undefined=Missing,
            # No channel is HTML today; a template named *.html.j2 an operator adds is escaped.
            autoescape=lambda name: name is not None and ".html" in name,
            trim_blocks=True, lstrip_blocks=True, auto_reload=False) for lang in sorted(_languages(settings))}
        # Keyed by the languages that exist, so the cache stays as small as the template tree.
        self._found: dict[tuple[str, str, tuple[str, ...]], tuple[str, jinja2.Template] | None] = {}

    def template(self, kind: str, channel: str, language: str | None) -> tuple[str, jinja2.Template] | None:
        """(the language it is written in, the template) for the first language of the chain that has one."""
        chain = tuple(lang for lang in language_chain(language, self.settings.default_language) if lang in self._envs)
        key = (kind, channel, chain)
        if key not in self._found:
            self._found[key] = None
            for lang in chain:
                try:
                    self._found[key] = (lang, self._envs[lang].get_template(f"{kind}/{channel}.j2"))
                    break
                except jinja2.TemplateNotFound:
                    continue
        return self._found[key]

    def channels(self, trig: Trigger) -> list[tuple[str, str]]:
        """(channel, purpose) of each draft: a reply on the message's channel, or the allowed channels."""
        if purpose_of(trig.kind) == "reply":
            channel = reply_channel(trig.evidence)
            return [(channel, "reply")] if channel else []
        if not trig.outreach.get("allowed"):
            return []
        return [(ch, "service") for ch in trig.outreach.get("channels", ()) if ch in PROACTIVE_CHANNELS]

    def drafts(self, trig: Trigger, earliest: Callable[[datetime], datetime | None] | None = None) -> list[dict[str, Any]]:
        """The trigger's drafts, in channel order: {channel, language, subject, body, template, send_after}.

        ``earliest(fired_at)``: the first moment an sms or phone call may go out (the end of the
        recipient's quiet hours, from the compliance checker); None from it, or no function,
        leaves ``send_after`` at ``fired_at`` (and the review says why that is a problem).
        """
        out = []
        fired = from_us(parse_rfc3339(trig.fired_at))
        cust = trig.customer
        zones = zones_of(cust.get("timezone"), cust.get("country"))
        wanted = language_of(trig)
        by_language: dict[str, dict[str, Any]] = {}
        for channel, purpose in self.channels(trig):
            found = self.template(trig.kind, channel, wanted)
            if found is None:
                continue  # validate() saw the default language: only a kind with no template at all lands here
            lang, tmpl = found
            if lang not in by_language:  # the same facts for every channel in one language
                loc = _locale(wanted, lang)
                by_language[lang] = self.facts(trig, loc, zones[0] if len(zones) == 1 else self.default_zone)
            facts = by_language[lang]
            try:
                module = tmpl.make_module(facts)
                body = _tidy(str(module))
                subject = _tidy(str(getattr(module, "subject", "") or "")) or None
            except jinja2.TemplateError as exc:
                # An edited template that breaks on this trigger's facts: a draft nobody may
                # send as is, marked so the review blocks it, and the engine goes on.
                body = "{{template_error}} " + clean(f"{type(exc).__name__}: {exc}", 200)
                subject = None
            send_after = fired
            if channel in TIMED_CHANNELS and purpose != "reply" and earliest is not None:
                send_after = earliest(fired) or fired
            out.append({
                "channel": channel,
                "language": lang,
                "subject": None if channel in NO_SUBJECT else subject,
                "body": body,
                "template": f"{lang}/{trig.kind}/{channel}.j2",
                "send_after": trig.fired_at if send_after == fired else format_us(to_us(send_after)),
            })
        return out

    def facts(self, trig: Trigger, loc: Locale, zone: ZoneInfo) -> dict[str, Any]:
        """What a template may print, from the trigger only; an absent fact is left out (undefined)."""
        ev = trig.evidence
        cust = trig.customer
        name = clean(cust.get("name"), NAME_MAX)
        facts: dict[str, Any] = {
            "kind": trig.kind,
            "segment": cust.get("segment") if cust.get("segment") in SEGMENTS else "prospect",
            "store": self.store,
        }
        if self.signature:
            facts["signature"] = self.signature
        if name:
            facts["name"] = name
            facts["first_name"] = name.split(" ", 1)[0]
        order_id = clean(trig.order_id, ID_MAX)
        if order_id:
            facts["order_id"] = order_id
        amount, currency = _amount(trig)
        if amount and currency:
            facts["amount"] = _money(amount, currency, loc)
        carrier = clean(ev.get("carrier"), CARRIER_MAX)
        if carrier:
            facts["carrier"] = carrier
        for key, out in (("estimated_delivery_at", "eta"), ("last_order_at", "last_order"),
                         ("expected_next_order_at", "next_order")):
            when = ev.get(key)
            if isinstance(when, str):
                facts[out] = _date(when, loc, zone)
        for key in ("exception_code", "decline", "decisive_code", "dispute_reason", "last_status"):
            value = clean(ev.get(key), LABEL_MAX) if isinstance(ev.get(key), str) else None
            if value:
                facts[key] = value
        problems = ev.get("problems")
        if isinstance(problems, list):
            facts["problems"] = [p for p in problems if isinstance(p, str)]
        triage = ev.get("triage")
        if isinstance(triage, dict):
            intent = clean(triage.get("intent"), LABEL_MAX) if isinstance(triage.get("intent"), str) else None
            if intent:
                facts["intent"] = intent
            facts["topic"] = topic_of(intent)
            facts["flags"] = [f for f in triage.get("flags", ()) if isinstance(f, str)]
            facts.update(_linked_facts(ev, loc, zone))
        return facts


# The store's intent set is open (contract 3a): a reply template answers by topic, and an
# intent joins a topic by the words in its name (``where_is_my_order`` -> delivery). Checked in
# this order, so ``refund_not_received`` is a return, not a delivery.
TOPICS = (
    ("cancel", ("cancel",)),
    ("return", ("return", "refund", "exchange", "replace")),
    ("payment", ("pay", "charge", "card", "invoice", "billing", "price")),
    ("address", ("address",)),
    ("delivery", ("where", "track", "deliver", "ship", "parcel", "package", "late", "wismo", "eta", "arriv")),
)


def topic_of(intent: str | None) -> str:
    """The reply topic of an intent label; ``other`` when none of the words fit (or no intent yet).

    >>> topic_of("where_is_my_order"), topic_of("refund_request"), topic_of("compliment")
    ('delivery', 'return', 'other')
    """
    if not intent:
        return "other"
    words = intent.lower()
    return next((topic for topic, stems in TOPICS if any(s in words for s in stems)), "other")


def language_of(trig: Trigger) -> str | None:
    """The language to write in: a reply's is the message's own (``evidence.language``), else the customer's."""
    if purpose_of(trig.kind) == "reply" and isinstance(trig.evidence.get("language"), str):
        return trig.evidence["language"]
    return trig.customer.get("language")


def purpose_of(kind: str) -> str:
    """The compliance purpose of a kind's drafts: an answer to the customer, or a service notice."""
    return "reply" if kind == "support_message" else "service"


def reply_channel(ev: dict[str, Any]) -> str | None:
    """The channel a support message came in on (``evidence.channel``), which its reply goes out on."""
    channel = ev.get("channel")
    return channel if channel in REPLY_CHANNELS else None


def _linked_facts(ev: dict[str, Any], loc: Locale, zone: ZoneInfo) -> dict[str, Any]:
    """Delivery facts of the order a support message is about, as the triage step attached them."""
    linked = ev.get("order_facts")
    if not isinstance(linked, dict):
        return {}
    out: dict[str, Any] = {}
    carrier = clean(linked.get("carrier"), CARRIER_MAX) if isinstance(linked.get("carrier"), str) else None
    if carrier:
        out["carrier"] = carrier
    if isinstance(linked.get("estimated_delivery_at"), str):
        out["eta"] = _date(linked["estimated_delivery_at"], loc, zone)
    status = linked.get("shipment_status")
    if isinstance(status, str):
        out["shipment_status"] = clean(status, LABEL_MAX)
    return out


def _amount(trig: Trigger) -> tuple[float, str | None]:
    """The amount a customer would recognise: the disputed charge, else the order's value."""
    ev = trig.evidence
    if isinstance(ev.get("amount"), (int, float)) and isinstance(ev.get("currency"), str):
        return float(ev["amount"]), ev["currency"]
    if trig.order_id is None:  # a customer-level value (a predicted lifetime value) is not theirs to see
        return 0.0, None
    value = ev.get("value_at_risk")
    return (float(value), ev.get("currency")) if isinstance(value, (int, float)) else (0.0, None)


def _date(rfc3339: str, loc: Locale, zone: ZoneInfo) -> str:
    try:
        when = from_us(parse_rfc3339(rfc3339)).astimezone(zone)
    except ValueError:
        return "{{date}}"
    return _month_day(when.date(), loc)


# Babel formats from CLDR patterns on every call (a currency amount takes it ~0.1 ms); the same
# date or amount in the same locale comes out the same, so the strings are remembered (bounded).
@lru_cache(maxsize=4096)
def _month_day(day: date, loc: Locale) -> str:
    return format_skeleton("MMMMd", day, locale=loc)


@lru_cache(maxsize=4096)
def _money(amount: float, currency: str, loc: Locale) -> str:
    return format_currency(amount, currency, locale=loc).replace("\xa0", " ").replace("\u202f", " ")


def forget() -> None:
    """Forget the dates and amounts formatted so far."""
    _month_day.cache_clear()
    _money.cache_clear()


@lru_cache(maxsize=512)
def _locale(tag: str | None, template_language: str) -> Locale:
    """The customer's own locale (``pt-BR``) when the draft is in its language, else the draft's
    (parsed once per tag: the tags in use are few)."""
    if tag:
        try:
            loc = Locale.parse(tag.replace("-", "_"))
            if loc.language == template_language.split("-", 1)[0]:
                return loc
        except (UnknownLocaleError, ValueError, TypeError):
            pass
    return Locale.parse(template_language.replace("-", "_"))


def _tidy(text: str) -> str:
    """Trailing spaces off each line, at most one blank line in a row, no blank edges."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines))


def missing_facts(body: str) -> list[tuple[str, tuple[int, int]]]:
    """(fact name, span) of each fact a template printed without the trigger having it."""
    return [(m.group(1), m.span()) for m in _MISSING.finditer(body)]
