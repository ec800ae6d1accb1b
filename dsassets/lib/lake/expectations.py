"""Great Expectations suites for the raw lake, run by Dagster asset checks.

GX runs in an ephemeral context (nothing written to disk, no usage analytics)
on a pandas frame of only the columns the expectations read, one day at a time: a day of
1.2M events takes about 1.3 GB while it is validated, and gives it back before the next.
"""

from __future__ import annotations

import gc
import ipaddress
import os
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import polars as pl  # noqa: E402

from dsassets.lib.intel.address_table import STRICT_IPV4  # noqa: E402

# Great Expectations is imported where a check runs, not here: importing it takes 5-15 s, which
# every process that loads the code location (code server, each launched run, each step's
# process) would otherwise pay for two asset checks.

# Columns without which no downstream model can work (identity, time, actor, activity, origin).
REQUIRED_EVENT_COLUMNS = (
    "eventId",
    "timestamp",
    "_event_time",
    "accountId",
    "organizationId",
    "userId",
    "object",
    "action",
    "result",
    "ipAddress",
)
# The column GX tests the ids' uniqueness on (validate_raw_events).
_ID_HASH = "_event_id_hash"


@dataclass
class SuiteOutcome:
    """What a suite found, reduced to what an asset check reports."""

    success: bool
    evaluated: int
    failed: list[dict] = field(default_factory=list)

    def metadata(self) -> dict:
        return {"expectations_evaluated": self.evaluated, "failed_expectations": self.failed}


@lru_cache(maxsize=1)
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory frame under 1 GB (an md5 over each value) for the batch's
    # markers, which an ephemeral context never keeps: 2.6 s of the 3.7 s it took to validate a
    # day of 1.2M events. Frames of any size skip it (a pinned GX's module constant; without it,
    # nothing changes but the time).
    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    # GX draws a tqdm bar per validation on stderr; run logs are no place for them.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context


def warm() -> None:
    """Import GX and make its context now, what the first validation would otherwise pay
    (:mod:`dsassets.lib.lake.gx_worker` does it in a second process while a refresh reads)."""
    import great_expectations.expectations  # noqa: F401

    _context()


def _validate(name: str, frame, expectations: list) -> SuiteOutcome:
    import great_expectations as gx

    context = _context()
    source = context.data_sources.add_or_update_pandas(f"{name}_source")
    asset = source.add_dataframe_asset(name=f"{name}_asset")
    batch = asset.add_batch_definition_whole_dataframe(f"{name}_batch").get_batch(
        batch_parameters={"dataframe": frame}
    )
    suite = gx.ExpectationSuite(name=f"{name}_suite", expectations=expectations)
    result = batch.validate(suite)
    # GX's batch and validator objects hold the frame in reference cycles, which Python's cyclic
    # collector frees only when enough new objects trigger it: a backfill's check validating 30
    # days of a million events one after another grew from 2 GB to 4.7 GB. Freed here, each day
    # starts from the same memory.
    del batch, asset, source
    gc.collect()
    failed = []
    for r in result.results:
        if not r.success:
            config = r.expectation_config
            failed.append(
                {
                    "expectation": config.type,
                    "column": config.kwargs.get("column"),
                    "unexpected_count": (r.result or {}).get("unexpected_count"),
                    "examples": [str(v) for v in ((r.result or {}).get("partial_unexpected_list") or [])[:10]],
                }
            )
    return SuiteOutcome(success=bool(result.success), evaluated=len(result.results), failed=failed)


def validate_raw_events(events: pl.DataFrame, start: datetime, end: datetime) -> SuiteOutcome:
    """Blocking expectations on raw audit events of the window ``[start, end)``.

    eventId present and unique, every required column present, and every event
    inside the partition it is stored in (``dt``) and inside the run's window.
    """
    present = [pl.col(c) for c in REQUIRED_EVENT_COLUMNS if c in events.columns]
    if "_event_time" in events.columns and "dt" in events.columns:
        present.append(
            (
                (pl.col("_event_time").dt.date() == pl.col("dt").cast(pl.String).str.to_date())
                & (pl.col("_event_time") >= start)
                & (pl.col("_event_time") < end)
            ).alias("_in_partition")
        )
    frame = events.select(present)
    import great_expectations.expectations as gxe

    # GX tests the ids' uniqueness on a 64-bit hash of each id: pandas factorizing a day's 1.2M id
    # strings took 1.2 s of the suite's 2.2 s, the hashes 0.15 s. Equal ids hash equal, so no
    # duplicate is missed; when hashes repeat, the ids themselves are tested (below), so a reported
    # duplicate is always a real one and names the ids.
    hashed = "eventId" in frame.columns
    expectations: list = [gxe.ExpectColumnToExist(column=c) for c in REQUIRED_EVENT_COLUMNS]
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column="eventId"),
        gxe.ExpectColumnValuesToBeUnique(column=_ID_HASH if hashed else "eventId"),
        gxe.ExpectColumnValuesToNotBeNull(column="_event_time"),
    ]
    if "_in_partition" in frame.columns:
        expectations.append(gxe.ExpectColumnValuesToBeInSet(column="_in_partition", value_set=[True]))
    table = frame.to_pandas()
    if hashed:
        import pandas as pd  # with GX, not at import: the code location loads this module
        ids = frame["eventId"]
        hashes = ids.hash()
        # Null ids stay null (GX tests uniqueness among the values present, as it does on the ids).
        table[_ID_HASH] = pd.arrays.IntegerArray(hashes.to_numpy(), ids.is_null().to_numpy())
    outcome = _validate("raw_events", table, expectations)
    repeated = [f for f in outcome.failed if f["column"] == _ID_HASH]
    if repeated:
        exact = _validate("raw_event_ids", frame.select("eventId").to_pandas(),
                          [gxe.ExpectColumnValuesToBeUnique(column="eventId")])
        failed = [f for f in outcome.failed if f["column"] != _ID_HASH] + exact.failed
        outcome = SuiteOutcome(success=not failed, evaluated=outcome.evaluated, failed=failed)
    return outcome


def validate_event_ips(events: pl.DataFrame, mostly: float) -> SuiteOutcome:
    """Warning-level: ``ipAddress`` parses as IPv4 or IPv6 for at least ``mostly`` of the events.

    Unparseable addresses are kept and flagged downstream, never dropped; this
    check says when their share is high enough to look at the source.
    """
    # Each distinct address is parsed once, and GX is given the events' verdicts as one boolean per
    # event (an in-set expectation counts them; their order does not matter): mapping a day's 1.2M
    # addresses back onto its events took 1.2 s of the check's 1.5 s.
    counts = events.group_by("ipAddress").len().sort("len", "ipAddress", descending=[True, False], nulls_last=True)
    # A dotted quad of 0-255 without leading zeros is what ipaddress accepts as IPv4: those are
    # matched at once, and Python parses only the rest (IPv6, garbage), 0.6 s for a day's 149k.
    dotted_quad = counts["ipAddress"].str.contains(_IPV4).fill_null(False)
    parses = pl.Series([quad or _parses(ip) for ip, quad in zip(counts["ipAddress"].to_list(), dotted_quad)],
                       dtype=pl.Boolean)
    valid_events = int(counts.filter(parses)["len"].sum())
    verdicts = pl.concat([pl.repeat(True, valid_events, eager=True, dtype=pl.Boolean),
                          pl.repeat(False, len(events) - valid_events, eager=True, dtype=pl.Boolean)])
    import great_expectations.expectations as gxe

    expectations = [gxe.ExpectColumnValuesToBeInSet(column="_ip_valid", value_set=[True], mostly=mostly)]
    outcome = _validate("raw_event_ips", pl.DataFrame({"_ip_valid": verdicts}).to_pandas(), expectations)
    if not outcome.success:
        # The most frequent addresses that do not parse, not GX's list of False values.
        outcome.failed[0]["examples"] = [repr(ip) for ip in counts.filter(~parses)["ipAddress"].head(10).to_list()]
    return outcome


# int_ip_addresses' strict dotted quad (what ipaddress accepts as IPv4), matched whole.
_IPV4 = rf"^{STRICT_IPV4}$"


def _parses(ip: str | None) -> bool:
    if not ip:
        return False
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True
