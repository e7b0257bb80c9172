"""Build the Grafana dashboard JSON from the grafanalib sources (``*.dashboard.py``) in this folder."""

from __future__ import annotations

import json
from pathlib import Path

from grafanalib._gen import DashboardEncoder, loader

from dashboards.lint import lint

SOURCES = Path(__file__).resolve().parent
SUFFIX = ".dashboard.py"


class DashboardError(ValueError):
    """A dashboard source that does not load or breaks the lint rules; the message lists each problem."""


def sources(directory: Path = SOURCES) -> list[Path]:
    return sorted(directory.glob(f"*{SUFFIX}"))


def render(path: Path) -> dict:
    """The dashboard JSON (as plain data) that the grafanalib source at ``path`` defines."""
    try:
        dash = loader(str(path))
    except Exception as exc:  # a broken source: say which file, then what
        raise DashboardError(f"{path}: {type(exc).__name__}: {exc}") from exc
    return json.loads(json.dumps(dash.to_json_data(), cls=DashboardEncoder))


def build(out_dir: Path, directory: Path = SOURCES) -> list[Path]:
    """Write ``<name>.json`` into ``out_dir`` for every source; refuse all if any breaks a rule."""
    found = sources(directory)
    if not found:
        raise DashboardError(f"no *{SUFFIX} files in {directory}")
    built = {path.name[:-len(SUFFIX)]: render(path) for path in found}
    problems = [p for dash in built.values() for p in lint(dash)]
    uids = [dash["uid"] for dash in built.values()]
    if len(set(uids)) != len(uids):
        problems.append(f"dashboard uids are not unique: {uids}")
    if problems:
        raise DashboardError("dashboards break the lint rules:\n  " + "\n  ".join(problems))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, dash in built.items():
        path = out_dir / f"{name}.json"
        path.write_text(json.dumps(dash, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
