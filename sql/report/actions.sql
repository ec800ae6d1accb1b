-- actions
-- grain: one row per (kind, action, status): governance actions and
--        notifications of the period's alerts, by their latest state
with

governance as (
    select 'governance' as kind, action, mode, status
    from governance_actions
    where alert_started_at >= $start::date and alert_started_at < $end::date
    qualify row_number() over (partition by action_key order by recorded_at desc) = 1
),

notify as (
    select 'notification' as kind, channel as action, mode, status
    from notifications
    where alert_ended_at >= $start::date and alert_ended_at < $end::date
    qualify row_number() over (partition by delivery_key order by recorded_at desc) = 1
)

select kind, action, mode, status, count(*) as times
from (select * from governance union all select * from notify)
group by all
order by kind, action, status
