-- posture_scores
-- grain: one row per (account, day): the posture score in percent
select
    dt as day,
    coalesce(scope_name, scope_id) as account,
    score_pct,
    controls_failed
from posture_scores
where scope = 'account' and dt >= $start::date and dt < $end::date
order by day, account
