-- multiple_failed_logins
-- grain:       one alert per attack: a sign-in session with more failures
--              than the user's own baseline allows; later qualifying
--              sessions starting within det_dedup_hours of the previous one's
--              end continue the same attack and raise nothing new
-- primary key: alert_id (sha256 of policy, user and the session's first
--              sign-in)
-- window:      alerts whose threshold-crossing failure is in
--              [window_start, window_end); lookback det_baseline_days +
--              dedup days + 1
-- session:     a user's sign-in attempts (interactive, plus non-interactive
--              with det_include_non_interactive) with no gap longer than
--              det_session_gap_minutes
-- threshold:   greatest(det_min_failures,
--                       ceil(det_baseline_multiplier * the det_baseline_quantile
--                            of failures per session over the user's
--                            sessions of the previous det_baseline_days))
-- learning:    with det_apply_learning_period, none for users (or an
--              organization) seen for less than the learning period
-- lookback:    det_baseline_signin_sessions (session fragments per user and
--              day) for det_lookback_days; events of the day only

with

-- only users with a failure on the day can alert; their baseline's session
-- fragments of the lookback give the sessions of the baseline
failing_users as (
    select distinct user_id from detection_day_events
    where signin_class like '%failure' and user_id is not null
),

-- the failing users' session fragments of the lookback (earlier days). A
-- fragment at least det_session_gap_minutes inside both of its day's midnights
-- is a whole session: its day's other fragments are more than a gap away (that
-- is how the day was split) and every other day is further still. Only the
-- others (at a million events a day, a few percent of ~600k rows) can join a
-- neighbouring day's session and need the window functions below.
fragments as not materialized (
    select
        dt,
        user_id,
        first_event_id,
        first_at,
        last_at,
        failures,
        successes,
        not touches_midnight(dt, first_at, last_at) as is_whole
    from det_baseline_signin_sessions
    where
        dt >= getvariable('window_start')
            - getvariable('det_lookback_days')::integer
        and dt < getvariable('window_start')
        and user_id in (select user_id from failing_users)
),

-- a piece is a fragment of an earlier day that touches a midnight, or one
-- sign-in attempt of the day: joining consecutive pieces no more than
-- det_session_gap_minutes apart gives the sessions of the events themselves.
-- Sessions are built from the pieces' times and counts only; the event lists,
-- addresses and countries are read for the few alerting sessions at the end
pieces as (
    select * exclude (is_whole) from fragments
    where not is_whole
    union all
    select
        dt,
        user_id,
        event_id as first_event_id,
        event_at as first_at,
        event_at as last_at,
        (signin_class like '%failure')::bigint as failures,
        (signin_class not like '%failure')::bigint as successes
    from detection_day_events
    where
        user_id in (select user_id from failing_users)
        and is_session_signin(signin_class)
),

gaps as (
    select
        *,
        case
            when starts_session(lag(last_at) over w, first_at) then 1 else 0
        end as starts_session
    from pieces
    window w as (partition by user_id order by first_at, first_event_id)
),

numbered as (
    select
        *,
        sum(starts_session) over (
            partition by user_id order by first_at, first_event_id
            rows between unbounded preceding and current row
        ) as session_no
    from gaps
),

stitched as (
    select
        * exclude (starts_session),
        '' as whole_event_id,
        sum(failures) over (
            partition by user_id, session_no order by first_at, first_event_id
            rows between unbounded preceding and current row
        )::bigint as failures_so_far
    from numbered
),

-- only a session that takes in a sign-in of the day can alert on the day, and
-- only one with det_min_failures failures or more (the threshold's floor): the
-- whole fragments (baseline sessions, earlier attacks) of its users are the only
-- ones read
alerting_users as (
    select distinct user_id from (
        select user_id
        from stitched
        group by user_id, session_no
        having
            sum(failures) >= getvariable('det_min_failures')
            and max(dt) >= getvariable('window_start')
    )
),

whole_fragments as (
    select * exclude (is_whole) from fragments
    where is_whole and user_id in (select user_id from alerting_users)
),

-- every piece with its session, (user_id, session_no, whole_event_id): a whole
-- fragment is session 0 with its own first event, a stitched session is its
-- number and ''
running as (
    select * from stitched
    union all by name
    select
        *,
        0 as session_no,
        first_event_id as whole_event_id,
        failures as failures_so_far
    from whole_fragments
),

sessions as (
    select
        user_id,
        session_no,
        whole_event_id,
        arg_min(first_event_id, (first_at, first_event_id)) as first_event_id,
        min(first_at) as started_at,
        max(last_at) as ended_at,
        sum(failures)::bigint as failures,
        sum(successes)::bigint as successes
    from stitched
    group by all
    union all
    select
        user_id,
        0 as session_no,
        first_event_id as whole_event_id,
        first_event_id,
        first_at as started_at,
        last_at as ended_at,
        failures,
        successes
    from whole_fragments
),

-- the threshold is never below det_min_failures, so only sessions with at
-- least that many failures can reach it: only those need a baseline
candidates as (
    select * from sessions
    where failures >= getvariable('det_min_failures')
),

-- the baseline of a candidate: the user's sessions that started in the
-- det_baseline_days before it (the candidate itself and sessions starting at
-- the same instant excluded)
baselined as (
    select
        candidates.*,
        quantile_cont(
            earlier.failures, getvariable('det_baseline_quantile')
        ) as baseline_failures,
        count(earlier.started_at) as baseline_sessions
    from candidates
    left join sessions as earlier
        on candidates.user_id = earlier.user_id
        and earlier.started_at < candidates.started_at
        and earlier.started_at >= candidates.started_at
        - to_days(getvariable('det_baseline_days'))
    group by all
),

thresholded as (
    select
        *,
        greatest(
            getvariable('det_min_failures'),
            ceil(
                getvariable('det_baseline_multiplier')
                * coalesce(baseline_failures, 0)
            )
        )::integer as threshold
    from baselined
),

-- the piece whose failures reach the threshold: on the day, the failure that
-- crosses it; on an earlier day, a fragment (only its day matters there)
qualifying as (
    select
        thresholded.*,
        trigger.first_event_id as trigger_event_id,
        trigger.first_at as trigger_at,
        trigger.dt as trigger_dt
    from thresholded
    inner join running as trigger
        on thresholded.user_id = trigger.user_id
        and thresholded.session_no = trigger.session_no
        and thresholded.whole_event_id = trigger.whole_event_id
        and trigger.failures > 0
        and trigger.failures_so_far >= thresholded.threshold
        and trigger.failures_so_far - trigger.failures < thresholded.threshold
    where thresholded.failures >= thresholded.threshold
),

chained as (
    select
        qualifying.*,
        lag(ended_at) over (
            partition by qualifying.user_id order by started_at
        ) as previous_attack_ended_at
    from qualifying
    inner join detection_first_seen as seen
        on qualifying.user_id = seen.user_id
    where
        not getvariable('det_apply_learning_period')
        or past_learning_period(
            seen.first_dt, seen.org_first_dt, qualifying.trigger_dt
        )
),

anchors as (
    select * from chained
    where
        trigger_dt >= getvariable('window_start')
        and (
            previous_attack_ended_at is null
            or started_at - previous_attack_ended_at
            > to_hours(getvariable('det_dedup_hours'))
        )
),

-- the alerting sessions' pieces with their lists, read for their users only
piece_details as (
    select
        dt,
        user_id,
        first_event_id,
        last_failure_at,
        account_id,
        user_email,
        event_ids,
        ip_addresses,
        countries
    from det_baseline_signin_sessions
    where
        dt >= getvariable('window_start')
            - getvariable('det_lookback_days')::integer
        and dt < getvariable('window_start')
        and user_id in (select user_id from anchors)
    union all
    select
        dt,
        user_id,
        event_id as first_event_id,
        case when signin_class like '%failure' then event_at end
            as last_failure_at,
        account_id,
        user_email,
        [event_id] as event_ids,
        [ip_address] as ip_addresses,
        [country_code] as countries
    from detection_day_events
    where
        user_id in (select user_id from anchors)
        and is_session_signin(signin_class)
),

-- the session's sign-ins up to the end of the alert's day: the day's, after
-- the fragments of earlier days it continues (those keep their lists); on
-- earlier days the threshold was not reached, so their successes came before it
incidents as (
    select
        anchors.user_id,
        anchors.session_no,
        anchors.whole_event_id,
        any_value(details.user_email) as user_email,
        arg_min(details.account_id, running.first_at) as account_id,
        max(running.last_at) as ended_at,
        flatten(list(
            details.event_ids order by running.first_at, running.first_event_id
        )) as event_ids,
        list_sort(list_distinct(flatten(list(details.ip_addresses))))
            as ip_addresses,
        list_sort(list_distinct(flatten(list(details.countries))))
            as countries,
        sum(running.failures)::bigint as failures,
        coalesce(sum(running.successes) filter (
            where running.failures_so_far >= anchors.threshold
        ), 0)::bigint as successes_after_threshold,
        max(details.last_failure_at) as last_failure_at
    from anchors
    inner join running
        on anchors.user_id = running.user_id
        and anchors.session_no = running.session_no
        and anchors.whole_event_id = running.whole_event_id
        and running.dt <= anchors.trigger_dt
    inner join piece_details as details
        on running.user_id = details.user_id
        and running.dt = details.dt
        and running.first_event_id = details.first_event_id
    group by all
),

final as (
    select
        anchors.trigger_dt as dt,
        anchors.first_event_id as opening_event_id,
        case
            when incidents.successes_after_threshold > 0 then 'high'
            else getvariable('det_severity')
        end as severity,
        'Multiple failed login attempts' as title,
        printf(
            '%s failed to sign in %d times in %.0f minutes from %s '
            || '(usually %s per session; alert threshold %d)%s. Check with '
            || 'the user; if they did not cause it, reset the password and '
            || 'block the source addresses.',
            coalesce(incidents.user_email, anchors.user_id),
            incidents.failures,
            epoch(incidents.last_failure_at - anchors.started_at) / 60,
            coalesce(
                nullif(array_to_string(incidents.ip_addresses, ', '), ''),
                'no IP'
            ),
            coalesce(round(anchors.baseline_failures, 1)::varchar, 'no history'),
            anchors.threshold,
            case
                when incidents.successes_after_threshold > 0
                    then ', then signed in successfully: the password may '
                        || 'have been guessed'
                else ''
            end
        ) as description,
        anchors.user_id,
        incidents.user_email,
        incidents.account_id,
        anchors.started_at,
        incidents.ended_at,
        incidents.event_ids,
        incidents.ip_addresses,
        incidents.countries,
        to_json({
            'failures': incidents.failures,
            'successes_after_threshold': incidents.successes_after_threshold,
            'threshold': anchors.threshold,
            'floor': getvariable('det_min_failures'),
            'baseline_failures_per_session': anchors.baseline_failures,
            'baseline_quantile': getvariable('det_baseline_quantile'),
            'baseline_multiplier': getvariable('det_baseline_multiplier'),
            'baseline_sessions': anchors.baseline_sessions,
            'baseline_days': getvariable('det_baseline_days'),
            'session_gap_minutes': getvariable('det_session_gap_minutes'),
            'threshold_crossed_at': anchors.trigger_at,
            'threshold_event_id': anchors.trigger_event_id
        })::varchar as evidence
    from anchors
    inner join incidents
        on anchors.user_id = incidents.user_id
        and anchors.session_no = incidents.session_no
        and anchors.whole_event_id = incidents.whole_event_id
)

select * from final
