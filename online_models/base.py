"""What every online model shares, and the one interface of the models behind the detectors.

:class:`OnlineModel` is the thin base every model has: a ``kind``, the evaluations it
:meth:`~OnlineModel.observe`\\ s (fired or not), counted ``outcomes``, a :meth:`~OnlineModel.quality`
summary for the ``forewarn_model_*`` gauges, live :meth:`~OnlineModel.retune` of its ``SETTINGS``,
and a state that pickles and is :meth:`~OnlineModel.restore`\\ d in place.
:class:`Estimator` adds what River's estimators declare as ``predict_one``/``learn_one``:
:meth:`~Estimator.score` an example, then :meth:`~Estimator.learn` it when its label arrives
(``None`` for a model that learns without one), given what was scored then. The order
anomaly, lateness and churn models are estimators; the intent model (keyed by message, its
examples kept by itself until their label) has the thin base only.

A model records every evaluation it makes as an :class:`Observation` (fired or not). The
dataflow drains them after each batch — into a scores file when a backtest asks for one
(``--scores``) — so quality can be measured over *all* evaluations, not just the ones that
fired. :class:`ModelPerWorker` gives each worker thread its own model; :class:`ModelSet` is one
worker's models, checkpointed together.

A toy estimator: the share of positive labels, scored before each is learned.

>>> class Rate(Estimator):
...     kind = "toy"
...     def __init__(self):
...         super().__init__()
...         self.seen, self.positive = 0, 0
...     def score(self, x):
...         return self.positive / self.seen if self.seen else 0.5
...     def learn(self, x, y, given):
...         self.seen, self.positive = self.seen + 1, self.positive + y
...         self.learned += 1
>>> models = ModelSet([Rate()])
>>> toy = models["toy"]
>>> p = toy.score({"a": 1.0})
>>> toy.observe("c1", "o1", "o1", 0, p, False)
>>> toy.learn({"a": 1.0}, True, p)
>>> toy.count("label_learned")
'label_learned'
>>> toy.score({"a": 1.0}), [o.score for o in models.drain()], models.drain()
(1.0, [0.5], [])
>>> models.quality(), models.outcomes()
({'toy': {'learned_examples': 1.0, 'fire_rate': 0.0}}, {('toy', 'label_learned'): 1})

A snapshot (the model pickled, :meth:`ModelSet.dumps`) restores into a model in place, so
the detectors keep their references; observations are not part of it.

>>> toy.observe("c1", "o2", "o2", 1, 1.0, True)
>>> fresh = Rate()
>>> fresh.restore(toy)
>>> fresh.score({}), fresh.learned, fresh.observed
(1.0, 1, [])
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

# Bumped when a model's pickled layout changes incompatibly: an older checkpoint is then
# ignored (the models start fresh) rather than half-loaded.
FORMAT = 1


class Observation(NamedTuple):
    """One evaluation by a model: what it scored, when, how high, and whether it fired."""

    kind: str
    customer_id: str
    subject: str
    order_id: str | None
    at_us: int
    score: float
    fired: bool
    extra: dict[str, Any] | None = None  # model-specific parts of the score, for evaluation


class OnlineModel:
    """The thin base of every model: a ``kind``, observations, counted outcomes, quality, settings, state.

    Subclasses keep their River estimators as attributes; the whole object pickles (its
    snapshot), except the observations buffer (transient, drained after every batch).
    ``learned`` counts the examples learned over the model's lifetime, restarts included;
    ``outcomes`` counts what happened to labels and examples by name (the
    ``forewarn_model_outcomes`` gauge), e.g. ``label_learned``, ``pending_expired``.
    """

    kind: ClassVar[str]
    # Attributes set from the config, not learned: a restored checkpoint keeps the current
    # ones, and retune() changes them live.
    SETTINGS: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.learned = 0
        self.evaluations = 0
        self.fired = 0
        self.observed: list[Observation] = []
        self.outcomes: dict[str, int] = {}

    @property
    def labels(self) -> int:
        """Labels the model's predictions were scored against (progressive quality); 0 without labels."""
        return 0

    def observe(self, customer_id: str, subject: str, order_id: str | None, at_us: int, score: float,
                fired: bool, extra: dict[str, Any] | None = None) -> None:
        """Record one evaluation (see :class:`Observation`), whether it fired or not."""
        self.evaluations += 1
        self.fired += fired
        self.observed.append(Observation(self.kind, customer_id, subject, order_id, at_us, score, fired, extra))

    def count(self, outcome: str) -> str:
        """Count one ``outcome``; returns it."""
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        return outcome

    def quality(self) -> dict[str, float]:
        """Numbers for the ``forewarn_model_*`` metrics: examples learned, share of evaluations that fired."""
        return {"learned_examples": float(self.learned),
                "fire_rate": self.fired / self.evaluations if self.evaluations else 0.0}

    def retune(self, **settings: Any) -> None:
        """Take new ``SETTINGS`` values (a live config change); what was learned stays.

        Calls :meth:`settings_changed` with the old values when any of them differs.
        """
        old = {}
        for name, value in settings.items():
            if name not in self.SETTINGS:
                raise TypeError(f"{type(self).__name__}.retune: {name!r} is not one of its SETTINGS {self.SETTINGS}")
            if getattr(self, name) != value:
                old[name] = getattr(self, name)
        if old:
            self.__dict__.update(settings)
            self.settings_changed(old)

    def settings_changed(self, old: dict[str, Any]) -> None:
        """Called after the ``SETTINGS`` changed from ``old`` (a retune, or a restore of a
        checkpoint learned under other settings): drop what belonged to the old values."""

    def restore(self, saved: OnlineModel) -> None:
        """Take over the learned state of ``saved`` (a snapshot of the same class), in place;
        the current ``SETTINGS`` stay, and :meth:`settings_changed` runs if ``saved`` had others."""
        current = {name: getattr(self, name) for name in self.SETTINGS}
        before = {name: saved.__dict__.get(name) for name in self.SETTINGS}
        self.__dict__.update(saved.__dict__)
        self.__dict__.update(current)
        self.observed = []
        if before != current:
            self.settings_changed(before)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["observed"] = []
        return state


X = TypeVar("X")  # what an estimator scores: features, or a record holding them
Y = TypeVar("Y")  # its label (None for a model that learns without labels)
S = TypeVar("S")  # what it scores: a probability, or a score with its threshold


class Estimator(OnlineModel, Generic[X, Y, S]):
    """A model that scores an example first and learns it later, when its label is known.

    River's estimators declare ``predict_one(x)`` and ``learn_one(x, y)``; here the label is
    delayed (a parcel's outcome, the next order), so what the model said then comes back
    with it, ``given``, and scores the prediction against the label before it is learned
    (progressive quality: :class:`online_models.quality.Prequential`).
    """

    def score(self, x: X) -> S:
        """What the model says about ``x`` now; learns nothing."""
        raise NotImplementedError

    def learn(self, x: X, y: Y, given: S) -> None:
        """Learn ``x`` with its label ``y``; ``given`` is what :meth:`score` said about it then."""
        raise NotImplementedError


M = TypeVar("M", bound="OnlineModel")


class ModelPerWorker(Generic[M]):
    """One model per worker thread, made by ``make`` on first use in each.

    A process's detectors are shared by its Bytewax workers, which are threads. River models
    are not thread-safe, and a model per worker is what scales: each learns from its own
    worker's customers, in the order that worker processes them. Keyed by the OS thread id,
    not ``threading.local``: Bytewax starts its workers from Rust, and the Python thread
    state of such a thread — where ``threading.local`` keeps its data — need not live from
    one call into Python to the next.
    """

    def __init__(self, make: Callable[[], M]) -> None:
        self._make = make
        self._by_thread: dict[int, M] = {}

    def get(self) -> M:
        thread = threading.get_ident()
        model = self._by_thread.get(thread)
        if model is None:
            model = self._by_thread[thread] = self._make()
        return model


class ModelSet:
    """The models of one engine (one worker), by kind: drained, summarised and checkpointed together."""

    def __init__(self, models: Iterable[OnlineModel]) -> None:
        self.models: dict[str, OnlineModel] = {m.kind: m for m in models}

    def __getitem__(self, kind: str) -> OnlineModel:
        return self.models[kind]

    def drain(self) -> list[Observation]:
        """The observations recorded since the last drain, model by model."""
        out: list[Observation] = []
        for m in self.models.values():
            if m.observed:
                out.extend(m.observed)
                m.observed.clear()
        return out

    def quality(self) -> dict[str, dict[str, float]]:
        return {kind: m.quality() for kind, m in self.models.items()}

    def outcomes(self) -> dict[tuple[str, str], int]:
        """(kind, outcome) -> count, over the models."""
        return {(kind, outcome): n for kind, m in self.models.items() for outcome, n in m.outcomes.items()}

    def dumps(self) -> bytes:
        """The learned state of every model, as bytes (see :meth:`load`)."""
        return pickle.dumps((FORMAT, self.models), protocol=5)

    def load(self, data: bytes) -> list[str]:
        """Take over the learned state in ``data``, in place (detectors keep their references).

        Returns the kinds restored. A kind missing from ``data`` (a model added since) keeps
        its fresh state; a checkpoint of another format restores nothing.
        """
        fmt, saved = pickle.loads(data)
        if fmt != FORMAT:
            return []
        restored = []
        for kind, model in self.models.items():
            old = saved.get(kind)
            if old is not None and type(old) is type(model):
                model.restore(old)
                restored.append(kind)
        return restored
