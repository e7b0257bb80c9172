"""Online models: River pipelines that learn from the stream as it flows, one set per worker.

* :mod:`online_models.base` — what every model shares: score observations, a state that
  pickles, and :class:`~online_models.base.ModelSet`, the per-worker set that is checkpointed.
* :mod:`online_models.labels` — delayed-label bookkeeping: a prediction waits in the
  customer's state, with the probability it was given, until its label arrives.
* :mod:`online_models.quality` — progressive (prequential) quality, and the offline
  evaluation of recorded scores against a ground truth.
* :mod:`online_models.order_features`, :mod:`online_models.customer_features`,
  :mod:`online_models.shipment_features` — feature extraction and the compact per-customer
  records it needs (kept in ``CustomerState.ext[kind]``).
* :mod:`online_models.anomaly`, :mod:`online_models.churn`, :mod:`online_models.lateness` —
  the three models behind ``order_anomaly``, ``churn_risk`` and ``delivery_at_risk``.

Nothing here imports Bytewax or does I/O: time comes from events, and learning happens in
the order the engine calls, so a backtest (one ordered stream) learns the same way every run.
"""
