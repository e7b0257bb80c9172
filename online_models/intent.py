"""The intent model: which of the store's intents a customer's message is, learned from agents' labels.

An online text classifier (River): the hashed word, word-pair and character-n-gram features of
:mod:`online_models.text_features` into River's multinomial naive Bayes
(:class:`SparseMultinomialNB`: the same model, scored faster). Naive Bayes learns a label in
one pass (a few counters), takes a new intent whenever the first label of it arrives (the
intent set is open), and was the strongest and cheapest of the online text classifiers we
measured at a few hundred to a few thousand labels (docs/triage.md, "Measured").

It predicts before it learns. A message is scored with what was learned from the labels read
before it (in event time); its features then wait in ``pending``, keyed by (customer,
message), for the ``support.labelled`` an agent gives hours later, which teaches the model
that label. Pending messages are bounded in count (``max_pending``, oldest dropped first) and
in age (``pending_days``), and are pickled with the model, so a restart forgets neither what
was learned nor what waits for a label. No public dataset, no pre-training: a fresh model
knows nothing and says so (intent None, confidence 0) until the stream's own labels arrive;
a store seeds it by replaying its helpdesk export through ``forewarn backtest`` (docs/triage.md).

**Confidence** is calibrated online, so ``[triage] min_confidence = 0.9`` means "of the
messages given at least 0.9, at least nine in ten have the right intent". The classifier's
raw probability (naive Bayes is notoriously over-confident) is only a ranking; each label
scores the prediction made before it into a histogram of raw probability (``BINS`` bins) of
right and wrong answers, counts decaying with a half-life of ``CALIBRATION_HALF_LIFE``
labels so that it follows the model as it improves. A prediction's confidence is the
accuracy of all earlier predictions at or above its raw probability — a lower bound
(Wilson, 95 %) on it, so that a handful of lucky answers do not claim 1.0 — made monotone
(a higher raw probability never gets a lower confidence). Before ``MIN_CALIBRATION``
labels have been scored the confidence is 0: the model is not trusted until it has been
checked.

>>> m = IntentModel()
>>> m.predict("c1", "m0", None, "where is my parcel", 0)
Prediction(intent=None, confidence=0.0, alternatives=[], labels_seen=0)
>>> for i in range(40):
...     for text, intent in (("where is my parcel, it has not arrived", "where_is_my_order"),
...                          ("I want my money back, refund please", "refund_status")):
...         _ = m.predict("c1", f"m{i}{intent}", None, text, i)
...         _ = m.learn("c1", f"m{i}{intent}", intent, i + 1)
>>> p = m.predict("c1", "m99", None, "my parcel has still not arrived", 100)
>>> p.intent, p.confidence > 0.8, p.labels_seen
('where_is_my_order', True, 80)
>>> m.quality()["accuracy"] > 0.9
True
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict
from typing import NamedTuple

from river import naive_bayes

from online_models.base import OnlineModel
from online_models.text_features import features, readable

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
    """Right and wrong answers by raw probability, decaying; confidence = a monotone lower bound.

    The confidence at raw probability ``r`` is the accuracy of the answers given at ``r`` or
    above — exactly what a threshold on it selects: every answer with confidence >= c comes
    from a set whose measured accuracy is at least c. Here 0.95 is always right, 0.3 half the
    time: at or above 0.3 (all of them) three in four are right, bounded below to 0.7.

    >>> c = Calibration()
    >>> for i in range(200):
    ...     c.update(0.95, True); c.update(0.3, i % 2 == 0)
    >>> round(c.confidence(0.97), 2), round(c.confidence(0.3), 2), round(c.confidence(0.1), 2)
    (0.98, 0.7, 0.7)
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
        # Per bin, the bound over that bin and every bin above it (all answers at least this
        # sure), then a running maximum from the bottom so that it never falls as raw rises.
        out = [0.0] * len(self.total)
        right = total = 0.0
        for b in range(len(self.total) - 1, -1, -1):
            right += self.right[b]
            total += self.total[b]
            out[b] = _wilson_lower(right, total)
        best = 0.0
        for b in range(len(out)):
            best = max(best, out[b])
            out[b] = best
        return out


def _wilson_lower(right: float, total: float) -> float:
    if total <= 0:
        return 0.0
    p = right / total
    z2 = Z * Z
    centre = p + z2 / (2 * total)
    margin = Z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    return max(0.0, (centre - margin) / (1 + z2 / total))


class SparseMultinomialNB(naive_bayes.MultinomialNB):
    """River's multinomial naive Bayes, scored in time proportional to what a message shares
    with what was learned rather than to features x intents.

    The same model and probabilities as :class:`river.naive_bayes.MultinomialNB`: of the sum
    over a message's features of ``x_f * log((n_fc + alpha) / (N_c + alpha * V))``, the part
    for pairs never seen together (``n_fc = 0``) is the same ``log(alpha)`` for every one, so
    only the pairs seen are visited. Learning adds counts without ``Counter.update``'s overhead.

    >>> nb = SparseMultinomialNB(alpha=0.5)
    >>> ref = naive_bayes.MultinomialNB(alpha=0.5)
    >>> for x, y in (({1: 1, 2: 1}, "a"), ({2: 1, 3: 2}, "b"), ({1: 1}, "a")):
    ...     nb.learn_one(x, y); ref.learn_one(x, y)
    >>> all(abs(nb.joint_log_likelihood({1: 1, 4: 1})[c] - ref.joint_log_likelihood({1: 1, 4: 1})[c]) < 1e-9
    ...     for c in ("a", "b"))
    True
    """

    def unlearn_one(self, x, y):
        """Take back a ``learn_one(x, y)`` (a corrected label): the counts are as if it never was."""
        self.class_counts[y] -= 1
        counts = self.feature_counts
        total = 0
        for f, frequency in x.items():
            row = counts[f]
            left = row.get(y, 0) - frequency
            if left > 0:
                row[y] = left
            else:
                row.pop(y, None)
                if not row:
                    del counts[f]
            total += frequency
        self.class_totals[y] -= total
        if self.class_counts[y] <= 0:
            del self.class_counts[y]
            del self.class_totals[y]

    def learn_one(self, x, y):
        self.class_counts[y] += 1
        counts = self.feature_counts
        total = 0
        for f, frequency in x.items():
            row = counts[f]
            row[y] = row.get(y, 0) + frequency
            total += frequency
        self.class_totals[y] += total

    def predict_proba_one(self, x):
        return self.tempered_proba(x, None)

    def tempered_proba(self, x, evidence: float | None):
        """Probabilities from the log-likelihoods scaled by ``evidence / len(x)`` (None: unscaled)."""
        jll = self.joint_log_likelihood(x)
        if not jll:
            return {}
        scale = 1.0 if evidence is None or not x else evidence / len(x)
        top = max(jll.values())
        exp = {c: math.exp((v - top) * scale) for c, v in jll.items()}
        total = math.fsum(exp.values())
        return {c: e / total for c, e in exp.items()}

    def _log_gain(self, k: int) -> float:
        """``log(k + alpha) - log(alpha)``, from a table for the small counts most pairs have."""
        table = self.__dict__.get("_gains")
        if table is None or table[0] != self.alpha:
            table = self._gains = (self.alpha, [math.log(i + self.alpha) - math.log(self.alpha) for i in range(4096)])
        return table[1][k] if k < 4096 else math.log(k + self.alpha) - math.log(self.alpha)

    def joint_log_likelihood(self, x):
        alpha = self.alpha
        n = sum(self.class_counts.values())
        vocab = len(self.feature_counts)
        mass = sum(x.values())
        log_alpha = math.log(alpha)
        jll = {c: math.log(k / n) + mass * (log_alpha - math.log(self.class_totals[c] + alpha * vocab))
               for c, k in self.class_counts.items()}
        counts = self.feature_counts
        self._log_gain(0)
        gains = self._gains[1]
        for f, frequency in x.items():
            row = counts.get(f)
            if row:
                for c, k in row.items():
                    jll[c] += frequency * (gains[k] if k < 4096 else math.log(k + alpha) - log_alpha)
        return jll


class IntentModel(OnlineModel):
    """Complement naive Bayes over hashed text features, predicting first, learning on labels.

    max_pending: messages kept waiting for their label (per worker); the oldest go first.
    pending_days: a message not labelled within this many days is not learned from.
    """

    kind = "support_message"

    def __init__(self, max_pending: int = 20_000, pending_days: float = 14.0) -> None:
        super().__init__()
        self.classifier = SparseMultinomialNB(alpha=0.1)
        self.calibration = Calibration()
        self.max_pending = max_pending
        self.pending_us = int(pending_days * 86400e6)
        # (customer, message) -> (ts, hashed feature buckets as uint32 bytes, predicted intent,
        # raw probability, the label learned or None): a few hundred bytes a message, never its
        # text; kept after its label (until it ages out) so that a QA correction can replace it.
        self.pending: OrderedDict[tuple[str, str], tuple[int, bytes, str | None, float, str | None]] = OrderedDict()
        self.right = 0.0  # prequential accuracy: predictions scored against the label learned
        self.scored = 0
        # What happened to messages and labels, lifetime (the forewarn_model_outcomes gauge):
        # label_learned, label_corrected, label_repeated, label_unknown_message, pending_expired,
        # pending_dropped, message_duplicate.
        self.outcomes: dict[str, int] = {}

    @property
    def labels_seen(self) -> int:
        return self.learned

    def predict(self, customer_id: str, message_id: str, subject: str | None, body: str, ts_us: int) -> Prediction:
        """Score a message with what has been learned so far; keep it for its label."""
        x, words = features(readable(subject, body))
        intent, raw, alternatives, confidence = None, 0.0, [], 0.0
        if self.classifier.class_counts and words:  # no words ("?", an emoji): nothing to judge, a person reads it
            proba = self.classifier.tempered_proba(x, EVIDENCE)
            ranked = sorted(proba.items(), key=lambda kv: (-kv[1], kv[0]))
            intent, top = ranked[0]
            # Naive Bayes is as sure of a phrasing it has never seen as of one it has seen a
            # hundred times: what the calibration ranks by is its probability times the share
            # of the message's words it has met before, so new wording gets less confidence.
            known = self.classifier.feature_counts
            familiar = sum(1 for w in words if w in known) / len(words) if words else 0.0
            raw = top * familiar
            alternatives = [[k, round(p, 4)] for k, p in ranked[1:1 + ALTERNATIVES]]
            confidence = self.calibration.confidence(raw)
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
        x = dict.fromkeys(array("I", buckets), 1)
        if learned_as is not None:
            # A second label (a QA pass correcting the agent): naive Bayes is counts, so the
            # first label is taken back exactly and the new one learned in its place.
            if learned_as == intent:
                return self.count("label_repeated")
            self.classifier.unlearn_one(x, learned_as)
            self.classifier.learn_one(x, intent)
            self.pending[key] = (ts, buckets, predicted, raw, intent)
            return self.count("label_corrected")
        if predicted is not None:
            right = predicted == intent
            self.calibration.update(raw, right)
            self.right += right
            self.scored += 1
        self.classifier.learn_one(x, intent)
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

    def count(self, outcome: str) -> str:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        return outcome

    def quality(self) -> dict[str, float]:
        q = {**super().quality(), "labels": float(self.scored), "pending": float(len(self.pending))}
        if self.scored:
            q["accuracy"] = self.right / self.scored
        return q
