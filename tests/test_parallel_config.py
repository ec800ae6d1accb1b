"""What ``--parallel`` changes in an instance, and how backfills split into runs."""

from datetime import date

import dagster as dg
import pytest
from dagster._core.instance.config import dagster_instance_config

from dsassets.tools import parallel_backfill as parallel
from dsassets.lib.lake.partitions import DAYS_PER_RUN_ENV, backfill_policy


def _instance(home, workers: int) -> dg.DagsterInstance:
    config, _ = dagster_instance_config(str(home))
    from dagster._core.instance.ref import InstanceRef

    return dg.DagsterInstance.from_ref(
        InstanceRef.from_dir(str(home), overrides=parallel.instance_overrides(config, workers)))


def test_a_plain_instance_gets_n_runs_and_one_slot_per_pool(tmp_path):
    with _instance(tmp_path, 3) as instance:
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 3
        assert concurrency.pool_config.default_pool_limit == 1


def test_a_run_limit_fixed_in_the_run_coordinator_wins_and_pools_still_get_one_slot(tmp_path):
    (tmp_path / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: QueuedRunCoordinator\n"
        "  config:\n    max_concurrent_runs: 5\n")
    with _instance(tmp_path, 3) as instance:
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 5
        assert concurrency.pool_config.default_pool_limit == 1


def test_a_pool_limit_in_the_instance_file_wins(tmp_path):
    (tmp_path / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 2\n")
    with _instance(tmp_path, 3) as instance:
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 3
        assert concurrency.pool_config.default_pool_limit == 2


def test_days_per_run_spreads_the_range_over_the_workers():
    assert parallel.days_per_run(date(2026, 10, 1), date(2026, 10, 31), 4) == 8
    assert parallel.days_per_run(date(2026, 10, 1), date(2026, 10, 1), 4) == 1


def test_backfill_policy_is_one_run_unless_days_per_run_is_set():
    assert backfill_policy({}) == dg.BackfillPolicy.single_run()
    assert backfill_policy({DAYS_PER_RUN_ENV: "7"}) == dg.BackfillPolicy.multi_run(7)
    for bad in ("0", "seven"):
        with pytest.raises(ValueError, match=DAYS_PER_RUN_ENV):
            backfill_policy({DAYS_PER_RUN_ENV: bad})
