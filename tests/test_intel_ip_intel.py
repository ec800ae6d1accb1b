"""IP lists, organization ranges and country borders as the detections load them."""

import ipaddress

import pytest

from dsassets.lib.intel import ip_intel
from dsassets.lib.config.project import ConfigError, ProjectConfig, parse_config


def test_hex_ranges_match_the_warehouse_ip_hex_form():
    start, end = ip_intel.network_hex(ipaddress.ip_network("185.220.100.0/22"))
    assert start == "00000000000000000000ffffb9dc6400" and end == "00000000000000000000ffffb9dc67ff"
    assert start <= ip_intel.address_hex("185.220.101.4") <= end
    assert ip_intel.address_hex("::ffff:185.220.101.4") == ip_intel.address_hex("185.220.101.4")
    v6 = ip_intel.network_hex(ipaddress.ip_network("2001:db8::/32"))
    assert v6 == ("20010db8000000000000000000000000", "20010db8ffffffffffffffffffffffff")


def test_shipped_lists_are_dated_and_parse():
    table, files = ip_intel.ip_list_table(ProjectConfig())
    by_name = {f.name: f for f in files}
    assert set(by_name) == {"tor_exit_nodes", "anonymous_proxies", "threat_intel"}
    assert all(f.as_of == "2026-11-27" and f.source for f in files)
    tags = dict(by_name["threat_intel"].entries)
    assert tags["192.0.2.10/32"] == "Botnet" and tags["192.0.2.41/32"] == "Malware C&C server"
    assert "185.220.100.0/22" in dict(by_name["tor_exit_nodes"].entries)
    assert set(table.column("policy").to_pylist()) == {"anonymous_ip", "suspicious_ip"}


def test_user_lists_are_read_relative_to_the_config_file(tmp_path, monkeypatch):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "tor.txt").write_text("# a plain torbulkexitlist\n1.2.3.4\n5.6.7.0/24 my tag\n\n")
    config_file = tmp_path / "dsassets.yaml"
    config_file.write_text("")
    monkeypatch.setenv("DSASSETS_CONFIG", str(config_file))
    config = parse_config({"detections": {"ip_lists": [
        {"name": "fresh_tor", "path": "lists/tor.txt", "policy": "anonymous_ip", "tag": "Tor exit nodes"}]}})
    table, [f] = ip_intel.ip_list_table(config)
    assert f.entries == [("1.2.3.4/32", "Tor exit nodes"), ("5.6.7.0/24", "my tag")] and f.as_of is None
    assert table.num_rows == 2


def test_bad_list_lines_and_missing_files_name_the_place(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1.2.3.4\n999.1.1.1\n")
    config = parse_config({"detections": {"ip_lists": [
        {"name": "x", "path": str(bad), "policy": "suspicious_ip", "tag": "t"}]}})
    with pytest.raises(ConfigError, match=r"bad.txt:2: '999.1.1.1' is not an IPv4/IPv6"):
        ip_intel.ip_list_table(config)
    config = parse_config({"detections": {"ip_lists": [
        {"name": "x", "path": str(tmp_path / "nope.txt"), "policy": "suspicious_ip", "tag": "t"}]}})
    with pytest.raises(ConfigError, match=r"detections.ip_lists\[0\].path: cannot read"):
        ip_intel.ip_list_table(config)


def test_default_ranges_are_the_simulators_corporate_and_vpn_ranges():
    from dsassets.simulator import DocuSignSimulator, SimulatorConfig

    sim = DocuSignSimulator(SimulatorConfig(events_per_day=300))
    table = ip_intel.org_range_table(ProjectConfig())
    by_category = {}
    for cidr, category in zip(table.column("cidr").to_pylist(), table.column("category").to_pylist()):
        by_category.setdefault(category, set()).add(cidr)
    assert by_category == {"corporate": set(sim.corporate_ranges), "vpn": set(sim.vpn_ranges)}


def test_borders_are_symmetric_and_cover_the_simulators():
    from dsassets.simulator import geography

    table = ip_intel.country_borders()
    pairs = set(zip(table.column("country_a").to_pylist(), table.column("country_b").to_pylist()))
    assert all((b, a) in pairs for a, b in pairs)
    assert {("US", "CA"), ("FR", "DE"), ("GB", "IE")} <= pairs and ("US", "GB") not in pairs
    assert all((a, b) in pairs for a, b in geography._BORDERS)
