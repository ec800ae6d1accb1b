-- det_baseline_signin_sessions
-- grain:       one row per session fragment: a user's sign-in attempts of one
--              day with no gap longer than det_session_gap_minutes
--              (interactive, plus non-interactive with
--              det_include_non_interactive; both are columns, the
--              multiple_failed_logins settings the rows were made with)
-- primary key: (dt, user_id, first_event_id)
-- window:      window_start <= dt < window_end
-- lookback:    none: a session that crosses midnight is two fragments, one
--              per day; multiple_failed_logins joins fragments whose gap is
--              short enough, which gives exactly the sessions of the events
-- columns:     failures and successes per fragment (the user's baseline of
--              failures per session); the incident's lists (event_ids,
--              ip_addresses, countries), only where an alert can need them:
--              a fragment with a failure, or one within a gap of midnight
--              (it may join the next or previous day's session)

with

signins as (
    select
        dt,
        user_id,
        event_id,
        event_at,
        account_id,
        user_email,
        ip_address,
        country_code,
        signin_class like '%failure' as is_failure
    from activities
    where
        dt >= getvariable('window_start')
        and dt < getvariable('window_end')
        and user_id is not null
        and is_session_signin(signin_class)
),

gaps as (
    select
        *,
        case
            when starts_session(lag(event_at) over w, event_at) then 1 else 0
        end as starts_fragment
    from signins
    window w as (partition by user_id, dt order by event_at, event_id)
),

numbered as (
    select
        *,
        sum(starts_fragment) over (
            partition by user_id, dt order by event_at, event_id
            rows between unbounded preceding and current row
        ) as fragment_no
    from gaps
),

fragments as (
    select
        dt,
        user_id,
        arg_min(event_id, (event_at, event_id)) as first_event_id,
        min(event_at) as first_at,
        max(event_at) as last_at,
        count(*) filter (where is_failure) as failures,
        count(*) filter (where not is_failure) as successes,
        max(event_at) filter (where is_failure) as last_failure_at,
        arg_min(account_id, event_at) as account_id,
        any_value(user_email) as user_email,
        list(event_id order by event_at, event_id) as event_ids,
        list_distinct(list(ip_address)) as ip_addresses,
        list_distinct(list(country_code)) as countries
    from numbered
    group by dt, user_id, fragment_no
),

final as (
    select
        * exclude (event_ids, ip_addresses, countries),
        getvariable('det_session_gap_minutes')::integer as session_gap_minutes,
        getvariable('det_include_non_interactive') as include_non_interactive,
        failures > 0 or touches_midnight(dt, first_at, last_at) as keeps_lists,
        case when keeps_lists then event_ids end as event_ids,
        case when keeps_lists then ip_addresses end as ip_addresses,
        case when keeps_lists then countries end as countries
    from fragments
)

select * exclude (keeps_lists) from final
