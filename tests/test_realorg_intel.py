"""`dsassets intel update` against a loopback HTTP server (never the internet), dated lists, staleness warnings."""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from dsassets import cli
from dsassets.defs.intel.checks import list_problems
from dsassets.lib.config.project import parse_config
from dsassets.lib.intel import ip_intel, update
from test_detections import D, at, case

TOR_BODY = "185.220.101.1\n185.220.101.77\n2001:67c:e60:c0c:192:42:116:16\n"
FIREHOL_BODY = "#\n# firehol_level1\n#\n0.0.0.0/8\n5.188.10.0/23\n192.0.2.0/24\n"
DROP_BODY = "; Spamhaus DROP List 2026/11/30\n1.10.16.0/20 ; SBL256894\n2.56.192.0/22 ; SBL459831\n"
PAGES = {"/torbulkexitlist": TOR_BODY, "/firehol_level1.netset": FIREHOL_BODY, "/drop.txt": DROP_BODY,
         "/maintenance": "<html><body>Service unavailable</body></html>"}


@pytest.fixture(scope="module")
def feeds():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - stdlib name
            body = PAGES.get(self.path)
            self.send_response(200 if body is not None else 404)
            payload = (body or "not found").encode()
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def config(tmp_path, feeds, *, tor_path="/torbulkexitlist", lists=None) -> dict:
    return {"detections": {
        "intel": {"dir": str(tmp_path / "intel"), "sources": [
            {"name": "tor_exit_nodes", "url": feeds + tor_path, "policy": "anonymous_ip", "tag": "Tor exit"},
            {"name": "firehol_level1", "url": feeds + "/firehol_level1.netset", "policy": "suspicious_ip",
             "tag": "FireHOL level 1"},
            {"name": "spamhaus_drop", "url": feeds + "/drop.txt", "policy": "suspicious_ip", "tag": "Spamhaus DROP"},
        ]},
        **({"ip_lists": lists} if lists is not None else {}),
    }}


NOW = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)


def test_update_writes_dated_lists_with_source_and_time(tmp_path, feeds):
    done, errors = update.update(parse_config(config(tmp_path, feeds)), now=NOW)
    assert errors == [] and [d.entries for d in done] == [3, 3, 2]
    tor = (tmp_path / "intel" / "tor_exit_nodes-2026-11-30.txt").read_text()
    assert f"# source: {feeds}/torbulkexitlist" in tor and "# downloaded_at: 2026-11-30T06:00:00+00:00" in tor
    assert "# as_of: 2026-11-30" in tor and "185.220.101.77/32" in tor
    drop = (tmp_path / "intel" / "spamhaus_drop-2026-11-30.txt").read_text()
    assert "1.10.16.0/20" in drop and "SBL" not in drop.split("# entries: 2")[1]


def test_a_garbled_download_keeps_the_previous_list_and_leaves_no_partial_file(tmp_path, feeds):
    update.update(parse_config(config(tmp_path, feeds)), now=NOW.replace(day=29))
    broken = parse_config(config(tmp_path, feeds, tor_path="/maintenance"))
    done, errors = update.update(broken, now=NOW)
    assert [d.name for d in done] == ["firehol_level1", "spamhaus_drop"]
    assert len(errors) == 1 and "tor_exit_nodes" in errors[0] and "/maintenance" in errors[0]
    files = sorted(p.name for p in (tmp_path / "intel").iterdir())
    assert "tor_exit_nodes-2026-11-30.txt" not in files and "tor_exit_nodes-2026-11-29.txt" in files
    assert not [f for f in files if f.startswith(".")]
    # the detections still read the previous day's Tor list
    assert update.newest(tmp_path / "intel", "tor_exit_nodes").name == "tor_exit_nodes-2026-11-29.txt"
    missing = parse_config(config(tmp_path, feeds, tor_path="/gone"))
    [error] = update.update(missing, now=NOW)[1]
    assert "tor_exit_nodes" in error and "404" in error


def test_detections_record_which_downloaded_file_and_date_matched(tmp_path, feeds):
    update.update(parse_config(config(tmp_path, feeds)), now=NOW)
    lists = [{"name": "tor_exit_nodes", "path": "intel:tor_exit_nodes", "policy": "anonymous_ip", "tag": "Tor exit"}]
    c = case("nia")
    c.login(at(D, 10), "nia", ip="185.220.101.1", city="frankfurt")
    [alert] = c.run("anonymous_ip", D, config=config(tmp_path, feeds, lists=lists))
    [match] = alert["evidence"]["matched_lists"]
    assert match["file"] == "tor_exit_nodes-2026-11-30.txt" and match["as_of"] == "2026-11-30"
    assert match["cidr"] == "185.220.101.1/32"


def test_placeholder_and_stale_lists_warn(tmp_path, feeds, monkeypatch):
    update.update(parse_config(config(tmp_path, feeds)), now=NOW)
    lists = [{"name": "tor_exit_nodes", "path": "intel:tor_exit_nodes", "policy": "anonymous_ip", "tag": "Tor"},
             {"name": "threat_intel", "path": "builtin:threat_intel.txt", "policy": "suspicious_ip", "tag": "TI"},
             {"name": "firehol_level1", "path": "intel:firehol_level1", "policy": "suspicious_ip", "tag": "FH"}]
    file = tmp_path / "dsassets.yaml"
    file.write_text(yaml.safe_dump(config(tmp_path, feeds, lists=lists)))
    monkeypatch.setenv("DSASSETS_CONFIG", str(file))
    fresh, _ = list_problems("anonymous_ip", today=date(2026, 12, 4))
    assert fresh == []
    stale, ages = list_problems("anonymous_ip", today=date(2026, 12, 8))
    assert len(stale) == 1 and "8 days old" in stale[0] and "dsassets intel update" in stale[0]
    assert ages["tor_exit_nodes"]["as_of"] == "2026-11-30"
    suspicious, _ = list_problems("suspicious_ip", today=date(2026, 12, 1))
    assert len(suspicious) == 1 and "threat_intel" in suspicious[0] and "placeholder" in suspicious[0]


def test_the_command_reports_what_it_wrote(tmp_path, feeds, monkeypatch, capsys):
    file = tmp_path / "dsassets.yaml"
    file.write_text(yaml.safe_dump(config(tmp_path, feeds, tor_path="/maintenance")))
    monkeypatch.setenv("DSASSETS_CONFIG", str(file))
    monkeypatch.setenv("DSASSETS_DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["intel", "update"]) == 1  # one source failed: say so in the exit status
    captured = capsys.readouterr()
    assert "firehol_level1: 3 entries" in captured.out and "tor_exit_nodes" in captured.err
    assert ip_intel.resolve_list_path("intel:firehol_level1", parse_config(yaml.safe_load(file.read_text()))).exists()
