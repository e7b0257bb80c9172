"""A store seeds the intent model from its own helpdesk export (`forewarn triage seed`, `[triage] seed`):
bad rows are refused by line and field, the summary says how good the seeded model is, a seeded
engine triages the first message it ever sees while an unseeded one cannot, and a checkpoint
restored at a restart wins over the seed."""

import csv
import json
import random

import numpy as np
import pytest

from forewarn.apps.cli import main
from forewarn.apps.simulator import phrasing as ph
from forewarn.engine.config import ConfigError, load
from forewarn.engine.engine import Engine
from online_models import intent_seed
from online_models.base import ModelSet
from tests.factory import event, replay

CHANNELS = ("email", "chat", "sms", "phone", "social")


def helpdesk_tickets(n, seed, languages=ph.LANGUAGES):
    """n labelled tickets as the simulator's customers write them (its phrasing families, typos,
    greetings, signatures, quoted replies), with the agent's intent."""
    r = random.Random(seed)
    out = []
    for i in range(n):
        lang, intent, channel = r.choice(languages), r.choice(ph.INTENTS), r.choice(CHANNELS)
        m = ph.compose(r, lang, intent, [], {}, channel, "Alex Doe")
        out.append({"ticket_id": f"T-{i}", "text": m.body, "subject": m.subject or "", "intent": intent,
                    "language": lang, "channel": channel})
    return out


def write_csv(path, tickets):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(tickets[0]))
        w.writeheader()
        w.writerows(tickets)


def seed_file(tmp_path, capsys, n=1500):
    export = tmp_path / "export.csv"
    tickets = helpdesk_tickets(n, seed=1)
    write_csv(export, tickets)
    out = tmp_path / "intent-seed.npz"
    assert main(["triage", "seed", "--input", str(export), "--output", str(out), "--json"]) == 0
    return out, tickets, json.loads(capsys.readouterr().out)


def first_messages(n, seed=77):
    """A new store's first n messages (no label yet), composed with other random draws."""
    r = random.Random(seed)
    events, truth = [], []
    for i in range(n):
        lang, intent, channel = r.choice(ph.LANGUAGES), r.choice(ph.INTENTS), r.choice(CHANNELS)
        m = ph.compose(r, lang, intent, [], {}, channel, "Sam Roe")
        fields = {"subject": m.subject} if m.subject else {}
        events.append(event("support.message", f"2026-11-02T{8 + i // 60:02d}:{i % 60:02d}:00Z",
                            customer_id=f"c{i}", message_id=f"m{i}", channel=channel, body=m.body, **fields))
        truth.append(intent)
    return events, truth


def test_the_seed_command_summarises_the_export_and_writes_counts_not_text(tmp_path, capsys):
    out, tickets, summary = seed_file(tmp_path, capsys)
    labels = {}
    for t in tickets:
        labels[t["intent"]] = labels.get(t["intent"], 0) + 1
    assert summary["rows"] == 1500 and summary["intents"] == len(ph.INTENTS)
    assert {i: v["labels"] for i, v in summary["per_intent"].items()} == labels
    assert summary["held_out_accuracy"] >= 0.95
    assert all(v["held_out_accuracy"] >= 0.85 for v in summary["per_intent"].values())
    second = summary["second_half"]
    assert second["rows"] == 750 and second["min_confidence"] == 0.9
    assert second["accuracy_at_min_confidence"] >= 0.97 and second["share_at_min_confidence"] >= 0.5
    # The store's intents that [triage] ai_intents does not name go to a person: the summary says which.
    assert summary["not_in_ai_intents"] == sorted(i for i in ph.INTENTS if i not in
                                                  {"where_is_my_order", "refund_status", "return_request",
                                                   "invoice_request", "product_question", "account_access"})
    assert summary["ignored_columns"] == ["ticket_id"]
    seed = intent_seed.load(str(out))
    assert seed.labels == 1500 and seed.labels_per_intent == dict(sorted(labels.items()))
    with np.load(out, allow_pickle=False) as z:
        texts = [str(v) for k in z.files if z[k].dtype.kind == "U" and k not in ("summary", "format")
                 for v in np.atleast_1d(z[k])]
    assert sorted(texts) == sorted(labels)  # the intents' names; no message text


def test_bad_rows_are_refused_with_their_line_and_field_and_nothing_is_written(tmp_path, capsys):
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join([
        json.dumps({"text": "where is my parcel?", "intent": "where_is_my_order"}),
        "{not json",
        json.dumps({"text": "   ", "intent": "refund_status"}),
        "",
        json.dumps({"text": "refund please", "intent": "refund_status", "channel": "fax"}),
        json.dumps({"text": "hola", "intent": "x" * 65}),
        json.dumps({"text": "hello", "intent": "feedback", "language": "English"}),
        json.dumps(["text", "intent"]),
    ]) + "\n")
    out = tmp_path / "seed.npz"
    assert main(["triage", "seed", "--input", str(export), "--output", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[:-1] == [
        f"{export}: line 2: not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        f"{export}: line 3: text: empty",
        f"{export}: line 5: channel: 'fax' is not one of email, chat, sms, phone, social",
        f"{export}: line 6: intent: '{'x' * 65}' is longer than 64 characters (the limit of a support.labelled intent)",
        f"{export}: line 7: language: 'English' is not a BCP 47 language tag (en, pt-BR)",
        f"{export}: line 8: not a JSON object",
    ]
    assert err[-1] == "forewarn triage seed: 6 bad row(s); nothing written"
    assert not out.exists()


def test_a_csv_export_without_an_intent_column_is_refused_at_its_header(tmp_path, capsys):
    export = tmp_path / "export.csv"
    export.write_text("text,category\nwhere is my parcel,wismo\n")
    assert main(["triage", "seed", "--input", str(export), "--output", str(tmp_path / "s.npz")]) == 2
    assert "line 1: the header row has no 'intent' column (columns: text, category)" in capsys.readouterr().err


def test_a_seeded_engine_routes_its_very_first_messages_and_an_unseeded_one_cannot(tmp_path, capsys):
    out, _, _ = seed_file(tmp_path, capsys)
    events, truth = first_messages(60)

    unseeded = replay(events)
    assert {(t.evidence["triage"]["intent"], t.route) for t in unseeded} == {(None, "human")}

    seeded = replay(events, load(None, {"triage.seed": str(out)}, env={}))
    triage = [t.evidence["triage"] for t in seeded]
    first = triage[0]
    assert (first["message_id"], first["intent"], first["model_labels_seen"]) == ("m0", truth[0], 1500)
    assert first["confidence"] >= 0.9
    assert seeded[0].route == ("ai" if truth[0] in ph.ANSWERABLE else "human")
    right = [t["intent"] == want for t, want in zip(triage, truth)]
    assert sum(right) / len(right) >= 0.95
    ai = [t for t, trig in zip(triage, seeded) if trig.route == "ai"]
    assert len(ai) >= 15  # the simple questions among the 60
    assert all(t["intent"] in ph.ANSWERABLE and t["confidence"] >= 0.9 for t in ai)
    assert all(t["intent"] == want for t, trig, want in zip(triage, seeded, truth) if trig.route == "ai")


def test_a_checkpoint_restored_at_restart_wins_over_the_seed(tmp_path, capsys):
    out, _, _ = seed_file(tmp_path, capsys, n=600)
    config = load(None, {"triage.seed": str(out)}, env={})
    before = Engine(config)
    events, _ = first_messages(40)
    labels = [event("support.labelled", "2026-11-03T08:00:00Z", customer_id=f"c{i}", message_id=f"m{i}",
                    intent="loyalty_question") for i in range(40)]  # an intent the export never had
    replay(events + labels, config, engine=before)
    learned = before.models["support_message"]
    assert learned.labels_seen == 640 and "loyalty_question" in learned.classifier.classes
    checkpoint = before.models.dumps()

    after = Engine(config)  # the restart: fresh models start from the seed ...
    models = after.models
    assert models["support_message"].labels_seen == 600
    assert "support_message" in models.load(checkpoint)  # ... and the checkpoint replaces it
    model = after.models["support_message"]
    assert model.labels_seen == 640 and "loyalty_question" in model.classifier.classes
    assert model.quality()["accuracy"] == learned.quality()["accuracy"]


def test_a_bad_seed_is_refused_at_start_naming_the_key(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"^triage.seed = '.*missing.npz': no such file$"):
        load(None, {"triage.seed": str(tmp_path / "missing.npz")}, env={})
    export = tmp_path / "export.csv"
    export.write_text("text,intent\nwhere is my parcel,wismo\n")
    with pytest.raises(ConfigError, match=r"triage.seed = '.*export.csv': not a seed file written by "
                                          r"`forewarn triage seed` \(not an .npz archive\)"):
        load(None, {"triage.seed": str(export)}, env={})
    out, _, _ = seed_file(tmp_path, capsys, n=50)
    with np.load(out, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["fingerprint"] = np.array(int(arrays["fingerprint"]) ^ 1)  # hashed by other text features
    other = tmp_path / "other-features.npz"
    np.savez(other, **arrays)
    with pytest.raises(ConfigError, match=r"triage.seed = .*: built with other text features than this engine's"):
        load(None, {"triage.seed": str(other)}, env={})
