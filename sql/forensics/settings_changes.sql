-- settings_changes(from_date, to_date)
-- Who changed account settings, what, and from where (event_type
-- 'account_setting_changed' in dsassets.yaml: Account/Updated by default).
-- dates: inclusive, on the event's UTC day
-- e.g.   select * from settings_changes(date '2026-11-01', date '2026-11-08');

create or replace macro settings_changes(from_date, to_date) as table

with

events as (
    select * from activities
    where
        dt between from_date and to_date
        and event_type = 'account_setting_changed'
),

final as (
    select
        event_at,
        account_id,
        user_email,
        user_id,
        property as setting,
        old_value,
        new_value,
        ip_address,
        country_code,
        region,
        city,
        location_source,
        source,
        user_agent,
        event_id
    from events
)

select * from final
order by event_at, event_id;
