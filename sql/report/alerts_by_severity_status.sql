-- alerts_by_severity_status
-- grain: one row per (severity, status) with alerts
select
    severity,
    status,
    count(*) as alerts
from alerts
where started_at >= $start::date and started_at < $end::date
group by all
order by severity, status
