-- repeated_activity
-- grain:       one alert per burst: at least pol_count matching events within
--              pol_minutes, per user (pol_same_user) or across users
-- primary key: alert_id = sha256(policy | user_id or '' | first event of
--              the burst)[:32]
-- window:      bursts whose first threshold-crossing event is in
--              [window_start, window_end); lookback pol_lookback_days =
--              ceil(2 * pol_minutes / 1440) days
-- inputs:      policy_matches (temp table: the policy's compiled filters over
--              policy_events or policy_activity, built with prepared
--              parameters, MATCH_COLUMNS of compile.py; burst_key is
--              the user id, or '' across users)
-- burst:       an event is hot when the pol_minutes up to and including it
--              hold >= pol_count matches. A burst starts at a hot event with
--              no hot event in the pol_minutes before it and lasts while hot
--              events follow within pol_minutes. Whether an event starts a
--              burst depends only on the 2 * pol_minutes before it, all in
--              the lookback, so any run order gives the same bursts. A burst
--              past midnight stays one alert (the later day sees a hot event
--              just before and raises nothing); the alert lists its events up
--              to the last hot event of the day it started.

with

matches as (
    select * from policy_matches
),

counted as (
    select
        *,
        count(*) over recent as in_window,
        min({'at': event_at, 'id': event_id}) over recent as window_first
    from matches
    window recent as (
        partition by burst_key
        order by event_at
        range between to_minutes(getvariable('pol_minutes')::bigint) preceding
        and current row
    )
),

hot as (
    select
        *,
        lag(event_at) over (
            partition by burst_key order by event_at, event_id
        ) as previous_hot_at
    from counted
    where in_window >= getvariable('pol_count')
),

numbered as (
    select
        *,
        sum(
            case
                when
                    previous_hot_at is null
                    or event_at - previous_hot_at
                    > to_minutes(getvariable('pol_minutes')::bigint)
                    then 1
                else 0
            end
        ) over (
            partition by burst_key order by event_at, event_id
            rows between unbounded preceding and current row
        ) as burst_no
    from hot
),

bursts as (
    select
        burst_key,
        burst_no,
        arg_min(dt, (event_at, event_id)) as start_dt,
        arg_min(window_first, (event_at, event_id)) as opening
    from numbered
    group by all
),

extents as (
    select
        bursts.*,
        max(numbered.event_at) as last_hot_at
    from bursts
    inner join numbered
        on bursts.burst_key = numbered.burst_key
        and bursts.burst_no = numbered.burst_no
        and numbered.dt = bursts.start_dt
    where
        bursts.start_dt >= getvariable('window_start')
        and bursts.start_dt < getvariable('window_end')
    group by all
),

members as (
    select
        extents.burst_key,
        extents.burst_no,
        extents.start_dt,
        extents.opening,
        extents.last_hot_at,
        matches.*
    from extents
    inner join matches
        on extents.burst_key = matches.burst_key
        and (
            matches.event_at > extents.opening.at
            or (
                matches.event_at = extents.opening.at
                and matches.event_id >= extents.opening.id
            )
        )
        and matches.event_at <= extents.last_hot_at
),

final as (
    select
        start_dt as dt,
        substr(sha256(
            getvariable('pol_id') || '|'
            || case when getvariable('pol_same_user') then burst_key else '' end
            || '|' || opening.id
        ), 1, 32) as alert_id,
        case
            when getvariable('pol_same_user') then any_value(user_id)
        end as user_id,
        case
            when count(distinct user_email) = 1 then any_value(user_email)
        end as user_email,
        case
            when count(distinct account_id) = 1 then any_value(account_id)
        end as account_id,
        opening.at as started_at,
        last_hot_at as ended_at,
        list(event_id order by event_at, event_id)[1:500] as event_ids,
        list_sort(list(distinct ip_address) filter (where ip_address is not null))
            as ip_addresses,
        list_sort(list(distinct country_code) filter (where country_code is not null))
            as countries,
        count(*) as event_count,
        list_sort(list(distinct coalesce(user_email, user_id))
            filter (where coalesce(user_email, user_id) is not null)) as users,
        string_agg(distinct object || ' ' || action, ', ' order by object || ' ' || action)
            as activity,
        'affected users ' || nullif(string_agg(
            distinct coalesce(affected_user_email, affected_user_id), ', '
        ), '') as detail,
        list_sort(list(distinct concat_ws(', ', city, country_code))
            filter (where country_code is not null or city is not null))
            as places,
        start_dt as partition_date
    from members
    group by burst_key, burst_no, start_dt, opening, last_hot_at
)

select * from final
