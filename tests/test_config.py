"""The project config file: defaults, validation errors naming file and key, DSASSETS_CONFIG."""

from pathlib import Path

import pytest

from dsassets.lib.config import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    ProjectConfig,
    load_config,
    parse_config,
)


def test_shipped_file_states_the_code_defaults():
    # dsassets.yaml documents the defaults; it must not drift from the code.
    assert DEFAULT_CONFIG_PATH.exists()
    assert load_config(DEFAULT_CONFIG_PATH) == ProjectConfig()


def test_missing_default_file_means_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("DSASSETS_CONFIG", raising=False)
    monkeypatch.setattr("dsassets.lib.config.DEFAULT_CONFIG_PATH", tmp_path / "absent.yaml")
    assert load_config() == ProjectConfig()


def test_env_var_points_at_the_file(monkeypatch, tmp_path):
    path = tmp_path / "custom.yaml"
    path.write_text(
        "signin:\n  rules:\n    - {action: SignIn, outcome: success, interactive: true}\n"
    )
    monkeypatch.setenv("DSASSETS_CONFIG", str(path))
    config = load_config()
    assert len(config.signin.rules) == 1
    assert config.signin.rules[0].values("action") == ["signin"]
    assert config.signin.rules[0].values("object") is None
    # sections not in the file keep their defaults
    assert config.event_types == ProjectConfig().event_types


def test_env_var_naming_a_missing_file_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DSASSETS_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="nope.yaml: config file not found"):
        load_config()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"signin": {"rulez": []}}, "x.yaml: signin.rulez: Extra inputs are not permitted"),
        (
            {"signin": {"rules": [{"action": "Login", "outcome": "maybe", "interactive": True}]}},
            "x.yaml: signin.rules[0].outcome:",
        ),
        (
            {"signin": {"rules": [{"action": 7, "outcome": "success", "interactive": True}]}},
            "x.yaml: signin.rules[0].action:",
        ),
        (
            {"signin": {"rules": [{"action": [], "outcome": "success", "interactive": True}]}},
            "x.yaml: signin.rules[0].action: Value error, an empty list matches nothing",
        ),
        ({"geo": {"ip_lookup": "yes"}}, "x.yaml: geo.ip_lookup: Input should be a valid boolean"),
        ({"geo": {"country_aliases": {"atlantis": "ATL"}}}, "x.yaml: geo.country_aliases:"),
        ({"event_types": {"rules": [{"event_type": "party"}]}}, "event_types.rules[0].event_type"),
        ({"detections": {}}, "x.yaml: detections: Extra inputs are not permitted"),
    ],
)
def test_errors_name_the_file_and_the_key_path(data, expected):
    with pytest.raises(ConfigError) as info:
        parse_config(data, source="x.yaml")
    assert expected in str(info.value)


def test_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("signin: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml: cannot read"):
        load_config(path)


def test_top_level_must_be_a_mapping(tmp_path):
    path = Path(tmp_path / "list.yaml")
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="list.yaml: expected a mapping"):
        load_config(path)
