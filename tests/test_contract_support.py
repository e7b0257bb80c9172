"""Contract 3a through `forewarn backtest`: each distinct message_id of a `support.message` yields
exactly one `support_message` trigger, with `evidence.triage` as the contract lists it."""

import json

from forewarn.apps.cli import main

TRIAGE_KEYS = ["message_id", "intent", "confidence", "alternatives", "flags", "order_id", "linked", "model_labels_seen"]


def message(event_id: str, ts: str, customer: str, message_id: str, body: str, **extra) -> dict:
    return {"event_id": event_id, "type": "support.message", "ts": ts, "customer_id": customer,
            "message_id": message_id, "channel": extra.pop("channel", "email"), "body": body, **extra}


def backtest(tmp_path, events: list[dict]) -> list[dict]:
    src, out = tmp_path / "events.jsonl", tmp_path / "triggers.jsonl"
    src.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    assert main(["backtest", "--input", str(src), "--output", str(out)]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_a_message_redelivered_under_a_new_event_id_is_still_one_trigger(tmp_path):
    body = "Hola, ¿dónde está mi pedido? Llevo una semana esperando."
    triggers = backtest(tmp_path, [
        message("kafka-1", "2026-11-03T10:00:00+01:00", "maría", "zendesk-881", body, language="es"),
        message("kafka-2", "2026-11-03T10:04:00+01:00", "maría", "zendesk-881", body, language="es"),
        message("kafka-1", "2026-11-03T10:00:00+01:00", "maría", "zendesk-881", body, language="es"),
    ])
    [trigger] = triggers
    assert trigger["kind"] == "support_message"
    assert trigger["customer_id"] == "maría"
    assert trigger["fired_at"] == "2026-11-03T09:00:00Z"
    assert list(trigger["evidence"]["triage"]) == TRIAGE_KEYS
    triage = trigger["evidence"]["triage"]
    assert (triage["message_id"], triage["intent"], triage["model_labels_seen"]) == ("zendesk-881", None, 0)
    assert trigger["score"] == triage["confidence"] == 0.0
    assert trigger["route"] == "human"
    [draft] = trigger["drafts"]
    assert (draft["channel"], draft["language"]) == ("email", "es")


def test_a_message_without_words_is_read_by_a_person_even_once_the_model_has_learned(tmp_path):
    """"?" or a thumbs-up: the model has no words to judge, so no intent and no confidence (it
    used to get the calibration's floor, high enough for the ai lane). A body that is empty or
    only white space is no message at all: a dead letter (bad_value), as docs/triage.md says."""
    taught = []
    for n in range(40):
        wismo = n % 2 == 0
        body = ("Where is my parcel? It still has not arrived." if wismo else
                "When will I get the refund for the jacket I sent back?")
        taught += [message(f"m{n}", f"2026-11-01T{8 + n // 4:02d}:{n % 4 * 10:02d}:00Z", f"c{n}", f"msg-{n}", body),
                   {"event_id": f"l{n}", "type": "support.labelled", "ts": f"2026-11-01T{8 + n // 4:02d}:{n % 4 * 10 + 5:02d}:00Z",
                    "customer_id": f"c{n}", "message_id": f"msg-{n}",
                    "intent": "where_is_my_order" if wismo else "refund_status", "by": "agent"}]
    wordless = [message("w1", "2026-11-02T10:00:00Z", "zoë", "question-mark", "?", channel="chat"),
                message("w2", "2026-11-02T10:01:00Z", "zoë", "thumbs-up", "👍", channel="sms")]
    blank = message("b1", "2026-11-02T10:02:00Z", "zoë", "empty", " \n\t ")
    triggers = backtest(tmp_path, [*taught, *wordless, blank])
    assert len(triggers) == 42  # the blank one is a dead letter
    by_message = {t["evidence"]["triage"]["message_id"]: t for t in triggers}
    assert "empty" not in by_message
    for message_id in ("question-mark", "thumbs-up"):
        t = by_message[message_id]
        assert t["evidence"]["triage"]["intent"] is None
        assert t["evidence"]["triage"]["confidence"] == 0.0
        assert t["evidence"]["triage"]["model_labels_seen"] == 40
        assert t["route"] == "human"
        assert "no words to judge it by" in " ".join(t["evidence"]["routing"])
