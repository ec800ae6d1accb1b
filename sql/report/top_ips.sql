-- top_ips
-- grain: one row per IP address (top 10 by alerts naming it)
select
    ip_address,
    count(*) as alerts
from (
    select unnest(ip_addresses) as ip_address
    from alerts
    where started_at >= $start::date and started_at < $end::date
)
group by all
order by alerts desc, ip_address
limit 10
