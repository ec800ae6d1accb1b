-- detection_day_events
-- grain:       one row per audit event of the day computed, with its IP
--              classes
-- primary key: event_id
-- window:      window_start <= dt < window_end (one day)

with

final as (
    select * from detection_events where in_lookback_window(dt, 0)
)

select * from final
