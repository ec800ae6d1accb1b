-- detection_activity
-- grain:       one row per audit event of the day computed, and per sign-in
--              of its raw lookback (per event with det_lookback_all_events),
--              with the IP's organization range (org_range, org_category,
--              org_tags, is_trusted_ip) and list matches
--              (anonymous_matches, suspicious_matches)
-- primary key: event_id
-- window:      window_start - det_raw_lookback_days <= dt < window_end
-- inputs:      detection_day_events, detection_raw_lookback (per day)

with

final as (
    select * from detection_day_events
    union all
    select * from detection_raw_lookback
)

select * from final
