"""What every online model shares: observed scores, a picklable state, and the per-worker set.

A model records every evaluation it makes as an :class:`Observation` (fired or not). The
dataflow drains them after each batch — into a scores file when a backtest asks for one
(``--scores``) — so quality can be measured over *all* evaluations, not just the ones that
fired. :class:`ModelPerWorker` gives each worker thread its own model; :class:`ModelSet` is one
worker's models, checkpointed together.

>>> class Toy(OnlineModel):
...     kind = "toy"
>>> models = ModelSet([Toy()])
>>> models["toy"].observe("c1", "o1", "o1", 0, 0.25, False)
>>> [o.score for o in models.drain()], models.drain()
([0.25], [])
>>> models.quality()
{'toy': {'learned_examples': 0.0, 'fire_rate': 0.0}}
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

# Bumped when a model's pickled layout changes incompatibly: an older checkpoint is then
# ignored (the models start fresh) rather than half-loaded.
FORMAT = 2  # 2: the intent model became complement naive Bayes in numpy


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
    """Base of the models: a ``kind``, observations, a learned-examples count, a quality summary.

    Subclasses keep their River estimators as attributes; the whole object pickles, except
    the observations buffer (transient, drained after every batch).
    """

    kind: ClassVar[str]
    # Attributes set from the config, not learned: a restored checkpoint keeps the current ones.
    SETTINGS: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.learned = 0  # examples learned over the model's lifetime, restarts included
        self.evaluations = 0
        self.fired = 0
        self.observed: list[Observation] = []

    def observe(self, customer_id: str, subject: str, order_id: str | None, at_us: int, score: float,
                fired: bool, extra: dict[str, Any] | None = None) -> None:
        self.evaluations += 1
        self.fired += fired
        self.observed.append(Observation(self.kind, customer_id, subject, order_id, at_us, score, fired, extra))

    def quality(self) -> dict[str, float]:
        """Numbers for the ``forewarn_model_*`` metrics: examples learned, share of evaluations that fired."""
        return {"learned_examples": float(self.learned),
                "fire_rate": self.fired / self.evaluations if self.evaluations else 0.0}

    def settings_changed(self, old: dict[str, Any]) -> None:
        """Called after a restore whose checkpoint was learned under other ``SETTINGS`` (``old``)."""

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["observed"] = []
        return state


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

    def dumps(self) -> bytes:
        """The learned state of every model, as bytes (see :meth:`load`)."""
        return pickle.dumps((FORMAT, self.models), protocol=5)

    def load(self, data: bytes) -> list[str]:
        """Take over the learned state in ``data``, in place (detectors keep their references).

        Returns the kinds restored. A kind missing from ``data`` (a model added since) keeps
        its fresh state; a checkpoint of another format, or naming model classes this code no
        longer has, restores nothing.
        """
        try:
            fmt, saved = pickle.loads(data)
        except (AttributeError, ImportError):  # written by code whose model classes are gone
            return []
        if fmt != FORMAT:
            return []
        restored = []
        for kind, model in self.models.items():
            old = saved.get(kind)
            if old is not None and type(old) is type(model):
                current = {name: getattr(model, name) for name in model.SETTINGS}
                before = {name: old.__dict__.get(name) for name in model.SETTINGS}
                model.__dict__.update(old.__dict__)
                model.__dict__.update(current)
                model.observed = []
                if before != current:
                    model.settings_changed(before)
                restored.append(kind)
        return restored
