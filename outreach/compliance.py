"""The compliance review of an outbound text: one checker for the drafts and for ``forewarn lint``.

``Checker(settings).review(message)`` returns the findings of contract section 3b, each with
its code, severity (the default below unless ``[compliance] severity`` changes it), the
message's channel, a short ``detail`` quoting what was found (bounded, secrets masked) and
``span``, the [start, end) character offsets of it in the body (None when the finding is
about the message as a whole, or about its subject).

| code | default | rule (docs/compliance.md has the sources) |
|---|---|---|
| consent_missing | block | service/marketing message, channel not opted into (a reply needs none) |
| consent_withdrawn | block | the channel's consent record is an opt-out |
| quiet_hours | block | sms/phone, not a reply, outside the window in the recipient's zone(s) |
| marketing_without_consent | block | a marketing message, or promotional wording, without consent.marketing |
| missing_opt_out | block | a marketing email or sms with no unsubscribe / STOP wording |
| risky_promise | block | guaranteed dates, money back, refunds, credit, vouchers, free items promised |
| legal_risk | block | admission of fault or liability, legal threats and assessments |
| placeholder | block | an unfilled variable or blank value |
| sensitive_data | block | a Luhn-valid card number, a CVV, a password, a one-time code |
| spam_phrase | warn | spam-trigger wording |
| shouting | warn | three or more words in capitals in a row, ``!!!`` / ``???`` |
| sms_length | warn | an sms over ``sms_max_segments`` segments (GSM-7 / UCS-2) |

A check whose facts are absent is skipped, not guessed: no ``send_at`` or no ``recipient``
skips quiet hours; no ``recipient`` or a recipient without a ``consent`` record skips the
consent checks (an empty record ``{}`` is a record with no opt-in). Bodies are scanned up
to ``outreach.text.MAX_SCAN_CHARS`` characters, every pattern in linear time.

>>> c = Checker()
>>> msg = Message("email", "Hi {{first_name}}, we'll refund you in full!!!", purpose="reply")
>>> [(f.code, f.severity, f.span) for f in c.review(msg)]
[('risky_promise', 'block', (19, 31)), ('placeholder', 'block', (3, 17)), ('shouting', 'warn', (43, 46))]
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from datetime import datetime, timedelta, timezone
from datetime import time as dt_time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from outreach import sms
from outreach.phrases import Match, PhraseError, PhraseList
from outreach.text import MAX_SCAN_CHARS, View, fold, view

Severity = Literal["block", "warn"]
CHANNELS = ("email", "sms", "chat", "phone", "social")
PURPOSES = ("service", "marketing", "reply")
LANGUAGES = ("en", "de", "fr", "es", "pt")
PHRASES_DIR = Path(__file__).with_name("phrases")

# Contract 3b, in its order (findings are reported in this order).
DEFAULT_SEVERITY: dict[str, Severity] = {
    "consent_missing": "block",
    "consent_withdrawn": "block",
    "quiet_hours": "block",
    "marketing_without_consent": "block",
    "missing_opt_out": "block",
    "risky_promise": "block",
    "legal_risk": "block",
    "placeholder": "block",
    "sensitive_data": "block",
    "spam_phrase": "warn",
    "shouting": "warn",
    "sms_length": "warn",
}
CODES = tuple(DEFAULT_SEVERITY)
MAX_FINDINGS_PER_CODE = 5  # hostile text cannot make the review itself huge
# Texts up to this long are remembered (this many at most) with what they said, so a draft or
# macro sent to many recipients is read once; what depends on the recipient is checked each time.
_SCAN_MEMO_CHARS = 4_000
_SCAN_MEMO_ENTRIES = 4_096
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class Compliance(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """``[compliance]``: how outbound texts are reviewed (docs/compliance.md).

    severity: per code, ``block``, ``warn`` or ``off`` instead of the default (codes not
        named keep theirs), e.g. ``[compliance.severity] spam_phrase = "block"``.
    sms_max_segments: an sms longer than this many segments gets ``sms_length``.
    quiet_hours_start, quiet_hours_end: local ``HH:MM`` between which no sms or phone call
        goes out (default 21:00 to 08:00: sending is allowed from 08:00 until 21:00).
    phrase_files: the store's own phrase lists (TOML, same tables as
        ``outreach/phrases/<lang>.toml``, plus ``language = "de"`` or ``"*"``), added to the built-in ones.
    """

    severity: dict[str, Literal["block", "warn", "off"]] = {}
    sms_max_segments: Annotated[int, msgspec.Meta(ge=1, le=20)] = 2
    quiet_hours_start: Annotated[str, msgspec.Meta(pattern=_HHMM)] = "21:00"
    quiet_hours_end: Annotated[str, msgspec.Meta(pattern=_HHMM)] = "08:00"
    phrase_files: list[str] = []

    def __post_init__(self) -> None:
        unknown = sorted(set(self.severity) - set(CODES))
        if unknown:
            raise ValueError(f"severity: unknown code(s) {unknown}; allowed: {list(CODES)}")
        if self.quiet_hours_start == self.quiet_hours_end:
            raise ValueError(f"quiet_hours_start = quiet_hours_end = {self.quiet_hours_start!r}: "
                             "give a window (default 21:00 to 08:00)")


    @property
    def sending_window(self) -> tuple[dt_time, dt_time]:
        """(from, until) local time an sms or call may go out: (08:00, 21:00) by default."""
        return dt_time.fromisoformat(self.quiet_hours_end), dt_time.fromisoformat(self.quiet_hours_start)


class Recipient(msgspec.Struct, frozen=True):
    """Who gets the message. ``consent``: channel (and ``marketing``) -> True opt-in, False opt-out,
    None/absent no record; ``consent`` None = no consent record at all (the consent checks are skipped)."""

    country: str | None = None
    timezone: str | None = None
    consent: dict[str, bool | None] | None = None


class Message(msgspec.Struct, frozen=True):
    channel: str
    body: str
    subject: str | None = None
    purpose: str = "service"
    send_at: datetime | None = None
    recipient: Recipient | None = None
    language: str | None = None


class Finding(msgspec.Struct, frozen=True):
    code: str
    severity: Severity
    channel: str
    detail: str
    span: tuple[int, int] | None


def quote(text: str, limit: int = 60) -> str:
    """``text`` in double quotes for a detail: control and invisible characters escaped, at most ``limit`` characters."""
    text = " ".join(text.split())
    out = "".join(c if unicodedata.category(c)[0] != "C" else f"\\u{ord(c):04x}" for c in text[:limit])
    return '"' + out + ("…" if len(text) > limit else "") + '"'


# --- phrase lists ------------------------------------------------------------------

class _Lists:
    """One language's (or a set's) compiled lists, by table and group."""

    TABLES = {
        "promo": ("phrases", "nominal"),
        "opt_out": ("phrases",),
        "risky_promise": ("phrases", "nominal"),
        "legal_risk": ("admission", "phrases"),
        "spam_phrase": ("phrases",),
        "fact": ("phrases",),
        "future": ("phrases",),
        "otp": ("phrases",),
        "password": ("phrases",),
        "cvv": ("phrases",),
    }

    def __init__(self) -> None:
        self.all = PhraseList()  # every table's entries, groups named "table:list", for one pass over a text
        self.lists = {table: PhraseList() for table in self.TABLES}  # each table alone, for short texts (a sentence)
        self.negation: set[str] = set()
        self.negation_prefixes: set[str] = set()
        self.negation_after: set[str] = set()
        self.placeholder_words: set[str] = set()
        self.formal_greetings: set[str] = set()
        self.greetings: set[str] = set()

    def load(self, data: dict, source: str, lang: str = "") -> None:
        for table, value in data.items():
            if table == "language":
                continue
            if not isinstance(value, dict):
                raise PhraseError(f"{source}: [{table}] must be a table")
            where = f"{source} [{table}]"
            if table in self.TABLES:
                for group, entries in value.items():
                    if group not in self.TABLES[table]:
                        raise PhraseError(f"{where}: unknown list {group!r}; allowed: {list(self.TABLES[table])}")
                    self.lists[table].add(entries, f"{where} {group}", group, lang)
                    self.all.add(entries, f"{where} {group}", f"{table}:{group}", lang)
            elif table == "negation":
                for w in _strings(value.get("words", []), where):
                    (self.negation_prefixes if w.endswith("'") else self.negation).add(fold(w))
                self.negation_after |= {fold(w) for w in _strings(value.get("after", []), where)}
            elif table == "placeholder":
                self.placeholder_words |= {fold(w) for w in _strings(value.get("words", []), where)}
            elif table == "greeting":
                self.formal_greetings |= {fold(w) for w in _strings(value.get("formal", []), where)}
                self.greetings |= {fold(w) for w in _strings(value.get("casual", []), where)}
            else:
                raise PhraseError(f"{source}: unknown table [{table}]")

    def merge(self, other: "_Lists") -> None:
        self.all.extend(other.all)
        for table, lst in other.lists.items():
            self.lists[table].extend(lst)
        self.negation |= other.negation
        self.negation_prefixes |= other.negation_prefixes
        self.negation_after |= other.negation_after
        self.placeholder_words |= other.placeholder_words
        self.formal_greetings |= other.formal_greetings
        self.greetings |= other.greetings


def _strings(value, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PhraseError(f"{where}: expected a list of strings")
    return value


def _read_toml(path: Path, what: str) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PhraseError(f"{what} = {str(path)!r}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PhraseError(f"{what} = {str(path)!r}: not valid TOML: {exc}") from None


# --- time zones --------------------------------------------------------------------

@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone, or None when it does not exist."""
    if not isinstance(name, str) or not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


# Codes people write that ISO 3166-1 does not have: the United Kingdom's is GB, Greece's GR
# (UK and EL are the EU's own), so a recipient in "UK" still has quiet hours.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


@lru_cache(maxsize=512)
def country_zones(country: str) -> tuple[str, ...]:
    """The IANA zones of an ISO 3166-1 alpha-2 country (CLDR's territory zones via Babel), () if unknown.

    >>> country_zones("uk") == country_zones("GB") == ("Europe/London",)
    True
    """
    from babel.core import get_global  # CLDR data, loaded only when a recipient has no time zone

    code = country.upper()
    zones = get_global("territory_zones").get(_COUNTRY_ALIASES.get(code, code), ())
    return tuple(z for z in zones if zone(z) is not None)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


# --- the checker -------------------------------------------------------------------

_PLACEHOLDERS = re.compile(
    r"\{\{[^{}\n]{0,80}\}\}\}?"                   # {{ name }}, {{{raw}}}
    r"|\{%[^{}\n]{0,80}%\}"                       # {% if x %}
    r"|\{\s{0,3}[A-Za-z_][\w.\-]{0,40}\s{0,3}\}"  # {name}, {order.id}
    r"|\{\d{1,2}\}"                               # {0}
    r"|\{[!$]\s{0,3}[A-Za-z_][\w.]{0,60}\s{0,3}\}"   # {!Contact.FirstName} (Salesforce), {$name} (Smarty)
    r"|\[\[\s{0,3}[A-Za-z_][\w.\- ]{0,40}\s{0,3}\]\]"  # [[name]]
    r"|\$\{[\w.]{1,40}\}"                         # ${name}
    r"|\$[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\$(?:NAME|FIRSTNAME|ORDER|ORDERID|AMOUNT|DATE|EMAIL|VAR)\b"  # $FIRST_NAME
    r"|%\([\w.]{1,40}\)[sdifr]"                   # %(name)s
    r"|%\d\$[sd]|%[sd](?![\w%])"                  # %s, %1$s
    r"|%[A-Z][A-Z0-9_]{1,30}%"                    # %FIRSTNAME%
    r"|\*\|[A-Z0-9_:]{1,40}\|\*"                  # *|FNAME|*
    r"|\[object Object\]|\bInvalid Date\b|\bNaN\b"
)
# A template's default for a name, left in after a greeting ("Dear Customer Name,").
_NAME_SLOTS = frozenset({"name", "first name", "firstname", "customer name", "full name", "vorname", "kundenname", "nom",
                         "prenom", "nombre", "nome", "primeiro nome", "client name", "fname"})
_BRACKETED = re.compile(r"\[\s{0,3}([^\[\]\n]{1,40}?)\s{0,3}\]|<<\s{0,3}([^<>\n]{1,40}?)\s{0,3}>>|«\s{0,3}([^«»\n]{1,40}?)\s{0,3}»"
                        r"|<\s{0,3}([A-Za-z][\w ]{0,40}?)\s{0,3}>")
# Words a bracketed slot name is made of besides the vocabulary ("[Nombre del cliente]", "[Your order number]").
_SLOT_FILLERS = frozenset({"de", "del", "do", "da", "du", "des", "der", "of", "the", "your", "ihr", "ihre", "votre", "tu", "su",
                           "seu", "sua", "insert", "customer", "no", "nr", "n"})
_CAMEL = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]*)+")  # FirstName, OrderNo: a merge field's name
_HTML_ELEMENTS = frozenset(
    "a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption center cite code "
    "col colgroup data dd del details dfn dialog div dl dt em embed fieldset figcaption figure font footer form h1 h2 "
    "h3 h4 h5 h6 head header hr html i iframe img input ins kbd label legend li link main map mark meta meter nav "
    "noscript object ol optgroup option output p param picture pre progress q s samp script section select small "
    "source span strike strong style sub summary sup table tbody td template textarea tfoot th thead time title tr "
    "track tt u ul var video wbr o xml".split())
_NULLISH = re.compile(r"(?:[#:=€$£]|\b(?:no|nr|n°|nº|EUR|USD|GBP|BRL|order|bestellung|commande|pedido|encomenda))"
                      r"\s{0,2}(?:None|null|undefined|NaN|nan)\b"
                      r"|\b(?:None|null|undefined|NaN)\s{0,2}(?:€|EUR|USD|GBP|BRL)\b")
_VALUE_END = (r"(?=\s{0,2}(?:[,;)]|\.(?!\d)|$)|\s(?:has|have|is|was|will|ist|wurde|wird|a|est|ha|foi|fue|se|sera)\b)")
_BLANK_VALUE = re.compile(r"(?<!\d)(?<!\d\s)(?:[€$£]|\b(?:EUR|USD|GBP|BRL)\b)" + _VALUE_END + r"|#" + _VALUE_END
                          + r"|(?<=\w):[ \t]{0,2}(?=[.,;](?:\s|$))", re.M)
_NULL_WORDS = ("None", "null", "undefined", "NaN", "nan")
_PLACEHOLDER_CUES = ("{", "$", "%", "*|", "[[", "[object Object]", "Invalid Date", "NaN")  # in every _PLACEHOLDERS match
_BLANK_VALUE_CUES = ("€", "$", "£", "#", ":", "EUR", "USD", "GBP", "BRL")  # in every _BLANK_VALUE match
# A greeting and what follows it, up to a comma, "!" or ":" (or a blank value): "Dear ,", "Hallo None".
# The words are possessive (++): a word cut short is followed by a letter, where no match can go on.
_GREETING = re.compile(r"(?:^|(?<=[\s>]))([^\W\d_]++(?: [^\W\d_]++){0,2}(?:/[^\W\d_]{1,2}|\([^\W\d_]{1,2}\))?)( ?)"
                       r"([,!:]|\b(?:None|null|undefined|nan)\b)")
_GENDER_SUFFIX = re.compile(r"(?:/\w{1,2}|\(\w{1,2}\))$")  # "geehrte/r", "prezado(a)"
_CARD = re.compile(r"(?<![\d.,])\d(?:[ \-]?\d){12,18}(?![\d])")
# A long digit run right after one of these words is an order, parcel, phone or invoice number.
_CARD_CONTEXT_NOT = re.compile(r"\b(?:order|orders|bestell\w*|auftrag\w*|commande|pedido|encomenda|tracking|track|sendung\w*|"
                               r"colis|paquete|pacote|envio|tel|phone|telefon\w*|telefone|telefono|invoice|rechnung\w*|"
                               r"facture|factura|fatura|ref|awb|iban|reference|referenz|suivi|seguimiento|rastreio)\b"
                               r"(?:\W{1,3}(?:number|no|nr|id|code|nummer|numero|de suivi|de seguimiento|de rastreio))?"
                               r"(?:\W{1,3}(?:is|ist|lautet|est|es|e))?[^a-z]{0,8}$"
                               r"|\+\W{0,4}$")
_AMEX_LAYOUT = re.compile(r"\d{4}([ \-])\d{6}\1\d{4,5}")
_CODE_VALUE = re.compile(r"(?:\W{0,3}(?:(?:is|ist|lautet|est|es|e|sera|will be)\W{1,3})?"
                         # or a few words, then ":" or "is": "Einmalcode für die Anmeldung: 583920"
                         r"|(?:\W{1,3}[a-z']{1,20}){1,3}?(?:\s{0,2}:|\s(?:is|ist|lautet|est|es|e|sera))\s{1,3})"
                         r"(\d{4,8}|\d{3}[ \-]\d{3})\b(?![.,]?\s?\d)")
# "Use 445566 as your login code", "482913 is your verification code"
_CODE_FIRST = re.compile(r"(?<![\d.,#])(\d{4,8}|\d{3}[ \-]\d{3})\W{0,3}(?:is|as|ist|est|es|e|sera|als|comme|como)\W{1,3}"
                         r"(?:your|ihr|dein|votre|ton|tu|su|seu|o seu|teu|o teu)\W{1,3}(?:[a-z\-]+\W{1,3}){0,2}?"
                         r"(?:code|passcode|pin|tan|otp|codigo|password|passwort|mot de passe|senha|contrasena|clave)\b")
# The value may follow a few words and sit in brackets ("The CVC you gave us (418)", "est bien 382"),
# but not a card's last four ("the CVC of the card ending 4242").
_CVV_VALUE = re.compile(r"(?:\W{1,3}(?!ending|endet|endung|termin|final|finissant|par\b|por\b)[a-z']{1,20}){0,3}?"
                        r"\W{0,3}(?:(?:is|was|ist|war|lautet|est|etait|es|era|fue|e|foi)\W{1,3})?\(?(\d{3,4})\b(?![.,]?\s?\d)")
_PASSWORD_VALUE = re.compile(r"(?:\s[a-z]{3,15}){0,2}?(\s{0,2}[:=]\s{0,2}|\s{1,2}(?:is|ist|lautet|est|es|e)\s{0,2}:?\s{0,2})[\"'“«]?([^\s\"'”»]{3,64})")
_SHOUT_WORD = re.compile(r"[\w'’-]+")
_PUNCT_RUN = re.compile(r"[!?¡¿]{3,}")
_CLAUSE_END = re.compile(r"[.,;:!?\n()\[\]]|\s[-–—]\s|\b(?:but|aber|mais|pero|mas)\b")
_SENTENCE_END = re.compile(r"[.!?\n]")
_WORDS = re.compile(r"\w+(?:'\w+)*")
_ACRONYMS = frozenset(
    "UPS DHL DPD GLS USPS FEDEX TNT GEL EU USA UK US ID VAT TVA IVA MWST UST PDF FAQ SMS URL IBAN BIC SWIFT CVV CVC "
    "OTP PIN EUR USD GBP BRL CHF CET CEST UTC GMT PS SKU TV DIY PC IT HR CEO NIF NIE CPF CNPJ RGPD GDPR DSGVO LGPD "
    "SA SL SAS SARL GMBH AG KG LTD LLC INC PLC CO OK AM PM EAN UPC QR API APP IOS ATM POS CTT SEUR MRW CTT MBWAY "
    "PIX TWINT SEPA PAYPAL KLARNA AMEX VISA BR ES FR DE PT".split())


class Checker:
    """Reviews messages against ``Compliance`` settings; build one and reuse it (lists compile once)."""

    def __init__(self, settings: Compliance | None = None, phrases_dir: Path = PHRASES_DIR) -> None:
        self.settings = settings or Compliance()
        self.severity: dict[str, str] = {**DEFAULT_SEVERITY, **self.settings.severity}
        self._quiet = (_minutes(self.settings.quiet_hours_start), _minutes(self.settings.quiet_hours_end))
        self._by_lang: dict[str, _Lists] = {}
        for lang in LANGUAGES:
            lists = _Lists()
            lists.load(_read_toml(phrases_dir / f"{lang}.toml", "phrases"), f"outreach/phrases/{lang}.toml", lang)
            self._by_lang[lang] = lists
        for i, path in enumerate(self.settings.phrase_files):
            what = f"compliance.phrase_files[{i}]"
            data = _read_toml(Path(path), what)
            lang = data.get("language", "*")
            if lang != "*" and lang not in LANGUAGES:
                raise PhraseError(f"{what} = {path!r}: language = {lang!r}; allowed: '*' or one of {list(LANGUAGES)}")
            for target in LANGUAGES if lang == "*" else (lang,):
                self._by_lang[target].load(data, f"{path}", target)
        # Every list a message can be read with, merged once: its language and English, or all five.
        self._merged: dict[frozenset, _Lists] = {}
        for langs in [frozenset({lang, "en"}) for lang in LANGUAGES] + [frozenset(LANGUAGES)]:
            merged = _Lists()
            for lang in LANGUAGES:
                if lang in langs:
                    merged.merge(self._by_lang[lang])
            self._merged[langs] = merged
        self._scans: dict[tuple[str, bool, frozenset], _Scan] = {}

    # -- public -------------------------------------------------------------------

    def review(self, msg: Message) -> list[Finding]:
        """Every finding for ``msg``, in contract order, then by position; never raises on text."""
        out: dict[str, list[tuple[str, tuple[int, int] | None]]] = {code: [] for code in CODES}
        full_body = msg.body if isinstance(msg.body, str) else ""
        body = full_body[:MAX_SCAN_CHARS]  # the sms length is counted on the full body, everything else on this
        subject = msg.subject[:MAX_SCAN_CHARS] if isinstance(msg.subject, str) else None
        langs, lists = self._lists(msg.language)
        self._consent(msg, out)
        self._quiet_hours(msg, out)
        promo_seen = None
        # Only a marketing email or sms needs an unsubscribe line: for the rest it is not looked for.
        opt_out_seen = not (msg.purpose == "marketing" and msg.channel in ("email", "sms"))
        for raw, is_subject in ((body, False), (subject, True)) if subject else ((body, False),):
            scan = self._scan(raw, is_subject, langs, lists)
            for code, detail, span in scan.found:
                if len(out[code]) < MAX_FINDINGS_PER_CODE * 2:
                    out[code].append((detail, span))
            if promo_seen is None:
                promo_seen = scan.promo
            opt_out_seen = opt_out_seen or scan.opt_out or _opt_out_link(raw)
            if not opt_out_seen and not is_subject and len(full_body) > 5_000:
                # the footer of a body longer than what is scanned: where the unsubscribe line lives
                # (a shorter body was scanned whole, footer and all)
                opt_out_seen = bool(lists.lists["opt_out"].find(view(full_body[-5_000:]).folded, limit=1))
        self._marketing(msg, promo_seen, out)
        if msg.purpose == "marketing" and msg.channel in ("email", "sms") and not opt_out_seen:
            how = "an unsubscribe link or line" if msg.channel == "email" else "a STOP (opt-out) instruction"
            out["missing_opt_out"].append((f"a marketing {msg.channel} without {how}", None))
        if msg.channel == "sms" and full_body:
            body = full_body
            seg = sms.count(body, self.settings.sms_max_segments)
            if seg.segments > self.settings.sms_max_segments:
                why = (f"UCS-2 because of {quote(body[seg.first_non_gsm], 5)} at {seg.first_non_gsm}"
                       if seg.first_non_gsm is not None else "GSM-7")
                unit = "code units" if seg.encoding == "UCS-2" else "septets"
                out["sms_length"].append((f"{seg.segments} segments ({why}; {seg.units} {unit}), "
                                          f"limit {self.settings.sms_max_segments}",
                                          (seg.overflow_at, len(body)) if seg.overflow_at is not None else None))
        findings = []
        for code in CODES:
            severity = self.severity[code]
            if severity == "off":
                continue
            seen = set()
            for detail, span in out[code]:
                if (detail, span) in seen:
                    continue
                seen.add((detail, span))
                findings.append(Finding(code, severity, msg.channel, detail, span))
                if len(seen) >= MAX_FINDINGS_PER_CODE:
                    break
        return findings

    def _scan(self, raw: str, is_subject: bool, langs: frozenset, lists: _Lists) -> _Scan:
        """What one text (a body or a subject) says, whoever it goes to: remembered for texts seen
        before (the same draft or macro to many recipients is read once)."""
        key = (raw, is_subject, langs)
        scan = self._scans.get(key)
        if scan is not None:
            return scan
        v = view(raw)
        found_list: list[tuple[str, str, tuple[int, int] | None]] = []
        add = _adder(found_list, v, is_subject)

        def said(m: Match) -> str:
            """What the writer wrote there (not its folded form), quoted."""
            start, end = v.span(m.start, m.end)
            return quote(raw[start:end] or m.text)

        found = lists.all.find_all(v.folded)
        self._placeholders(raw, v, lists, add)
        self._sensitive(v, lists, found, add)
        promo = self._phrases(v, lists, found, "promo", negatable=False)
        promo_seen = None
        if promo:
            promo_seen = (is_subject, said(promo[0]), None if is_subject else v.span(promo[0].start, promo[0].end))
        for m in self._phrases(v, lists, found, "risky_promise", negatable=True):
            add("risky_promise", f"promise: {said(m)}", m)
        for m in self._phrases(v, lists, found, "legal_risk", negatable=("admission",)):
            what = "admission of fault" if m.group == "admission" else "legal wording"
            add("legal_risk", f"{what}: {said(m)}", m)
        for m in self._phrases(v, lists, found, "spam_phrase", negatable=False):
            add("spam_phrase", f"spam-trigger phrase {said(m)}", m)
        self._shouting(v, add)
        scan = _Scan(found_list, promo_seen, bool(found.get("opt_out")))
        if len(raw) <= _SCAN_MEMO_CHARS:
            if len(self._scans) >= _SCAN_MEMO_ENTRIES:
                self._scans.clear()  # bounded; a plain dict stays safe to share between worker threads
            self._scans[key] = scan
        return scan

    def forget(self) -> None:
        """Forget the texts read so far (the next review of each reads it again)."""
        self._scans.clear()

    def quiet_until(self, send_at: datetime, recipient: Recipient | None) -> datetime | None:
        """The earliest time at or after ``send_at`` that is outside quiet hours in every zone of the
        recipient (for a draft's ``send_after``); ``send_at`` itself when no zone is known, None when
        no time of day is allowed in every zone of its country."""
        zones = self._zones(recipient)
        if not zones:
            return send_at
        t = send_at.astimezone(timezone.utc)
        for _ in range(2 * 24 * 4 + 1):  # two days in quarter hours covers any window and DST shift
            if not any(self._is_quiet(t, z) for z in zones):
                return t
            t = (t + timedelta(minutes=15)).replace(second=0, microsecond=0)
            t -= timedelta(minutes=t.minute % 15)
        return None

    # -- rules ----------------------------------------------------------------------

    def _consent(self, msg: Message, out) -> None:
        r = msg.recipient
        if msg.purpose == "reply" or r is None or r.consent is None:
            return
        value = r.consent.get(msg.channel)
        if value is False:
            out["consent_withdrawn"].append((f"the recipient opted out of {msg.channel}", None))
        elif value is not True:
            out["consent_missing"].append((f"no recorded opt-in for {msg.channel} ({msg.purpose} message)", None))

    def _zones(self, r: Recipient | None) -> list[ZoneInfo]:
        if r is None:
            return []
        if r.timezone and zone(r.timezone) is not None:
            return [zone(r.timezone)]
        if r.country and isinstance(r.country, str) and len(r.country) == 2:
            return [zone(z) for z in country_zones(r.country)]
        return []

    def _is_quiet(self, t: datetime, z: ZoneInfo) -> bool:
        local = t.astimezone(z)
        m = local.hour * 60 + local.minute
        start, end = self._quiet
        return (start <= m or m < end) if start > end else (start <= m < end)

    def _quiet_hours(self, msg: Message, out) -> None:
        if msg.channel not in ("sms", "phone") or msg.purpose == "reply" or msg.send_at is None:
            return
        if msg.send_at.tzinfo is None:
            return
        zones = self._zones(msg.recipient)
        for z in zones:
            if self._is_quiet(msg.send_at, z):
                local = msg.send_at.astimezone(z)
                s, e = self.settings.quiet_hours_end, self.settings.quiet_hours_start
                several = f" (one of {len(zones)} zones of {msg.recipient.country.upper()})" if len(zones) > 1 else ""
                out["quiet_hours"].append((f"sent at {local:%H:%M} in {z.key}{several}, outside {s}-{e}", None))
                return

    def _marketing(self, msg: Message, promo_seen, out) -> None:
        r = msg.recipient
        if r is None or r.consent is None or r.consent.get("marketing") is True:
            return
        state = {False: "opted out of marketing", None: "no marketing consent"}[r.consent.get("marketing")]
        if promo_seen is not None:
            is_subject, quoted, span = promo_seen
            where = "in the subject " if is_subject else ""
            out["marketing_without_consent"].append(
                (f"promotional content {where}{quoted}; the recipient has {state}", span))
        elif msg.purpose == "marketing":
            out["marketing_without_consent"].append((f"a marketing message; the recipient has {state}", None))

    def _phrases(self, v: View, lists: _Lists, found_all: dict, table: str, negatable) -> list[Match]:
        found = []
        for m in found_all.get(table, ()):
            if (negatable is True or (negatable and m.group in negatable)) and self._negated(v.folded, m, lists):
                continue
            if m.group == "nominal" and self._reported_as_done(v.folded, m, self._by_lang.get(m.lang, lists)):
                continue
            found.append(m)
        return found

    @staticmethod
    def _negated(text: str, m: Match, lists: _Lists) -> bool:
        """A negation in the clause before the match (up to four words), inside a gap, or one of the
        ``after`` words just after it (German and French put it there: "garantieren wir nicht")."""
        lo = max(0, m.start - 80)
        before = text[lo:m.start]
        cut = None
        for cut in _CLAUSE_END.finditer(before):
            pass
        if cut is not None:
            before = before[cut.end():]
        words = _WORDS.findall(before)[-4:]
        if m.has_gap:
            words += [w for w in _WORDS.findall(m.text) if w not in m.literals]
        after = text[m.end:m.end + 40]
        stop = _CLAUSE_END.search(after)
        following = _WORDS.findall(after[: stop.start() if stop else len(after)])[:2]
        return (any(w in lists.negation or any(w.startswith(p) for p in lists.negation_prefixes) for w in words)
                or any(w in lists.negation_after for w in following))

    @staticmethod
    def _reported_as_done(text: str, m: Match, lists: _Lists) -> bool:
        """The sentence around a named refund/credit/discount reports it as done, with nothing promised
        (read with the lists of the language the phrase is from: Portuguese "devolvemos" is also a
        past tense, Spanish "te devolvemos el dinero" is a promise)."""
        lo = max(0, m.start - 200)
        starts = [x.end() for x in _SENTENCE_END.finditer(text, lo, m.start)]
        start = starts[-1] if starts else lo
        end_m = _SENTENCE_END.search(text, m.end, m.end + 200)
        sentence = text[start: end_m.start() if end_m else min(len(text), m.end + 200)]
        return bool(lists.lists["fact"].find(sentence, limit=1)) and not lists.lists["future"].find(sentence, limit=1)

    def _placeholders(self, raw: str, v: View, lists: _Lists, add) -> None:
        raw = raw[: (v.plain_at[-1] + 1 if v.plain_at else 0) + 2_000]  # as far as the view reaches
        # Each pattern is run only on a text with a string every match of it contains.
        if _has_any(raw, _PLACEHOLDER_CUES):
            for m in _PLACEHOLDERS.finditer(raw):
                add("placeholder", f"unfilled placeholder {quote(m.group())}", m.span(), raw_span=True)
        for m in _BRACKETED.finditer(raw) if "[" in raw or "<" in raw or "«" in raw else ():
            inner = next(g for g in m.groups() if g is not None)
            name = fold(inner)
            tag_like = m.group(4) is not None
            merge_field = m.group(2) is not None or m.group(3) is not None  # <<...>>, «...»: mail merge
            is_caps = re.fullmatch(r"[A-Z][A-Z0-9_ ]*", inner.strip()) is not None
            if tag_like and name.split(" ")[0] in _HTML_ELEMENTS and not ("_" in inner):
                continue
            if m.group(3) is not None and " " in inner.strip():
                continue  # « a quotation » in French or Swiss text is not a field
            vocab = name in lists.placeholder_words or _slot_name(name, lists.placeholder_words)
            if (vocab or (is_caps and "_" in inner) or (is_caps and tag_like and len(inner.strip()) > 1)
                    or (merge_field and _CAMEL.fullmatch(inner.strip()))):
                add("placeholder", f"unfilled placeholder {quote(m.group())}", m.span(), raw_span=True)
        if _has_any(v.plain, _NULL_WORDS):
            for m in _NULLISH.finditer(v.plain):
                add("placeholder", f"blank value {quote(m.group())}", v.span(m.start(), m.end(), folded=False))
        if _has_any(v.plain, _BLANK_VALUE_CUES):
            for m in _BLANK_VALUE.finditer(v.plain):
                add("placeholder", f"a value is missing after {quote(m.group())}", v.span(m.start(), m.end(), folded=False))
        # greetings without a name: "Dear ,", "Hi ,", "Hallo None", "Dear Customer Name,"
        for m in _GREETING.finditer(v.plain[:2000]):
            words = _GENDER_SUFFIX.sub("", fold(m.group(1))).split(" ")  # "geehrte/r", "prezado(a)"
            filler = m.group(3)
            if filler[0].isalpha():
                words.append(filler.lower())
            greeting, rest = None, []
            for n in (3, 2, 1):
                head = " ".join(words[:n])
                if len(words) >= n and (head in lists.formal_greetings or head in lists.greetings):
                    greeting, rest = head, words[n:]
                    break
            if greeting is None:
                continue
            blank = (not rest and (greeting in lists.formal_greetings or m.group(2) == " ")
                     or rest in (["none"], ["null"], ["undefined"], ["nan"])
                     or (rest and " ".join(rest) in _NAME_SLOTS))
            if blank:
                add("placeholder", f"greeting without a name {quote(m.group())}",
                    v.span(m.start(), m.end(), folded=False))

    def _sensitive(self, v: View, lists: _Lists, found: dict, add) -> None:
        text = v.folded
        for m in _CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if not (13 <= len(digits) <= 19 and _luhn(digits) and _issuer(digits)):
                continue
            if not _card_grouping(m.group()):
                continue
            if not _AMEX_LAYOUT.fullmatch(m.group()) and _CARD_CONTEXT_NOT.search(text[max(0, m.start() - 40):m.start()]):
                continue  # an order or parcel number; no such number is written 4-6-5 like an Amex
            add("sensitive_data", f"a card number ({len(digits)} digits, ending {digits[-4:]})", m)
        for table, value_rx, what in (("otp", _CODE_VALUE, "a one-time code"), ("cvv", _CVV_VALUE, "a card security code")):
            for cue in found.get(table, ()):
                value = value_rx.match(text, cue.end)
                if value:
                    add("sensitive_data", f"{what} after {quote(cue.text)}", Match(cue.start, value.end(), "", "", False))
        for m in _CODE_FIRST.finditer(text):
            add("sensitive_data", "a one-time code before \"your ... code\"", m)
        for cue in found.get("password", ()):
            value = _PASSWORD_VALUE.match(v.folded, cue.end)
            if not value:
                continue
            secret, connector = value.group(2), value.group(1)
            masked = set(secret) <= set("*•·.x#")
            wordy = secret.isalpha() and ":" not in connector and "=" not in connector
            if masked or wordy or secret.startswith(("(", "<", "http")):
                continue
            add("sensitive_data", f"a password after {quote(cue.text)}", Match(cue.start, value.end(), "", "", False))

    @staticmethod
    def _shouting(v: View, add) -> None:
        text = v.plain
        # Every word of a run has ``isupper()`` true: a text with fewer than three such words has
        # no run, and most drafts are such texts; their words are only counted, not walked.
        runs = caps_runs(text) if _upper_words(text) >= 3 else []
        for s, e, n in runs[:MAX_FINDINGS_PER_CODE]:
            add("shouting", f"{n} words in capitals in a row: {quote(text[s:e])}", v.span(s, e, folded=False))
        for m in list(_PUNCT_RUN.finditer(text))[:MAX_FINDINGS_PER_CODE]:
            add("shouting", f"a run of punctuation {quote(m.group(), 10)}", v.span(m.start(), m.end(), folded=False))

    # -- helpers --------------------------------------------------------------------

    def _lists(self, language: str | None) -> tuple[frozenset, _Lists]:
        """The message's language and English (store copy borrows English), or all five when
        unknown: (those languages, their lists merged at start)."""
        primary = language.split("-")[0].split("_")[0].lower() if isinstance(language, str) and language else None
        langs = frozenset({primary, "en"}) if primary in LANGUAGES else frozenset(LANGUAGES)
        return langs, self._merged[langs]


class _Scan(NamedTuple):
    """One text's findings (code, detail, span) in the order found, its first promotional
    phrase (in the subject?, quoted, span), and whether it has an unsubscribe line."""

    found: list[tuple[str, str, tuple[int, int] | None]]
    promo: tuple[bool, str, tuple[int, int] | None] | None
    opt_out: bool


def _adder(found: list, v: View, is_subject: bool):
    """A function that records a finding with its span in the body (None for the subject).

    At most ``2 * MAX_FINDINGS_PER_CODE`` of a code are kept from one text: no more are ever reported.
    """
    counts: dict[str, int] = {}

    def add(code: str, detail: str, where, raw_span: bool = False) -> None:
        n = counts.get(code, 0)
        if n >= MAX_FINDINGS_PER_CODE * 2:
            return
        counts[code] = n + 1
        if is_subject:
            found.append((code, f"in the subject: {detail}", None))
            return
        if isinstance(where, Match):
            span = v.span(where.start, where.end)
        elif hasattr(where, "span") and not isinstance(where, tuple):
            span = v.span(*where.span())
        else:
            span = tuple(where) if where is not None else None
        found.append((code, detail, span))

    return add


_UNSUB_LINK = re.compile(r"(?i)(?:href|url)\s{0,3}=\s{0,3}[\"']?[^\"'\s>]{0,300}?(?:unsub|opt-?out|abmeld|abbestell|"
                         r"desinscri|desabonn|desuscri|baja|descadastr|preferences|praferenzen)")


def _opt_out_link(raw: str) -> bool:
    return _UNSUB_LINK.search(raw[:200_000]) is not None


def _slot_name(name: str, vocabulary: set[str]) -> bool:
    """A bracketed name made of slot words: "nombre cliente", "your order number", "order_date"."""
    words = [w for w in re.split(r"[\s_.\-]+", name) if w and w not in _SLOT_FILLERS]
    return bool(words) and len(words) <= 4 and (" ".join(words) in vocabulary or all(w in vocabulary for w in words))


def caps_runs(text: str) -> list[tuple[int, int, int]]:
    """(start, end, words) of each run of three or more words in capitals, one of them of four
    letters or more, in ``text`` (plain). Numbers and acronyms neither count nor break a run; a
    newline, ".", "?", "!" or more than 12 characters between two words do.

    >>> caps_runs("FOR DHL DELIVERY CALL NOW. Ok?")
    [(0, 25, 4)]
    """
    runs: list[tuple[int, int, int]] = []
    run: list[re.Match] = []

    def close():
        if len(run) >= 3 and any(sum(c.isalpha() for c in w.group()) >= 4 for w in run):
            runs.append((run[0].start(), run[-1].end(), len(run)))

    prev_end = 0
    for w in _SHOUT_WORD.finditer(text):
        word = w.group()
        if word.isdigit() or (word.isupper() and word.strip("'’-") in _ACRONYMS):
            continue  # numbers and acronyms neither count nor break a run ("GET 50% OFF", "FOR DHL DELIVERY")
        caps = word.isupper() and not any(c.isdigit() for c in word) and sum(c.isalpha() for c in word) >= 2
        gap = text[prev_end:w.start()] if caps and run else ""
        if not caps or (run and ("\n" in gap or "." in gap or "?" in gap or "!" in gap or len(gap) > 12)):
            if run:
                close()
                run = []
        if caps:
            run.append(w)
        prev_end = w.end()
    close()
    return runs


def _upper_words(text: str) -> int:
    """How many words of ``text`` (as ``_shouting`` splits it) are in capitals (``str.isupper``).

    >>> _upper_words("Your DHL parcel O-17 is LATE, SORRY")
    4
    """
    return sum(1 for w in _SHOUT_WORD.findall(text) if w.isupper())


def _has_any(text: str, needles: tuple[str, ...]) -> bool:
    return any(n in text for n in needles)


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _issuer(digits: str) -> bool:
    """Starts like a payment card (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro)."""
    two, four = int(digits[:2]), int(digits[:4])
    return (digits[0] == "4" or 51 <= two <= 55 or 2221 <= four <= 2720 or two in (34, 37, 36, 38, 30, 35, 62, 65)
            or digits.startswith("6011") or 644 <= int(digits[:3]) <= 649 or two in (50, 56, 57, 58, 63, 67))


def _card_grouping(text: str) -> bool:
    """Digits written like a card: no separators, or groups of 4 (4-6-5 / 4-6-4 for Amex and Diners)."""
    groups = re.split(r"[ \-]", text)
    if len(groups) == 1:
        return True
    sizes = [len(g) for g in groups]
    return all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4 or sizes in ([4, 6, 5], [4, 6, 4])
