"""``dsassets bench --backfills`` reads its per-stage spans from the backfill's own runs only.

A data directory can be reused (``--data-dir``, so 35 GiB of stand-in pages are rendered once), and
its Dagster instance then keeps the runs of the backfill before. Spans that took those in would
stretch a stage over both backfills and put the first one's steps among the memory peaks.
"""

from __future__ import annotations

import time

import dagster as dg

from dsassets.tools.bench_backfill import stage_spans, step_spans


@dg.asset(group_name="marts")
def earlier_backfills_step() -> int:
    return 1


@dg.asset(group_name="marts")
def this_backfills_step() -> int:
    return 2


def test_step_spans_leave_out_the_runs_an_earlier_backfill_left_in_the_same_instance(tmp_path):
    home = tmp_path / "dagster"
    home.mkdir()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert dg.materialize([earlier_backfills_step], instance=instance).success
        time.sleep(0.05)  # run creation times are stored to the microsecond; keep the two runs apart
        started = time.time()
        assert dg.materialize([this_backfills_step], instance=instance).success

    steps = step_spans(home, started)

    assert [key for _, key, _, _ in steps] == ["this_backfills_step"]
    _, _, first, last = steps[0]
    assert started <= first <= last
    # Neither toy asset is one of the pipeline's, so neither counts for a stage.
    assert stage_spans(steps) == {}
    assert {key for _, key, _, _ in step_spans(home, started - 3600)} == {"earlier_backfills_step",
                                                                         "this_backfills_step"}
