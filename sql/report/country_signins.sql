-- country_signins
-- grain: one row per country with sign-ins or alerts: successful and failed
--        sign-ins, distinct users signing in, and the alerts naming it
with

signins as (
    select
        country_code,
        count(*) filter (where signin_outcome = 'success') as successes,
        count(*) filter (where signin_outcome = 'failure') as failures,
        count(distinct user_id) filter (where signin_outcome = 'success') as users
    from activities
    where dt >= $start::date and dt < $end::date and is_signin
    group by all
),

alerted as (
    select country_code, count(*) as alerts, list(distinct policy order by policy) as policies
    from (
        select unnest(countries) as country_code, policy
        from alerts
        where started_at >= $start::date and started_at < $end::date
    )
    group by all
)

select
    coalesce(signins.country_code, alerted.country_code, '??') as country_code,
    coalesce(successes, 0) as successes,
    coalesce(failures, 0) as failures,
    coalesce(users, 0) as users,
    coalesce(alerts, 0) as alerts,
    coalesce(array_to_string(policies, ', '), '') as policies
from signins
full outer join alerted on signins.country_code = alerted.country_code
order by alerts desc, successes desc, country_code
