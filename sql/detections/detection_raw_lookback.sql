-- detection_raw_lookback
-- grain:       one row per sign-in (any class) of the det_raw_lookback_days
--              before the day computed (every event with
--              det_lookback_all_events, for evaluate: activities), with its
--              IP classes
-- primary key: event_id
-- window:      window_start - det_raw_lookback_days <= dt < window_start
-- lookback:    det_raw_lookback_days (0 for the policies whose lookback is
--              all baselines: then this is empty)
-- notes:       a plain view in every run, so each policy's filters and
--              columns reach the Parquet scan of the lookback's days; the
--              older days of a lookback come from the per-user baselines
--              (sql/baselines/), not events

with

final as (
    select *
    from detection_events
    where
        dt >= getvariable('window_start')
            - getvariable('det_raw_lookback_days')::integer
        and dt < getvariable('window_start')
        and in_raw_lookback(signin_class)
)

select * from final
