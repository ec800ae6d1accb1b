-- detection_signins
-- grain:       one row per sign-in (any class) of the run's window and the
--              lookback before it (every event with det_lookback_all_events,
--              for evaluate: activities), with its IP classes
-- primary key: event_id
-- window:      window_start - det_lookback_days <= dt < window_end, for the
--              whole run: read once, then each day takes its own lookback
--              from it instead of re-reading the Parquet marts
-- notes:       baselines are built from sign-ins, a fifth of the events

with

final as (
    select *
    from detection_events
    where
        in_lookback_window(dt, getvariable('det_lookback_days'))
        and (signin_class is not null or getvariable('det_lookback_all_events'))
)

select * from final
