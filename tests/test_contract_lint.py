"""`forewarn lint` as contract sections 3b and 5 describe it: lines a user writes by hand,
through the command line, each result checked against what the contract says for that line."""

import json

import pytest

from forewarn.apps.cli import main


def lint(tmp_path, rows: list[dict] | bytes, *args: str) -> tuple[int, list[dict]]:
    src, out = tmp_path / "messages.jsonl", tmp_path / "results.jsonl"
    src.write_bytes(rows if isinstance(rows, bytes) else
                    "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    code = main(["lint", "--input", str(src), "--output", str(out), *args])
    return code, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def codes(result: dict) -> list[str]:
    return [f["code"] for f in result["findings"]]


def sms(id_: str, send_at: str, **recipient) -> dict:
    return {"id": id_, "channel": "sms", "body": "Your parcel is on its way.", "purpose": "service",
            "send_at": send_at, "recipient": {"consent": {"sms": True}, **recipient}}


def test_quiet_hours_boundaries_in_the_recipients_own_time(tmp_path):
    """Sending is allowed from 08:00 up to (not including) 21:00 local time."""
    code, results = lint(tmp_path, [
        sms("paris-2059", "2026-11-26T20:59:59+01:00", timezone="Europe/Paris"),
        sms("paris-2100", "2026-11-26T21:00:00+01:00", timezone="Europe/Paris"),
        sms("london-0759", "2026-11-26T07:59:00Z", country="GB"),
        sms("london-0800", "2026-11-26T08:00:00Z", country="gb"),
        sms("kolkata-0830", "2026-11-26T03:00:00.5+05:30", timezone="Asia/Kolkata"),
    ])
    assert code == 1
    assert [(r["id"], r["ok"], codes(r)) for r in results] == [
        ("paris-2059", True, []),
        ("paris-2100", False, ["quiet_hours"]),
        ("london-0759", False, ["quiet_hours"]),
        ("london-0800", True, []),
        ("kolkata-0830", False, ["quiet_hours"]),  # 03:00 written in IST is 03:00 there
    ]
    assert results[1]["findings"][0] == {"code": "quiet_hours", "severity": "block", "channel": "sms",
                                         "detail": "sent at 21:00 in Europe/Paris, outside 08:00-21:00", "span": None}


def test_quiet_hours_follow_daylight_saving_time(tmp_path):
    """06:30Z is 07:30 in Berlin the day before the clocks go forward, 08:30 the day after."""
    code, results = lint(tmp_path, [sms("before-dst", "2026-03-28T06:30:00Z", timezone="Europe/Berlin"),
                                    sms("after-dst", "2026-03-29T06:30:00Z", timezone="Europe/Berlin")])
    assert [(r["id"], codes(r)) for r in results] == [("before-dst", ["quiet_hours"]), ("after-dst", [])]


def test_send_at_in_lower_case_rfc_3339_is_read_and_the_reply_needs_no_quiet_hours(tmp_path):
    """RFC 3339 allows ``t`` and ``z`` in lower case; a reply is not held back by quiet hours."""
    code, results = lint(tmp_path, [
        sms("lower", "2026-11-26t03:00:00z", timezone="UTC"),
        {"id": "reply", "channel": "phone", "body": "Call back", "purpose": "reply", "send_at": "2026-11-26T03:00:00Z",
         "recipient": {"country": "GB"}},
    ])
    assert code == 1
    assert [(r["id"], codes(r), "error" in r) for r in results] == [("lower", ["quiet_hours"], False),
                                                                    ("reply", [], False)]


def gsm(n: int, tail: str = "") -> dict:
    return {"id": f"{n}+{len(tail)}", "channel": "sms", "body": "a" * n + tail, "purpose": "service"}


def test_sms_segments_at_the_gsm7_and_ucs2_boundaries(tmp_path):
    """Two segments allowed: GSM-7 fits 306 characters in two (153 each), UCS-2 134 (67 each)."""
    rows = [gsm(160), gsm(306), gsm(307), gsm(305, "é"),  # é is in the GSM-7 alphabet
            gsm(133, "ę"), gsm(134, "ę"),                 # ę is not: the whole text is UCS-2
            gsm(132, "😀"), gsm(133, "😀")]                 # an emoji is two UTF-16 code units
    code, results = lint(tmp_path, rows)
    assert code == 0  # sms_length is a warning
    assert [codes(r) for r in results] == [[], [], ["sms_length"], [], [], ["sms_length"], [], ["sms_length"]]
    over = results[2]["findings"][0]
    assert (over["severity"], over["span"]) == ("warn", [306, 307])
    assert "UCS-2" in results[5]["findings"][0]["detail"]


@pytest.mark.parametrize("body", ["Your card 4111 1111 1111 1111 was charged.",
                                  "Your card 4111-1111-1111-1111 was charged.",
                                  "Karte: 5500000000000004"])
def test_a_luhn_valid_card_number_however_written_is_sensitive(tmp_path, body):
    code, [result] = lint(tmp_path, [{"id": "c", "channel": "email", "body": body, "purpose": "service"}])
    assert code == 1
    [finding] = result["findings"]
    assert finding["code"] == "sensitive_data" and finding["severity"] == "block"
    start, end = finding["span"]
    assert body[start:end].replace(" ", "").replace("-", "") in ("4111111111111111", "5500000000000004")


@pytest.mark.parametrize("body, slot, language", [
    ("Hello {{name}}, your order is ready.", "{{name}}", "en"),
    ("Hello [NAME], your order is ready.", "[NAME]", "en"),
    ("Hello {first_name}, your order is ready.", "{first_name}", "en"),
    ("Hello %s, your order is ready.", "%s", "en"),
    ("Hallo {{ vorname }}, Ihre Bestellung ist unterwegs.", "{{ vorname }}", "de"),
    ("Bonjour [PRÉNOM], votre commande est en route.", "[PRÉNOM]", "fr"),
    ("Hola {{nombre}}, tu pedido está en camino.", "{{nombre}}", "es"),
    ("Olá [NOME], o seu pedido foi enviado.", "[NOME]", "pt-BR"),
])
def test_an_unfilled_placeholder_blocks_with_its_span(tmp_path, body, slot, language):
    code, [result] = lint(tmp_path, [{"id": "p", "channel": "email", "body": body, "purpose": "service",
                                      "language": language}])
    assert code == 1
    [finding] = result["findings"]
    assert (finding["code"], finding["severity"], finding["channel"]) == ("placeholder", "block", "email")
    start, end = finding["span"]
    assert body[start:end] == slot


def test_a_file_with_a_byte_order_mark_and_crlf_lines(tmp_path):
    text = ('{"id": "a", "channel": "email", "body": "Hello Anna, your order has shipped.", "purpose": "service"}\r\n'
            '{"id": 2, "channel": "chat", "body": "Thanks!", "purpose": "reply"}\r\n')
    code, results = lint(tmp_path, b"\xef\xbb\xbf" + text.encode())
    assert code == 0
    assert results == [{"id": "a", "ok": True, "findings": []}, {"id": 2, "ok": True, "findings": []}]


def test_consent_facts_absent_are_skipped_present_ones_decide(tmp_path):
    body = "Your parcel is delayed."
    rows = [{"id": "no-recipient", "channel": "email", "body": body, "purpose": "service"},
            {"id": "empty-record", "channel": "email", "body": body, "purpose": "service", "recipient": {"consent": {}}},
            {"id": "opted-out", "channel": "email", "body": body, "purpose": "service",
             "recipient": {"consent": {"email": False}}},
            {"id": "reply-to-opted-out", "channel": "email", "body": body, "purpose": "reply",
             "recipient": {"consent": {"email": False}}},
            {"id": "null-is-no-record", "channel": "sms", "body": body, "purpose": "service",
             "recipient": {"consent": {"sms": None, "email": True}}}]
    code, results = lint(tmp_path, rows)
    assert code == 1
    assert [(r["id"], codes(r)) for r in results] == [
        ("no-recipient", []), ("empty-record", ["consent_missing"]), ("opted-out", ["consent_withdrawn"]),
        ("reply-to-opted-out", []), ("null-is-no-record", ["consent_missing"])]


def test_bad_lines_exit_2_name_their_line_and_keep_outputs_aligned(tmp_path, capsys):
    text = ('{"id": "a", "channel": "email", "body": "Hi", "purpose": "service"}\n'
            'not json\n'
            '{"id": "b", "channel": "fax", "body": "Hi", "purpose": "service"}\n'
            '{"id": "c", "channel": "sms", "body": "Hi", "purpose": "service", "send_at": "tomorrow"}\n')
    code, results = lint(tmp_path, text.encode())
    assert code == 2
    assert [(r["id"], r["ok"]) for r in results] == [("a", True), (None, False), ("b", False), ("c", False)]
    err = capsys.readouterr().err
    assert "line 2:" in err and "line 3: channel" in err and "line 4: send_at" in err
