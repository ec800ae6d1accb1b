-- detection_first_seen
-- grain:       one row per user who ever acted up to the window's end
-- primary key: user_id
-- window:      every partition of int_user_activity_daily before window_end
--              (a small per-user-per-day model, so the full history is cheap)
-- learning:    a user is past the learning period on day d when
--              first_dt + learning_period.user_days <= d, the organization
--              when org_first_dt + learning_period.organization_days <= d

with

daily as (
    select dt, user_id from int_user_activity_daily
    where dt < getvariable('window_end') and user_id is not null
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
