"""The sample config is the schema read back: every key, its default, its meaning; and a
misspelt key is refused with what was meant."""

from __future__ import annotations

import tomllib

import pytest

from forewarn.apps import cli, configcmd
from forewarn.engine import config as cfgmod
from forewarn.engine import schema
from tests.conftest import REPO

SAMPLE = REPO / "deploy" / "forewarn.sample.toml"


def test_the_shipped_sample_is_what_config_show_defaults_prints(capsys):
    assert cli.main(["config", "show", "--defaults"]) == 0
    printed = capsys.readouterr().out
    assert printed == configcmd.sample()
    assert SAMPLE.read_text() == printed, (
        "deploy/forewarn.sample.toml is stale: regenerate it with "
        "`python -m forewarn config show --defaults > deploy/forewarn.sample.toml`")


def test_every_key_has_a_meaning_and_the_sample_loads_as_the_defaults():
    assert schema.undocumented(cfgmod.Config()) == []
    text = SAMPLE.read_text()
    assert cfgmod.from_dict(tomllib.loads(text)) == cfgmod.Config()
    # Each key is under its one-line meaning, taken from its struct's docstring.
    lines = text.splitlines()
    grace = lines.index("grace_hours = 12.0")
    assert lines[grace - 1] == ("# how long past `estimated_delivery_at` a parcel may still arrive "
                                "before it counts as late (0..720).")
    assert lines[grace - 2] == "[detectors.delivery_late]"
    port = lines.index("port = 9108")
    assert lines[port - 1] == "# its port, 0 for no endpoint (env `FOREWARN_METRICS_PORT`)."
    for key in schema.walk(cfgmod.Config()):
        name = key.path.rsplit(".", 1)[1]
        assert any(line.startswith((f"{name} = ", f"# {name} = ", f"[[{key.path}]]")) for line in lines), key.path


def test_config_show_prints_the_config_in_force(tmp_path, capsys):
    cfg = tmp_path / "forewarn.toml"
    cfg.write_text("[detectors.delivery_late]\ngrace_hours = 24\n")
    assert cli.main(["config", "show", "--config", str(cfg)]) == 0
    shown = capsys.readouterr().out
    assert "grace_hours = 24.0\n" in shown and "grace_hours = 12.0" not in shown
    assert cfgmod.from_dict(tomllib.loads(shown)).detectors.delivery_late.grace_hours == 24.0


@pytest.mark.parametrize("toml, message", [
    ("[detectors.delivery_late]\ngrace_hour = 3\n",
     "detectors.delivery_late.grace_hour: unknown key; did you mean 'grace_hours'?"),
    ("[routng]\nvip_ltv = 10\n", "routng: unknown key; did you mean 'routing'?"),
    ("[detectors.delivery_lat]\ngrace_hours = 3\n", "detectors.delivery_lat: unknown key; did you mean 'delivery_late'?"),
    ('[[routing.rules]]\nname = "x"\nraise = 1\nwhen = {kind = ["delivery_late"]}\n',
     "routing.rules[0].when.kind: unknown key; did you mean 'kinds'?"),
    ("[kafka]\nzzz = 1\n", "kafka.zzz: unknown key; allowed: bootstrap, group_id, topics, batch_size, extra"),
])
def test_an_unknown_key_is_refused_with_what_was_meant(tmp_path, toml, message):
    cfg = tmp_path / "forewarn.toml"
    cfg.write_text(toml)
    with pytest.raises(cfgmod.ConfigError) as refused:
        cfgmod.load(cfg)
    assert str(refused.value) == message
