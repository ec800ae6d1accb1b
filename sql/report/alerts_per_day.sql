-- alerts_per_day
-- grain: one row per (day, policy) with alerts
select
    (started_at at time zone 'UTC')::date as day,
    policy,
    count(*) as alerts
from alerts
where started_at >= $start::date and started_at < $end::date
group by all
order by day, policy
