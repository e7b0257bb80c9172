"""Model checkpoints written with the recovery snapshots, so a restart keeps what the models learned.

Bytewax recovery persists only the state of stateful steps, keyed by what the step is keyed
by — customers here — while each worker's online models are global to it. Pinning a model
to a key of its own would not help: Bytewax routes keys to workers by hash, so the key
would live on some other worker. Instead, at every epoch end (the moment Bytewax snapshots
the customers a worker touched) the worker writes its models to
``<recovery directory>/models/<model id>-<version>.pkl`` and every customer snapshot of
that epoch carries ``(model id, version)``. A resume restores the customers of the last
committed epoch; the newest version they carry is exactly the models as they were at
that epoch's end, neither ahead (learning twice what is replayed) nor behind (forgetting).

A customer untouched since an older start still carries that start's reference, so the
references a resume sees span several generations of starts. Each start's model id begins
with its generation (one more than the one it resumed from): the newest generation seen is
the lineage that learned last, and it already holds what every older one learned. Choosing
by majority instead would pick the grandparent most customers still point at, whose files
the parent start has already dropped.

:class:`Checkpoints` is the file side: write (atomically, fsynced before Bytewax commits
the epoch), pick the version a resumed worker should load, and drop old versions.

>>> import tempfile
>>> from online_models.base import ModelSet
>>> d = tempfile.mkdtemp()
>>> cp = Checkpoints(d, keep=2)
>>> ref = cp.write(ModelSet([]).dumps())
>>> ref[1], len(cp.read(ref)) > 0
(1, True)
>>> Checkpoints.choose({ref[0]: (2, 1), "other": (1, 9)}) == ref
True

A start that resumed from ``ref`` is the next generation; its own references win over the
older ones most customers may still carry:

>>> child = Checkpoints(d, keep=2)
>>> _ = child.read(ref)
>>> newer = child.write(b"learned more")
>>> generation(newer[0]), generation(ref[0])
(2, 1)
>>> Checkpoints.choose({ref[0]: (900, 1), newer[0]: (3, 1)}) == newer
True
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("forewarn.models")

Ref = tuple[str, int]  # (model id, version)

_ID_HEX = 12  # the random part of a model id


def generation(model_id: str) -> int:
    """The generation in a model id: ``0003`` + 12 hex digits; ids from before generations are 0."""
    return int(model_id[:-_ID_HEX] or 0)


class Checkpoints:
    """One worker's model checkpoint files.

    directory: where the files go (``<recovery directory>/models``).
    keep: versions of this worker's models kept on disk; older ones are deleted. A resume
        needs the version of the last committed epoch (or of an older backup, with
        ``backup_interval_seconds``), so keep must cover that many epochs.
    """

    def __init__(self, directory: str | Path, keep: int) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        # A fresh id per worker and start (workers that resume from the same predecessor must
        # not overwrite each other's files), named at the first write: by then the worker
        # knows which generation it resumed from.
        self.model_id: str | None = None
        self.version = 0
        self.inherited: str | None = None  # the predecessor this worker's models were loaded from

    def _path(self, ref: Ref) -> Path:
        return self.directory / f"{ref[0]}-{ref[1]:010d}.pkl"

    def write(self, data: bytes) -> Ref:
        """Store ``data`` as the next version; durable when this returns."""
        if self.model_id is None:
            parent = generation(self.inherited) if self.inherited is not None else 0
            self.model_id = f"{parent + 1:04d}{uuid.uuid4().hex[:_ID_HEX]}"
        self.version += 1
        ref = (self.model_id, self.version)
        path = self._path(ref)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)  # the rename itself must survive a crash
        finally:
            os.close(fd)
        self._drop_old()
        return ref

    def _drop_old(self) -> None:
        oldest_kept = self.version - self.keep + 1
        if oldest_kept > 1:
            self._path((self.model_id, oldest_kept - 1)).unlink(missing_ok=True)
        if self.version == self.keep and self.inherited is not None:
            # Every epoch a resume could now go back to carries this worker's own versions.
            # (After a change of worker count, a worker idle for all these epochs that has not
            # loaded the predecessor yet starts from fresh models; it logs so.)
            for path in self.directory.glob(f"{self.inherited}-*.pkl"):
                path.unlink(missing_ok=True)

    def read(self, ref: Ref) -> bytes | None:
        """The bytes of a checkpoint (and remember whose it was); None if it is gone."""
        try:
            data = self._path(ref).read_bytes()
        except FileNotFoundError:
            return None
        self.inherited = ref[0]
        return data

    @staticmethod
    def choose(seen: Mapping[str, tuple[int, int]]) -> Ref | None:
        """The checkpoint a resumed worker loads.

        seen: per model id, (how many of the worker's resumed customers carry it, the newest
            version they carry).

        The newest generation among them (see the module docstring); within it — after a
        change of worker count a worker resumes customers of several workers of that start —
        the one most of them were learned by, at the newest version they carry.
        """
        if not seen:
            return None
        # ties broken by id: deterministic
        model_id = max(seen, key=lambda m: (generation(m), seen[m][0], m))
        return model_id, seen[model_id][1]
