"""The intent model across a restart: what it learned and what waits for a label come back
from its checkpoint; a checkpoint written by an older model layout is not half-loaded."""

import pickle

from online_models.base import FORMAT, ModelSet
from online_models.intent import IntentModel


def _taught():
    m = IntentModel()
    for i in range(40):
        for text, intent in (("where is my parcel, it has not arrived", "where_is_my_order"),
                             ("I want my money back, refund please", "refund_status")):
            m.predict("c1", f"m{i}{intent}", None, text, i)
            m.learn("c1", f"m{i}{intent}", intent, i + 1)
    m.predict("c1", "waiting", None, "refund please, where is my money", 100)  # its label comes later
    return m


def test_a_restored_intent_model_predicts_the_same_and_still_learns_the_waiting_label():
    before = ModelSet([_taught()])
    after = ModelSet([IntentModel()])
    assert after.load(before.dumps()) == ["support_message"]
    old, new = before["support_message"], after["support_message"]
    text = "where is my parcel? it has not arrived"
    assert new.predict("c1", "x", None, text, 200) == old.predict("c1", "x", None, text, 200)
    assert new.classifier.feature_totals.tolist() == old.classifier.feature_totals.tolist()
    assert new.learn("c1", "waiting", "refund_status", 300) == "label_learned"
    assert new.labels_seen == 81


def test_a_checkpoint_naming_a_model_class_that_is_gone_restores_nothing():
    class Gone:  # stands for a classifier class an older release pickled
        pass

    Gone.__module__, Gone.__qualname__ = "online_models.intent", "SparseMultinomialNB"
    old = IntentModel()
    old.classifier = Gone()
    globals_ = __import__("online_models.intent", fromlist=["x"])
    globals_.SparseMultinomialNB = Gone
    try:
        data = pickle.dumps((FORMAT, {"support_message": old}))
    finally:
        del globals_.SparseMultinomialNB
    fresh = ModelSet([IntentModel()])
    assert fresh.load(data) == []
    assert fresh["support_message"].labels_seen == 0
