"""The lateness model: P(a parcel misses its delivery_late deadline), learned from how parcels end.

An online logistic regression (``StandardScaler | LogisticRegression``) on the features of
:mod:`online_models.shipment_features` — carrier, route, weekday and season one-hot, plus
the plan and the progress so far. It is asked at every carrier scan and at checkpoints
before the deadline, and learns each of those evaluations when the parcel's outcome is
known: delivered by the deadline (0), or the deadline passed first (1).
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

from river import linear_model, optim, preprocessing

from online_models.base import Estimator
from online_models.quality import Prequential
from online_models.shipment_features import NUMERIC, as_dict

ON_TIME_SAMPLE = 4  # learn the on-time outcomes of one shipment in this many, weighted by it


class Parcel(NamedTuple):
    """One evaluation of a shipment: numeric features and categories (:mod:`online_models.shipment_features`),
    and the shipment's id (which picks the on-time outcomes learned, see :meth:`LatenessModel.learn`)."""

    values: tuple[float, ...]
    cats: tuple[str, ...]
    shipment_id: str


class LatenessModel(Estimator[Parcel, bool, float]):
    """Logistic regression on delayed labels (late = True), with progressive quality.

    >>> m = LatenessModel()
    >>> slow = Parcel((1.0,) * len(NUMERIC), ("carrier=slow",), "s4")
    >>> p = m.score(slow); p
    0.5
    >>> m.learn(slow, True, p)
    >>> m.score(slow) > p, m.labels, m.learned
    (True, 1, 1)
    """

    kind = "delivery_at_risk"

    def __init__(self) -> None:
        super().__init__()
        self.pipeline = preprocessing.StandardScaler() | linear_model.LogisticRegression(optimizer=optim.SGD(0.02), l2=1e-4)
        self.prequential = Prequential()

    @property
    def labels(self) -> int:
        return self.prequential.labels

    def score(self, x: Parcel) -> float:
        """P(the parcel misses the deadline the evaluation is about)."""
        return self.pipeline.predict_proba_one(as_dict(x.values, x.cats)).get(True, 0.5)

    def learn(self, x: Parcel, y: bool, given: float) -> None:
        """Learn a labelled evaluation (``y``: it was late); ``given`` is what was predicted then.

        Most parcels arrive on time, and learning is the model's main cost: the on-time
        evaluations of one shipment in ``ON_TIME_SAMPLE`` are learned, weighted by that
        number, so the probabilities stay calibrated at a fraction of the work. The shipment
        is picked by a CRC of its id — the same ones on every run.
        """
        self.prequential.update(y, given)
        if y:
            weight = 1.0
        elif zlib.crc32(x.shipment_id.encode()) % ON_TIME_SAMPLE == 0:
            weight = float(ON_TIME_SAMPLE)
        else:
            return
        self.pipeline.learn_one(as_dict(x.values, x.cats), y, w=weight)
        self.learned += 1

    def quality(self) -> dict[str, float]:
        return {**super().quality(), **self.prequential.get()}
