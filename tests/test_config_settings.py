"""Configuration from the environment: simulator by default, clear errors, no secrets in repr."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsassets.lib.config import settings
from dsassets.lib.config.settings import ConfigError, docusign_settings_from_env, graph_settings_from_env

KEY = "-----BEGIN PRIVATE KEY-----\nMIIsecretmaterial\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def env(tmp_path):
    key = tmp_path / "key.pem"
    key.write_text(KEY)
    return {
        "DOCUSIGN_INTEGRATION_KEY": "ik",
        "DOCUSIGN_USER_ID": "uid",
        "DOCUSIGN_PRIVATE_KEY_FILE": str(key),
        "DOCUSIGN_ORGANIZATION_ID": "org",
    }


def test_no_docusign_variables_means_simulator():
    assert docusign_settings_from_env({}) is None


def test_defaults_are_production_hosts_and_current_generation(env):
    s = docusign_settings_from_env(env)
    assert s.auth_server == "https://account.docusign.com" and s.auth_host == "account.docusign.com"
    assert s.monitor_generation == "current" and s.monitor_url == "https://api.docusign.com"
    assert s.admin_url == "https://api.docusign.net/Management"


def test_legacy_generation_defaults_to_lens_host(env):
    s = docusign_settings_from_env({**env, "DOCUSIGN_MONITOR_GENERATION": "legacy"})
    assert s.monitor_url == "https://lens.docusign.net"


def test_partial_configuration_names_the_missing_variables(env):
    del env["DOCUSIGN_USER_ID"]
    with pytest.raises(ConfigError, match="DOCUSIGN_USER_ID"):
        docusign_settings_from_env(env)


def test_unreadable_key_file_is_named(env, tmp_path):
    env["DOCUSIGN_PRIVATE_KEY_FILE"] = str(tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match="DOCUSIGN_PRIVATE_KEY_FILE=.*missing.pem"):
        docusign_settings_from_env(env)


@pytest.mark.parametrize("url", ["http://account.docusign.com", "http://10.0.0.5:8080"])
def test_plain_http_refused_off_loopback(env, url):
    with pytest.raises(ConfigError, match="DOCUSIGN_AUTH_SERVER.*loopback"):
        docusign_settings_from_env({**env, "DOCUSIGN_AUTH_SERVER": url})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765"])
def test_plain_http_accepted_on_loopback(env, url):
    s = docusign_settings_from_env({**env, "DOCUSIGN_AUTH_SERVER": url, "DOCUSIGN_MONITOR_URL": url, "DOCUSIGN_ADMIN_URL": url})
    assert s.monitor_url == url


def test_bad_generation_is_named(env):
    with pytest.raises(ConfigError, match="DOCUSIGN_MONITOR_GENERATION"):
        docusign_settings_from_env({**env, "DOCUSIGN_MONITOR_GENERATION": "v3"})


def test_secrets_never_in_repr(env):
    s = docusign_settings_from_env(env)
    assert "secretmaterial" not in repr(s)
    g = graph_settings_from_env({"ENTRA_TENANT_ID": "t", "ENTRA_CLIENT_ID": "c", "ENTRA_CLIENT_SECRET": "hunter2"})
    assert "hunter2" not in repr(g)


# ---------- the README's configuration table


def _readme_table() -> dict[str, str]:
    """``{variable: its default cell}`` from the README's configuration table.

    A row may name several variables (`` `A`, `B` | `a`, `b` ``): the i-th default is the i-th's.
    """
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table: dict[str, str] = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        defaults = [f"`{d}`" for d in re.findall(r"`([^`]+)`", cells[1])]
        for i, name in enumerate(names):
            table[name] = defaults[i] if len(names) > 1 and len(defaults) == len(names) else cells[1]
    return table


def test_readme_table_lists_every_variable_with_its_one_default():
    table = _readme_table()
    assert {v.name for v in settings.VARIABLES} == set(table)
    for variable in settings.VARIABLES:
        cell = table[variable.name]
        if variable.default is None:
            # unset, or a default that depends on something else: described in words
            assert not re.fullmatch(r"`[^`]*`", cell), variable.name
        else:
            assert cell == f"`{variable.default}`", variable.name


def test_monitor_url_default_follows_the_generation_as_the_readme_says():
    cell = _readme_table()["DOCUSIGN_MONITOR_URL"]
    for generation, url in settings.PRODUCTION_MONITOR_URLS.items():
        assert f"`{url}` ({generation})" in cell
