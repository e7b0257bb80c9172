"""`forewarn score`'s triage table: what counts as a found link."""

from forewarn.apps.triage_quality import report


def _message(linked):
    return {"kind": "support_message", "customer_id": "c", "route": "human", "evidence": {"triage": {
        "message_id": "m1", "intent": "where_is_my_order", "flags": [], "linked": linked, "model_labels_seen": 0}}}


def _stalled(trigger_id):
    return {"kind": "shipment_stalled", "customer_id": "c", "trigger_id": trigger_id, "evidence": {"shipment_id": "s1"}}


TRUTH = [{"kind": "support_message", "customer_id": "c", "subject": "m1", "intent": "where_is_my_order",
          "flags": [], "answerable": True, "links": [{"kind": "shipment_stalled", "subject": "s1"}]}]


def test_a_parcel_that_stalled_twice_is_found_when_the_message_links_the_episode_before_it():
    # The second stall fired after the customer wrote: the message could only link the first.
    triggers = [_stalled("t1"), _message(["t1"]), _stalled("t2")]
    row = report(triggers, TRUTH, after_labels=0)["all messages"]
    assert row["messages"] == 1
    assert row["link_recall"] == 1.0


def test_a_link_to_another_situation_does_not_count():
    other = {"kind": "delivery_late", "customer_id": "c", "trigger_id": "t9", "evidence": {"shipment_id": "s2"}}
    row = report([_stalled("t1"), other, _message(["t9"])], TRUTH, after_labels=0)["all messages"]
    assert row["link_recall"] == 0.0
