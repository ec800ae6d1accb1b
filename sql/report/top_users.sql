-- top_users
-- grain: one row per user (top 10 by alerts)
select
    coalesce(user_email, user_id, '(no single user)') as user,
    count(*) as alerts,
    count(*) filter (where severity = 'high') as high
from alerts
where started_at >= $start::date and started_at < $end::date
group by all
order by alerts desc, user
limit 10
