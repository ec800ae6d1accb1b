-- daily_cap
-- grain:       the policy's alerts (policy_alerts_uncapped) with every day
--              past pol_cap matches cut at the cap: the alerts whose opening
--              match is among the day's first pol_cap, plus one
--              "policy flooded" alert for that day
-- primary key: alert_id; the flooded alert's is
--              sha256(policy | 'flooded' | day)[:32]
-- window:      window_start <= dt < window_end
-- inputs:      policy_alerts_uncapped (temp table, the alerts columns plus
--              dt), policy_matches (temp table); variables pol_id, pol_cap,
--              pol_severity, pol_title
-- order:       a day's matches are ranked by (event_at, event_id); an alert
--              whose opening event is on an earlier day (a burst across
--              midnight) is kept

with

ranked as (
    select
        dt,
        event_id,
        event_at,
        ip_address,
        country_code,
        row_number() over (partition by dt order by event_at, event_id) as n,
        count(*) over (partition by dt) as day_matches
    from policy_matches
    where in_window(dt)
),

floods as (
    select
        dt,
        any_value(day_matches) as day_matches,
        min(event_at) filter (where n > getvariable('pol_cap')) as flooded_at,
        max(event_at) as last_at,
        list(event_id order by n) filter (where n > getvariable('pol_cap'))
            as past_cap
    from ranked
    group by dt
    having
        any_value(day_matches) > getvariable('pol_cap')
        and getvariable('pol_enabled')
),

kept as (
    select alerts.*
    from policy_alerts_uncapped as alerts
    left join floods on alerts.dt = floods.dt
    left join ranked as opening on alerts.event_ids[1] = opening.event_id
    where
        floods.dt is null
        or opening.dt < alerts.dt
        or opening.n <= getvariable('pol_cap')
),

flooded as (
    select
        dt,
        substr(sha256(
            getvariable('pol_id') || '|flooded|' || strftime(dt, '%Y-%m-%d')
        ), 1, 32)::varchar as alert_id,
        getvariable('pol_id')::varchar as policy,
        getvariable('pol_severity')::varchar as severity,
        ('Policy flooded: ' || getvariable('pol_title'))::varchar as title,
        printf(
            '%d matching events on %s, past the daily cap of %d: no further '
            || 'alerts of this policy are raised for the day. Tune its '
            || 'filters or raise daily_match_cap.',
            day_matches, strftime(dt, '%Y-%m-%d'), getvariable('pol_cap')
        )::varchar as description,
        null::varchar as user_id,
        null::varchar as user_email,
        null::varchar as account_id,
        flooded_at::timestamptz as started_at,
        last_at::timestamptz as ended_at,
        past_cap[1:500]::varchar[] as event_ids,
        []::varchar[] as ip_addresses,
        []::varchar[] as countries,
        to_json({
            'policy_type': 'activity_policy',
            'match': 'flooded',
            'daily_match_cap': getvariable('pol_cap'),
            'day_matches': day_matches
        })::varchar as evidence,
        dt as partition_date
    from floods
)

select * from kept
union all by name
select * from flooded
