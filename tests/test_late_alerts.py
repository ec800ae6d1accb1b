"""Which alerts are raised from late events: only those the processing of their day could not raise.

Built by hand (not from the simulator): a day with late files, the alerts a re-check computes,
and what the asset had written for the day before the late events arrived.
"""

from datetime import UTC, date, datetime, timedelta

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from dsassets.lib.detections.late import late_view, mark_late
from dsassets.lib.lake.lake import Lake
from dsassets.lib.lake.raw_events import DATASET
from dsassets.lib.transform import sql

DAY = date(2026, 3, 9)
ASSET = "det_some_policy"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def write(path, rows: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows), path)


def lake_with_late_events(tmp_path) -> Lake:
    lake = Lake.at(tmp_path / "lake")
    raw = tmp_path / "lake" / Lake.dataset_path(DATASET)
    nxt = DAY + timedelta(days=1)
    # DAY's late files: "x" and "s" read two days on (after DAY's and the next day's runs);
    # "n" read in the next day's first minutes, before that day's own processing.
    write(raw / f"dt={DAY}" / "late-1.parquet", {
        "eventId": ["x", "s"], "_event_time": [at(DAY, 23, 50), at(DAY, 22)],
        "_extracted_at": [at(nxt + timedelta(days=1), 0, 20)] * 2})
    write(raw / f"dt={DAY}" / "late-2.parquet", {
        "eventId": ["n"], "_event_time": [at(DAY, 23, 59)], "_extracted_at": [at(nxt, 0, 20)]})
    # What the asset wrote for DAY before the late events: the straggler's alert, unmarked.
    write(tmp_path / "lake" / "warehouse" / ASSET / f"dt={DAY}" / "data.parquet", {
        "alert_id": ["on-time"], "evidence": ['{"count": 12}']})
    return lake


ALERTS = f"""
    select * from (values
        (date '{DAY}', 'raised-late', ['a', 'x'], '{{}}'),
        (date '{DAY}', 'on-time', ['b', 's'], '{{"count": 13}}'),
        (date '{DAY + timedelta(days=1)}', 'next-day', ['n', 'c'], null),
        (date '{DAY}', 'untouched', ['d'], null)
    ) as t(dt, alert_id, event_ids, evidence)
"""


def evidence(con, relation: str) -> dict[str, dict]:
    return {a: orjson.loads(e) if e else {} for a, e in con.execute(f"select alert_id, evidence from {relation}").fetchall()}


def test_only_an_alert_its_day_could_not_raise_is_marked_late_with_both_times(tmp_path):
    lake = lake_with_late_events(tmp_path)
    with sql.session(lake) as con:
        sql.set_window(con, DAY, DAY + timedelta(days=2))
        con.execute(f"create temp view alerts as {ALERTS}")
        found = evidence(con, late_view(con, lake, "alerts", ASSET))
    late = found["raised-late"]
    assert late["late"] is True and late["late_events"] == 1
    assert datetime.fromisoformat(late["late_event_at"]) == at(DAY, 23, 50)
    assert datetime.fromisoformat(late["ingested_at"]) == at(DAY + timedelta(days=2), 0, 20)
    # Raised by DAY's own run; its late straggler does not make it a late alert.
    assert found["on-time"] == {"count": 13}
    # The next day's alert holds an event late for DAY that was read before the next day ran.
    assert found["next-day"] == {}
    assert found["untouched"] == {}


def test_a_rerun_of_the_recheck_keeps_late_alerts_late_and_policies_mark_alike(tmp_path):
    lake = lake_with_late_events(tmp_path)
    # The re-check already wrote DAY with the late alert marked: a second re-check keeps the mark.
    write(tmp_path / "lake" / "warehouse" / ASSET / f"dt={DAY}" / "data.parquet", {
        "alert_id": ["on-time", "raised-late"], "evidence": ['{"count": 13}', '{"late": true}']})
    with sql.session(lake) as con:
        sql.set_window(con, DAY, DAY + timedelta(days=2))
        con.execute(f"create temp table alerts as {ALERTS}")
        late_view(con, lake, "alerts", ASSET)  # binds late_arrivals, as the policies' setup does
        mark_late(con, lake, "alerts", ASSET)
        found = evidence(con, "alerts")
    assert found["raised-late"]["late"] is True
    assert datetime.fromisoformat(found["raised-late"]["ingested_at"]) == at(DAY + timedelta(days=2), 0, 20)
    assert datetime.fromisoformat(found["raised-late"]["late_event_at"]) == at(DAY, 23, 50)
    assert "late" not in found["on-time"] and "late" not in found["next-day"]
