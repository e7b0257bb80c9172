"""``forewarn score``: the table a tuning session reads, from a truth file and a trigger file."""

import json

import pytest

from forewarn.apps.cli import main
from forewarn.apps.scoring import report, roc_auc

TRUTH = [
    {"kind": "delivery_late", "customer_id": "c1", "order_id": "o1", "subject": "s1", "fired_at": "x"},
    {"kind": "delivery_late", "customer_id": "c2", "order_id": "o2", "subject": "s2", "fired_at": "x"},
    {"kind": "order_anomaly", "customer_id": "c1", "order_id": "o7", "subject": "o7", "fired_at": "x"},
    {"kind": "order_anomaly", "customer_id": "c3", "order_id": "o8", "subject": "o8", "fired_at": "x"},
]
TRIGGERS = [
    {"kind": "delivery_late", "customer_id": "c1", "order_id": "o1", "evidence": {"shipment_id": "s1"}, "score": None},
    {"kind": "delivery_late", "customer_id": "c9", "order_id": "o9", "evidence": {"shipment_id": "s9"}, "score": None},
    {"kind": "order_anomaly", "customer_id": "c1", "order_id": "o7", "evidence": {}, "score": 0.9},
    {"kind": "order_anomaly", "customer_id": "c4", "order_id": "o4", "evidence": {}, "score": 0.7},
    {"kind": "order_anomaly", "customer_id": "c5", "order_id": "o5", "evidence": {}, "score": 0.95},
]


def test_report_counts_per_kind_and_ranks_model_scores():
    rows = report(TRIGGERS, TRUTH)
    assert rows["delivery_late"] == {"truth": 2, "fired": 2, "tp": 1, "fp": 1, "fn": 1,
                                     "precision": 0.5, "recall": 0.5, "roc_auc": None}
    anomaly = rows["order_anomaly"]
    assert (anomaly["truth"], anomaly["fired"], anomaly["tp"], anomaly["fp"], anomaly["fn"]) == (2, 3, 1, 2, 1)
    assert anomaly["roc_auc"] == 0.5  # the match (0.9) outranks one miss (0.7), not the other (0.95)


@pytest.mark.parametrize("pairs, auc", [
    ([(0.9, 1), (0.1, 0)], 1.0),
    ([(0.1, 1), (0.9, 0)], 0.0),
    ([(0.5, 1), (0.5, 0)], 0.5),  # ties count half
    ([(0.9, 1), (0.8, 1)], None),  # no negatives: undefined
])
def test_roc_auc(pairs, auc):
    assert roc_auc(pairs) == auc


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_the_command_prints_a_table_in_the_contracts_kind_order(tmp_path, capsys):
    truth, trig = _write(tmp_path / "truth.jsonl", TRUTH), _write(tmp_path / "t.jsonl", TRIGGERS)
    assert main(["score", "--truth", truth, "--triggers", trig]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["kind", "truth", "fired", "tp", "fp", "fn", "precision", "recall", "roc_auc"]
    assert out[1].split() == ["delivery_late", "2", "2", "1", "1", "1", "0.500", "0.500", "-"]
    assert out[2].split() == ["order_anomaly", "2", "3", "1", "2", "1", "0.333", "0.500", "0.500"]
    assert out[-1] == ("roc_auc: over the fired triggers' scores only (matched to the truth or not); "
                       "--scores FILE (from backtest --scores) judges every evaluation")


def test_the_command_prints_json_on_request(tmp_path, capsys):
    truth, trig = _write(tmp_path / "truth.jsonl", TRUTH), _write(tmp_path / "t.jsonl", TRIGGERS)
    assert main(["score", "--truth", truth, "--triggers", trig, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert list(rows) == ["delivery_late", "order_anomaly"]
    assert rows["order_anomaly"]["roc_auc"] == 0.5


def test_a_bad_file_is_refused_with_where_and_what(tmp_path, capsys):
    truth = _write(tmp_path / "truth.jsonl", TRUTH)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "delivery_late", "customer_id": "c1"}\nnot json\n')
    assert main(["score", "--truth", truth, "--triggers", str(bad)]) == 2
    assert f"{bad}:2: not JSON" in capsys.readouterr().err
    assert main(["score", "--truth", str(tmp_path / "missing.jsonl"), "--triggers", str(bad)]) == 2
