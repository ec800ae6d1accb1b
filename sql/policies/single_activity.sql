-- single_activity
-- grain:       one alert per matching event (MDCA's "single activity")
-- primary key: alert_id = sha256(policy | user_id | event_id)[:32]
-- window:      the event's day, window_start <= dt < window_end
-- inputs:      policy_matches (temp table: the policy's compiled filters over
--              policy_events or policy_activity, built with prepared
--              parameters, MATCH_COLUMNS of compile.py)

with

matches as (
    select * from policy_matches
    where in_window(dt)
),

final as (
    select
        dt,
        substr(sha256(
            getvariable('pol_id') || '|' || coalesce(user_id, '') || '|'
            || event_id
        ), 1, 32) as alert_id,
        user_id,
        user_email,
        account_id,
        event_at as started_at,
        event_at as ended_at,
        [event_id] as event_ids,
        list_filter([ip_address], lambda x: x is not null) as ip_addresses,
        list_filter([country_code], lambda x: x is not null) as countries,
        1 as event_count,
        [coalesce(user_email, user_id)] as users,
        object || ' ' || action || coalesce(' (' || result || ')', '')
            as activity,
        -- whom it affected and what changed, for the description: "affected
        -- user bob@x; setting SessionTimeout: 20 -> 60"
        concat_ws(
            '; ',
            'affected user ' || coalesce(affected_user_email, affected_user_id),
            -- old/new values are JSON ('"120"'): show the text inside
            'setting ' || coalesce(property, '?') || ': '
            || coalesce(nullif(json_extract_string(old_value, '$'), ''), '(empty)')
            || ' -> '
            || coalesce(nullif(json_extract_string(new_value, '$'), ''), '(empty)')
        ) as detail,
        list_filter(
            [nullif(concat_ws(', ', city, country_code), '')],
            lambda x: x is not null
        ) as places,
        dt as partition_date
    from matches
)

select * from final
