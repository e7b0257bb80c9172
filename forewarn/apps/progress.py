"""Progress of a long command: a bar with count, rate and ETA on a terminal, silent when piped.

One helper for every long command (``simulate``, ``backtest``, sweeps, ``record``), so they
look alike. It is tqdm (a well-kept library, not a hand-drawn bar) writing to stderr, so
stdout stays clean for data; when stderr is not a terminal (a pipe, a file, CI) it prints
nothing, and a command that wants a summary line prints its own.

>>> import io
>>> out = io.StringIO()  # not a terminal, like a pipe
>>> with bar(3, "simulate", "customer", stream=out) as p:
...     p.update(3)
>>> out.getvalue()
''
"""

from __future__ import annotations

import os
import sys
from typing import IO

from tqdm import tqdm


def bar(total: int | None, desc: str, unit: str = "it", *, enabled: bool | None = None,
        stream: IO[str] | None = None) -> tqdm:
    """A progress bar on ``stream`` (default stderr); use it as a context manager and call
    ``update(n)``. ``enabled``: True draws it, False never does, None (the default) draws
    it only when the stream is a terminal. ``total`` None gives a count and rate, no ETA."""
    out = stream if stream is not None else sys.stderr
    if enabled is None:
        enabled = on_terminal(out)
    # Counts in k/M only when they are big: "4/4", but "1.68M/1.68M".
    scale = total is None or total >= 10_000
    # Follow the terminal's size; one that reports none (a bare pty) gets 80 x 24, since tqdm
    # would otherwise hide the bar as if the screen had no rows.
    sized = enabled and _columns(out) > 0
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, file=out, disable=not enabled,
                dynamic_ncols=sized, ncols=None if sized else 80, nrows=None if sized else 24,
                mininterval=0.25, smoothing=0.1)


def on_terminal(stream: IO[str] | None = None) -> bool:
    """Whether a bar on ``stream`` (default stderr) would show: a command may skip the work of
    knowing a total (counting an input's lines) when not."""
    out = stream if stream is not None else sys.stderr
    return bool(getattr(out, "isatty", lambda: False)())


def lines_in(path: str) -> int:
    """The non-blank lines of a file, as a backtest reads them (a bar's total)."""
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def _columns(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0
