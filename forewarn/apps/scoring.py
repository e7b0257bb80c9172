"""``forewarn score``: how well the triggers of a run match the ground truth, per kind.

Matching is :func:`forewarn.apps.groundtruth.score` (same kind, customer and subject; each truth
row at most once). For the model kinds (``MODEL_KINDS``) whose triggers carry a ``score``,
the table adds ROC AUC: how well the score ranks the triggers that match a truth row above
those that do not (the rank-sum / Mann–Whitney statistic, ties counted half). A trigger
file holds only what fired, so this is the ranking quality among fired triggers, not the
model's ROC AUC over every prediction (the models export that as a metric). It needs
both matched and unmatched triggers; otherwise, and for other kinds, the cell is "-".
Given the scores of every model evaluation (``forewarn backtest --scores``), the model
kinds' ROC AUC is instead the one of :func:`forewarn.apps.model_quality.evaluate`: each
subject's highest score against the planted truth, over everything the model judged.

>>> truth = [{"kind": "payment_failed", "customer_id": "c", "subject": "o1"}]
>>> triggers = [{"kind": "payment_failed", "customer_id": "c", "order_id": "o1", "score": None},
...             {"kind": "payment_failed", "customer_id": "c", "order_id": "o2", "score": None}]
>>> print(table(report(triggers, truth)))
kind            truth  fired  tp  fp  fn  precision  recall  roc_auc
payment_failed      1      2   1   1   0      0.500   1.000        -
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from detectors import MODEL_KINDS
from forewarn.apps import groundtruth
from forewarn.apps.model_quality import evaluate
from online_models import quality

COLUMNS = ("truth", "fired", "tp", "fp", "fn", "precision", "recall", "roc_auc")


def report(triggers: Iterable[Mapping[str, Any]], truth: Iterable[Mapping[str, Any]],
           kinds: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per kind: truth rows, triggers fired, tp, fp, fn, precision, recall, roc_auc (or None)."""
    triggers, truth = list(triggers), list(truth)
    scores = groundtruth.score(triggers, truth, kinds)
    n_truth = Counter(r["kind"] for r in truth)
    n_fired = Counter(t["kind"] for t in triggers)
    auc = _auc_by_kind(triggers, truth)
    out = {}
    for kind, s in scores.items():
        out[kind] = {"truth": n_truth[kind], "fired": n_fired[kind], **s, "roc_auc": auc.get(kind)}
    return out


def report_files(truth_path: str, triggers_path: str, scores_path: str | None = None) -> dict[str, dict[str, Any]]:
    """:func:`report` over two JSONL files, kinds in the contract's order (then any others);
    with ``scores_path``, the model kinds' ROC AUC over every evaluation."""
    truth, triggers = groundtruth.load_jsonl(truth_path), groundtruth.load_jsonl(triggers_path)
    seen = {r["kind"] for r in truth} | {t["kind"] for t in triggers}
    kinds = [k for k in groundtruth.KINDS if k in seen] + sorted(seen - set(groundtruth.KINDS))
    out = report(triggers, truth, kinds)
    if scores_path is not None:
        for kind, res in evaluate(groundtruth.load_jsonl(scores_path), truth).items():
            if kind in out:
                out[kind]["roc_auc"] = res["auc"]
    return out


def _auc_by_kind(triggers: list[Mapping[str, Any]], truth: list[Mapping[str, Any]]) -> dict[str, float]:
    """ROC AUC of trigger scores against "matches a truth row", for kinds with scores."""
    open_rows: Counter = Counter((r["kind"], r["customer_id"], r["subject"]) for r in truth)
    labelled: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for t in triggers:
        key = (t["kind"], t.get("customer_id"), groundtruth.trigger_subject(t))
        hit = open_rows[key] > 0  # the same one-to-one matching as the counts
        if hit:
            open_rows[key] -= 1
        if t["kind"] in MODEL_KINDS and t.get("score") is not None:
            labelled[t["kind"]].append((float(t["score"]), int(hit)))
    return {kind: a for kind, pairs in labelled.items() if (a := roc_auc(pairs)) is not None}


def roc_auc(pairs: list[tuple[float, int]]) -> float | None:
    """Probability that a random positive outscores a random negative; None without both."""
    pos = [score for score, label in pairs if label]
    neg = [score for score, label in pairs if not label]
    return quality.roc_auc(pos, neg) if pos and neg else None


def table(rows: Mapping[str, Mapping[str, Any]]) -> str:
    """The report as a fixed-width text table, one kind per line."""
    def cell(col: str, value: Any) -> str:
        if value is None:
            return "-"
        return f"{value:.3f}" if col in ("precision", "recall", "roc_auc") else str(value)

    grid = [["kind", *COLUMNS]] + [[kind, *(cell(c, r[c]) for c in COLUMNS)] for kind, r in rows.items()]
    widths = [max(len(line[i]) for line in grid) for i in range(len(grid[0]))]
    return "\n".join("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(line, widths)))
                     for line in grid)
