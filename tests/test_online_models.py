"""The pieces behind the model detectors, in plain Python: features, delayed labels, quality,
and the state that survives a restart."""

import json
import math
import pickle
import random

import pytest

from flows.model_checkpoints import Checkpoints
from flows.worker_models import FlowModels
from forewarn.core import events as ev
from forewarn.core.state import Shipment
from forewarn.core.timefmt import DAY, HOUR, parse_rfc3339
from river import anomaly as river_anomaly

from online_models.anomaly import Order, OrderAnomalyModel, learn_paths, paths_of, score_paths
from online_models.base import ModelSet
from online_models.churn import ChurnModel
from online_models.customer_features import Habit
from online_models.labels import Pending, keep_last
from online_models.lateness import LatenessModel
from online_models.order_features import MAX_PLACES, OrderHistory, StoreProfile, extract, remember, scaled
from forewarn.apps.model_quality import evaluate
from online_models.quality import Prequential, roc_auc
from online_models.shipment_features import NUMERIC, Watch, categories, features
from tests.factory import lines, order

T0 = parse_rfc3339("2026-11-01T00:00:00Z")


def _order(total=50.0, country="DE", city="Berlin", **fields) -> ev.OrderPlaced:
    [raw] = lines([order("2026-11-01T10:00:00Z", total=total,
                         shipping_address={"country": country, "city": city, "postal_code": "10115"}, **fields)])
    return ev.decode(raw)


# --------------------------------------------------------------------------- features


def test_order_facts_compare_with_the_customer_and_the_store():
    store, hist = StoreProfile(), OrderHistory()
    for _ in range(20):
        store.learn("EUR", 40.0, "DE")
    first = extract(_order(total=400.0), hist, store)
    assert first.first_order and not first.new_country and not first.new_address
    assert first.usual == pytest.approx(40.0) and first.amount_vs_store == pytest.approx(10.0)
    remember(hist, _order(total=60.0))
    remember(hist, _order(total=60.0))
    again = extract(_order(total=600.0, country="AT", city="Wien", discount=200.0), hist, store)
    # Two orders of 60 and one pseudo-order at the store's typical 40: usual ~ 52.4.
    assert again.usual == pytest.approx(math.exp((2 * math.log(60) + math.log(40)) / 3))
    assert again.new_country and again.new_address and not again.first_order
    assert again.discount_share == pytest.approx(0.25) and again.country_share == pytest.approx(1 / 22)
    assert set(scaled(again)) == {"amount_vs_usual", "amount_vs_store", "max_qty", "lines", "discount",
                                  "new_country", "country_rarity", "new_address", "first_order", "app", "marketplace"}
    assert all(0.0 <= v <= 1.0 for v in scaled(again).values())


def test_half_space_trees_walked_once_score_and_learn_exactly_as_river():
    """The anomaly model walks each tree once per order, for its score and its learning: the
    scores and the learned masses are River's own, bit for bit, missing features included."""
    rng = random.Random(3)
    ours, rivers = (river_anomaly.HalfSpaceTrees(n_trees=5, height=6, window_size=40, seed=11) for _ in range(2))
    first = {"a": 0.5, "b": 0.5, "c": 0.5}
    ours.learn_one(first)  # River builds the trees at the first learn
    rivers.learn_one(first)
    scores = []
    for _ in range(600):
        x = {name: rng.random() ** 3 for name in "abc" if rng.random() > 0.1}  # a feature missing now and then
        paths = paths_of(ours, x)
        score = score_paths(ours, paths)
        assert score == rivers.score_one(x)
        scores.append(score)
        if rng.random() < 0.8:  # the outliers are not learned
            learn_paths(ours, paths)
            rivers.learn_one(x)
    masses = [[(n.l_mass, n.r_mass) for n in nodes] for nodes in ours._tree_nodes]
    assert masses == [[(n.l_mass, n.r_mass) for n in nodes] for nodes in rivers._tree_nodes]
    assert (ours.counter, ours._first_window) == (rivers.counter, rivers._first_window)
    assert len(set(scores)) > 50 and min(scores) == 0 and max(scores) > 0.5  # the scores said something


def test_the_anomaly_model_scores_and_learns_as_river_with_its_outlier_filter():
    model = OrderAnomalyModel(0.9)
    rivers = river_anomaly.HalfSpaceTrees(n_trees=10, height=8, window_size=250, seed=7)
    rng = random.Random(5)
    skipped = 0
    for _ in range(800):
        x = {name: rng.random() ** 2 for name in "abcdefghijk"}
        warm = model.tree_examples >= 250
        order = Order(extract(_order(total=30.0), OrderHistory(), model.store), x)
        given = model.score(order)
        score, threshold = given
        assert score == (float(rivers.score_one(x)) if warm else 0.0)
        if not warm or threshold is None or score < threshold:
            rivers.learn_one(x)
        else:
            skipped += 1  # an outlier: neither learns it
        model.learn(order, None, given)
    assert skipped > 10
    assert ([[(n.l_mass, n.r_mass) for n in nodes] for nodes in model.trees._tree_nodes]
            == [[(n.l_mass, n.r_mass) for n in nodes] for nodes in rivers._tree_nodes])
    assert pickle.loads(pickle.dumps(model))._paths is None  # nothing transient in a checkpoint


def test_order_history_stays_small():
    hist = OrderHistory()
    for i in range(3 * MAX_PLACES):
        remember(hist, _order(country=f"C{i}"))
    assert len(hist.countries) == len(hist.places) == MAX_PLACES and hist.countries[-1] == f"C{3 * MAX_PLACES - 1}"
    assert len(pickle.dumps(hist)) < 200


def _habit(orders_every_days: float, n: int, sessions_per_day: float) -> tuple[Habit, int]:
    h = Habit(since_us=T0)
    last = None
    for i in range(n):
        ts = T0 + int(i * orders_every_days * DAY)
        h.activity += int(sessions_per_day * (ts - (last or T0)) / DAY)
        h.order_placed(ts, last)
        last = ts
    return h, last


def test_churn_prior_expected_gap_is_the_customers_own_shrunk_to_the_store():
    model = ChurnModel()
    assert model.store_gap_days() == 14.0  # a store that has seen nothing yet: the prior
    for _ in range(180):
        model.note_spell(8.0, True)  # spells of 8 days, each ended by an order
    model.note_spell(26.0, False)  # and one that reached its window's end without
    store = (180 * 8 + 26 + 20 * 14) / (180 + 20)  # exposure over orders, the prior as 20 spells
    assert model.store_gap_days() == pytest.approx(store)
    fresh = Habit(since_us=T0)
    assert model.expected_gap_days(fresh) == pytest.approx(store)  # from the first order: the store's habit
    h, _ = _habit(4, 5, 2)  # four gaps of 4 days, two pseudo-gaps of the store's
    assert model.expected_gap_days(h) == pytest.approx((2 * store + 16) / 6)


def test_churn_prior_reads_silence_and_engagement():
    model = ChurnModel()
    model.note_spell(4.0, True)
    h, last = _habit(4, 5, 2)
    now = last + 6 * DAY
    due = now + 12 * DAY
    quiet = model.outlook(h, now, last, 5, 300.0, due)
    h.activity += 12  # the usual two a day since the last order
    engaged = model.outlook(h, now, last, 5, 300.0, due)
    assert quiet.p_alive < 0.01 < 0.99 < engaged.p_alive
    assert quiet.prior > 0.99 > 0.5 > engaged.prior
    assert engaged.next_order_us > now and engaged.clv_predicted > quiet.clv_predicted
    assert engaged.next_order_us % 1_000_000 == 0  # a date for people: whole seconds


def test_shipment_features_describe_progress_against_the_deadline():
    created, eta = T0, T0 + 3 * DAY
    ship = Shipment("o1", created, eta, "DHL", "in_transit", created + 30 * HOUR)
    watch = Watch("DE", eta - DAY, scans=2, first_scan_us=created + 30 * HOUR)
    x = dict(zip(NUMERIC, features(ship, watch, eta + HOUR, eta + 12 * HOUR)))
    assert x["planned_days"] == 3.0 and x["past_eta"] == 1.0 and x["in_transit_past_eta"] == 1.0
    assert x["pickup_days"] == 1.25 and x["eta_slip_days"] == 1.0 and x["scans"] == 2.0
    assert x["days_left"] == pytest.approx(11 / 24)
    assert categories(ship, watch) == ("carrier=DHL", "to=DE", "weekday=6", "month=11")  # a Sunday in November


# --------------------------------------------------------------------------- labels and quality


def test_a_waiting_prediction_packs_its_features_and_stays_bounded():
    p = Pending.make((0.1, 2.5, -3.0), p=0.25, due_us=7)
    assert p.values() == pytest.approx((0.1, 2.5, -3.0), rel=1e-6) and p.p == 0.25
    waiting = [Pending.make((float(i),), 0.5, i) for i in range(6)]
    assert [w.due_us for w in keep_last(waiting, 4)] == [2, 3, 4, 5]


def test_progressive_auc_matches_the_exact_one_to_bin_resolution():
    rnd = random.Random(3)
    q = Prequential()
    pos, neg = [], []
    for _ in range(3000):
        y = rnd.random() < 0.2
        p = min(max(rnd.gauss(0.6 if y else 0.4, 0.15), 0.0), 1.0)
        q.update(y, p)
        (pos if y else neg).append(p)
    assert q.get()["roc_auc"] == pytest.approx(roc_auc(pos, neg), abs=0.005)
    assert q.get()["labels"] == 3000.0 and 0.15 < q.get()["positive_rate"] < 0.25
    assert "roc_auc" not in Prequential().get()


def test_evaluate_scores_subjects_by_their_highest_score_and_counts_the_unscored():
    scores = [
        {"kind": "churn_risk", "customer_id": "a", "subject": "a", "score": 0.2},
        {"kind": "churn_risk", "customer_id": "a", "subject": "a", "score": 0.9},  # a's best
        {"kind": "churn_risk", "customer_id": "b", "subject": "b", "score": 0.5},
        {"kind": "churn_risk", "customer_id": "c", "subject": "c", "score": 0.1},
    ]
    truth = [{"kind": "churn_risk", "customer_id": s, "subject": s} for s in ("a", "d")]  # d never scored
    res = evaluate(scores, truth)["churn_risk"]
    assert res["subjects"] == 4 and res["positives"] == 2 and res["scored_positives"] == 1
    assert res["auc"] == pytest.approx(roc_auc([0.9, 0.0], [0.5, 0.1]))


def test_evaluate_measures_how_early_true_warnings_came():
    truth = [{"kind": "delivery_at_risk", "customer_id": "c", "subject": s, "order_id": "o"} for s in ("s1", "s2")]
    scores = [{"kind": "delivery_at_risk", "customer_id": "c", "subject": s, "score": v}
              for s, v in (("s1", 0.9), ("s2", 0.8), ("s3", 0.7), ("s4", 0.1))]

    def warning(sid, hours_before):
        return {"kind": "delivery_at_risk", "customer_id": "c", "order_id": "o",
                "fired_at": f"2026-11-02T{12 - hours_before:02d}:00:00Z",
                "evidence": {"shipment_id": sid, "deadline": "2026-11-02T12:00:00Z"}}

    res = evaluate(scores, truth, [warning("s1", 10), warning("s2", 6), warning("s3", 2)])["delivery_at_risk"]
    assert res["auc"] == 1.0 and (res["tp"], res["fp"], res["fn"]) == (2, 1, 0)
    assert res["precision"] == pytest.approx(2 / 3) and res["recall"] == 1.0
    assert res["lead_hours_median"] == 8.0  # the false alarm's lead does not count


# --------------------------------------------------------------------------- state across restarts


def _trained_set(q=0.99) -> ModelSet:
    models = ModelSet([OrderAnomalyModel(q), ChurnModel(), LatenessModel()])
    anomaly = models["order_anomaly"]
    store, hist = anomaly.store, OrderHistory()
    for i in range(300):
        facts = extract(_order(total=30.0 + i % 40), hist, store)
        x = Order(facts, scaled(facts))
        anomaly.learn(x, None, anomaly.score(x))
    models["churn_risk"].learn(tuple(0.5 for _ in range(11)), True, 0.7)
    return models


def test_a_model_set_restores_its_learned_state_in_place():
    trained = _trained_set()
    fresh = ModelSet([OrderAnomalyModel(0.99), ChurnModel(), LatenessModel()])
    anomaly = fresh["order_anomaly"]  # detectors hold references: they must see the restored state
    assert sorted(fresh.load(trained.dumps())) == ["churn_risk", "delivery_at_risk", "order_anomaly"]
    assert anomaly.learned == 300 and anomaly.store.orders == 300
    facts = extract(_order(total=45.0), OrderHistory(), anomaly.store)
    x = Order(facts, scaled(facts))
    assert anomaly.score(x) == trained["order_anomaly"].score(x)  # the same trees, the same threshold
    assert fresh["churn_risk"].prequential.labels == 1


def test_a_changed_quantile_keeps_the_trees_but_restarts_the_threshold():
    trained = _trained_set(q=0.99)
    other = ModelSet([OrderAnomalyModel(0.9)])
    other.load(trained.dumps())
    model = other["order_anomaly"]
    assert model.q == 0.9 and model.learned == 300 and model.quantile.get() is None


def test_a_live_retune_of_the_quantile_keeps_the_trees_and_refuses_what_is_not_a_setting():
    model = _trained_set(q=0.99)["order_anomaly"]
    trees = model.trees
    model.retune(q=0.99)
    assert model.quantile.get() is not None  # the same q: nothing to start again
    model.retune(q=0.95)
    assert model.q == 0.95 and model.trees is trees and model.quantile.get() is None
    with pytest.raises(TypeError, match="'trees' is not one of its SETTINGS"):
        model.retune(trees=None)


def test_checkpoints_keep_recent_versions_and_pick_what_most_customers_were_learned_by(tmp_path):
    cp = Checkpoints(tmp_path, keep=3)
    refs = [cp.write(f"v{i}".encode()) for i in range(1, 6)]
    assert [r[1] for r in refs] == [1, 2, 3, 4, 5]
    assert cp.read(refs[1]) is None and cp.read(refs[2]) == b"v3" and cp.read(refs[4]) == b"v5"
    assert Checkpoints.choose({"a": (10, 7), "b": (3, 9)}) == ("a", 7)
    assert Checkpoints.choose({}) is None
    # A worker that resumed from a predecessor drops its files once its own cover the epochs.
    successor = Checkpoints(tmp_path, keep=2)
    successor.read(refs[4])
    successor.write(b"w1")
    assert cp.read(refs[4]) == b"v5"
    successor.write(b"w2")
    assert list(tmp_path.glob(f"{cp.model_id}-*")) == []


def test_a_resumed_worker_loads_its_models_before_its_first_batch_and_checkpoints_once_per_epoch(tmp_path):
    flow = FlowModels(str(tmp_path), keep=5, scores=False)
    before = flow.worker(_trained_set())
    before.before_batch()
    ref = before.at_snapshot()
    assert before.at_snapshot() == ref  # every snapshot of the epoch carries the same checkpoint
    after = flow.worker(ModelSet([OrderAnomalyModel(0.99), ChurnModel(), LatenessModel()]))
    for _ in range(3):
        after.resumed(ref)  # three customers restored, all learned with that checkpoint
    after.resumed(None)  # one snapshot from before checkpoints existed
    after.before_batch()
    assert after.models["order_anomaly"].learned == 300
    assert after.at_snapshot()[0] != ref[0]  # it writes under its own id from now on


def test_forewarn_score_ranks_the_models_over_every_evaluation_when_given_the_scores(tmp_path):
    from forewarn.apps.scoring import report_files

    def jsonl(name, rows):
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return str(path)

    truth = jsonl("truth.jsonl", [{"kind": "churn_risk", "customer_id": "a", "subject": "a", "order_id": None}])
    # Only a fired (and it was right); b and c were judged too, lower, and did not fire.
    fired = jsonl("triggers.jsonl", [{"kind": "churn_risk", "customer_id": "a", "order_id": None, "score": 0.9}])
    scores = jsonl("scores.jsonl", [{"kind": "churn_risk", "customer_id": c, "subject": c, "score": s}
                                    for c, s in (("a", 0.9), ("b", 0.4), ("c", 0.95))])
    assert report_files(truth, fired)["churn_risk"]["roc_auc"] is None  # nothing to rank among the fired
    assert report_files(truth, fired, scores)["churn_risk"]["roc_auc"] == 0.5  # c outranks a
