"""Inbound messages (contract 3a): one trigger per message, the model learns from later labels,
flags, the customer's own order, links to what forewarn raised before, and the lanes."""

from forewarn.engine.config import load
from tests.factory import event, order, replay, shipped


def message(ts, mid, body, customer_id="c1", channel="email", **fields):
    return event("support.message", ts, customer_id=customer_id, message_id=mid, channel=channel, body=body, **fields)


def label(ts, mid, intent, customer_id="c1"):
    return event("support.labelled", ts, customer_id=customer_id, message_id=mid, intent=intent, by="agent")


def triage_of(trigger):
    return trigger.evidence["triage"]


def test_a_message_before_any_label_has_no_intent_and_goes_to_a_person():
    [t] = replay([message("2026-11-02T10:00:00Z", "m1", "Where is my parcel?")])
    assert t.kind == "support_message"
    assert t.fired_at == "2026-11-02T10:00:00Z"
    assert t.route == "human"
    assert triage_of(t) == {"message_id": "m1", "intent": None, "confidence": 0.0, "alternatives": [],
                            "flags": [], "order_id": None, "linked": [], "model_labels_seen": 0}
    assert t.score == 0.0
    assert "no intent yet" in " ".join(t.evidence["routing"])
    assert t.outreach["channels"] == ["email"] and t.outreach["allowed"] is True


def test_a_redelivered_message_id_fires_once():
    out = replay([message("2026-11-02T10:00:00Z", "m1", "hello?"),
                  message("2026-11-02T10:05:00Z", "m1", "hello?")])  # a webhook retry: a new event id
    assert [t.evidence["triage"]["message_id"] for t in out] == ["m1"]


def test_the_order_is_the_field_or_one_of_the_customers_own_numbers_in_the_text():
    out = replay([
        order("2026-11-01T10:00:00Z", order_id="ord_0001234"),
        message("2026-11-02T10:00:00Z", "m1", "about my order #1234 please"),
        message("2026-11-02T11:00:00Z", "m2", "about order #5678 please"),  # not theirs
        message("2026-11-02T12:00:00Z", "m3", "hello", order_id="ord_0001234"),
    ])
    assert [triage_of(t)["order_id"] for t in out] == ["ord_0001234", None, "ord_0001234"]
    assert [t.order_id for t in out] == ["ord_0001234", None, "ord_0001234"]


def test_a_message_links_the_late_parcel_forewarn_raised_before_and_says_when_it_is_still_open():
    events = [
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-01T12:00:00Z", eta="2026-11-03T12:00:00Z"),
        message("2026-11-05T09:00:00Z", "m1", "my parcel never came"),  # no order named: the open situation
        event("order.placed", "2026-11-05T10:00:00Z", order_id="o9", total=20.0, currency="EUR",
              items=[{"sku": "x", "qty": 1, "unit_price": 20.0}], shipping_address={"country": "DE"}),
    ]
    out = replay(events)
    stalled, late, msg = out[:3]
    assert (stalled.kind, late.kind, msg.kind) == ("shipment_stalled", "delivery_late", "support_message")
    assert triage_of(msg)["linked"] == [stalled.trigger_id, late.trigger_id]
    # What an answer can say: the linked parcel's facts.
    assert msg.evidence["order_facts"] == {"carrier": "DHL", "shipment_status": "created",
                                           "estimated_delivery_at": "2026-11-03T12:00:00Z"}


def test_long_after_the_parcel_was_delivered_a_message_naming_none_of_two_orders_links_nothing():
    out = replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-01T12:00:00Z", eta="2026-11-03T12:00:00Z"),
        event("shipment.delivered", "2026-11-04T12:00:00Z", order_id="o1", shipment_id="s1"),
        order("2026-11-06T10:00:00Z", order_id="o2"),
        message("2026-11-14T09:00:00Z", "m1", "hello, a question about sizes"),  # 10 days after the late parcel
    ])
    assert [t.kind for t in out] == ["shipment_stalled", "delivery_late", "support_message"]
    assert triage_of(out[-1])["linked"] == []


def test_days_after_a_late_parcel_came_a_message_naming_no_order_is_about_that_latest_situation():
    out = replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-01T12:00:00Z", eta="2026-11-03T12:00:00Z"),
        event("shipment.delivered", "2026-11-04T12:00:00Z", order_id="o1", shipment_id="s1"),
        order("2026-11-06T10:00:00Z", order_id="o2"),  # a second order: "the only recent order" cannot tell
        message("2026-11-09T09:00:00Z", "m1", "it took forever, can I get the shipping fee back?"),
    ])
    stalled, late, msg = out
    assert (stalled.kind, late.kind) == ("shipment_stalled", "delivery_late")
    assert triage_of(msg)["linked"] == [stalled.trigger_id, late.trigger_id]
    assert triage_of(msg)["order_id"] is None  # the link is the engine's inference, the order stays unnamed


def test_a_customer_with_one_recent_order_writes_about_it_even_without_its_number():
    out = replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-01T12:00:00Z", eta="2026-11-03T12:00:00Z"),
        event("shipment.delivered", "2026-11-04T12:00:00Z", order_id="o1", shipment_id="s1"),
        message("2026-11-09T09:00:00Z", "m1", "it came so late, I want my money back"),
    ])
    stalled, late, msg = out
    assert triage_of(msg)["linked"] == [stalled.trigger_id, late.trigger_id]
    assert triage_of(msg)["order_id"] is None  # not named: the link is the engine's inference


def test_flags_come_from_the_words_and_from_writing_again_about_the_same_order():
    out = replay([
        message("2026-11-02T10:00:00Z", "m1", "Das ist eine Frechheit! Ich schalte meinen Anwalt ein.", order_id="o1"),
        message("2026-11-03T10:00:00Z", "m2", "Je vais faire opposition auprès de ma banque.", order_id="o1"),
        message("2026-11-03T11:00:00Z", "m3", "Vou pedir estorno ao banco.", order_id="o2"),
        message("2026-11-20T11:00:00Z", "m4", "Still nothing for this order", order_id="o1"),  # past repeat_days
    ])
    assert triage_of(out[0])["flags"] == ["angry", "legal_threat"]
    assert triage_of(out[1])["flags"] == ["chargeback_threat", "repeat_contact"]
    assert triage_of(out[2])["flags"] == ["chargeback_threat"]
    assert triage_of(out[3])["flags"] == []
    assert out[0].priority == "p1" and out[0].route == "human"


WAYS = {"where_is_my_order": ("where is my parcel, it has not arrived yet", "my order still hasn't come",
                               "the package was due on monday and nothing arrived", "any news on my delivery?",
                               "tracking has not moved for days"),
        "return_request": ("I want to return the shoes, they are too small", "how do I send the jacket back?",
                           "can I return my order, it does not fit", "I would like a return label please",
                           "the dress is the wrong size, I'd like to send it back")}
OPENINGS = ("", "hello,", "hi there", "good morning!")
CLOSINGS = ("", "thanks", "kind regards, Sam", "cheers")


def _learning_stream(n: int, customer_id="c1"):
    """n labelled rounds of two intents, each in one of a few ways of saying it (so the
    calibration has checked answers to wording new to the model), each label minutes later."""
    events = []
    for i in range(n):
        day = 1 + i // 10
        hour = i % 10
        for j, intent in enumerate(WAYS):
            body = f"{OPENINGS[i % 4]} {WAYS[intent][i % 5]} {CLOSINGS[(i // 3) % 4]}".strip()
            mid = f"m{i}-{j}"
            ts = f"2026-10-{day:02d}T{8 + hour:02d}:{10 * j:02d}:00Z"
            lts = f"2026-10-{day:02d}T{8 + hour:02d}:{10 * j + 5:02d}:00Z"
            events += [message(ts, mid, body, customer_id=customer_id), label(lts, mid, intent, customer_id)]
    return events


def test_after_labels_a_simple_question_is_answered_by_ai_and_the_model_learned_before_it():
    events = _learning_stream(40)
    events.append(message("2026-10-28T09:00:00Z", "q1", "hi, my parcel has still not arrived??", customer_id="c2"))
    out = replay(events)
    last = out[-1]
    t = triage_of(last)
    assert t["intent"] == "where_is_my_order"
    assert t["model_labels_seen"] == 80
    assert t["confidence"] >= 0.9
    assert t["alternatives"][0][0] == "return_request"
    assert last.route == "ai"
    assert last.score == t["confidence"]


def test_an_angry_message_stays_with_a_person_even_when_the_intent_is_simple():
    events = _learning_stream(40)
    events.append(message("2026-10-28T09:00:00Z", "q1", "Where is my parcel, it has not arrived yet?! This is ridiculous",
                          customer_id="c2"))
    last = replay(events)[-1]
    assert triage_of(last)["intent"] == "where_is_my_order"
    assert triage_of(last)["confidence"] >= 0.9  # sure of the intent: only the flag keeps it from the ai lane
    assert "angry" in triage_of(last)["flags"]
    assert last.route == "human"
    assert any("human_flags" in line for line in last.evidence["routing"])


def test_a_label_for_a_message_never_seen_is_counted_not_learned():
    from forewarn.engine.engine import Engine
    from tests.factory import replay_counting
    config = load(None)
    engine = Engine(config)
    replay_counting([label("2026-11-02T10:00:00Z", "ghost", "refund_status")], config, engine=engine)
    model = engine.models["support_message"]
    assert model.outcomes == {"label_unknown_message": 1}
    assert model.learned == 0


def test_a_routing_row_can_test_the_intent_by_the_stores_own_spelling():
    config = load(None, {"routing.rules": [{"name": "returns go to the returns desk", "route": "human",
                                             "priority_at_least": "p2", "when": {"intents": ["Return-Request"]}}]})
    events = _learning_stream(40)
    events += [message("2026-10-28T09:00:00Z", "q1", "I want to return the shoes, too small", customer_id="c2"),
               message("2026-10-28T09:10:00Z", "q2", "where is my parcel? it has not arrived", customer_id="c3")]
    *_, returns, parcel = replay(events, config)
    assert triage_of(returns)["intent"] == "return_request"
    assert (returns.route, returns.priority) == ("human", "p2")
    assert "rule 'returns go to the returns desk'" in " ".join(returns.evidence["routing"])
    assert triage_of(parcel)["intent"] == "where_is_my_order" and parcel.route == "ai"


def test_two_customers_under_one_message_id_are_two_triggers_with_two_ids():
    # A clumsy producer numbers messages per shop front, so two customers send "m1": each is the
    # customer's own message, not a redelivery of the other's; the queues dedupe on trigger_id.
    out = replay([message("2026-11-02T10:00:00Z", "m1", "Where is my parcel?", customer_id="c1"),
                  message("2026-11-02T10:01:00Z", "m1", "Can I change my address?", customer_id="c2"),
                  message("2026-11-02T10:05:00Z", "m1", "Where is my parcel?", customer_id="c1")])  # c1's retry
    assert [(t.customer_id, triage_of(t)["message_id"]) for t in out] == [("c1", "m1"), ("c2", "m1")]
    assert out[0].trigger_id != out[1].trigger_id
    again = replay([message("2026-11-02T10:00:00Z", "m1", "Where is my parcel?", customer_id="c1")])
    assert again[0].trigger_id == out[0].trigger_id  # still the same id on a replay


def _late_parcel_then(*messages):
    """A parcel of order o1 late since 2026-11-04, a model that knows two intents (from another
    customer's labelled messages), then c1's ``messages``; c1's support_message triggers."""
    out = replay(_learning_stream(40, customer_id="c9") + [
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-01T12:00:00Z", eta="2026-11-03T12:00:00Z"),
        *messages])
    return [t for t in out if t.kind == "support_message" and t.customer_id == "c1"], out


def test_a_follow_up_naming_no_order_about_the_late_parcel_of_an_earlier_message_is_a_repeat_contact():
    (first, follow_up), out = _late_parcel_then(
        message("2026-11-05T09:00:00Z", "m1", "where is my parcel, it has not arrived yet", order_id="o1"),
        message("2026-11-05T15:00:00Z", "m2", "any news on my delivery?"))  # no order: linked to the late parcel
    late = next(t for t in out if t.kind == "delivery_late")
    assert late.trigger_id in triage_of(follow_up)["linked"]
    assert triage_of(follow_up)["intent"] == triage_of(first)["intent"] == "where_is_my_order"
    assert triage_of(first)["flags"] == []
    assert triage_of(follow_up)["flags"] == ["repeat_contact"]
    assert triage_of(follow_up)["order_id"] is None


def test_another_question_naming_no_order_while_the_parcel_is_late_is_no_repeat_contact():
    (first, other), _ = _late_parcel_then(
        message("2026-11-05T09:00:00Z", "m1", "where is my parcel, it has not arrived yet", order_id="o1"),
        message("2026-11-05T15:00:00Z", "m2", "how do I send the jacket back?"))  # linked too: the link is a guess
    assert triage_of(other)["linked"] != [] and triage_of(other)["intent"] == "return_request"
    assert triage_of(other)["flags"] == []


def test_a_message_naming_no_order_after_the_parcel_came_is_no_repeat_of_one_about_it():
    out = replay([
        order("2026-11-01T10:00:00Z"),
        shipped("2026-11-01T12:00:00Z", eta="2026-11-03T12:00:00Z"),
        message("2026-11-05T09:00:00Z", "m1", "Where is order o1?", order_id="o1"),
        event("shipment.delivered", "2026-11-05T12:00:00Z", order_id="o1", shipment_id="s1"),
        order("2026-11-06T10:00:00Z", order_id="o2"),
        message("2026-11-06T15:00:00Z", "m2", "Do you have the jacket in blue?"),  # nothing open any more
    ])
    follow_up = [t for t in out if t.kind == "support_message"][-1]
    assert triage_of(follow_up)["flags"] == []
