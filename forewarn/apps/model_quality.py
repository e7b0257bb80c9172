"""Offline model quality: every evaluation a backtest scored, against the ground truth.

:func:`evaluate` takes the scores a backtest recorded for *every* evaluation
(``forewarn backtest --scores``), the ground truth of a simulated store and optionally the
triggers, and reports per model kind (``detectors.MODEL_KINDS``) the ROC AUC of the scores
against the planted situations, and for the triggers precision, recall and — for
``delivery_at_risk`` — how much warning they gave. :func:`table` prints it.

>>> scores = [{"kind": "churn_risk", "customer_id": c, "subject": c, "score": s} for c, s in (("c1", 0.9), ("c2", 0.2))]
>>> evaluate(scores, [{"kind": "churn_risk", "customer_id": "c1", "subject": "c1"}])["churn_risk"]["auc"]
1.0
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from detectors import MODEL_KINDS
from forewarn.apps.groundtruth import score as match_triggers
from forewarn.core.timefmt import HOUR, parse_rfc3339
from online_models.quality import roc_auc


def evaluate(scores: Iterable[Mapping[str, Any]], truth: Iterable[Mapping[str, Any]],
             triggers: Iterable[Mapping[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Per model kind, how well its scores and triggers match the ground truth.

    scores: rows ``{kind, customer_id, subject, score, ...}``, one per evaluation (several
        per subject: a customer is evaluated at each checkpoint, a parcel at each scan).
    truth: ground-truth rows (:mod:`forewarn.apps.groundtruth`); a row's ``subject`` is what the
        model is right or wrong about (an order, a customer, a shipment).
    triggers: the emitted triggers, for precision, recall and lead time.

    A subject's score is its highest; subjects the truth holds that were never scored count
    with score 0, so a model that misses a situation entirely is not flattered.
    ``model_auc`` is the AUC of the learned part alone where the score combines it with
    rules (``order_anomaly``: the Half-Space Trees score). Result keys per kind: ``subjects``,
    ``positives``, ``scored_positives``, ``auc`` (and ``model_auc``); with triggers also
    ``tp``, ``fp``, ``fn``, ``precision``, ``recall``; ``delivery_at_risk`` adds the lead time
    its true warnings bought before the delivery_late deadline (``lead_hours_median``,
    ``lead_hours_p25``, ``lead_hours_p75``).
    """
    # A subject is its customer's: two customers' orders under one order id are two subjects.
    best: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    best_model: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for row in scores:
        kind = row["kind"]
        subj = (row["customer_id"], row["subject"])
        s = float(row["score"])
        if s > best[kind].get(subj, -1.0):
            best[kind][subj] = s
        model_score = row.get("model_score")
        if model_score is not None and model_score > best_model[kind].get(subj, -1.0):
            best_model[kind][subj] = float(model_score)
    truth = list(truth)
    positives: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in truth:
        if row["kind"] in MODEL_KINDS:
            positives[row["kind"]].add((row["customer_id"], row["subject"]))
    trigger_list = list(triggers) if triggers is not None else None
    out: dict[str, dict[str, Any]] = {}
    for kind in MODEL_KINDS:
        scored, pos = best.get(kind, {}), positives.get(kind, set())
        if not scored and not pos:
            continue
        res: dict[str, Any] = {"subjects": len(set(scored) | pos), "positives": len(pos),
                               "scored_positives": len(pos & set(scored))}
        res["auc"] = _auc(scored, pos)
        if best_model.get(kind):
            res["model_auc"] = _auc(best_model[kind], pos)
        if trigger_list is not None:
            mine = [t for t in trigger_list if t["kind"] == kind]
            res.update(match_triggers(mine, [r for r in truth if r["kind"] == kind], kinds=[kind])[kind])
            if kind == "delivery_at_risk":
                res.update(_lead_times(mine, pos))
        out[kind] = res
    return out


def _auc(scored: Mapping[tuple[str, str], float], positives: set[tuple[str, str]]) -> float | None:
    subjects = set(scored) | positives
    pos = [scored.get(s, 0.0) for s in subjects if s in positives]
    neg = [scored.get(s, 0.0) for s in subjects if s not in positives]
    return roc_auc(pos, neg) if pos and neg else None


def _lead_times(triggers: list[Mapping[str, Any]], late: set[tuple[str, str]]) -> dict[str, float | None]:
    """Hours between each true warning and the delivery_late deadline it came before."""
    leads = sorted(
        (parse_rfc3339(t["evidence"]["deadline"]) - parse_rfc3339(t["fired_at"])) / HOUR
        for t in triggers if (t["customer_id"], t["evidence"].get("shipment_id")) in late)
    if not leads:
        return {"lead_hours_median": None, "lead_hours_p25": None, "lead_hours_p75": None}
    q = statistics.quantiles(leads, n=4) if len(leads) > 1 else [leads[0]] * 3
    return {"lead_hours_median": statistics.median(leads), "lead_hours_p25": q[0], "lead_hours_p75": q[2]}


def table(result: Mapping[str, Mapping[str, Any]]) -> str:
    """The evaluation as a fixed-width text table, one line per model kind."""
    cols = ("subjects", "positives", "scored_positives", "auc", "model_auc", "precision", "recall",
            "lead_hours_median")
    head = f"{'kind':<18}" + "".join(f"{c:>18}" for c in cols)
    lines = [head]
    for kind, res in result.items():
        cells = []
        for c in cols:
            v = res.get(c)
            cells.append(f"{'-' if v is None else (f'{v:.3f}' if isinstance(v, float) else v):>18}")
        lines.append(f"{kind:<18}" + "".join(cells))
    return "\n".join(lines)
