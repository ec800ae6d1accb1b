"""The project config file: defaults, validation errors naming file and key, DSASSETS_CONFIG."""

import os
from pathlib import Path

import pytest

from dsassets.lib.config.project import (
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
    monkeypatch.setattr("dsassets.lib.config.project.DEFAULT_CONFIG_PATH", tmp_path / "absent.yaml")
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
        ({"posture": {"session_timeout_max_minutes": 0}}, "x.yaml: posture.session_timeout_max_minutes:"),
        ({"posture": {"idp_statuses": ["gone"]}}, "x.yaml: posture.idp_statuses[0]:"),
        ({"posture": {"disabled_controls": ["nope"]}}, "x.yaml: posture.disabled_controls: Value error"),
        ({"detections": {"nope": {}}}, "x.yaml: detections.nope: Extra inputs are not permitted"),
        (
            {"detections": {"impossible_travel": {"sensitivity": "extreme"}}},
            "x.yaml: detections.impossible_travel.sensitivity: Input should be 'low', 'medium' or 'high'",
        ),
        (
            {"detections": {"multiple_failed_logins": {"min_failures": "ten"}}},
            "x.yaml: detections.multiple_failed_logins.min_failures:",
        ),
        (
            {"ip_ranges": [{"name": "HQ", "category": "corporate", "cidrs": ["10.0.0.0/8", "10.0.0.300/32"]}]},
            "x.yaml: ip_ranges[0].cidrs: Value error, cidrs[1]: '10.0.0.300/32' is not an IPv4/IPv6",
        ),
        (
            {"ip_ranges": [{"name": "HQ", "category": "corporate", "cidrs": ["10.0.0.1/8"]}]},
            "did you mean 10.0.0.0/8?",
        ),
        (
            {"ip_ranges": [{"name": "HQ", "category": "office", "cidrs": ["10.0.0.0/8"]}]},
            "x.yaml: ip_ranges[0].category:",
        ),
        (
            {"ip_ranges": [{"name": "HQ", "category": "corporate", "cidrs": ["10.0.0.0/8"]},
                           {"name": "VPN", "category": "vpn", "cidrs": ["2001:db8::/32", "10.20.0.0/16"]}]},
            "x.yaml: ip_ranges: Value error, ip_ranges[1] (VPN) cidrs[1] 10.20.0.0/16 overlaps "
            "ip_ranges[0] (HQ) cidrs[0] 10.0.0.0/8",
        ),
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


def test_project_config_is_read_once_and_again_only_when_the_file_changes(monkeypatch, tmp_path):
    from dsassets.lib.config.project import project_config

    path = tmp_path / "dsassets.yaml"
    path.write_text("geo:\n  ip_lookup: false\n")
    monkeypatch.setenv("DSASSETS_CONFIG", str(path))
    first = project_config()
    assert first.geo.ip_lookup is False
    assert project_config() is first  # cached: every asset of the process shares one read
    path.write_text("geo:\n  ip_lookup: true\n")
    later = path.stat().st_mtime_ns + 10**9  # a coarse filesystem clock may not have moved
    os.utime(path, ns=(later, later))
    assert project_config().geo.ip_lookup is True
