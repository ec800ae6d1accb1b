-- organization_daily_activity
-- grain:       one row per organization per day with at least one event
-- primary key: (dt, organization_id)
-- scope:       every event, account and organization scope together
-- window:      window_start <= dt < window_end
-- measures:    daily_activity() in sql/macros/activity.sql, shared with
--              account_daily_activity

with

events as (
    select * from activities
    where in_window(dt)
),

final as (
    select * exclude (any_organization_id)
    from daily_activity(events, 'organization_id')
)

select * from final
