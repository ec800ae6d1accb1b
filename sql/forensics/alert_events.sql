-- alert_events(alert_key)
-- The events behind one alert: when, who, what (with the affected user and
-- a setting's old -> new value), and from where (IP, city, country).
-- alert_key: the alert_id, or a unique prefix of at least 8 characters as
-- `dsassets alerts list` prints it
-- e.g.   select * from alert_events('c6b48aed7efb');

create or replace macro alert_events(alert_key) as table

with

alert as (
    select alert_id, policy, started_at, ended_at, event_ids from alerts
    where
        alert_id = alert_key
        or (length(alert_key) >= 8 and starts_with(alert_id, alert_key))
),

events as (
    select activities.*, alert.alert_id, alert.policy
    from alert
    inner join activities
        -- the alert's days, with a day either side for events near midnight
        on activities.dt between alert.started_at::date - 1
        and alert.ended_at::date + 1
        and list_contains(alert.event_ids, activities.event_id)
),

final as (
    select
        alert_id,
        policy,
        event_at,
        user_email,
        user_id,
        account_id,
        object,
        action,
        result,
        affected_user_email,
        property as setting,
        old_value,
        new_value,
        ip_address,
        city,
        region,
        country_code,
        source,
        user_agent,
        event_id
    from events
)

select * from final
order by event_at, event_id;
