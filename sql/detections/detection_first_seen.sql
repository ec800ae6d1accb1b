-- detection_first_seen
-- grain:       one row per user who ever acted up to the window's end
-- primary key: user_id
-- window:      every partition of int_user_activity_daily before window_end:
--              the months before the run's as one row per user each
--              (first_seen_months, dsassets/lib/detections/first_seen.py),
--              the days from det_first_seen_raw_from as they are
-- learning:    a user is past the learning period on day d when
--              first_dt + learning_period.user_days <= d, the organization
--              when org_first_dt + learning_period.organization_days <= d

with

daily as (
    select first_dt as dt, user_id from first_seen_months
    union all
    select dt, user_id from int_user_activity_daily
    where dt >= getvariable('det_first_seen_raw_from') and dt < getvariable('window_end')
        and user_id is not null
),

final as (
    select
        user_id,
        min(dt) as first_dt,
        (select min(dt) from daily) as org_first_dt
    from daily
    group by all
)

select * from final
