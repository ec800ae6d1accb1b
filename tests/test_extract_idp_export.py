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


def test_a_retaken_snapshot_with_the_same_rows_keeps_the_stored_file_and_when_it_was_first_taken(tmp_path):
    """Each intra-day refresh re-reads the identity provider: an unchanged answer must leave the day's
    file alone (what reads it is then not recomputed), and any changed row must replace it."""
    from datetime import date, timedelta

    import pyarrow.parquet as pq

    from dsassets.lib.lake import schemas
    from dsassets.lib.lake.lake import Lake
    from dsassets.lib.lake.snapshots import snapshot_table, write_snapshots

    lake = Lake.at(tmp_path / "lake")
    day, dataset = date(2026, 3, 2), "raw_idp_users"
    first_at = datetime(2026, 3, 2, 9, 15, tzinfo=timezone.utc)
    export = write(tmp_path, "email,status,status_changed_at\nalice@acme.example,deleted,2026-03-01T10:00:00Z\n")

    def taken(at):
        return {day: snapshot_table(dataset, schemas.IDP_USERS, read_export(export), source="file", taken_at=at)}

    assert write_snapshots(lake, dataset, taken(first_at)) == []
    stored = tmp_path / "lake" / lake.partition_path(dataset, day)
    mtime = stored.stat().st_mtime_ns
    assert write_snapshots(lake, dataset, taken(first_at + timedelta(minutes=15))) == [day]
    assert stored.stat().st_mtime_ns == mtime
    assert pq.read_table(stored).column("_snapshot_taken_at").to_pylist() == [first_at]
    export.write_text("email,status,status_changed_at\nalice@acme.example,disabled,2026-03-01T10:00:00Z\n")
    later = first_at + timedelta(minutes=30)
    assert write_snapshots(lake, dataset, taken(later)) == []
    table = pq.read_table(stored)
    assert table.column("status").to_pylist() == ["disabled"]
    assert table.column("_snapshot_taken_at").to_pylist() == [later]
