"""The terminated-users file export: accepted shape and errors that name file, line and column."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dsassets.defs.extract.identity import read_export
from dsassets.lib.config.settings import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "terminated.csv"
    path.write_text(text)
    return path


def test_export_rows_are_read_and_normalised(tmp_path):
    path = write(tmp_path, "email,status,status_changed_at\nAlice@Acme.example,Deleted,2026-03-01T10:00:00Z\nbob@acme.example,disabled,\n")
    rows = [row for row, _ in read_export(path)]
    assert rows[0]["email"] == "alice@acme.example" and rows[0]["status"] == "deleted"
    assert rows[0]["status_changed_at"] == datetime(2026, 3, 1, 10, tzinfo=timezone.utc)
    assert rows[1]["status_changed_at"] is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("email,status\nx@y.z,deleted\n", "missing column.*status_changed_at"),
        ("email,status,status_changed_at\nx@y.z,fired,\n", r"terminated.csv:2: status 'fired'"),
        ("email,status,status_changed_at\nnot-an-email,deleted,\n", r"terminated.csv:2: email"),
        ("email,status,status_changed_at\nx@y.z,deleted,last tuesday\n", r"terminated.csv:2: status_changed_at"),
    ],
)
def test_bad_export_errors_name_file_line_and_column(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        read_export(write(tmp_path, text))
