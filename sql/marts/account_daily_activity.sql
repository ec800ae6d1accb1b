-- account_daily_activity
-- grain:       one row per account per day with at least one account-scope
--              event
-- primary key: (dt, account_id)
-- window:      window_start <= dt < window_end
-- measures:    daily_activity() in sql/macros/activity.sql, shared with
--              organization_daily_activity

with

events as (
    select * from activities
    where in_window(dt) and scope = 'account'
),

final as (
    select
        dt,
        account_id,
        any_organization_id as organization_id,
        * exclude (
            dt,
            account_id,
            any_organization_id,
            account_count,
            organization_scope_event_count
        )
    from daily_activity(events, 'account_id')
)

select * from final
