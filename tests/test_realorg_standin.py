"""Four days of backfill against a loopback stand-in that sends drifted types, configured as a user would.

The stand-in is the simulator as a server (``python -m dsassets.simulator --drift``): numbers and
booleans arrive as strings and a few values are not booleans at all. The same days are backfilled
from a stand-in without drift; both must store every event once, and raise the same alerts.
"""

from __future__ import annotations

import os
from datetime import date

import dagster as dg
import duckdb
import pytest

from support.simulated_env import use_simulator

from dsassets import cli
from dsassets.lib.lake.lake import Lake
from dsassets.simulator.server import serving_process

pytestmark = pytest.mark.slow

START, END = date(2026, 11, 2), date(2026, 11, 5)
SEED, EVENTS_PER_DAY = 33, 450


def backfill(tmp_path_factory, drift: bool):
    root = tmp_path_factory.mktemp("drift" if drift else "plain")
    extra = ("--drift",) if drift else ()
    with serving_process(root / "standin.pem", seed=SEED, events_per_day=EVENTS_PER_DAY, extra_args=extra) as env, \
            pytest.MonkeyPatch.context() as patch:
        use_simulator(patch, root / "data", seed=SEED, events_per_day=EVENTS_PER_DAY)
        for name in list(os.environ):
            if name.startswith(("DOCUSIGN_", "ENTRA_")):
                patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.setenv("DAGSTER_HOME", str(root / "data" / "dagster"))
        assert cli.main(["backfill", START.isoformat(), END.isoformat()]) == 0
    return root / "data"


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    return backfill(tmp_path_factory, drift=False), backfill(tmp_path_factory, drift=True)


def query(data, sql: str):
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_every_event_is_stored_once_with_or_without_drift(lakes):
    plain, drifted = lakes
    counts = [query(d, "select count(*), count(distinct event_id) from activities")[0] for d in lakes]
    assert counts[0] == counts[1] and counts[0][0] == counts[0][1] > 1000
    # the typed columns hold the same values: drift changed only the JSON types
    sql = ("select event_id, latitude, longitude from activities where location_source = 'docusign' "
           "order by event_id")
    assert query(plain, sql) == query(drifted, sql)


def test_drifted_values_are_counted_in_the_metadata_and_findable(lakes):
    plain, drifted = lakes
    with dg.DagsterInstance.from_config(str(drifted / "dagster")) as instance:
        # one range run: every partition's materialization carries the run's counts
        event = instance.fetch_materializations(dg.AssetKey("raw_docusign_audit_events"), limit=1).records[0]
        metadata = event.asset_materialization.metadata
        accounts = instance.fetch_materializations(dg.AssetKey("raw_docusign_accounts"), limit=1).records[0]
    coerced, invalid = metadata["coerced_values"].value, metadata["invalid_values"].value
    assert coerced["latitude"] > 1000 and coerced["isUserMemberOfDomain"] > 1000
    assert invalid == {"affectedUserIsMemberOfDomain": metadata["invalid_value_count"].value}
    assert invalid["affectedUserIsMemberOfDomain"] > 10
    assert accounts.asset_materialization.metadata["coerced_values"].value["external_account_id"] >= 1
    glob = Lake.at(drifted).glob("raw_docusign_audit_events")
    with duckdb.connect() as con:
        [(quarantined,)] = con.execute(
            "select count(*) from read_parquet(?, hive_partitioning = true) where _invalid_fields is not null",
            [glob]).fetchall()
    assert quarantined == invalid["affectedUserIsMemberOfDomain"]


def test_the_same_alerts_come_out_with_or_without_drift(lakes):
    sql = "select policy, user_id, alert_id, event_ids from alerts order by alert_id"
    plain, drifted = (query(d, sql) for d in lakes)
    assert plain and plain == drifted
