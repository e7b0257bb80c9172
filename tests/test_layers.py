"""The packages are layers and imports go downward only: a helpdesk client never loads the
engine's ML libraries, and the core types never depend on what is built on them."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lower number = lower layer. A module may import its own package and lower layers only.
LAYERS = {
    "forewarn.core": 0,
    "online_models": 1, "sinks": 1, "outreach": 1,
    "detectors": 2,
    "forewarn.engine": 3, "forewarn.queue": 3,
    "flows": 4, "dashboards": 4,
    "forewarn.apps": 5,
    "forewarn.__main__": 6,  # python -m forewarn
    "forewarn": 0.5,  # the package itself: re-exports the version from forewarn.core
}


def package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "forewarn" and len(parts) > 1 and f"forewarn.{parts[1]}" in LAYERS:
        return f"forewarn.{parts[1]}"
    if parts[:2] == ["forewarn", "__init__"]:
        return "forewarn"
    return parts[0] if parts[0] in LAYERS else None


def sources() -> list[Path]:
    return sorted(p for p in ROOT.glob("**/*.py") if not any(part.startswith(".") for part in p.relative_to(ROOT).parts))


def imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def test_every_import_goes_down_a_layer_or_stays_in_its_package():
    upward = []
    for path in sources():
        rel = path.relative_to(ROOT)
        module = ".".join(rel.with_suffix("").parts)
        here = package(module)
        if here is None:
            continue  # tests, bench, scripts, examples sit on top of everything
        for name in imports(path):
            there = package(name)
            if there is not None and there != here and LAYERS[there] >= LAYERS[here]:
                upward.append(f"{rel}: imports {name} ({there} is not below {here})")
    assert upward == []


def test_only_the_flows_import_bytewax():
    found = [str(p.relative_to(ROOT)) for p in sources()
             if package(".".join(p.relative_to(ROOT).with_suffix("").parts)) not in (None, "flows", "forewarn.apps")
             and any(n.split(".")[0] == "bytewax" for n in imports(p))]
    assert found == []


def test_the_helpdesk_client_loads_neither_river_nor_bytewax_nor_the_engine():
    code = ("import sys, forewarn.queue, forewarn.queue.cli, forewarn.queue.upkeep; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('river', 'bytewax', 'detectors', "
            "'online_models', 'flows') or m.startswith('forewarn.engine')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_helpdesk_side_reads_its_sections_refuses_a_bad_one_by_key_and_leaves_the_rest_to_the_engine(tmp_path):
    from forewarn.core.settings import ConfigError, load_queue_settings

    path = tmp_path / "forewarn.toml"
    path.write_text('[queue]\ngroup = "desk"\n[detectors.delivery_late]\ngrace_hours = 6\n')
    assert load_queue_settings(path, env={"FOREWARN_REDIS_URL": "redis://h:1/2"}).queue.group == "desk"
    assert load_queue_settings(path, env={"FOREWARN_REDIS_URL": "redis://h:1/2"}).redis.url == "redis://h:1/2"
    path.write_text("[queue]\nmax_deliveries = 0\n")
    with pytest.raises(ConfigError, match=r"queue.max_deliveries = 0: Expected `int` >= 1"):
        load_queue_settings(path, env={})
