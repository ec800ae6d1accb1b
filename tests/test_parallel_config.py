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


def test_the_queue_launches_runs_every_second_unless_the_instance_file_sets_its_queue(tmp_path):
    # A wave of the backfill's runs, submitted at a backfill tick, waits for the queue's next tick.
    with _instance(tmp_path, 2) as instance:
        assert instance.run_coordinator.dequeue_interval_seconds == parallel.DEQUEUE_SECONDS == 1
    own_interval = tmp_path / "own-interval"
    own_interval.mkdir()
    (own_interval / "dagster.yaml").write_text(
        "run_queue:\n  dequeue_interval_seconds: 7\n  max_user_code_failure_retries: 2\n")
    with _instance(own_interval, 2) as instance:
        assert instance.run_coordinator.dequeue_interval_seconds == 7
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
    other_setting = tmp_path / "other-setting"
    other_setting.mkdir()
    (other_setting / "dagster.yaml").write_text("run_queue:\n  max_user_code_failure_retries: 2\n")
    with _instance(other_setting, 2) as instance:
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        assert instance.get_concurrency_config().run_queue_config.max_user_code_failure_retries == 2


def test_days_per_run_spreads_the_range_over_the_workers():
    assert parallel.days_per_run(date(2026, 10, 1), date(2026, 10, 31), 4) == 8
    assert parallel.days_per_run(date(2026, 10, 1), date(2026, 10, 1), 4) == 1


def test_backfill_policy_is_one_run_unless_days_per_run_is_set():
    assert backfill_policy({}) == dg.BackfillPolicy.single_run()
    assert backfill_policy({DAYS_PER_RUN_ENV: "7"}) == dg.BackfillPolicy.multi_run(7)
    for bad in ("0", "seven"):
        with pytest.raises(ValueError, match=DAYS_PER_RUN_ENV):
            backfill_policy({DAYS_PER_RUN_ENV: bad})
