"""``forewarn lint``: the compliance review of outbound texts, one JSON line in, one out (contract section 5).

Reads lines {``id``, ``channel``, ``body``, ``subject?``, ``purpose``, ``send_at?``, ``recipient?``
{``country?``, ``timezone?``, ``consent?``}, ``language?``} and writes, per line in the same
order, {``id``, ``ok``, ``findings``} from ``outreach.compliance.Checker`` (the same checker the
drafts use). Blank lines are not messages and get no output line.

A line that cannot be reviewed (not JSON, not an object, a missing or mistyped field, an
unknown channel or purpose, a ``send_at`` that is not RFC 3339 with an offset, a country that
is not two letters, a time zone that does not exist) is reported on stderr as
``line N: field: what is wrong`` and still gets its output line, so outputs stay aligned
with inputs: {``id`` (or null), ``ok``: false, ``findings``: [], ``error``: the same text}.
The other lines are reviewed as usual. Exit 0: every message ok; 1: at least one ``block``
finding; 2: bad input or usage (that wins over 1).

Only the ``[compliance]`` table of ``--config`` is read: lint imports neither the engine's
config (detectors, River) nor any service client, so it starts in well under a second.
"""

from __future__ import annotations

import re
import sys
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import IO, Annotated, Any

import msgspec

from forewarn.core.settings import value_at
from outreach.compliance import CHANNELS, PURPOSES, Checker, Compliance, Message, Recipient, zone
from outreach.phrases import PhraseError

OK, BLOCKED, BAD = 0, 1, 2
BOM = b"\xef\xbb\xbf"
# RFC 3339 with an offset, read as events' ``ts`` is (``forewarn.core.events.Timestamp``, not imported: lint starts fast).
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
CONSENT_KEYS = ("email", "sms", "phone", "chat", "social", "marketing")


class BadLine(ValueError):
    """A line that cannot be reviewed: ``field`` names what is wrong."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)


def settings(path: str | None) -> Compliance:
    """The ``[compliance]`` table of the config file (default ``forewarn.toml`` if present)."""
    if path is None:
        if not Path("forewarn.toml").exists():
            return Compliance()
        path = "forewarn.toml"
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"config file {path} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    section = data.get("compliance", {})
    try:
        return msgspec.convert(section, Compliance)
    except msgspec.ValidationError as exc:
        text = str(exc)
        if " - at `$." in text:
            what, where = text.rsplit(" - at `$.", 1)
            key = where.rstrip("`")
            try:
                value = value_at(section, key)
            except LookupError:
                value = None
            raise ValueError(f"compliance.{key} = {value!r}: {what}") from None
        raise ValueError(f"compliance: {text.replace(' - at `$`', '')}") from None


def _optional_str(obj: dict, key: str, where: str = "") -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise BadLine(where + key, f"must be a string, got {type(value).__name__}")
    return value


def _choice(obj: dict, key: str, allowed: tuple[str, ...]) -> str:
    value = obj.get(key)
    if value is None:
        raise BadLine(key, f"missing; one of {list(allowed)}")
    if value not in allowed:
        raise BadLine(key, f"{_short(value)} is not one of {list(allowed)}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse(obj: Any) -> Message:
    """A lint input line (decoded JSON) as a ``Message``; raise BadLine naming the field."""
    if not isinstance(obj, dict):
        raise BadLine("", f"a line must be a JSON object, got {type(obj).__name__}")
    if "id" not in obj:
        raise BadLine("id", "missing")
    if not isinstance(obj["id"], (str, int)) or isinstance(obj["id"], bool):
        raise BadLine("id", f"must be a string or an integer, got {_short(obj['id'])}")
    channel = _choice(obj, "channel", CHANNELS)
    if "body" not in obj or obj["body"] is None:
        raise BadLine("body", "missing")
    if not isinstance(obj["body"], str):
        raise BadLine("body", f"must be a string, got {type(obj['body']).__name__}")
    subject = _optional_str(obj, "subject")
    purpose = _choice(obj, "purpose", PURPOSES)
    language = _optional_str(obj, "language")
    send_at = None
    raw_send_at = _optional_str(obj, "send_at")
    if raw_send_at is not None:
        try:  # parsed as events' ``ts`` is (RFC 3339: ``t``/``z`` in lower case too)
            send_at = msgspec.convert(raw_send_at, Timestamp)
        except msgspec.ValidationError:
            raise BadLine("send_at", f"{_short(raw_send_at)} is not an RFC 3339 time with an offset "
                                     "(2026-11-26T10:00:00Z)") from None
    recipient = None
    if obj.get("recipient") is not None:
        r = obj["recipient"]
        if not isinstance(r, dict):
            raise BadLine("recipient", f"must be an object, got {type(r).__name__}")
        country = _optional_str(r, "country", "recipient.")
        if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
            raise BadLine("recipient.country", f"{_short(country)} is not an ISO 3166-1 alpha-2 code (FR, US)")
        tz = _optional_str(r, "timezone", "recipient.")
        if tz is not None and zone(tz) is None:
            raise BadLine("recipient.timezone", f"{_short(tz)} is not an IANA time zone (Europe/Paris)")
        consent = None
        if r.get("consent") is not None:
            if not isinstance(r["consent"], dict):
                raise BadLine("recipient.consent", f"must be an object, got {type(r['consent']).__name__}")
            consent = {}
            for key, value in r["consent"].items():
                if value is not None and not isinstance(value, bool):
                    raise BadLine(f"recipient.consent.{key}", f"must be true, false or null, got {_short(value)}")
                if key in CONSENT_KEYS:
                    consent[key] = value
        recipient = Recipient(country=country.upper() if country else None, timezone=tz, consent=consent)
    return Message(channel=channel, body=obj["body"], subject=subject, purpose=purpose, send_at=send_at,
                   recipient=recipient, language=language)


def lint(checker: Checker, lines, out: IO[bytes], errors: IO[str]) -> tuple[int, dict[str, int]]:
    """Review every line; write one result per non-blank line; return (exit code, counts)."""
    encoder = msgspec.json.Encoder()
    decoder = msgspec.json.Decoder()
    counts = {"messages": 0, "blocked": 0, "warned": 0, "bad": 0}
    for number, line in enumerate(lines, 1):
        if number == 1 and line.startswith(BOM):
            line = line[len(BOM):]  # a file saved "UTF-8 with BOM" (PowerShell, Notepad) is UTF-8
        if not line.strip():
            continue
        counts["messages"] += 1
        ident = None
        try:
            try:
                obj = decoder.decode(line)
            except (msgspec.DecodeError, UnicodeDecodeError) as exc:
                raise BadLine("", f"not JSON: {exc}") from None
            if isinstance(obj, dict) and isinstance(obj.get("id"), (str, int)) and not isinstance(obj.get("id"), bool):
                ident = obj["id"]
            msg = parse(obj)
        except BadLine as exc:
            counts["bad"] += 1
            text = f"line {number}: {exc}"
            print(f"forewarn lint: {text}", file=errors)
            out.write(encoder.encode({"id": ident, "ok": False, "findings": [], "error": text}) + b"\n")
            continue
        findings = checker.review(msg)
        blocked = any(f.severity == "block" for f in findings)
        counts["blocked"] += blocked
        counts["warned"] += (not blocked) and bool(findings)
        out.write(encoder.encode({"id": ident, "ok": not blocked,
                                  "findings": [{"code": f.code, "severity": f.severity, "channel": f.channel,
                                                "detail": f.detail, "span": list(f.span) if f.span else None}
                                               for f in findings]}) + b"\n")
    code = BAD if counts["bad"] else BLOCKED if counts["blocked"] else OK
    return code, counts


def main(args) -> int:
    """The ``forewarn lint`` command (argparse namespace: input, output, config)."""
    try:
        checker = Checker(settings(args.config))
    except (ValueError, PhraseError) as exc:
        print(f"forewarn lint: bad config: {exc}", file=sys.stderr)
        return BAD
    try:
        source = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")
    except OSError as exc:
        print(f"forewarn lint: --input {args.input}: {exc.strerror or exc}", file=sys.stderr)
        return BAD
    started = time.monotonic()
    try:
        sink = sys.stdout.buffer if args.output in (None, "-") else open(args.output, "wb")
    except OSError as exc:
        print(f"forewarn lint: --output {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return BAD
    with source, (sink if sink is not sys.stdout.buffer else _NoClose(sink)) as out:
        code, counts = lint(checker, source, out, sys.stderr)
    took = max(time.monotonic() - started, 1e-9)
    print(f"lint: {counts['messages']} messages: {counts['blocked']} blocked, {counts['warned']} with warnings only, "
          f"{counts['bad']} bad lines ({took:.2f} s, {counts['messages'] / took:,.0f} lines/s)", file=sys.stderr)
    return code


class _NoClose:
    """stdout in a ``with``: flushed, not closed."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc) -> None:
        self.stream.flush()
