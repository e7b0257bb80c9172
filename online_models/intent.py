"""The intent model: which of the store's intents a customer's message is, learned from agents' labels.

An online text classifier: the hashed word, word-pair and character-n-gram features of
:mod:`online_models.text_features` (River's feature hasher) into complement naive Bayes
(:class:`HashedComplementNB`, numpy). Naive Bayes learns a label in one pass (a few
counters), takes a new intent whenever the first label of it arrives (the intent set is
open); of the online learners measured (multinomial and complement naive Bayes, softmax
regression by SGD) complement naive Bayes was the most accurate, on the stream's own
phrasings and on phrasings it was never taught (docs/triage.md, "Measured").

It predicts before it learns. A message is scored with what was learned from the labels read
before it (in event time); its features then wait in ``pending``, keyed by (customer,
message), for the ``support.labelled`` an agent gives hours later, which teaches the model
that label. Pending messages are bounded in count (``max_pending``, oldest dropped first) and
in age (``pending_days``), and are pickled with the model, so a restart forgets neither what
was learned nor what waits for a label. No public dataset, no pre-training: a fresh model
knows nothing and says so (intent None, confidence 0) until the stream's own labels arrive;
a store seeds it from its own helpdesk export (``forewarn triage seed``, :mod:`online_models.intent_seed`).

**Confidence** is calibrated online, so ``[triage] min_confidence = 0.9`` means "of the
messages given at least 0.9, at least nine in ten have the right intent". The classifier's
raw probability (naive Bayes is notoriously over-confident), times the share of the message's
words it has met, is only a ranking; each label scores the prediction made before it into a
histogram of that rank (``BINS`` bins) of right and wrong answers, counts decaying with a
half-life of ``CALIBRATION_HALF_LIFE`` labels so that it follows the model as it improves.
A prediction's confidence is the accuracy of the earlier predictions ranked *like it*
(:class:`Calibration`: isotonic over the bins, a Wilson 95 % lower bound so that a handful of
lucky answers do not claim 1.0, monotone). Before ``MIN_CALIBRATION`` labels have been scored
the confidence is 0: the model is not trusted until it has been checked.

>>> m = IntentModel()
>>> m.predict("c1", "m0", None, "where is my parcel", 0)
Prediction(intent=None, confidence=0.0, alternatives=[], labels_seen=0)
>>> for i in range(40):
...     for text, intent in (("where is my parcel, it has not arrived", "where_is_my_order"),
...                          ("I want my money back, refund please", "refund_status")):
...         _ = m.predict("c1", f"m{i}{intent}", None, text, i)
...         _ = m.learn("c1", f"m{i}{intent}", intent, i + 1)
>>> p = m.predict("c1", "m98", None, "where is my parcel? it has not arrived", 100)
>>> p.intent, p.confidence > 0.9, p.labels_seen
('where_is_my_order', True, 80)

New wording is ranked lower than any answer checked so far, so it is not trusted yet:

>>> p = m.predict("c1", "m99", None, "my parcel has still not arrived", 100)
>>> p.intent, p.confidence
('where_is_my_order', 0.0)
>>> m.quality()["accuracy"] > 0.9
True
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from online_models.base import OnlineModel
from online_models.text_features import N_FEATURES, features, readable

BINS = 40
CALIBRATION_HALF_LIFE = 2000.0  # labels
MIN_CALIBRATION = 30  # labels scored before any confidence above 0 is given
Z = 1.96  # Wilson bound at 95 %
ALTERNATIVES = 3
# Naive Bayes counts every n-gram of a message as independent evidence, so its posterior is
# all but 0 or 1 for any message: the probabilities reported (and ranked by the calibration)
# are tempered to the evidence of this many independent words (the log-likelihoods are
# scaled by EVIDENCE / the message's feature count). The ranking of intents is unchanged.
EVIDENCE = 12.0


class Prediction(NamedTuple):
    intent: str | None
    confidence: float
    alternatives: list[list]  # [[intent, probability], ...] after the first, up to three
    labels_seen: int


class Calibration:
    """Right and wrong answers by raw probability, decaying; confidence = the accuracy *at* that
    raw probability, monotone, bounded below.

    The raw probabilities are binned (``BINS``); neighbouring bins are pooled until accuracy
    never falls as raw rises (pool-adjacent-violators: isotonic regression), and a bin's
    confidence is the Wilson lower bound (95 %) of its pool's accuracy. A bin no answer has
    reached takes the value of the nearest bin below it (0 below all). So the confidence is
    the accuracy measured for answers *like this one*, not that of every answer at least as
    sure: a stream of messages the model ranks low (wording it has never met) gets the low
    confidence such answers earned, however right the confident ones were, and every set a
    threshold ``c`` selects is right at least ``c`` of the time. Here 0.95 is always right, 0.3
    half the time:

    >>> c = Calibration()
    >>> for i in range(200):
    ...     c.update(0.95, True); c.update(0.3, i % 2 == 0)
    >>> round(c.confidence(0.97), 2), round(c.confidence(0.3), 2), round(c.confidence(0.1), 2)
    (0.98, 0.43, 0.0)
    """

    def __init__(self, bins: int = BINS, half_life: float = CALIBRATION_HALF_LIFE) -> None:
        self.right = [0.0] * bins
        self.total = [0.0] * bins
        self.decay = 0.5 ** (1.0 / half_life)
        self.scored = 0
        self._table: list[float] | None = None

    def _bin(self, raw: float) -> int:
        return min(max(int(raw * len(self.total)), 0), len(self.total) - 1)

    def update(self, raw: float, right: bool) -> None:
        d = self.decay
        self.right = [r * d for r in self.right]
        self.total = [t * d for t in self.total]
        b = self._bin(raw)
        self.total[b] += 1.0
        self.right[b] += right
        self.scored += 1
        self._table = None

    def confidence(self, raw: float) -> float:
        if self.scored < MIN_CALIBRATION:
            return 0.0
        if self._table is None:
            self._table = self._build()
        return self._table[self._bin(raw)]

    def _build(self) -> list[float]:
        # Pools of adjacent bins [first, last, right, total], merged while a pool is less
        # accurate than the one below it; bins with (nearly) no answers left out.
        pools: list[list[float]] = []
        for b in range(len(self.total)):
            if self.total[b] < 1e-6:
                continue
            pools.append([b, b, self.right[b], self.total[b]])
            while len(pools) > 1 and pools[-2][2] * pools[-1][3] >= pools[-1][2] * pools[-2][3]:
                top = pools.pop()
                pools[-1][1], pools[-1][2], pools[-1][3] = top[1], pools[-1][2] + top[2], pools[-1][3] + top[3]
        out = [0.0] * len(self.total)
        for first, last, right, total in pools:
            for b in range(int(first), int(last) + 1):
                out[b] = _wilson_lower(right, total)
        best = 0.0
        for b in range(len(out)):  # empty bins: the nearest below; and never falling
            best = out[b] = max(best, out[b])
        return out


def _wilson_lower(right: float, total: float) -> float:
    if total <= 0:
        return 0.0
    p = right / total
    z2 = Z * Z
    centre = p + z2 / (2 * total)
    margin = Z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return max(0.0, (centre - margin) / (1 + z2 / total))


class HashedComplementNB:
    """Complement naive Bayes (Rennie et al. 2003) over hashed presence features, in numpy.

    An intent's score is how *un*like every other intent a message is: the sum over its
    features of ``-log((n_f - n_fc + alpha) / (N - N_c + alpha * D))``, where ``n_fc`` counts
    the feature in messages labelled ``c``, ``n_f`` in all, ``N_c`` / ``N`` the feature totals
    and ``D`` the hashed feature count. Estimating each intent from all the *other* intents'
    messages uses far more data per intent than multinomial naive Bayes does, so it is less
    swayed by how many labels each intent has had and by words common to all (greetings,
    "my order"), and it carried much better to phrasing it had never been taught (docs/triage.md,
    "Measured"). Counts, so it learns a label in one pass, takes a new intent the moment its
    first label arrives, and unlearns exactly (a QA correction). Counts are dense numpy rows,
    one per intent (4 bytes x ``D``), pickled sparse.

    >>> nb = HashedComplementNB(n_features=16)
    >>> nb.learn([1, 2], "a"); nb.learn([3, 4], "b"); nb.learn([1, 5], "a")
    >>> s = nb.scores([1, 9]); nb.classes[int(s.argmax())]
    'a'
    >>> nb.unlearn([1, 5], "a"); nb.unlearn([1, 2], "a"); nb.classes, nb.counts.shape
    (['b'], (1, 16))
    """

    def __init__(self, n_features: int, alpha: float = 0.1) -> None:
        self.n_features = n_features
        self.alpha = alpha
        self.classes: list[str] = []
        self.counts = np.zeros((0, n_features), np.float32)  # intent x feature
        self.feature_totals = np.zeros(n_features, np.float32)  # over every intent
        self.class_totals = np.zeros(0, np.float64)  # features counted per intent
        self.class_labels = np.zeros(0, np.int64)  # messages learned per intent

    def _row(self, y: str) -> int:
        try:
            return self.classes.index(y)
        except ValueError:
            self.classes.append(y)
            self.counts = np.vstack([self.counts, np.zeros((1, self.n_features), np.float32)])
            self.class_totals = np.append(self.class_totals, 0.0)
            self.class_labels = np.append(self.class_labels, 0)
            return len(self.classes) - 1

    def learn(self, x, y: str) -> None:
        k, x = self._row(y), np.asarray(x, np.int64)
        self.counts[k, x] += 1.0
        self.feature_totals[x] += 1.0
        self.class_totals[k] += len(x)
        self.class_labels[k] += 1

    def unlearn(self, x, y: str) -> None:
        """Take back a ``learn(x, y)``: the counts are as if it never was."""
        k, x = self.classes.index(y), np.asarray(x, np.int64)
        self.counts[k, x] -= 1.0
        self.feature_totals[x] -= 1.0
        self.class_totals[k] -= len(x)
        self.class_labels[k] -= 1
        if self.class_labels[k] <= 0:
            del self.classes[k]
            self.counts = np.delete(self.counts, k, axis=0)
            self.class_totals = np.delete(self.class_totals, k)
            self.class_labels = np.delete(self.class_labels, k)

    def known(self, x) -> np.ndarray:
        """Which of the buckets ``x`` the model has met in any label."""
        return self.feature_totals[np.asarray(x, np.int64)] > 0

    def scores(self, x) -> np.ndarray:
        """Per intent (``classes`` order), the complement log-score of features ``x``."""
        x = np.asarray(x, np.int64)
        own = self.counts[:, x]
        others = self.feature_totals[x][None, :] - own + self.alpha
        norm = (self.class_totals.sum() - self.class_totals + self.alpha * self.n_features)[:, None]
        return -np.log(others / norm).sum(axis=1)

    def sparse(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The non-zero counts as (intent row, feature, count) arrays: most of a row is zeros."""
        rows, cols = np.nonzero(self.counts)
        return rows.astype(np.int32), cols.astype(np.int32), self.counts[rows, cols]

    def set_counts(self, classes: list[str], rows, cols, values, class_totals, class_labels) -> None:
        """Take over counts given as by :meth:`sparse` (a checkpoint, a seed file)."""
        self.classes = list(classes)
        self.counts = np.zeros((len(self.classes), self.n_features), np.float32)
        self.counts[rows, cols] = values
        self.feature_totals = self.counts.sum(axis=0)
        self.class_totals = np.array(class_totals, np.float64)
        self.class_labels = np.array(class_labels, np.int64)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["counts"] = self.sparse()
        del state["feature_totals"]
        return state

    def __setstate__(self, state: dict) -> None:
        rows, cols, values = state.pop("counts")
        self.__dict__.update(state)
        self.set_counts(self.classes, rows, cols, values, self.class_totals, self.class_labels)


class IntentModel(OnlineModel):
    """Complement naive Bayes over hashed text features, predicting first, learning on labels.

    max_pending: messages kept waiting for their label (per worker); the oldest go first.
    pending_days: a message not labelled within this many days is not learned from.
    """

    kind = "support_message"

    def __init__(self, max_pending: int = 20_000, pending_days: float = 14.0) -> None:
        super().__init__()
        self.classifier = HashedComplementNB(N_FEATURES, alpha=0.1)
        self.calibration = Calibration()
        self.max_pending = max_pending
        self.pending_us = int(pending_days * 86400e6)
        # (customer, message) -> (ts, hashed feature buckets as uint32 bytes, predicted intent,
        # raw probability, the label learned or None): a few hundred bytes a message, never its
        # text; kept after its label (until it ages out) so that a QA correction can replace it.
        self.pending: OrderedDict[tuple[str, str], tuple[int, bytes, str | None, float, str | None]] = OrderedDict()
        self.right = 0.0  # prequential accuracy: predictions scored against the label learned
        self.scored = 0
        # self.outcomes (the base's, the forewarn_model_outcomes gauge) counts label_learned,
        # label_corrected, label_repeated, label_unknown_message, pending_expired, pending_dropped
        # and message_duplicate.

    @property
    def labels_seen(self) -> int:
        return self.learned

    def _rank(self, x: list[int], words: list[int]) -> tuple[str | None, float, list[list], float]:
        """(intent, raw probability the calibration ranks by, alternatives, confidence) of features ``x``."""
        if not self.classifier.classes or not words:  # no words ("?", an emoji): nothing to judge, a person reads it
            return None, 0.0, [], 0.0
        scores = self.classifier.scores(x)
        # Tempered to the evidence of EVIDENCE independent features (naive Bayes counts
        # every n-gram as independent, so untempered it is all but 0 or 1): a ranking.
        z = (scores - scores.max()) * (EVIDENCE / max(1, len(x)))
        proba = np.exp(z)
        proba /= proba.sum()
        order = sorted(range(len(proba)), key=lambda i: (-proba[i], self.classifier.classes[i]))
        ranked = [(self.classifier.classes[i], float(proba[i])) for i in order]
        intent, top = ranked[0]
        # Naive Bayes is as sure of a phrasing it has never seen as of one it has seen a
        # hundred times: what the calibration ranks by is its probability times the share
        # of the message's words and word pairs it has met before, so new wording ranks lower.
        familiar = float(self.classifier.known(words).mean()) if words else 0.0
        raw = top * familiar
        alternatives = [[k, round(p, 4)] for k, p in ranked[1:1 + ALTERNATIVES]]
        return intent, raw, alternatives, self.calibration.confidence(raw)

    def teach(self, subject: str | None, body: str, intent: str) -> Prediction:
        """One labelled message of a store's history (``forewarn triage seed``): predicted, then
        learned at once, as the stream would have done — the calibration scores the prediction,
        so the confidence is built from the history's own checked answers. Nothing is kept
        waiting, and the prequential accuracy (``quality``) stays the live stream's."""
        x, words = features(readable(subject, body))
        predicted, raw, alternatives, confidence = self._rank(x, words)
        if predicted is not None:
            self.calibration.update(raw, predicted == intent)
        self.classifier.learn(x, intent)
        self.learned += 1
        return Prediction(predicted, round(confidence, 4), alternatives, self.learned - 1)

    def predict(self, customer_id: str, message_id: str, subject: str | None, body: str, ts_us: int) -> Prediction:
        """Score a message with what has been learned so far; keep it for its label."""
        x, words = features(readable(subject, body))
        intent, raw, alternatives, confidence = self._rank(x, words)
        self._expire(ts_us)
        key = (customer_id, message_id)
        self.pending.pop(key, None)
        self.pending[key] = (ts_us, array("I", x).tobytes(), intent, raw, None)
        while len(self.pending) > self.max_pending:
            _key, entry = self.pending.popitem(last=False)
            if entry[4] is None:
                self.count("pending_dropped")
        return Prediction(intent, round(confidence, 4), alternatives, self.learned)

    def learn(self, customer_id: str, message_id: str, intent: str, ts_us: int) -> str:
        """Learn the label of a message predicted earlier; returns the outcome: ``label_learned``,
        or ``label_unknown_message`` (never seen here, or no longer kept: nothing is learned)."""
        self._expire(ts_us)
        key = (customer_id, message_id)
        kept = self.pending.get(key)
        if kept is None:
            return self.count("label_unknown_message")
        ts, buckets, predicted, raw, learned_as = kept
        x = array("I", buckets)
        if learned_as is not None:
            # A second label (a QA pass correcting the agent): naive Bayes is counts, so the
            # first label is taken back exactly and the new one learned in its place.
            if learned_as == intent:
                return self.count("label_repeated")
            self.classifier.unlearn(x, learned_as)
            self.classifier.learn(x, intent)
            self.pending[key] = (ts, buckets, predicted, raw, intent)
            return self.count("label_corrected")
        if predicted is not None:
            right = predicted == intent
            self.calibration.update(raw, right)
            self.right += right
            self.scored += 1
        self.classifier.learn(x, intent)
        self.learned += 1
        # Kept (until it ages out) for a correction; it no longer counts towards max_pending's
        # purpose of waiting, but stays bounded by it.
        self.pending[key] = (ts, buckets, predicted, raw, intent)
        return self.count("label_learned")

    def _expire(self, now_us: int) -> None:
        pending = self.pending
        while pending:
            key, entry = next(iter(pending.items()))
            if now_us - entry[0] <= self.pending_us:
                return
            del pending[key]
            if entry[4] is None:  # never labelled
                self.count("pending_expired")

    def quality(self) -> dict[str, float]:
        q = {**super().quality(), "labels": float(self.scored), "pending": float(len(self.pending))}
        if self.scored:
            q["accuracy"] = self.right / self.scored
        return q
