"""The lateness model: P(a parcel misses its delivery_late deadline), learned from how parcels end.

An online logistic regression (``StandardScaler | LogisticRegression``) on the features of
:mod:`online_models.shipment_features` — carrier, route, weekday and season one-hot, plus
the plan and the progress so far. It is asked at every carrier scan and at checkpoints
before the deadline, and learns each of those evaluations when the parcel's outcome is
known: delivered by the deadline (0), or the deadline passed first (1).
"""

from __future__ import annotations

import zlib

from river import linear_model, optim, preprocessing

from online_models.base import OnlineModel
from online_models.quality import Prequential
from online_models.shipment_features import as_dict

ON_TIME_SAMPLE = 4  # learn the on-time outcomes of one shipment in this many, weighted by it


class LatenessModel(OnlineModel):
    """Logistic regression on delayed labels, with progressive quality."""

    kind = "delivery_at_risk"

    def __init__(self) -> None:
        super().__init__()
        self.pipeline = preprocessing.StandardScaler() | linear_model.LogisticRegression(optimizer=optim.SGD(0.02), l2=1e-4)
        self.prequential = Prequential()

    @property
    def labels(self) -> int:
        return self.prequential.labels

    def predict(self, values: tuple[float, ...], cats: tuple[str, ...]) -> float:
        return self.pipeline.predict_proba_one(as_dict(values, cats)).get(True, 0.5)

    def learn(self, values: tuple[float, ...], cats: tuple[str, ...], late: bool, p_given: float,
              shipment_id: str) -> None:
        """Learn a labelled evaluation; ``p_given`` is what was predicted then (progressive quality).

        Most parcels arrive on time, and learning is the model's main cost: the on-time
        evaluations of one shipment in ``ON_TIME_SAMPLE`` are learned, weighted by that
        number, so the probabilities stay calibrated at a fraction of the work. The shipment
        is picked by a CRC of its id — the same ones on every run.
        """
        self.prequential.update(late, p_given)
        if late:
            weight = 1.0
        elif zlib.crc32(shipment_id.encode()) % ON_TIME_SAMPLE == 0:
            weight = float(ON_TIME_SAMPLE)
        else:
            return
        self.pipeline.learn_one(as_dict(values, cats), late, w=weight)
        self.learned += 1

    def quality(self) -> dict[str, float]:
        return {**super().quality(), **self.prequential.get()}
