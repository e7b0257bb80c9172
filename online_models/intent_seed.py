"""The seed file: what the intent model learned from a store's own helpdesk export, to start from.

``forewarn triage seed`` (:mod:`forewarn.apps.triage_seed`) teaches a fresh
:class:`~online_models.intent.IntentModel` the export's labelled messages, oldest first,
predict-then-learn as the stream would (:meth:`IntentModel.teach`: the calibration is built
from the export's own checked answers), and writes what it learned with :func:`save`. The
engine's ``[triage] seed`` names such a file: every worker's *fresh* intent model starts from
it (:meth:`Seed.apply`); a model restored from a checkpoint keeps what the checkpoint holds
(it learned the seed too, and the stream since).

The file is numpy's ``.npz`` read with ``allow_pickle=False``: counts and calibration only —
hashed n-gram buckets, never the messages' text, and nothing that runs code when read. It
names the feature space it was built in (the bucket count and a fingerprint of the features
of a probe text), so a seed built with other features is refused instead of read as noise.

>>> import io
>>> from online_models.intent import IntentModel
>>> m = IntentModel()
>>> for i in range(40):
...     _ = m.teach(None, f"where is my parcel {'please' if i % 2 else ''}", "where_is_my_order")
...     _ = m.teach(None, f"I want a refund {'now' if i % 3 else ''}", "refund_status")
>>> f = io.BytesIO(); save(m, f, {"rows": 80}); _ = f.seek(0)
>>> seed = read(f)
>>> fresh = IntentModel(); seed.apply(fresh)
>>> fresh.labels_seen, fresh.predict("c", "m", None, "where is my parcel", 0).intent
(80, 'where_is_my_order')
>>> seed.summary["rows"], seed.labels_per_intent
(80, {'refund_status': 40, 'where_is_my_order': 40})
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np

from online_models.intent import IntentModel
from online_models.text_features import N_FEATURES, features, readable

FORMAT = "forewarn.intent-seed/1"
# Featurised by every build: a seed whose fingerprint differs was hashed by other features.
_PROBE = "Hello! Où est ma commande #12345? https://shop.example/t/9 — Thanks, me@x.org"


class SeedError(ValueError):
    """A file that is not a seed this engine can use; the message says why."""


def fingerprint() -> int:
    """CRC-32 of the hashed features of a probe text: changes whenever the features do."""
    x, words = features(readable("Re: order", _PROBE))
    return zlib.crc32(np.array(sorted(x) + [-1] + sorted(words), np.int64).tobytes())


class Seed:
    """A loaded seed file: the model's counts and calibration, and the build's summary."""

    def __init__(self, arrays: dict[str, np.ndarray], summary: dict[str, Any]) -> None:
        self.arrays = arrays
        self.summary = summary

    @property
    def labels(self) -> int:
        return int(self.arrays["learned"])

    @property
    def labels_per_intent(self) -> dict[str, int]:
        return {str(c): int(n) for c, n in sorted(zip(self.arrays["classes"], self.arrays["class_labels"]))}

    def apply(self, model: IntentModel) -> None:
        """Start a fresh ``model`` from the seed (its classifier and calibration; its settings and
        the live stream's prequential accuracy stay its own)."""
        a = self.arrays
        model.classifier.set_counts([str(c) for c in a["classes"]], a["rows"], a["cols"], a["values"],
                                    a["class_totals"], a["class_labels"])
        cal = model.calibration
        cal.right, cal.total = a["cal_right"].tolist(), a["cal_total"].tolist()
        cal.scored, cal._table = int(a["cal_scored"]), None
        model.learned = int(a["learned"])


def save(model: IntentModel, out: str | Path | IO[bytes], summary: dict[str, Any]) -> None:
    """Write ``model``'s learned state and ``summary`` (JSON-able) as a seed file; a path is
    written whole or not at all (a temporary file renamed)."""
    nb, cal = model.classifier, model.calibration
    rows, cols, values = nb.sparse()
    arrays = dict(format=np.array(FORMAT), n_features=np.array(nb.n_features), fingerprint=np.array(fingerprint()),
                  classes=np.array(nb.classes, dtype=str), rows=rows, cols=cols, values=values,
                  class_totals=nb.class_totals, class_labels=nb.class_labels,
                  cal_right=np.array(cal.right), cal_total=np.array(cal.total), cal_scored=np.array(cal.scored),
                  learned=np.array(model.learned), summary=np.array(json.dumps(summary, sort_keys=True)))
    if not isinstance(out, (str, Path)):
        np.savez_compressed(out, **arrays)
        return
    tmp = Path(f"{out}.tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    os.replace(tmp, out)


def read(source: str | Path | IO[bytes]) -> Seed:
    """Read and check a seed file; raises :class:`SeedError` saying what is wrong."""
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as fh:
                magic = fh.read(4)
        else:
            magic = source.read(4)
            source.seek(-len(magic), os.SEEK_CUR)
        if magic != b"PK\x03\x04":  # a seed is a zip archive (.npz)
            raise SeedError("not a seed file written by `forewarn triage seed` (not an .npz archive)")
        with np.load(source, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except SeedError:
        raise
    except FileNotFoundError:
        raise SeedError("no such file") from None
    except IsADirectoryError:
        raise SeedError("a directory, not a seed file") from None
    except PermissionError:
        raise SeedError("not readable (permission denied)") from None
    except (ValueError, OSError, EOFError, KeyError, zlib.error, zipfile.BadZipFile) as exc:
        raise SeedError(f"not a seed file written by `forewarn triage seed` ({exc.__class__.__name__}: {exc})") from None
    fmt = str(arrays.get("format", ""))
    if fmt != FORMAT:
        raise SeedError(f"format {fmt or 'none'!r}, not {FORMAT!r}: not a seed file of this version; rebuild it "
                        "with `forewarn triage seed`")
    missing = sorted({"n_features", "fingerprint", "classes", "rows", "cols", "values", "class_totals",
                      "class_labels", "cal_right", "cal_total", "cal_scored", "learned", "summary"} - arrays.keys())
    if missing:
        raise SeedError(f"incomplete seed file (no {', '.join(missing)}); rebuild it with `forewarn triage seed`")
    if int(arrays["n_features"]) != N_FEATURES or int(arrays["fingerprint"]) != fingerprint():
        raise SeedError("built with other text features than this engine's (another forewarn version): rebuild it "
                        "from the export with `forewarn triage seed`")
    k = len(arrays["classes"])
    rows, cols = arrays["rows"], arrays["cols"]
    if (len(rows) != len(cols) or len(cols) != len(arrays["values"]) or len(arrays["class_totals"]) != k
            or len(arrays["class_labels"]) != k or (len(rows) and (rows.min() < 0 or rows.max() >= k
                                                                    or cols.min() < 0 or cols.max() >= N_FEATURES))):
        raise SeedError("damaged: its counts do not fit its intents and features; rebuild it with `forewarn triage seed`")
    try:
        summary = json.loads(str(arrays.pop("summary")))
    except ValueError:
        raise SeedError("damaged: its summary is not JSON; rebuild it with `forewarn triage seed`") from None
    return Seed(arrays, summary)


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, size: int) -> Seed:
    return read(path)


def load(path: str) -> Seed:
    """The seed at ``path``, read once per version of the file (the config check and every
    detector built from the config share it); raises :class:`SeedError`."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SeedError("no such file") from None
    except OSError as exc:
        raise SeedError(f"cannot be read ({exc.strerror})") from None
    return _load(path, st.st_mtime_ns, st.st_size)
