"""``forewarn lint``: a helpdesk lints its macro library before anything is sent (contract section 5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from forewarn.apps.cli import main

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, lines: list) -> Path:
    p = tmp_path / "messages.jsonl"
    p.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return p


def run(tmp_path: Path, lines: list, *extra: str) -> tuple[int, list[dict]]:
    out = tmp_path / "out.jsonl"
    code = main(["lint", "--input", str(write(tmp_path, lines)), "--output", str(out), *extra])
    return code, [json.loads(x) for x in out.read_text().splitlines()]


CLEAN = {"id": "late-1", "channel": "email", "purpose": "service", "subject": "Your parcel is running late",
         "body": "Hi Ana, your parcel is running late. The carrier now expects to deliver it on Friday.",
         "recipient": {"country": "PT", "consent": {"email": True}}}


def test_clean_messages_exit_0_with_one_result_per_line_in_order(tmp_path):
    reply = {"id": 7, "channel": "chat", "purpose": "reply", "body": "Thanks, I've checked: it ships today."}
    code, out = run(tmp_path, [CLEAN, reply])
    assert code == 0
    assert out == [{"id": "late-1", "ok": True, "findings": []}, {"id": 7, "ok": True, "findings": []}]


def test_a_block_anywhere_exits_1_and_each_finding_is_as_in_the_contract(tmp_path):
    night_sms = {"id": "n", "channel": "sms", "purpose": "service", "body": "Your parcel is late.",
                 "send_at": "2026-11-26T22:30:00+01:00", "recipient": {"timezone": "Europe/Berlin", "consent": {"sms": True}}}
    code, out = run(tmp_path, [CLEAN, night_sms])
    assert code == 1
    assert out[0]["ok"] is True
    assert out[1]["ok"] is False
    [f] = out[1]["findings"]
    assert set(f) == {"code", "severity", "channel", "detail", "span"}
    assert (f["code"], f["severity"], f["channel"], f["span"]) == ("quiet_hours", "block", "sms", None)


def test_spans_are_character_offsets_into_the_body(tmp_path):
    body = "Olá Zé, vamos reembolsar o valor total."
    _, [res] = run(tmp_path, [{"id": 1, "channel": "email", "purpose": "reply", "body": body, "language": "pt"}])
    [f] = res["findings"]
    assert body[f["span"][0]:f["span"][1]] == "vamos reembolsar"


def test_warnings_alone_keep_a_message_ok(tmp_path):
    code, [res] = run(tmp_path, [{"id": 1, "channel": "email", "purpose": "reply", "body": "Click here!!!"}])
    assert code == 0 and res["ok"] is True
    assert sorted(f["code"] for f in res["findings"]) == ["shouting", "spam_phrase"]


def test_bad_lines_exit_2_naming_line_and_field_and_the_others_are_still_reviewed(tmp_path, capsys):
    lines = [
        CLEAN,
        "{not json",
        {"id": "b", "channel": "fax", "purpose": "service", "body": "x"},
        {"id": "c", "channel": "email", "purpose": "service"},
        {"id": "d", "channel": "email", "purpose": "advert", "body": "x"},
        {"id": "e", "channel": "sms", "purpose": "service", "body": "x", "recipient": {"timezone": "Europe/Atlantis"}},
        {"id": "f", "channel": "sms", "purpose": "service", "body": "x", "send_at": "tomorrow"},
        "",
        {"id": "g", "channel": "email", "purpose": "reply", "body": "We will refund you."},
    ]
    code, out = run(tmp_path, lines)
    assert code == 2
    assert [r["id"] for r in out] == ["late-1", None, "b", "c", "d", "e", "f", "g"]  # the blank line is no message
    errors = [r.get("error") for r in out]
    assert errors[0] is None and errors[-1] is None
    assert errors[1].startswith("line 2: not JSON")
    assert errors[2].startswith("line 3: channel: 'fax'")
    assert errors[3] == "line 4: body: missing"
    assert errors[4].startswith("line 5: purpose: 'advert'")
    assert errors[5].startswith("line 6: recipient.timezone: 'Europe/Atlantis'")
    assert errors[6].startswith("line 7: send_at: 'tomorrow'")
    assert all(r["ok"] is False and r["findings"] == [] for r in out[1:7])
    assert [f["code"] for f in out[-1]["findings"]] == ["risky_promise"]
    err = capsys.readouterr().err
    assert "line 6: recipient.timezone" in err


def test_usage_and_config_errors_exit_2(tmp_path, capsys):
    assert main(["lint", "--input", str(tmp_path / "missing.jsonl")]) == 2
    cfg = tmp_path / "c.toml"
    cfg.write_text("[compliance]\nsms_max_segments = 0\n")
    assert main(["lint", "--input", str(write(tmp_path, [CLEAN])), "--config", str(cfg)]) == 2
    assert "compliance.sms_max_segments = 0" in capsys.readouterr().err


def test_the_compliance_section_of_the_config_applies(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[compliance]\nquiet_hours_start = "18:00"\n[compliance.severity]\nshouting = "block"\n')
    evening = {"id": 1, "channel": "sms", "purpose": "service", "body": "Your parcel is late.",
               "send_at": "2026-11-26T19:00:00+01:00", "recipient": {"country": "DE", "consent": {"sms": True}}}
    loud = {"id": 2, "channel": "email", "purpose": "reply", "body": "SORRY ABOUT THAT DELAY"}
    code, out = run(tmp_path, [evening, loud], "--config", str(cfg))
    assert code == 1
    assert [f["code"] for f in out[0]["findings"]] == ["quiet_hours"]
    assert [(f["code"], f["severity"]) for f in out[1]["findings"]] == [("shouting", "block")]


def test_lint_starts_without_river_bytewax_or_redis(tmp_path):
    probe = ("import sys; from forewarn.apps.cli import main; code = main(sys.argv[1:]); "
             "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'river', 'bytewax', 'redis', 'confluent_kafka', "
             "'detectors', 'flows', 'online_models'}); print(heavy, file=sys.stderr); sys.exit(code)")
    p = subprocess.run([sys.executable, "-c", probe, "lint", "--input", str(write(tmp_path, [CLEAN]))],
                       capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert p.stderr.strip().splitlines()[-1] == "[]"
    assert json.loads(p.stdout) == {"id": "late-1", "ok": True, "findings": []}
